#include <thread>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/file/file_options.h"
#include "sabot/connectors/file/file_testing.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::Schema> TransactionSchema() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("amount", arrow::float64()),
                        arrow::field("memo", arrow::utf8())});
}

// Three good lines around two bad ones: invalid JSON syntax (line 3) and a value that
// does not convert (line 5).
constexpr char kTransactionsWithBadLines[] =
    "{\"id\": 1, \"amount\": 10.5, \"memo\": \"first\"}\n"
    "{\"id\": 2, \"amount\": 20}\n"
    "{\"id\": 3, \"amount\": }\n"
    "\n"
    "{\"id\": 4, \"amount\": \"abc\", \"memo\": \"say \\\"hi\\\"\"}\n"
    "{\"id\": 5, \"amount\": null, \"memo\": \"last\"}\n";

FileSourceConfig JsonConfig(const std::string& path) {
  FileSourceConfig config;
  config.format = FileFormat::kJsonLines;
  config.path = path;
  config.schema = TransactionSchema();
  return config;
}

TEST(JsonLinesSourceTest, MalformedLineFailsNamingFileLineAndCause) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("tx.jsonl");
  testing::WriteTextFile(path, kTransactionsWithBadLines);
  auto table = testing::ReadAll(testing::SourceOptions(JsonConfig(path)));
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(table.status().IsInvalid());
  EXPECT_TRUE(testing::Contains(table.status().message(), path + ":3: invalid JSON"));
}

TEST(JsonLinesSourceTest, UnconvertibleValueFailsNamingFileLineAndField) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("tx.jsonl");
  testing::WriteTextFile(path,
                         "{\"id\": 1, \"amount\": 1.5}\n"
                         "{\"id\": 2, \"amount\": \"abc\"}\n");
  auto table = testing::ReadAll(testing::SourceOptions(JsonConfig(path)));
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(
      testing::Contains(table.status().message(),
                        path + ":2: field 'amount': cannot parse \"abc\" as double"));
}

TEST(JsonLinesSourceTest, SkipPolicyDropsBadLinesCountsAndRecordsThem) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("tx.jsonl");
  const std::string rejects = directory.Child("rejects.jsonl");
  testing::WriteTextFile(path, kTransactionsWithBadLines);
  FileSourceConfig config = JsonConfig(path);
  config.on_bad_record = BadRecordPolicy::kSkip;
  config.rejects_path = rejects;
  NodeMetrics metrics;
  auto table = testing::ReadAll(testing::SourceOptions(config), &metrics);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto expected =
      arrow::Table::FromRecordBatches({testing::BatchFromJson(TransactionSchema(), R"([
      {"id": 1, "amount": 10.5, "memo": "first"},
      {"id": 2, "amount": 20, "memo": null},
      {"id": 5, "amount": null, "memo": "last"}])")})
          .ValueOrDie();
  EXPECT_TRUE((*table)->Equals(*expected)) << (*table)->ToString();
  EXPECT_EQ(metrics.rows_rejected.load(), 2);

  // The rejects file is itself JSON lines: read it with the file source.
  FileSourceConfig rejects_config;
  rejects_config.path = rejects;
  auto rejected = testing::ReadAll(testing::SourceOptions(rejects_config));
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  auto rows = (*rejected)->CombineChunksToBatch().ValueOrDie();
  ASSERT_EQ(rows->num_rows(), 2);
  ASSERT_TRUE(rows->schema()->Equals(*arrow::schema(
      {arrow::field("file", arrow::utf8()), arrow::field("line", arrow::int64()),
       arrow::field("reason", arrow::utf8()), arrow::field("record", arrow::utf8())})))
      << rows->schema()->ToString();
  auto file = std::static_pointer_cast<arrow::StringArray>(rows->column(0));
  auto line = std::static_pointer_cast<arrow::Int64Array>(rows->column(1));
  auto reason = std::static_pointer_cast<arrow::StringArray>(rows->column(2));
  auto record = std::static_pointer_cast<arrow::StringArray>(rows->column(3));
  EXPECT_EQ(file->GetString(0), path);
  EXPECT_EQ(line->Value(0), 3);
  EXPECT_TRUE(testing::Contains(reason->GetString(0), "invalid JSON"));
  EXPECT_EQ(record->GetString(0), "{\"id\": 3, \"amount\": }");
  EXPECT_EQ(line->Value(1), 5);
  EXPECT_EQ(reason->GetString(1), "field 'amount': cannot parse \"abc\" as double");
  EXPECT_EQ(record->GetString(1),
            "{\"id\": 4, \"amount\": \"abc\", \"memo\": \"say \\\"hi\\\"\"}");
}

TEST(JsonLinesSourceTest, ConcurrentSubtasksShareTheRejectsFileLineByLine) {
  testing::TempDirectory directory;
  constexpr int kBadLinesPerFile = 500;
  for (int file = 0; file < 2; ++file) {
    std::string text;
    for (int i = 0; i < kBadLinesPerFile; ++i) {
      text += "{\"id\": " + std::to_string(i) + ", \"amount\": \"" +
              std::string(200, 'x') + "\"}\n{\"id\": 1}\n";
    }
    testing::WriteTextFile(directory.Child("part-" + std::to_string(file) + ".jsonl"),
                           text);
  }
  FileSourceConfig config = JsonConfig(directory.Child("*.jsonl"));
  config.on_bad_record = BadRecordPolicy::kSkip;
  config.rejects_path = directory.Child("rejects.txt");
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  NodeMetrics metrics;
  Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> read[2];
  std::thread subtasks[2];
  for (int subtask = 0; subtask < 2; ++subtask) {
    subtasks[subtask] = std::thread([&, subtask] {
      read[subtask] = testing::ReadSubtask(options, subtask, 2, &metrics);
    });
  }
  for (auto& thread : subtasks) thread.join();
  for (const auto& batches : read)
    ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  EXPECT_EQ(metrics.rows_rejected.load(), 2 * kBadLinesPerFile);

  FileSourceConfig rejects_config;
  rejects_config.path = config.rejects_path;
  auto rejected = testing::ReadAll(testing::SourceOptions(rejects_config));
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  EXPECT_EQ((*rejected)->num_rows(), 2 * kBadLinesPerFile);
}

TEST(JsonLinesSourceTest, SkipPolicyRequiresRejectsPath) {
  FileSourceConfig config = JsonConfig("/nonexistent/*.jsonl");
  config.on_bad_record = BadRecordPolicy::kSkip;
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), "set rejects_path"));
}

TEST(JsonLinesSourceTest, MissingKeysAndNullsBecomeNullsAndUnknownKeysAreIgnored) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.jsonl");
  testing::WriteTextFile(
      path,
      "{\"memo\": \"reordered\", \"extra\": [1, {\"a\": 2}], \"id\": 7}\n"
      "  \r\n"
      "{}\r\n"
      "{\"id\": null, \"amount\": 1e3}");
  auto table = testing::ReadAll(testing::SourceOptions(JsonConfig(path)));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto expected =
      arrow::Table::FromRecordBatches({testing::BatchFromJson(TransactionSchema(), R"([
      {"id": 7, "amount": null, "memo": "reordered"},
      {"id": null, "amount": null, "memo": null},
      {"id": null, "amount": 1000, "memo": null}])")})
          .ValueOrDie();
  EXPECT_TRUE((*table)->Equals(*expected)) << (*table)->ToString();
}

TEST(JsonLinesSourceTest, ConvertsValuesToTheSchemaTypes) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.jsonl");
  testing::WriteTextFile(
      path,
      "{\"i32\": 5, \"f32\": 1.5, \"flag\": true, \"big\": \"x\", \"ts\": 1704164645000, "
      "\"day\": \"2024-02-29\", \"text\": 12}\n"
      "{\"i32\": \"6\", \"f32\": 2, \"flag\": \"FALSE\", \"big\": \"y\", "
      "\"ts\": \"2024-01-02T03:04:05.250Z\", \"day\": null, \"text\": {\"k\": [1, "
      "true]}}\n");
  auto schema = arrow::schema(
      {arrow::field("i32", arrow::int32()), arrow::field("f32", arrow::float32()),
       arrow::field("flag", arrow::boolean()), arrow::field("big", arrow::large_utf8()),
       arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MILLI)),
       arrow::field("day", arrow::date32()), arrow::field("text", arrow::utf8())});
  FileSourceConfig config = JsonConfig(path);
  config.schema = schema;
  auto table = testing::ReadAll(testing::SourceOptions(config));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto expected = arrow::Table::FromRecordBatches({testing::BatchFromJson(schema, R"([
      {"i32": 5, "f32": 1.5, "flag": true, "big": "x", "ts": 1704164645000,
       "day": 19782, "text": "12"},
      {"i32": 6, "f32": 2, "flag": false, "big": "y", "ts": 1704164645250,
       "day": null, "text": "{\"k\": [1, true]}"}])")})
                      .ValueOrDie();
  EXPECT_TRUE((*table)->Equals(*expected)) << (*table)->ToString();
}

TEST(JsonLinesSourceTest, OutOfRangeIntegerIsABadRecord) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.jsonl");
  testing::WriteTextFile(path, "{\"v\": 3000000000}\n");
  FileSourceConfig config = JsonConfig(path);
  config.schema = arrow::schema({arrow::field("v", arrow::int32())});
  auto table = testing::ReadAll(testing::SourceOptions(config));
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(testing::Contains(table.status().message(),
                                ":1: field 'v': cannot parse 3000000000 as int32"));
}

TEST(JsonLinesSourceTest, NonObjectLineIsABadRecord) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.jsonl");
  testing::WriteTextFile(path, "{\"id\": 1}\n[1, 2]\n");
  auto table = testing::ReadAll(testing::SourceOptions(JsonConfig(path)));
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(testing::Contains(table.status().message(),
                                ":2: expected a JSON object, found [1, 2]"));
}

TEST(JsonLinesSourceTest, InfersSchemaFromTheFirstLines) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.jsonl");
  testing::WriteTextFile(path,
                         "{\"id\": 1, \"amount\": 2, \"ok\": true, \"name\": \"a\", "
                         "\"empty\": null, \"mixed\": 1}\n"
                         "{\"id\": 2, \"amount\": 2.5, \"ok\": false, \"late\": 1.0, "
                         "\"mixed\": \"x\"}\n");
  FileSourceConfig config;
  config.path = path;
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  auto expected = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("amount", arrow::float64()),
       arrow::field("ok", arrow::boolean()), arrow::field("name", arrow::utf8()),
       arrow::field("empty", arrow::utf8()), arrow::field("mixed", arrow::utf8()),
       arrow::field("late", arrow::float64())});
  EXPECT_TRUE(options->schema()->Equals(*expected)) << options->schema()->ToString();
  auto table = testing::ReadAll(options);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ((*table)->num_rows(), 2);
}

TEST(JsonLinesSourceTest, InferenceRejectsNestedValuesAskingForASchema) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.jsonl");
  testing::WriteTextFile(path, "{\"id\": 1}\n{\"id\": 2, \"tags\": [\"a\"]}\n");
  FileSourceConfig config;
  config.path = path;
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), path + ":2: field 'tags'"));
  EXPECT_TRUE(testing::Contains(options.status().message(), "give a schema"));
}

TEST(JsonLinesSourceTest, InferenceOfAnEmptyFileAsksForASchema) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.jsonl");
  testing::WriteTextFile(path, "\n\n");
  FileSourceConfig config;
  config.path = path;
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), "give a schema"));
}

TEST(JsonLinesSourceTest, LinesLongerThanTheReadBufferAreRead) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.jsonl");
  const std::string long_memo(3 << 20, 'm');
  testing::WriteTextFile(path,
                         "{\"id\": 1, \"memo\": \"" + long_memo + "\"}\n{\"id\": 2}\n");
  auto table = testing::ReadAll(testing::SourceOptions(JsonConfig(path)));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_EQ((*table)->num_rows(), 2);
  auto memo = std::static_pointer_cast<arrow::StringArray>(
      (*table)->GetColumnByName("memo")->chunk(0));
  EXPECT_EQ(memo->GetView(0).size(), long_memo.size());
}

}  // namespace
}  // namespace sabot
