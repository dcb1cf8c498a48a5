#include "sabot/operators/stateless.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/api/stream_environment.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

using testing::ArrayFromJson;
using testing::BatchFromJson;

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("v", arrow::float64()),
                        arrow::field("s", arrow::utf8())});
}

std::shared_ptr<arrow::RecordBatch> Input() {
  return BatchFromJson(Schema(), R"([{"id": 1, "v": 1.5, "s": "a"},
                                     {"id": 2, "v": null, "s": "b"},
                                     {"id": 3, "v": 7.0, "s": null},
                                     {"id": 4, "v": 9.0, "s": "d"}])");
}

std::shared_ptr<arrow::Table> RunPipeline(
    const std::function<DataStream(DataStream)>& build) {
  StreamEnvironment env;
  auto collected = build(env.FromBatches(Schema(), {Input()})).Collect();
  auto result = env.Execute();
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return collected->ToTable().ValueOrDie()->CombineChunks().ValueOrDie();
}

TEST(FilterTest, KeepsRowsWherePredicateIsTrueAndDropsNulls) {
  auto table = RunPipeline([](DataStream s) { return s.Filter(col("v") > 2.0); });
  EXPECT_TRUE(table->GetColumnByName("id")->Equals(
      arrow::ChunkedArray(ArrayFromJson(arrow::int64(), "[3, 4]"))));
}

TEST(FilterTest, NonBooleanPredicateFailsAtPlanTime) {
  StreamEnvironment env;
  env.FromBatches(Schema(), {Input()}).Filter(col("v") * 2.0).Blackhole();
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("must be boolean"), std::string::npos);
  EXPECT_NE(plan.status().message().find("Filter after 'table_source#0'"),
            std::string::npos)
      << plan.status().message();
}

TEST(ProjectTest, ComputesNamedColumnsAndBroadcastsLiterals) {
  auto table = RunPipeline([](DataStream s) {
    return s.Select({col("id"), (col("v") + 1.0).As("v1"), lit("x").As("tag"),
                     IsNull(col("s")).As("no_s")});
  });
  EXPECT_EQ(table->schema()->ToString(),
            "id: int64\nv1: double\ntag: string\nno_s: bool");
  EXPECT_TRUE(table->GetColumnByName("v1")->Equals(
      arrow::ChunkedArray(ArrayFromJson(arrow::float64(), "[2.5, null, 8, 10]"))));
  EXPECT_TRUE(table->GetColumnByName("tag")->Equals(
      arrow::ChunkedArray(ArrayFromJson(arrow::utf8(), R"(["x", "x", "x", "x"])"))));
  EXPECT_TRUE(table->GetColumnByName("no_s")->Equals(arrow::ChunkedArray(
      ArrayFromJson(arrow::boolean(), "[false, false, true, false]"))));
}

TEST(ProjectTest, DuplicateOutputNameFailsSayingToRename) {
  StreamEnvironment env;
  env.FromBatches(Schema(), {Input()}).Select({col("id"), col("v").As("id")}).Blackhole();
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find(".As("), std::string::npos);
}

TEST(MapTest, FunctionReceivesWholeBatchesAndMayChangeSchema) {
  auto out_schema = arrow::schema({arrow::field("rows", arrow::int64())});
  auto table = RunPipeline([&](DataStream s) {
    return s.Map(
        "count_rows",
        [out_schema](const std::shared_ptr<arrow::RecordBatch>& batch)
            -> Result<std::shared_ptr<arrow::RecordBatch>> {
          arrow::Int64Builder builder;
          ARROW_RETURN_NOT_OK(builder.Append(batch->num_rows()));
          ARROW_ASSIGN_OR_RAISE(auto array, builder.Finish());
          return arrow::RecordBatch::Make(out_schema, 1, {array});
        },
        out_schema);
  });
  EXPECT_EQ(table->num_rows(), 1);
  EXPECT_TRUE(table->column(0)->Equals(
      arrow::ChunkedArray(ArrayFromJson(arrow::int64(), "[4]"))));
}

TEST(MapTest, ReturningUndeclaredSchemaFailsNamingOperator) {
  StreamEnvironment env;
  env.FromBatches(Schema(), {Input()})
      .Map("drop_column",
           [](const std::shared_ptr<arrow::RecordBatch>& batch) {
             return batch->RemoveColumn(0);
           })
      .Blackhole();
  auto result = env.Execute();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("operator 'map#1' (subtask 1/1)"),
            std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("declared"), std::string::npos);
}

TEST(FlatMapTest, EmitsZeroOrMoreBatchesPerInput) {
  auto table = RunPipeline([](DataStream s) {
    return s.FlatMap("split_rows", [](const std::shared_ptr<arrow::RecordBatch>& batch) {
      std::vector<std::shared_ptr<arrow::RecordBatch>> rows;
      for (int64_t i = 0; i < batch->num_rows(); ++i) rows.push_back(batch->Slice(i, 1));
      rows.push_back(batch);  // and the whole batch again
      return Result<std::vector<std::shared_ptr<arrow::RecordBatch>>>(rows);
    });
  });
  EXPECT_EQ(table->num_rows(), 8);
}

TEST(UnionTest, MismatchedSchemasFailAtPlanTime) {
  StreamEnvironment env;
  auto a = env.FromBatches(Schema(), {Input()});
  auto b = a.Select({col("id")});
  a.Union({b}).Blackhole();
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.status().IsTypeError());
  EXPECT_NE(plan.status().message().find("Select the same columns"), std::string::npos);
}

}  // namespace
}  // namespace sabot
