#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/file/csv_records.h"
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

FileSourceConfig CsvConfig(const std::string& path) {
  FileSourceConfig config;
  config.format = FileFormat::kCsv;
  config.path = path;
  config.schema = TransactionSchema();
  return config;
}

std::vector<std::string> Fields(const CsvRecordParser& parser) {
  std::vector<std::string> fields;
  for (size_t i = 0; i < parser.num_fields(); ++i) fields.emplace_back(parser.field(i));
  return fields;
}

TEST(CsvRecordParserTest, SplitsQuotedFieldsWithDelimitersQuotesAndLineBreaks) {
  CsvRecordParser parser(',');
  const std::string text = "a,\"b,\"\"c\"\"\nd\",,\"\"\r\nnext";
  ASSERT_EQ(parser.Parse(text.data(), text.size(), false),
            CsvRecordParser::Outcome::kRecord);
  EXPECT_EQ(Fields(parser), (std::vector<std::string>{"a", "b,\"c\"\nd", "", ""}));
  EXPECT_FALSE(parser.quoted(2));
  EXPECT_TRUE(parser.quoted(3));
  EXPECT_EQ(parser.record(), "a,\"b,\"\"c\"\"\nd\",,\"\"");
  EXPECT_EQ(parser.consumed(), text.size() - 4);
  EXPECT_EQ(parser.num_line_breaks(), 2);
}

TEST(CsvRecordParserTest, AsksForMoreDataInsideARecord) {
  CsvRecordParser parser(';');
  const std::string text = "x;\"open";
  EXPECT_EQ(parser.Parse(text.data(), text.size(), false),
            CsvRecordParser::Outcome::kNeedMoreData);
  EXPECT_EQ(parser.Parse(text.data(), text.size(), true),
            CsvRecordParser::Outcome::kUnterminatedQuote);
  const std::string last = "x;y";
  ASSERT_EQ(parser.Parse(last.data(), last.size(), true),
            CsvRecordParser::Outcome::kRecord);
  EXPECT_EQ(Fields(parser), (std::vector<std::string>{"x", "y"}));
}

TEST(CsvSourceTest, ReadsQuotedFieldsAndMapsColumnsByHeaderName) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("tx.csv");
  testing::WriteTextFile(path,
                         "memo,unused,id,amount\r\n"
                         "\"comma, and \"\"quote\"\"\",x,1,2.5\r\n"
                         "\"two\nlines\",y,2,\r\n"
                         "\r\n"
                         "\"\",z,,+3e2\r\n"
                         ",w,4,-1");
  auto table = testing::ReadAll(testing::SourceOptions(CsvConfig(path)));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto expected =
      arrow::Table::FromRecordBatches({testing::BatchFromJson(TransactionSchema(), R"([
      {"id": 1, "amount": 2.5, "memo": "comma, and \"quote\""},
      {"id": 2, "amount": null, "memo": "two\nlines"},
      {"id": null, "amount": 300, "memo": ""},
      {"id": 4, "amount": -1, "memo": null}])")})
          .ValueOrDie();
  EXPECT_TRUE((*table)->Equals(*expected)) << (*table)->ToString();
}

TEST(CsvSourceTest, BadValueFailsNamingFileLineAndField) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("tx.csv");
  // The quoted line break makes the bad record start on line 4.
  testing::WriteTextFile(path, "id,amount,memo\n1,2.5,\"a\nb\"\n3,abc,c\n");
  auto table = testing::ReadAll(testing::SourceOptions(CsvConfig(path)));
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(table.status().IsInvalid());
  EXPECT_TRUE(
      testing::Contains(table.status().message(),
                        path + ":4: field 'amount': cannot parse \"abc\" as double"));
}

TEST(CsvSourceTest, WrongFieldCountFailsNamingFileAndLine) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("tx.csv");
  testing::WriteTextFile(path, "id,amount,memo\n1,2.5,a\n2,3.5\n");
  auto table = testing::ReadAll(testing::SourceOptions(CsvConfig(path)));
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(
      testing::Contains(table.status().message(),
                        path + ":3: expected 3 fields as in the header, found 2"));
}

TEST(CsvSourceTest, SkipPolicyDropsBadRowsCountsAndRecordsThem) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("tx.csv");
  const std::string rejects = directory.Child("rejects.jsonl");
  testing::WriteTextFile(path,
                         "id,amount,memo\n"
                         "1,2.5,a\n"
                         "2,abc,\"b \"\"q\"\"\"\n"
                         "3,3.5\n"
                         "4,4.5,d\n");
  FileSourceConfig config = CsvConfig(path);
  config.on_bad_record = BadRecordPolicy::kSkip;
  config.rejects_path = rejects;
  config.batch_size = 1;
  NodeMetrics metrics;
  auto table = testing::ReadAll(testing::SourceOptions(config), &metrics);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto expected =
      arrow::Table::FromRecordBatches({testing::BatchFromJson(TransactionSchema(), R"([
      {"id": 1, "amount": 2.5, "memo": "a"},
      {"id": 4, "amount": 4.5, "memo": "d"}])")})
          .ValueOrDie();
  EXPECT_TRUE((*table)->Equals(*expected)) << (*table)->ToString();
  EXPECT_EQ(metrics.rows_rejected.load(), 2);
  const std::string rejected = testing::ReadTextFile(rejects);
  EXPECT_EQ(rejected,
            "{\"file\":\"" + path +
                "\",\"line\":3,\"reason\":\"field 'amount': cannot parse \\\"abc\\\" as "
                "double\",\"record\":\"2,abc,\\\"b \\\"\\\"q\\\"\\\"\\\"\"}\n"
                "{\"file\":\"" +
                path +
                "\",\"line\":4,\"reason\":\"expected 3 fields as in the header, found "
                "2\",\"record\":\"3,3.5\"}\n");
}

TEST(CsvSourceTest, SchemaColumnMissingFromHeaderFailsAtMake) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("tx.csv");
  testing::WriteTextFile(path, "id,memo\n1,a\n");
  auto options = FileSourceOptions::Make(CsvConfig(path));
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), "no column 'amount'"));
  EXPECT_TRUE(testing::Contains(options.status().message(), path));
}

TEST(CsvSourceTest, InfersTypesFromHeaderAndRows) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.csv");
  testing::WriteTextFile(path,
                         "int|float|bool|text|empty\n"
                         "1|1|true|a|\n"
                         "-2|2.5|FALSE|3|\n"
                         "|1e3||x|\n");
  FileSourceConfig config;
  config.format = FileFormat::kCsv;
  config.path = path;
  config.csv_delimiter = '|';
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  auto expected = arrow::schema(
      {arrow::field("int", arrow::int64()), arrow::field("float", arrow::float64()),
       arrow::field("bool", arrow::boolean()), arrow::field("text", arrow::utf8()),
       arrow::field("empty", arrow::utf8())});
  EXPECT_TRUE(options->schema()->Equals(*expected)) << options->schema()->ToString();
  auto table = testing::ReadAll(options);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ((*table)->num_rows(), 3);
}

TEST(CsvSourceTest, DuplicateHeaderNameIsAnError) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.csv");
  testing::WriteTextFile(path, "a,b,a\n1,2,3\n");
  FileSourceConfig config;
  config.format = FileFormat::kCsv;
  config.path = path;
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), "column 'a' twice"));
}

TEST(CsvSourceTest, UnterminatedQuoteIsABadRecord) {
  testing::TempDirectory directory;
  const std::string path = directory.Child("x.csv");
  testing::WriteTextFile(path, "id,amount,memo\n1,2,\"open\n3,4,x\n");
  auto table = testing::ReadAll(testing::SourceOptions(CsvConfig(path)));
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(testing::Contains(table.status().message(),
                                path + ":2: a quoted field lacks its closing quote"));
}

}  // namespace
}  // namespace sabot
