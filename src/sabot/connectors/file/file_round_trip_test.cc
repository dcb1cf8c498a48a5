// Writes batches with the file sink operator and reads them back with the file source,
// for every format.
#include <set>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <gtest/gtest.h>

#include "sabot/connectors/file/file_options.h"
#include "sabot/connectors/file/file_testing.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::Schema> RoundTripSchema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("amount", arrow::float64()),
       arrow::field("name", arrow::utf8()), arrow::field("ok", arrow::boolean()),
       arrow::field("_time", arrow::timestamp(arrow::TimeUnit::MILLI))});
}

// Values that trip writers and readers: quotes, delimiters and line breaks inside
// strings, an empty string next to a null, non-ASCII text, negative and extreme numbers.
std::vector<std::shared_ptr<arrow::RecordBatch>> RoundTripBatches() {
  auto schema = RoundTripSchema();
  return {testing::BatchFromJson(schema, R"([
        {"id": 1, "amount": 12.5, "name": "plain", "ok": true, "_time": 1704164645000},
        {"id": -2, "amount": 0.1, "name": "comma, \"quote\"", "ok": false, "_time": 0},
        {"id": 3, "amount": null, "name": "two\nlines", "ok": null, "_time": null}])"),
          testing::BatchFromJson(schema, R"([
        {"id": null, "amount": -1e300, "name": "", "ok": true, "_time": 1},
        {"id": 9007199254740993, "amount": 3.0, "name": null, "ok": false,
         "_time": 1704164645123},
        {"id": 6, "amount": 2.5, "name": "caf\u00e9 \u65e5\u672c", "ok": true,
         "_time": 1704164645999}])")};
}

class FileRoundTripTest : public ::testing::TestWithParam<FileFormat> {};

TEST_P(FileRoundTripTest, SinkOutputReadsBackAsTheSameRows) {
  const FileFormat format = GetParam();
  testing::TempDirectory directory;
  const std::string out = directory.Child("out");
  auto sink = FileSinkOptions::Make({format, out}, RoundTripSchema());
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  auto batches = RoundTripBatches();
  Status written = testing::RunSink(*sink, RoundTripSchema(), batches);
  ASSERT_TRUE(written.ok()) << written.ToString();

  FileSourceConfig config;
  config.format = format;
  config.path = out + "/part-0." + FileFormatExtension(format);
  config.schema = RoundTripSchema();
  config.batch_size = 4;
  auto source = testing::SourceOptions(config);
  ASSERT_NE(source, nullptr);
  NodeMetrics metrics;
  auto read = testing::ReadSubtask(source, 0, 1, &metrics);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  for (const auto& batch : *read) {
    EXPECT_LE(batch->num_rows(), 4);
    EXPECT_TRUE(batch->schema()->Equals(*RoundTripSchema()));
  }
  auto expected = arrow::Table::FromRecordBatches(batches).ValueOrDie();
  auto actual = arrow::Table::FromRecordBatches(*read).ValueOrDie();
  EXPECT_TRUE(actual->Equals(*expected)) << "expected:\n"
                                         << expected->ToString() << "\nactual:\n"
                                         << actual->ToString();
  EXPECT_EQ(metrics.rows_rejected.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, FileRoundTripTest,
                         ::testing::Values(FileFormat::kJsonLines, FileFormat::kCsv,
                                           FileFormat::kParquet, FileFormat::kArrowIpc),
                         [](const ::testing::TestParamInfo<FileFormat>& info) {
                           return std::string(FileFormatExtension(info.param));
                         });

TEST(FileSinkTest, EachSubtaskWritesItsOwnPartFile) {
  testing::TempDirectory directory;
  const std::string out = directory.Child("nested/out");
  auto schema = arrow::schema({arrow::field("id", arrow::int64())});
  auto sink = FileSinkOptions::Make({FileFormat::kJsonLines, out}, schema);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  EXPECT_EQ((*sink)->Describe(), "file_sink(jsonl, " + out + ")");
  for (int subtask = 0; subtask < 2; ++subtask) {
    auto batch =
        testing::BatchFromJson(schema, "[{\"id\": " + std::to_string(subtask) + "}]");
    ASSERT_TRUE(testing::RunSink(*sink, schema, {batch}, subtask, 2).ok());
  }
  EXPECT_EQ(testing::ReadTextFile(out + "/part-0.jsonl"), "{\"id\":0}\n");
  EXPECT_EQ(testing::ReadTextFile(out + "/part-1.jsonl"), "{\"id\":1}\n");
}

TEST(FileSinkTest, CsvRejectsNestedTypes) {
  testing::TempDirectory directory;
  auto schema = arrow::schema({arrow::field("tags", arrow::list(arrow::utf8()))});
  auto sink = FileSinkOptions::Make({FileFormat::kCsv, directory.Child("out")}, schema);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("'tags'"), std::string::npos)
      << sink.status().ToString();
}

TEST(FileSinkTest, UncreatableDirectoryIsAnErrorNamingIt) {
  testing::TempDirectory directory;
  const std::string blocker = directory.Child("file");
  testing::WriteTextFile(blocker, "x");
  auto sink = FileSinkOptions::Make({FileFormat::kParquet, blocker + "/out"},
                                    arrow::schema({arrow::field("a", arrow::int64())}));
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find(blocker + "/out"), std::string::npos)
      << sink.status().ToString();
}

TEST(FileSinkTest, CloseWithoutOpenSucceeds) {
  auto registry = testing::FileConnectorRegistry();
  testing::TempDirectory directory;
  auto schema = arrow::schema({arrow::field("a", arrow::int64())});
  PlanNode node;
  node.name = "file_sink#1";
  node.role = NodeRole::kSink;
  node.options = *FileSinkOptions::Make({FileFormat::kParquet, directory.path()}, schema);
  auto sink = registry->MakeOperator(node);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  EXPECT_TRUE((*sink)->Close().ok());
}

TEST(FileSourceTest, GlobOverFilesWithParallelismTwoReadsEveryRowOnce) {
  testing::TempDirectory directory;
  constexpr int kFiles = 5;
  constexpr int kRowsPerFile = 7;
  for (int file = 0; file < kFiles; ++file) {
    std::string text;
    for (int row = 0; row < kRowsPerFile; ++row) {
      text += "{\"id\": " + std::to_string(file * 100 + row) + "}\n";
    }
    testing::WriteTextFile(directory.Child("part-" + std::to_string(file) + ".jsonl"),
                           text);
  }
  testing::WriteTextFile(directory.Child("ignored.csv"), "id\n1\n");
  FileSourceConfig config;
  config.path = directory.Child("*.jsonl");
  config.batch_size = 3;
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  EXPECT_EQ(options->files().size(), 5u);
  EXPECT_EQ(options->Describe(), "file_source(jsonl, " + config.path + ", 5 files)");

  std::multiset<int64_t> ids;
  for (int subtask = 0; subtask < 2; ++subtask) {
    NodeMetrics metrics;
    auto batches = testing::ReadSubtask(options, subtask, 2, &metrics);
    ASSERT_TRUE(batches.ok()) << batches.status().ToString();
    std::set<int64_t> files_read;
    for (const auto& batch : *batches) {
      EXPECT_LE(batch->num_rows(), 3);
      auto column = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
      for (int64_t i = 0; i < column->length(); ++i) {
        ids.insert(column->Value(i));
        files_read.insert(column->Value(i) / 100);
      }
    }
    // Subtask i of 2 reads files i, i + 2, ...
    const std::set<int64_t> expected_files =
        subtask == 0 ? std::set<int64_t>{0, 2, 4} : std::set<int64_t>{1, 3};
    EXPECT_EQ(files_read, expected_files);
  }
  std::multiset<int64_t> expected;
  for (int file = 0; file < kFiles; ++file) {
    for (int row = 0; row < kRowsPerFile; ++row) expected.insert(file * 100 + row);
  }
  EXPECT_EQ(ids, expected);
}

TEST(FileSourceTest, MoreSubtasksThanFilesLeavesSomeIdle) {
  testing::TempDirectory directory;
  testing::WriteTextFile(directory.Child("a.jsonl"), "{\"id\": 1}\n");
  FileSourceConfig config;
  config.path = directory.Child("a.jsonl");
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  EXPECT_EQ(options->Describe(), "file_source(jsonl, " + config.path + ", 1 file)");
  NodeMetrics metrics;
  auto idle = testing::ReadSubtask(options, 1, 2, &metrics);
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_TRUE(idle->empty());
}

TEST(ArrowIpcSourceTest, ReadsStreamFormatToo) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("stream.arrow");
  auto schema = arrow::schema({arrow::field("id", arrow::int64())});
  auto batch = testing::BatchFromJson(schema, R"([{"id": 1}, {"id": 2}, {"id": 3}])");
  {
    auto file = arrow::io::FileOutputStream::Open(path).ValueOrDie();
    auto writer = arrow::ipc::MakeStreamWriter(file, schema).ValueOrDie();
    ASSERT_TRUE(writer->WriteRecordBatch(*batch).ok());
    ASSERT_TRUE(writer->Close().ok());
    ASSERT_TRUE(file->Close().ok());
  }
  FileSourceConfig config;
  config.format = FileFormat::kArrowIpc;
  config.path = path;
  config.batch_size = 2;
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  EXPECT_TRUE(options->schema()->Equals(*schema));
  auto table = testing::ReadAll(options);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_TRUE((*table)->Equals(*arrow::Table::FromRecordBatches({batch}).ValueOrDie()));
}

}  // namespace
}  // namespace sabot
