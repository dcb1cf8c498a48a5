#include "sabot/connectors/json_lines_format.h"

#include <cmath>
#include <limits>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

std::string Render(const std::shared_ptr<arrow::RecordBatch>& batch,
                   std::string_view prefix = {}) {
  std::string out;
  Status status = AppendJsonLines(*batch, &out, prefix);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

std::shared_ptr<arrow::RecordBatch> OneColumn(
    const std::shared_ptr<arrow::DataType>& type, std::string_view values) {
  auto array = testing::ArrayFromJson(type, values);
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("v", type)}),
                                  array->length(), {array});
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("say \"hi\"\\"), R"("say \"hi\"\\")");
  EXPECT_EQ(JsonString("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
  EXPECT_EQ(JsonString(std::string_view("\x01\x1f\0", 3)), R"("\u0001\u001f\u0000")");
}

TEST(JsonStringTest, CopiesUnicodeAsUtf8) {
  EXPECT_EQ(JsonString("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80"),
            "\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80\"");
  EXPECT_EQ(JsonString(""), "\"\"");
}

TEST(JsonLinesFormatTest, RendersOneObjectPerRowKeyedByColumnName) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("name", arrow::utf8()),
                               arrow::field("ok", arrow::boolean())});
  auto batch = testing::BatchFromJson(schema, R"([{"id": 1, "name": "a\"b", "ok": true},
                  {"id": -2, "name": null, "ok": false},
                  {"id": null, "name": "line\nbreak", "ok": null}])");
  EXPECT_EQ(Render(batch),
            "{\"id\":1,\"name\":\"a\\\"b\",\"ok\":true}\n"
            "{\"id\":-2,\"name\":null,\"ok\":false}\n"
            "{\"id\":null,\"name\":\"line\\nbreak\",\"ok\":null}\n");
}

TEST(JsonLinesFormatTest, EscapesColumnNames) {
  auto batch = OneColumn(arrow::int32(), "[7]");
  batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("a \"q\"", arrow::int32())}), 1, batch->columns());
  EXPECT_EQ(Render(batch), "{\"a \\\"q\\\"\":7}\n");
}

TEST(JsonLinesFormatTest, DoublesUseShortestRoundTripTextAndStayFloats) {
  auto values =
      testing::ArrayFromJson(arrow::float64(), "[0.1, 3.0, -0.5, 1e300, 5e-324]");
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("v", arrow::float64())}), values->length(), {values});
  EXPECT_EQ(Render(batch),
            "{\"v\":0.1}\n{\"v\":3.0}\n{\"v\":-0.5}\n{\"v\":1e+300}\n{\"v\":5e-324}\n");
  EXPECT_EQ(Render(OneColumn(arrow::float32(), "[0.1, 2.0]")),
            "{\"v\":0.1}\n{\"v\":2.0}\n");
}

TEST(JsonLinesFormatTest, NanAndInfinityBecomeNull) {
  arrow::DoubleBuilder builder;
  ASSERT_TRUE(builder.Append(std::numeric_limits<double>::quiet_NaN()).ok());
  ASSERT_TRUE(builder.Append(std::numeric_limits<double>::infinity()).ok());
  ASSERT_TRUE(builder.Append(-std::numeric_limits<double>::infinity()).ok());
  auto values = builder.Finish().ValueOrDie();
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("v", arrow::float64())}), 3, {values});
  EXPECT_EQ(Render(batch), "{\"v\":null}\n{\"v\":null}\n{\"v\":null}\n");
}

TEST(JsonLinesFormatTest, RendersIntegersOfEveryWidth) {
  EXPECT_EQ(Render(OneColumn(arrow::int8(), "[-128, 127]")),
            "{\"v\":-128}\n{\"v\":127}\n");
  EXPECT_EQ(Render(OneColumn(arrow::uint64(), "[18446744073709551615]")),
            "{\"v\":18446744073709551615}\n");
  EXPECT_EQ(Render(OneColumn(arrow::int64(), "[-9223372036854775808]")),
            "{\"v\":-9223372036854775808}\n");
}

TEST(JsonLinesFormatTest, TimestampsAreIntegersAndDatesAreIsoStrings) {
  EXPECT_EQ(
      Render(OneColumn(arrow::timestamp(arrow::TimeUnit::MILLI), "[1704164645000]")),
      "{\"v\":1704164645000}\n");
  // 2024-02-29 is day 19782; 1969-12-31 is day -1.
  EXPECT_EQ(Render(OneColumn(arrow::date32(), "[19782, -1, 0]")),
            "{\"v\":\"2024-02-29\"}\n{\"v\":\"1969-12-31\"}\n{\"v\":\"1970-01-01\"}\n");
  EXPECT_EQ(Render(OneColumn(arrow::date64(), "[-1]")), "{\"v\":\"1969-12-31\"}\n");
}

TEST(JsonLinesFormatTest, RendersLargeStringsAndNullColumns) {
  EXPECT_EQ(Render(OneColumn(arrow::large_utf8(), R"(["x", null])")),
            "{\"v\":\"x\"}\n{\"v\":null}\n");
  EXPECT_EQ(Render(OneColumn(arrow::null(), "[null]")), "{\"v\":null}\n");
}

TEST(JsonLinesFormatTest, SlicedBatchRendersOnlyItsRows) {
  auto batch = OneColumn(arrow::int64(), "[1, null, 3, 4]")->Slice(1, 2);
  EXPECT_EQ(Render(batch), "{\"v\":null}\n{\"v\":3}\n");
}

TEST(JsonLinesFormatTest, PrefixStartsEveryLine) {
  EXPECT_EQ(Render(OneColumn(arrow::int64(), "[1, 2]"), "2> "),
            "2> {\"v\":1}\n2> {\"v\":2}\n");
}

TEST(JsonLinesFormatTest, AppendsToExistingText) {
  std::string out = "head\n";
  ASSERT_TRUE(AppendJsonLines(*OneColumn(arrow::int64(), "[1]"), &out).ok());
  EXPECT_EQ(out, "head\n{\"v\":1}\n");
}

TEST(JsonLinesFormatTest, UnsupportedTypeIsNotImplementedNamingTheColumn) {
  auto batch = OneColumn(arrow::list(arrow::int64()), "[[1, 2]]");
  std::string out;
  Status status = AppendJsonLines(*batch, &out);
  EXPECT_TRUE(status.IsNotImplemented()) << status.ToString();
  EXPECT_NE(status.message().find("column 'v'"), std::string::npos) << status.ToString();
  Status check = CheckJsonLinesSupport(*batch->schema());
  EXPECT_TRUE(check.IsNotImplemented()) << check.ToString();
  EXPECT_TRUE(
      CheckJsonLinesSupport(*arrow::schema({arrow::field("a", arrow::utf8())})).ok());
}

}  // namespace
}  // namespace sabot
