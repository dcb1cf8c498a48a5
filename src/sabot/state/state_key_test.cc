// DecodeKeys: the key bytes KeyEncoder writes decode back to the key columns, for
// every key type, and damaged key bytes are errors.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "sabot/state/state_key.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

constexpr int32_t kMaxParallelism = 128;

bool Contains(std::string_view text, std::string_view word) {
  return text.find(word) != std::string_view::npos;
}

std::shared_ptr<arrow::Schema> AllKeyTypesSchema() {
  return arrow::schema({
      arrow::field("i32", arrow::int32()),
      arrow::field("i64", arrow::int64()),
      arrow::field("s", arrow::utf8()),
      arrow::field("b", arrow::boolean()),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("d", arrow::float64()),
      arrow::field("ls", arrow::large_utf8()),
      arrow::field("u8", arrow::uint8()),
      arrow::field("i16", arrow::int16()),
      arrow::field("f", arrow::float32()),
      arrow::field("bin", arrow::binary()),
      arrow::field("lbin", arrow::large_binary()),
      arrow::field("date", arrow::date32()),
      arrow::field("date64", arrow::date64()),
      arrow::field("t64", arrow::time64(arrow::TimeUnit::NANO)),
      arrow::field("t32", arrow::time32(arrow::TimeUnit::MILLI)),
  });
}

// Every column has nulls, extremes and empty strings somewhere.
std::shared_ptr<arrow::RecordBatch> AllKeyTypesBatch() {
  return testing::BatchFromJson(AllKeyTypesSchema(), R"([
    [1, 10, "Paris", true, 1700000000000000, 0.5, "x", 0, -1, 1.5, "ab", "", 1, 86400000, 5, 1000],
    [null, -9223372036854775808, "", false, null, -0.0, null, 255, null, null, "", "lb", null, null, 5000, null],
    [-2147483648, null, null, null, -1, null, "", null, 32767, -2.5, null, null, -1, 0, null, 0],
    [2147483647, 9223372036854775807, "日本", true, 0, 1e300, "a longer large string", 7, -32768, 0, null, "z", 18000, null, 0, 86399999],
    [null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null]
  ])");
}

std::vector<std::string> EncodeKeys(const arrow::RecordBatch& batch,
                                    const std::vector<int>& key_indices) {
  auto encoder = KeyEncoder::Make(*batch.schema(), key_indices, kMaxParallelism);
  EXPECT_TRUE(encoder.ok()) << encoder.status().ToString();
  EXPECT_TRUE(encoder->Encode(batch).ok());
  std::vector<std::string> keys;
  for (int64_t row = 0; row < encoder->num_rows(); ++row) {
    keys.emplace_back(encoder->key(row).bytes);
  }
  return keys;
}

std::vector<std::string_view> Views(const std::vector<std::string>& keys) {
  return std::vector<std::string_view>(keys.begin(), keys.end());
}

void ExpectRoundTrip(const arrow::RecordBatch& batch,
                     const std::vector<int>& key_indices) {
  const std::vector<std::string> keys = EncodeKeys(batch, key_indices);
  auto decoded = DecodeKeys(*batch.schema(), key_indices, Views(keys));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), key_indices.size());
  for (size_t c = 0; c < key_indices.size(); ++c) {
    const auto& original = *batch.column(key_indices[c]);
    const auto& column = *(*decoded)[c];
    EXPECT_TRUE(column.type()->Equals(*original.type()))
        << column.type()->ToString() << " vs " << original.type()->ToString();
    EXPECT_TRUE(column.Equals(original))
        << batch.schema()->field(key_indices[c])->name() << ":\n"
        << column.ToString() << "\nvs\n"
        << original.ToString();
  }
}

TEST(DecodeKeysTest, EveryKeyTypeRoundTrips) {
  auto batch = AllKeyTypesBatch();
  std::vector<int> all(batch->num_columns());
  for (int c = 0; c < batch->num_columns(); ++c) all[c] = c;
  ExpectRoundTrip(*batch, all);
  for (int c = 0; c < batch->num_columns(); ++c) ExpectRoundTrip(*batch, {c});
}

TEST(DecodeKeysTest, KeyColumnsComeBackInKeyOrder) {
  auto batch = AllKeyTypesBatch();
  ExpectRoundTrip(*batch, {6, 0, 2, 4, 3, 5, 1});
}

TEST(DecodeKeysTest, SlicedColumnsRoundTrip) {
  ExpectRoundTrip(*AllKeyTypesBatch()->Slice(1, 3), {0, 1, 2, 3, 4, 5, 6});
}

TEST(DecodeKeysTest, NoKeysGiveEmptyColumns) {
  auto decoded = DecodeKeys(*AllKeyTypesSchema(), {2, 4}, {});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0]->length(), 0);
  EXPECT_TRUE((*decoded)[1]->type()->Equals(*AllKeyTypesSchema()->field(4)->type()));
}

TEST(DecodeKeysTest, EveryTruncatedKeyIsAnError) {
  auto batch = AllKeyTypesBatch();
  const std::vector<int> key_indices = {0, 1, 2, 3, 4, 5, 6, 10, 11};
  const std::vector<std::string> keys = EncodeKeys(*batch, key_indices);
  for (const std::string& key : keys) {
    for (size_t length = 0; length < key.size(); ++length) {
      const std::string_view prefix = std::string_view(key).substr(0, length);
      auto decoded = DecodeKeys(*batch->schema(), key_indices, {prefix});
      ASSERT_TRUE(decoded.status().IsIOError())
          << length << " of " << key.size() << " bytes: " << decoded.status().ToString();
      EXPECT_TRUE(Contains(decoded.status().message(), "end inside a value"))
          << decoded.status().ToString();
    }
  }
}

TEST(DecodeKeysTest, MalformedKeysNameTheProblem) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("flag", arrow::boolean()),
                               arrow::field("name", arrow::utf8())});
  auto batch = testing::BatchFromJson(schema, R"([[1, true, "ab"]])");
  const std::string key = EncodeKeys(*batch, {0, 1, 2})[0];
  // 1 + 8 bytes of id, 1 + 1 of flag, 1 + 4 + 2 of name.
  ASSERT_EQ(key.size(), 18u);
  auto expect_error = [&](const std::string& bytes, const std::string& problem) {
    auto decoded = DecodeKeys(*schema, {0, 1, 2}, {key, bytes});
    EXPECT_TRUE(decoded.status().IsIOError()) << decoded.status().ToString();
    EXPECT_TRUE(Contains(decoded.status().message(), problem))
        << decoded.status().ToString();
  };
  expect_error(key + "\1", "key 1 has 1 trailing bytes");
  std::string bad = key;
  bad[0] = 2;
  expect_error(bad, "key 1, column 'id': bad null marker 2");
  bad = key;
  bad[10] = 3;
  expect_error(bad, "key 1, column 'flag': bad boolean byte 3");
  bad = key;
  bad[16] = '\xff';
  expect_error(bad, "key column 'name' decodes to invalid values");
  bad = key;
  bad[12] = 100;  // a string length past the end
  expect_error(bad, "key 1, column 'name': the key bytes end inside a value");
}

TEST(DecodeKeysTest, BadKeyColumnsAreErrors) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("list", arrow::list(arrow::int64()))});
  EXPECT_TRUE(DecodeKeys(*schema, {2}, {}).status().IsIndexError());
  EXPECT_TRUE(DecodeKeys(*schema, {-1}, {}).status().IsIndexError());
  EXPECT_TRUE(DecodeKeys(*schema, {1}, {}).status().IsTypeError());
}

}  // namespace
}  // namespace sabot
