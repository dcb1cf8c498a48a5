// Savepoints: a job stopped with a savepoint and restored at another parallelism of its
// keyed operators (1 → 4, 4 → 2) commits, through exactly-once sinks, exactly the output
// of an uninterrupted run, on both state backends.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <tuple>

#include "sabot/api/stream_environment.h"
#include "sabot/state/state_factory.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

constexpr int64_t kBucket = 250;

std::shared_ptr<arrow::Schema> TotalsSchema() {
  return arrow::schema({arrow::field("account", arrow::int64()),
                        arrow::field("bucket_end", arrow::int64()),
                        arrow::field("total", arrow::int64())});
}

// Per account: rows per bucket of event time in a MapState; when the watermark passes
// a bucket, its count is added to the account's total (ValueState), which is emitted.
class BucketTotals : public KeyedProcessFunction {
 public:
  Status Open(KeyedProcessContext& context) override {
    auto buckets = MakeMapState<int64_t, int64_t>(context.state_backend(), {"buckets"});
    ARROW_RETURN_NOT_OK(buckets.status());
    buckets_ = std::move(buckets).ValueOrDie();
    ARROW_ASSIGN_OR_RAISE(totals_,
                          MakeValueState<int64_t>(context.state_backend(), {"totals"}));
    return Status::OK();
  }

  Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch,
                      const uint32_t* key_ids, KeyedProcessContext& context) override {
    auto times =
        std::static_pointer_cast<arrow::Int64Array>(batch->GetColumnByName("_time"));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      const int64_t end = (times->Value(i) / kBucket + 1) * kBucket;
      const StateKey key = context.state_key(key_ids[i]);
      ARROW_ASSIGN_OR_RAISE(auto count, buckets_->Get(key, end));
      ARROW_RETURN_NOT_OK(buckets_->Put(key, end, count.value_or(0) + 1));
      context.RegisterEventTimeTimer(key_ids[i], end - 1);
    }
    return Status::OK();
  }

  Status OnTimer(TimeDomain, const Timer& timer, KeyedProcessContext& context) override {
    const StateKey key = context.state_key(timer.key);
    const int64_t end = timer.timestamp + 1;
    ARROW_ASSIGN_OR_RAISE(auto count, buckets_->Get(key, end));
    ARROW_RETURN_NOT_OK(buckets_->Remove(key, end));
    ARROW_ASSIGN_OR_RAISE(auto total, totals_->Get(key));
    const int64_t sum = total.value_or(0) + count.value_or(0);
    ARROW_RETURN_NOT_OK(totals_->Update(key, sum));
    ARROW_ASSIGN_OR_RAISE(auto keys, context.Keys({timer.key}));
    arrow::Int64Builder ends, totals;
    ARROW_RETURN_NOT_OK(ends.Append(end));
    ARROW_RETURN_NOT_OK(totals.Append(sum));
    ARROW_ASSIGN_OR_RAISE(auto end_array, ends.Finish());
    ARROW_ASSIGN_OR_RAISE(auto total_array, totals.Finish());
    return context.Emit(
        arrow::RecordBatch::Make(TotalsSchema(), 1, {keys[0], end_array, total_array}));
  }

 private:
  std::unique_ptr<MapState<int64_t, int64_t>> buckets_;
  std::unique_ptr<ValueState<int64_t>> totals_;
};

struct RunConfig {
  StateBackendKind backend;
  int keyed_parallelism;
  std::string output;
  std::string checkpoints;
  std::string state;
  std::string restore_from;
};

// Generator (p = 1) → watermarks (p = 1) → keyed windows and keyed process function at
// `keyed_parallelism` → exactly-once JSON lines sinks (p = 1).
std::shared_ptr<const LogicalPlan> Plan(const RunConfig& run) {
  GeneratorConfig input;
  input.num_rows = 60'000;
  input.rows_per_second = 60'000;  // about a second
  input.batch_size = 500;
  input.seed = 11;
  input.columns = {
      {.name = "id", .kind = GeneratorColumn::Kind::kSequence},
      {.name = "account",
       .kind = GeneratorColumn::Kind::kUniformInt,
       .int_min = 0,
       .int_max = 99},
      {.name = "amount",
       .kind = GeneratorColumn::Kind::kUniformInt,
       .int_min = 1,
       .int_max = 100},
      {.name = "_time",
       .kind = GeneratorColumn::Kind::kEventTime,
       .step_millis = 1,
       .max_delay_millis = 20},
  };
  StreamEnvironment env;
  env.SetParallelism(1);
  auto timed = env.FromGenerator(input).AssignTimestampsAndWatermarks(
      WatermarkStrategy::BoundedOutOfOrderness("_time", 20));
  env.SetParallelism(run.keyed_parallelism);
  auto windows = timed.KeyBy({"account"})
                     .Window(Tumbling(std::chrono::milliseconds(kBucket)))
                     .Aggregate({Count(), Sum("amount")});
  auto totals = timed.KeyBy({"account"})
                    .Process(
                        "bucket_totals", [] { return std::make_unique<BucketTotals>(); },
                        TotalsSchema());
  env.SetParallelism(1);
  windows.Rebalance().WriteFiles(
      {FileFormat::kJsonLines, run.output + "/windows", /*exactly_once=*/true});
  totals.Rebalance().WriteFiles(
      {FileFormat::kJsonLines, run.output + "/totals", /*exactly_once=*/true});
  return env.BuildPlan().ValueOrDie();
}

JobOptions Options(const RunConfig& run) {
  JobOptions options;
  options.checkpoints.directory = run.checkpoints;
  options.checkpoints.interval_ms = 0;  // savepoints only
  options.checkpoints.restore_from = run.restore_from;
  options.state_backend.kind = run.backend;
  options.state_backend.directory = run.state;
  return options;
}

// Every committed line of the sinks' visible files, as a multiset.
std::multiset<std::string> CommittedLines(const std::string& output) {
  std::multiset<std::string> lines;
  for (const char* sink : {"windows", "totals"}) {
    const std::string directory = output + "/" + sink;
    if (!std::filesystem::exists(directory)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("part-", 0) != 0) continue;
      std::ifstream file(entry.path());
      std::string line;
      while (std::getline(file, line)) lines.insert(std::string(sink) + " " + line);
    }
  }
  return lines;
}

class SavepointRescaleTest
    : public ::testing::TestWithParam<std::tuple<StateBackendKind, int, int>> {};

TEST_P(SavepointRescaleTest, RestoredAtAnotherParallelismCommitsTheSameOutput) {
  const auto [backend, from, to] = GetParam();
  testing::TempDirectory directory;

  RunConfig reference{backend,
                      from,
                      directory.Child("reference"),
                      directory.Child("reference-checkpoints"),
                      directory.Child("reference-state"),
                      ""};
  auto uninterrupted = Job::Start(Plan(reference), Options(reference)).ValueOrDie();
  ASSERT_TRUE(uninterrupted->Wait().ok());
  const std::multiset<std::string> expected = CommittedLines(reference.output);
  ASSERT_GT(expected.size(), 1000u);

  RunConfig first{backend,
                  from,
                  directory.Child("out"),
                  directory.Child("checkpoints"),
                  directory.Child("state"),
                  ""};
  auto job = Job::Start(Plan(first), Options(first)).ValueOrDie();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const std::string savepoint = directory.Child("savepoint");
  auto stopped = job->StopWithSavepoint(savepoint);
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  ASSERT_TRUE(job->Wait().ok());
  const std::multiset<std::string> before = CommittedLines(first.output);
  // The savepoint is taken mid-stream: some output is committed, not all.
  ASSERT_GT(before.size(), 0u);
  ASSERT_LT(before.size(), expected.size());

  RunConfig second = first;
  second.keyed_parallelism = to;
  second.restore_from = savepoint;
  auto restored = Job::Start(Plan(second), Options(second));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ((*restored)->restored_checkpoint(), *stopped);
  const Status finished = (*restored)->Wait();
  ASSERT_TRUE(finished.ok()) << finished.ToString();
  const std::multiset<std::string> actual = CommittedLines(first.output);
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, SavepointRescaleTest,
    ::testing::Values(std::make_tuple(StateBackendKind::kMemory, 1, 4),
                      std::make_tuple(StateBackendKind::kMemory, 4, 2),
                      std::make_tuple(StateBackendKind::kRocksDb, 1, 4),
                      std::make_tuple(StateBackendKind::kRocksDb, 4, 2)),
    [](const auto& info) {
      std::ostringstream name;
      name << (std::get<0>(info.param) == StateBackendKind::kMemory ? "Memory"
                                                                    : "RocksDb")
           << std::get<1>(info.param) << "To" << std::get<2>(info.param);
      return name.str();
    });

TEST(SavepointTest, OperatorsThatCannotRedistributeRefuseAnotherParallelism) {
  testing::TempDirectory directory;
  // The exactly-once sink's pending files belong to its subtasks: its state is not
  // keyed, so it restores only at the parallelism it was saved with.
  auto plan = [&](int sink_parallelism) {
    GeneratorConfig input = TransactionsGenerator(200'000);
    input.rows_per_second = 200'000;
    input.batch_size = 1000;
    StreamEnvironment env;
    env.SetParallelism(1);
    auto source = env.FromGenerator(input);
    env.SetParallelism(sink_parallelism);
    source.Rebalance().WriteFiles(
        {FileFormat::kJsonLines, directory.Child("out"), /*exactly_once=*/true});
    return env.BuildPlan().ValueOrDie();
  };
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;
  auto job = Job::Start(plan(2), options).ValueOrDie();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(job->StopWithSavepoint(directory.Child("savepoint")).ok());

  options.checkpoints.restore_from = directory.Child("savepoint");
  auto restored = Job::Start(plan(3), options).ValueOrDie();
  const Status status = restored->Wait();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("parallelism it was saved with"), std::string::npos)
      << status.ToString();

  options.checkpoints.restore_from = directory.Child("no-such-savepoint");
  auto missing = Job::Start(plan(2), options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nothing to restore"), std::string::npos);
  auto taken_twice = [&] {
    JobOptions again_options;
    again_options.checkpoints.directory = directory.Child("checkpoints2");
    again_options.checkpoints.interval_ms = 0;
    auto again = Job::Start(plan(2), again_options).ValueOrDie();
    auto second = again->TriggerSavepoint(directory.Child("savepoint"));
    again->Cancel();
    (void)again->Wait();
    return second.status();
  };
  EXPECT_NE(taken_twice().message().find("not empty"), std::string::npos);
}

}  // namespace
}  // namespace sabot
