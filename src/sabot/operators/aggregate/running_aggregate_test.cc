#include "sabot/operators/aggregate/running_aggregate.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <map>

#include "sabot/api/stream_environment.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema({arrow::field("k", arrow::utf8()),
                        arrow::field("v", arrow::int64()),
                        arrow::field("_time", arrow::int64())});
}

// The last row per key of an upsert stream.
std::map<std::string, std::pair<int64_t, int64_t>> Latest(const arrow::Table& table) {
  std::map<std::string, std::pair<int64_t, int64_t>> latest;
  auto combined = table.CombineChunks().ValueOrDie();
  for (int64_t i = 0; i < combined->num_rows(); ++i) {
    auto count = std::static_pointer_cast<arrow::Int64Scalar>(
        combined->GetColumnByName("count")->GetScalar(i).ValueOrDie());
    auto sum = std::static_pointer_cast<arrow::Int64Scalar>(
        combined->GetColumnByName("sum_v")->GetScalar(i).ValueOrDie());
    latest[combined->GetColumnByName("k")->GetScalar(i).ValueOrDie()->ToString()] = {
        count->value, sum->value};
  }
  return latest;
}

// On RocksDB the accumulators live in the backend; a tiny value cache makes most
// reads and writes go to RocksDB itself.
class RunningAggregateBackendTest : public ::testing::TestWithParam<StateBackendKind> {
 protected:
  void UseBackend(StreamEnvironment* env) {
    env->SetStateBackend({.kind = GetParam(),
                          .directory = state_directory_.path(),
                          .value_cache_bytes = 4096});
  }
  testing::TempDirectory state_directory_;
};

TEST_P(RunningAggregateBackendTest, EmitsUpdatedKeysAfterEachBatch) {
  StreamEnvironment env;
  UseBackend(&env);
  auto first =
      testing::BatchFromJson(Schema(), R"([["a", 1, 0], ["b", 2, 1], ["a", 3, 2]])");
  auto second = testing::BatchFromJson(Schema(), R"([["a", 10, 3], ["c", 5, 4]])");
  auto collected = env.FromBatches(Schema(), {first, second})
                       .KeyBy({"k"})
                       .Aggregate({Count(), Sum("v")})
                       .Collect();
  ASSERT_TRUE(env.Execute().ok());
  auto table = collected->ToTable().ValueOrDie();
  // a and b after the first batch, a and c after the second.
  EXPECT_EQ(table->num_rows(), 4);
  std::map<std::string, std::pair<int64_t, int64_t>> expected = {
      {"a", {3, 14}}, {"b", {1, 2}}, {"c", {1, 5}}};
  EXPECT_EQ(Latest(*table), expected);
}

TEST_P(RunningAggregateBackendTest, EmitOnWatermarkEndsWithTheCountPerKey) {
  for (int parallelism : {1, 4}) {
    StreamEnvironment env;
    env.SetParallelism(parallelism);
    UseBackend(&env);
    GeneratorConfig config = TransactionsGenerator(50'000);
    config.batch_size = 1000;
    auto collected = env.FromGenerator(config)
                         .AssignTimestampsAndWatermarks(
                             WatermarkStrategy::BoundedOutOfOrderness("_time", 2000))
                         .KeyBy({"city"})
                         .Aggregate({Count()}, EmitMode::kOnWatermark)
                         .Collect();
    ASSERT_TRUE(env.Execute().ok());
    auto table = collected->ToTable().ValueOrDie()->CombineChunks().ValueOrDie();
    // The latest count per city equals a count over the generator's rows.
    StreamEnvironment reference;
    auto rows = reference.FromGenerator(config).Collect();
    ASSERT_TRUE(reference.Execute().ok());
    auto events = rows->ToTable().ValueOrDie()->CombineChunks().ValueOrDie();
    std::map<std::string, int64_t> expected;
    for (int64_t i = 0; i < events->num_rows(); ++i) {
      ++expected[events->GetColumnByName("city")->GetScalar(i).ValueOrDie()->ToString()];
    }
    std::map<std::string, int64_t> latest;
    for (int64_t i = 0; i < table->num_rows(); ++i) {
      latest[table->GetColumnByName("city")->GetScalar(i).ValueOrDie()->ToString()] =
          std::static_pointer_cast<arrow::Int64Scalar>(
              table->GetColumnByName("count")->GetScalar(i).ValueOrDie())
              ->value;
    }
    EXPECT_EQ(latest, expected) << "parallelism " << parallelism;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, RunningAggregateBackendTest,
                         ::testing::Values(StateBackendKind::kMemory,
                                           StateBackendKind::kRocksDb),
                         [](const ::testing::TestParamInfo<StateBackendKind>& info) {
                           return info.param == StateBackendKind::kMemory
                                      ? std::string("memory")
                                      : std::string("rocksdb");
                         });

TEST(RunningAggregateTest, EmitOnWatermarkNeedsEventTime) {
  StreamEnvironment env;
  env.FromBatches(Schema(), {})
      .KeyBy({"k"})
      .Aggregate({Count()}, EmitMode::kOnWatermark)
      .Blackhole();
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("AssignTimestampsAndWatermarks"),
            std::string::npos);
}

}  // namespace
}  // namespace sabot
