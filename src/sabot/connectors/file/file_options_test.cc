#include "sabot/connectors/file/file_options.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/file/file_testing.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

TEST(FileSourceOptionsTest, MissingFileFailsAtMakeNamingThePath) {
  testing::TempDirectory directory;
  FileSourceConfig config;
  config.path = directory.Child("missing/*.jsonl");
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(options.status().IsInvalid());
  EXPECT_TRUE(testing::Contains(options.status().message(),
                                "no file matches '" + config.path + "'; check the path"));
}

TEST(FileSourceOptionsTest, DirectoryMatchesAreNotFiles) {
  testing::TempDirectory directory;
  FileSourceConfig config;
  config.path = directory.path();
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), "only directories match"));
}

TEST(FileSourceOptionsTest, RejectsNonPositiveBatchSize) {
  FileSourceConfig config;
  config.path = "x.jsonl";
  config.batch_size = 0;
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(
      testing::Contains(options.status().message(), "batch_size must be positive"));
}

TEST(FileSourceOptionsTest, RejectsPathWithNulCharacter) {
  FileSourceConfig config;
  config.path = std::string("data\0.jsonl", 11);
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), "NUL"));
}

TEST(FileSourceOptionsTest, RejectsPathInMissingDirectoryFailsAtMake) {
  testing::TempDirectory directory;
  testing::WriteTextFile(directory.Child("a.jsonl"), "{\"a\": 1}\n");
  FileSourceConfig config;
  config.path = directory.Child("a.jsonl");
  config.on_bad_record = BadRecordPolicy::kSkip;
  config.rejects_path = directory.Child("no/such/dir/rejects.jsonl");
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), "rejects_path"));
}

TEST(FileSourceOptionsTest, FilesAreSortedByName) {
  testing::TempDirectory directory;
  for (const char* name : {"b.jsonl", "a.jsonl", "c.jsonl"}) {
    testing::WriteTextFile(directory.Child(name), "{\"a\": 1}\n");
  }
  FileSourceConfig config;
  config.path = directory.Child("*.jsonl");
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  EXPECT_EQ(options->files(), (std::vector<std::string>{directory.Child("a.jsonl"),
                                                        directory.Child("b.jsonl"),
                                                        directory.Child("c.jsonl")}));
}

TEST(FileSourceOptionsTest, FormatExtensions) {
  EXPECT_STREQ(FileFormatExtension(FileFormat::kJsonLines), "jsonl");
  EXPECT_STREQ(FileFormatExtension(FileFormat::kCsv), "csv");
  EXPECT_STREQ(FileFormatExtension(FileFormat::kParquet), "parquet");
  EXPECT_STREQ(FileFormatExtension(FileFormat::kArrowIpc), "arrow");
}

TEST(FileSourceOptionsTest, UnsupportedTextFieldTypeFailsAtMake) {
  testing::TempDirectory directory;
  testing::WriteTextFile(directory.Child("a.jsonl"), "{\"a\": [1]}\n");
  FileSourceConfig config;
  config.path = directory.Child("a.jsonl");
  config.schema = arrow::schema({arrow::field("a", arrow::list(arrow::int64()))});
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), "field 'a'"));
}

class ColumnarSourceOptionsTest : public ::testing::TestWithParam<FileFormat> {
 protected:
  // Writes one part file with the sink and returns its path.
  std::string WritePart(const testing::TempDirectory& directory) {
    auto schema = arrow::schema(
        {arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
    auto sink = FileSinkOptions::Make({GetParam(), directory.path()}, schema);
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    auto batch = testing::BatchFromJson(schema, R"([{"id": 1, "name": "a"}])");
    Status written = testing::RunSink(*sink, schema, {batch});
    EXPECT_TRUE(written.ok()) << written.ToString();
    return directory.Child(std::string("part-0.") + FileFormatExtension(GetParam()));
  }
};

TEST_P(ColumnarSourceOptionsTest, InfersTheFileSchema) {
  testing::TempDirectory directory;
  FileSourceConfig config;
  config.format = GetParam();
  config.path = WritePart(directory);
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  EXPECT_TRUE(options->schema()->Equals(*arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())})))
      << options->schema()->ToString();
}

TEST_P(ColumnarSourceOptionsTest, GivenSchemaMustMatchTheFileNamingFileAndField) {
  testing::TempDirectory directory;
  FileSourceConfig config;
  config.format = GetParam();
  config.path = WritePart(directory);
  config.schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("name", arrow::int32())});
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), config.path));
  EXPECT_TRUE(testing::Contains(options.status().message(), "'name'"));
}

TEST_P(ColumnarSourceOptionsTest, CorruptFileFailsAtMakeNamingIt) {
  testing::TempDirectory directory;
  const std::string path =
      directory.Child(std::string("bad.") + FileFormatExtension(GetParam()));
  testing::WriteTextFile(path, "this is not a columnar file at all");
  FileSourceConfig config;
  config.format = GetParam();
  config.path = path;
  auto options = FileSourceOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_TRUE(testing::Contains(options.status().message(), path));
}

TEST_P(ColumnarSourceOptionsTest, CorruptLaterFileFailsTheReaderNamingIt) {
  testing::TempDirectory directory;
  WritePart(directory);
  // Sorted after part-0, so Make only looks at the good file.
  const std::string path =
      directory.Child(std::string("z-bad.") + FileFormatExtension(GetParam()));
  testing::WriteTextFile(path, "this is not a columnar file at all");
  FileSourceConfig config;
  config.format = GetParam();
  config.path = directory.path() + "/*";
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  auto table = testing::ReadAll(options);
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(testing::Contains(table.status().message(), path));
}

INSTANTIATE_TEST_SUITE_P(ParquetAndArrowIpc, ColumnarSourceOptionsTest,
                         ::testing::Values(FileFormat::kParquet, FileFormat::kArrowIpc),
                         [](const ::testing::TestParamInfo<FileFormat>& info) {
                           return std::string(FileFormatExtension(info.param));
                         });

}  // namespace
}  // namespace sabot
