#include "sabot/expr/bound_expression.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::RecordBatch> SampleBatch() {
  auto schema = arrow::schema({arrow::field("amount", arrow::int64()),
                               arrow::field("price", arrow::float64()),
                               arrow::field("city", arrow::utf8())});
  arrow::Int64Builder amount;
  EXPECT_TRUE(amount.AppendValues({500, 1500, 2000}).ok());
  EXPECT_TRUE(amount.AppendNull().ok());
  arrow::DoubleBuilder price;
  EXPECT_TRUE(price.AppendValues({1.5, 2.5, 3.5, 4.5}).ok());
  arrow::StringBuilder city;
  EXPECT_TRUE(city.AppendValues({"Paris", "berlin", "Lisbon", "Paris"}).ok());
  return arrow::RecordBatch::Make(
      schema, 4,
      {amount.Finish().ValueOrDie(), price.Finish().ValueOrDie(),
       city.Finish().ValueOrDie()});
}

std::shared_ptr<arrow::Array> Eval(const Expr& expr) {
  auto batch = SampleBatch();
  auto bound = BoundExpr::Bind(expr, batch->schema());
  EXPECT_TRUE(bound.ok()) << bound.status().ToString();
  auto result = bound->Evaluate(*batch);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result->make_array();
}

TEST(ExpressionTest, ComparisonWithLiteralEvaluatesPerRowAndPropagatesNull) {
  auto result = Eval(col("amount") > 1000);
  EXPECT_EQ(
      result->ToString(),
      testing::ArrayFromJson(arrow::boolean(), "[false, true, true, null]")->ToString());
}

TEST(ExpressionTest, ArithmeticMixesColumnsAndLiterals) {
  auto result = Eval(col("price") * 2.0 + 1.0);
  EXPECT_TRUE(result->Equals(*testing::ArrayFromJson(arrow::float64(), "[4, 6, 8, 10]")));
}

TEST(ExpressionTest, IntegerOverflowIsAnErrorNotAWrapAround) {
  auto batch = SampleBatch();
  auto bound = BoundExpr::Bind(col("amount") * (int64_t{1} << 62), batch->schema());
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  auto result = bound->Evaluate(*batch);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("overflow"), std::string::npos);
}

TEST(ExpressionTest, BooleanLogicUsesKleeneSemantics) {
  // null AND false is false; null OR true is true.
  auto result =
      Eval((col("amount") > 1000 && col("price") > 10.0) || col("city") == "Paris");
  EXPECT_TRUE(result->Equals(
      *testing::ArrayFromJson(arrow::boolean(), "[true, false, false, true]")));
  auto negated = Eval(!(col("city") == "Paris"));
  EXPECT_TRUE(negated->Equals(
      *testing::ArrayFromJson(arrow::boolean(), "[false, true, true, false]")));
}

TEST(ExpressionTest, StringFunctions) {
  EXPECT_TRUE(Eval(Upper(col("city")))
                  ->Equals(*testing::ArrayFromJson(
                      arrow::utf8(), R"(["PARIS", "BERLIN", "LISBON", "PARIS"])")));
  EXPECT_TRUE(Eval(Contains(col("city"), "is"))
                  ->Equals(*testing::ArrayFromJson(arrow::boolean(),
                                                   "[true, false, true, true]")));
  EXPECT_TRUE(Eval(StartsWith(Lower(col("city")), "b"))
                  ->Equals(*testing::ArrayFromJson(arrow::boolean(),
                                                   "[false, true, false, false]")));
  EXPECT_TRUE(Eval(Length(col("city")))
                  ->Equals(*testing::ArrayFromJson(arrow::int32(), "[5, 6, 6, 5]")));
  EXPECT_TRUE(Eval(Concat({col("city"), lit("!")}))
                  ->Equals(*testing::ArrayFromJson(
                      arrow::utf8(), R"(["Paris!", "berlin!", "Lisbon!", "Paris!"])")));
}

TEST(ExpressionTest, CastAndNullTests) {
  // A safe cast refuses to truncate 1.5 to an integer.
  auto batch = SampleBatch();
  auto truncating = BoundExpr::Bind(Cast(col("price"), arrow::int64()), batch->schema());
  ASSERT_TRUE(truncating.ok());
  EXPECT_FALSE(truncating->Evaluate(*batch).ok());
  EXPECT_TRUE(
      Eval(Cast(col("amount"), arrow::float64()))
          ->Equals(*testing::ArrayFromJson(arrow::float64(), "[500, 1500, 2000, null]")));
  EXPECT_TRUE(Eval(IsNull(col("amount")))
                  ->Equals(*testing::ArrayFromJson(arrow::boolean(),
                                                   "[false, false, false, true]")));
  EXPECT_TRUE(Eval(IsValid(col("amount")))
                  ->Equals(*testing::ArrayFromJson(arrow::boolean(),
                                                   "[true, true, true, false]")));
}

TEST(ExpressionTest, UnknownColumnFailsAtBindNamingColumnAndAvailableColumns) {
  auto bound = BoundExpr::Bind(col("amt") > 1000, SampleBatch()->schema());
  ASSERT_FALSE(bound.ok());
  const std::string message = bound.status().message();
  EXPECT_NE(message.find("unknown column"), std::string::npos) << message;
  EXPECT_NE(message.find("amt"), std::string::npos) << message;
  EXPECT_NE(message.find("amount: int64"), std::string::npos) << message;
}

TEST(ExpressionTest, TypeMismatchFailsAtBindSayingToCast) {
  auto bound = BoundExpr::Bind(col("city") > 1000, SampleBatch()->schema());
  ASSERT_FALSE(bound.ok());
  EXPECT_TRUE(bound.status().IsTypeError()) << bound.status().ToString();
  EXPECT_NE(bound.status().message().find("Cast"), std::string::npos);
}

TEST(ExpressionTest, OutputNameIsAliasThenColumnNameThenText) {
  EXPECT_EQ(col("amount").OutputName(), "amount");
  EXPECT_EQ((col("amount") * 2).As("double_amount").OutputName(), "double_amount");
  EXPECT_NE((col("amount") * 2).OutputName().find("amount"), std::string::npos);
}

}  // namespace
}  // namespace sabot
