#include "sabot/connectors/print_sink.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/file/file_testing.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
}

std::string Print(const std::string& prefix, int subtask, int parallelism) {
  auto batch = testing::BatchFromJson(Schema(), R"([{"id": 1, "name": "a"},
                                                    {"id": 2, "name": null}])");
  ::testing::internal::CaptureStdout();
  Status status = testing::RunSink(std::make_shared<PrintSinkOptions>(prefix), Schema(),
                                   {batch}, subtask, parallelism);
  std::string printed = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(status.ok()) << status.ToString();
  return printed;
}

TEST(PrintSinkTest, PrintsRowsAsJsonLinesWithoutPrefixAtParallelismOne) {
  EXPECT_EQ(Print("", 0, 1), "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":null}\n");
}

TEST(PrintSinkTest, PrefixesSubtaskNumberFromOneWhenParallel) {
  EXPECT_EQ(Print("", 1, 3),
            "2> {\"id\":1,\"name\":\"a\"}\n2> {\"id\":2,\"name\":null}\n");
}

TEST(PrintSinkTest, PrefixesUserPrefixLikeFlink) {
  EXPECT_EQ(Print("orders", 0, 1),
            "orders> {\"id\":1,\"name\":\"a\"}\norders> {\"id\":2,\"name\":null}\n");
  EXPECT_EQ(Print("orders", 2, 4),
            "orders:3> {\"id\":1,\"name\":\"a\"}\norders:3> {\"id\":2,\"name\":null}\n");
}

TEST(PrintSinkTest, DescribeShowsThePrefix) {
  EXPECT_EQ(PrintSinkOptions().Describe(), "print_sink");
  EXPECT_EQ(PrintSinkOptions("orders").Describe(), "print_sink(orders)");
  EXPECT_EQ(PrintSinkOptions().kind(), "print_sink");
}

}  // namespace
}  // namespace sabot
