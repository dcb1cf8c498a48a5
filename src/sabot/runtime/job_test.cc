#include "sabot/runtime/job.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "sabot/api/stream_environment.h"
#include "sabot/runtime/physical_plan.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

using std::chrono::milliseconds;

TEST(PhysicalPlanTest, ChainsForwardEdgesOfEqualParallelismOnly) {
  StreamEnvironment env;
  env.SetParallelism(2);
  auto source = env.FromGenerator(TransactionsGenerator(100));
  auto filtered = source.Filter(col("amount") > 10.0);
  auto projected = filtered.Select({col("account")});
  auto mapped =
      projected.KeyBy({"account"}).Map("identity", [](const auto& b) { return b; });
  mapped.Blackhole();
  auto plan = env.BuildPlan();
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(ComputeChains(**plan), (std::vector<std::vector<int>>{{0, 1, 2}, {3, 4}}));
}

TEST(PhysicalPlanTest, ParallelismChangeOnForwardEdgeBreaksChainAndRebalances) {
  StreamEnvironment env;
  auto source = env.FromGenerator(TransactionsGenerator(10'000));
  auto filtered = source.Filter(col("amount") > 10.0);
  filtered.SetParallelism(3);
  auto collected = filtered.Collect();
  auto plan = env.BuildPlan();
  ASSERT_TRUE(plan.ok());
  // The sink keeps the environment's parallelism 1, so it is not chained either.
  EXPECT_EQ(ComputeChains(**plan), (std::vector<std::vector<int>>{{0}, {1}, {2}}));
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->Metrics("filter#1").rows_in, 10'000);
  EXPECT_EQ(collected->num_rows(), result->Metrics("filter#1").rows_out);
}

TEST(JobTest, SlowSinkBoundsRowsInFlight) {
  constexpr int64_t kBatchRows = 1000;
  constexpr int kCapacity = 4;
  StreamEnvironment env;
  env.SetChannelCapacity(kCapacity);
  GeneratorConfig config = TransactionsGenerator(-1);
  config.batch_size = kBatchRows;
  auto source = env.FromGenerator(config);
  source.Rebalance()
      .Map("slow",
           [](const std::shared_ptr<arrow::RecordBatch>& batch) {
             std::this_thread::sleep_for(milliseconds(2));
             return batch;
           })
      .Blackhole();
  auto job = env.ExecuteAsync();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  int64_t max_in_flight = 0;
  for (int sample = 0; sample < 40; ++sample) {
    std::this_thread::sleep_for(milliseconds(10));
    auto metrics = (*job)->Metrics();
    max_in_flight = std::max(max_in_flight, metrics[0].rows_out - metrics[1].rows_in);
  }
  (*job)->Cancel();
  EXPECT_TRUE((*job)->Wait().IsCancelled());
  // Queued batches, the one the producer is blocked on (counted out before its push),
  // and the one the consumer has dequeued but not yet counted in (a preemption there
  // under load shows it); an unbounded queue would hold hundreds after 400 ms.
  EXPECT_LE(max_in_flight, (kCapacity + 2) * kBatchRows);
  EXPECT_GT((*job)->Metrics()[1].rows_in, 0);
}

TEST(JobTest, CancelStopsUnboundedJob) {
  StreamEnvironment env;
  env.SetParallelism(2);
  env.FromGenerator(TransactionsGenerator(-1))
      .Filter(col("amount") > 100.0)
      .Rebalance()
      .Blackhole();
  auto job = env.ExecuteAsync();
  ASSERT_TRUE(job.ok());
  std::this_thread::sleep_for(milliseconds(100));
  (*job)->Cancel();
  Status status = (*job)->Wait();
  EXPECT_TRUE(status.IsCancelled()) << status.ToString();
  EXPECT_GT((*job)->Metrics()[0].rows_out, 0);
}

TEST(JobTest, OperatorErrorCancelsJobAndNamesOperatorSubtaskAndCause) {
  StreamEnvironment env;
  env.SetParallelism(4);
  auto source =
      env.FromGenerator(TransactionsGenerator(-1));  // unbounded: must be cancelled
  source.Rebalance()
      .Map("explode",
           [](const std::shared_ptr<arrow::RecordBatch>& batch)
               -> Result<std::shared_ptr<arrow::RecordBatch>> {
             return Status::IOError("disk on fire");
           })
      .Name("explode")
      .Blackhole();
  auto result = env.Execute();
  ASSERT_FALSE(result.ok());
  const std::string message = result.status().ToString();
  EXPECT_TRUE(result.status().IsIOError()) << message;
  EXPECT_NE(message.find("operator 'explode' (subtask "), std::string::npos) << message;
  EXPECT_NE(message.find("/4) failed: disk on fire"), std::string::npos) << message;
}

TEST(JobTest, ExceptionInUserFunctionFailsTheJobInsteadOfTheProcess) {
  StreamEnvironment env;
  env.FromGenerator(TransactionsGenerator(1000))
      .Map("throws",
           [](const std::shared_ptr<arrow::RecordBatch>&)
               -> Result<std::shared_ptr<arrow::RecordBatch>> {
             throw std::runtime_error("bad lookup");
           })
      .Blackhole();
  auto result = env.Execute();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("operator 'map#1' (subtask 1/1) failed: map "
                                           "function threw: bad lookup"),
            std::string::npos)
      << result.status().ToString();
}

TEST(JobTest, CancelInterruptsSlowRateLimitedSourceAndWaitIsRepeatable) {
  StreamEnvironment env;
  env.SetParallelism(2);
  GeneratorConfig config = TransactionsGenerator(-1);
  config.rows_per_second = 0.5;  // one batch of one row every 4 s per subtask
  env.FromGenerator(config).Blackhole();
  auto job = env.ExecuteAsync();
  ASSERT_TRUE(job.ok());
  std::this_thread::sleep_for(milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  (*job)->Cancel();
  EXPECT_TRUE((*job)->Wait().IsCancelled());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE((*job)->Wait().IsCancelled());
}

TEST(JobTest, CancelAfterSuccessKeepsTheSuccess) {
  StreamEnvironment env;
  env.FromGenerator(TransactionsGenerator(100)).Blackhole();
  auto job = env.ExecuteAsync();
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE((*job)->Wait().ok());
  (*job)->Cancel();
  EXPECT_TRUE((*job)->Wait().ok());
}

TEST(JobTest, EmptySourceEndsJobCleanly) {
  StreamEnvironment env;
  auto schema = arrow::schema({arrow::field("x", arrow::int64())});
  auto collected = env.FromBatches(schema, {}).Rebalance().Collect();
  ASSERT_TRUE(env.Execute().ok());
  EXPECT_EQ(collected->num_rows(), 0);
}

TEST(JobTest, ParallelismOneAndFourGiveTheSameRows) {
  auto run = [](int parallelism) -> std::shared_ptr<arrow::Table> {
    StreamEnvironment env;
    env.SetParallelism(parallelism);
    auto source = env.FromGenerator(TransactionsGenerator(200'000));
    auto large = source.Filter(col("amount") > 2500.0);
    auto keyed = large.KeyBy({"account"})
                     .Select({col("account"), col("transaction_id"),
                              (col("amount") * 2.0).As("doubled")});
    auto collected = keyed.Rebalance().Filter(col("doubled") < 9000.0).Collect();
    auto result = env.Execute();
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return collected->ToTable().ValueOrDie();
  };
  auto one = run(1);
  auto four = run(4);
  EXPECT_GT(one->num_rows(), 1000);
  Status same = testing::CheckSameRows(one, four);
  EXPECT_TRUE(same.ok()) << same.ToString();
}

TEST(JobTest, UnionAndBroadcastDeliverExpectedCounts) {
  StreamEnvironment env;
  auto a = env.FromGenerator(TransactionsGenerator(5'000, /*seed=*/1));
  auto b = env.FromGenerator(TransactionsGenerator(7'000, /*seed=*/2));
  auto merged = a.Union({b});
  auto broadcast =
      merged.Broadcast().Map("copy", [](const auto& batch) { return batch; });
  broadcast.SetParallelism(3);
  auto collected = broadcast.Collect();
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->Metrics(merged.node_name()).rows_out, 12'000);
  EXPECT_EQ(collected->num_rows(), 36'000);
}

}  // namespace
}  // namespace sabot
