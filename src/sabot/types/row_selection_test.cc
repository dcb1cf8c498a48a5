#include "sabot/types/row_selection.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <random>

namespace sabot {
namespace {

// Random columns of many types, some with nulls, and a random mask with nulls.
struct RandomInput {
  std::shared_ptr<arrow::RecordBatch> batch;
  std::shared_ptr<arrow::Array> mask;
};

RandomInput MakeRandomInput(int64_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  auto coin = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  arrow::Int8Builder i8;
  arrow::Int32Builder i32;
  arrow::Int64Builder i64_nulls;
  arrow::DoubleBuilder f64;
  arrow::StringBuilder str;
  arrow::StringBuilder str_nulls;
  arrow::BooleanBuilder flags;
  arrow::LargeStringBuilder large;
  arrow::BooleanBuilder mask;
  for (int64_t i = 0; i < rows; ++i) {
    EXPECT_TRUE(i8.Append(static_cast<int8_t>(rng())).ok());
    EXPECT_TRUE(i32.Append(static_cast<int32_t>(rng())).ok());
    EXPECT_TRUE((coin(20) ? i64_nulls.AppendNull() : i64_nulls.Append(rng())).ok());
    EXPECT_TRUE(f64.Append(rng() / 7.0).ok());
    std::string text(rng() % 12, static_cast<char>('a' + rng() % 26));
    EXPECT_TRUE(str.Append(text).ok());
    EXPECT_TRUE((coin(10) ? str_nulls.AppendNull() : str_nulls.Append(text)).ok());
    EXPECT_TRUE(flags.Append(coin(50)).ok());
    EXPECT_TRUE(large.Append(text).ok());
    EXPECT_TRUE((coin(5) ? mask.AppendNull() : mask.Append(coin(45))).ok());
  }
  auto schema = arrow::schema(
      {arrow::field("i8", arrow::int8()), arrow::field("i32", arrow::int32()),
       arrow::field("i64", arrow::int64()), arrow::field("f64", arrow::float64()),
       arrow::field("s", arrow::utf8()), arrow::field("sn", arrow::utf8()),
       arrow::field("b", arrow::boolean()), arrow::field("ls", arrow::large_utf8())});
  std::vector<std::shared_ptr<arrow::Array>> columns = {
      i8.Finish().ValueOrDie(),        i32.Finish().ValueOrDie(),
      i64_nulls.Finish().ValueOrDie(), f64.Finish().ValueOrDie(),
      str.Finish().ValueOrDie(),       str_nulls.Finish().ValueOrDie(),
      flags.Finish().ValueOrDie(),     large.Finish().ValueOrDie()};
  return {arrow::RecordBatch::Make(schema, rows, columns), mask.Finish().ValueOrDie()};
}

void ExpectSameAsArrowFilter(const std::shared_ptr<arrow::RecordBatch>& batch,
                             const std::shared_ptr<arrow::Array>& mask) {
  auto selected = SelectRows(batch, *mask->data());
  ASSERT_TRUE(selected.ok()) << selected.status().ToString();
  auto expected = arrow::compute::Filter(batch, mask).ValueOrDie().record_batch();
  ASSERT_TRUE((*selected)->ValidateFull().ok());
  EXPECT_TRUE((*selected)->Equals(*expected)) << (*selected)->ToString() << "\nvs\n"
                                              << expected->ToString();
}

TEST(RowSelectionTest, MatchesArrowFilterOnRandomMasksAndTypes) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    RandomInput input = MakeRandomInput(1000 + seed * 37, seed);
    ExpectSameAsArrowFilter(input.batch, input.mask);
  }
}

TEST(RowSelectionTest, HandlesSlicedBatchesAndMasks) {
  RandomInput input = MakeRandomInput(500, 9);
  ExpectSameAsArrowFilter(input.batch->Slice(13, 300), input.mask->Slice(13, 300));
  ExpectSameAsArrowFilter(input.batch->Slice(64, 100), input.mask->Slice(3, 100));
}

TEST(RowSelectionTest, TakeRowsMatchesArrowTakeIncludingRepeatsAndSlicedIndices) {
  RandomInput input = MakeRandomInput(700, 11);
  std::mt19937 rng(5);
  arrow::Int32Builder builder;
  for (int i = 0; i < 900; ++i) ASSERT_TRUE(builder.Append(rng() % 700).ok());
  auto indices = std::static_pointer_cast<arrow::Int32Array>(
      builder.Finish().ValueOrDie()->Slice(50, 800));
  auto taken = TakeRows(input.batch, indices);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  auto expected = arrow::compute::Take(input.batch, indices).ValueOrDie().record_batch();
  ASSERT_TRUE((*taken)->ValidateFull().ok());
  EXPECT_TRUE((*taken)->Equals(*expected));
}

TEST(RowSelectionTest, RejectsMaskOfWrongLength) {
  RandomInput input = MakeRandomInput(10, 3);
  EXPECT_FALSE(SelectRows(input.batch, *input.mask->Slice(0, 5)->data()).ok());
}

}  // namespace
}  // namespace sabot
