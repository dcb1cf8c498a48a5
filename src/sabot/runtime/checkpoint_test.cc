// Checkpoints through a running job: barriers from the sources, snapshots acknowledged
// by every task, the manifest committed, and a new job continuing from the positions a
// checkpoint recorded.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "sabot/api/stream_environment.h"
#include "sabot/connectors/collect_sink.h"
#include "sabot/operators/stateless.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/state/state_codec.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kRows = 40'000;

GeneratorConfig SlowSequence() {
  GeneratorConfig config;
  config.num_rows = kRows;
  config.rows_per_second = 40'000;  // about a second
  config.batch_size = 500;
  config.columns = {{.name = "id", .kind = GeneratorColumn::Kind::kSequence}};
  return config;
}

std::shared_ptr<const LogicalPlan> Plan(std::shared_ptr<CollectedBatches>* collected) {
  StreamEnvironment env;
  env.SetParallelism(2);
  *collected = env.FromGenerator(SlowSequence())
                   .Filter(col("id") >= 0)
                   .Rebalance()
                   .Select({col("id")})
                   .Collect();
  return env.BuildPlan().ValueOrDie();
}

// Runs `plan` for 400 ms, takes a checkpoint, runs `after_ms` more and cancels the job
// (the crash); returns the checkpoint's id.
Result<int64_t> CheckpointThenCrash(std::shared_ptr<const LogicalPlan> plan,
                                    const JobOptions& options, int64_t after_ms) {
  ARROW_ASSIGN_OR_RAISE(auto job, Job::Start(std::move(plan), options));
  std::this_thread::sleep_for(milliseconds(400));
  ARROW_ASSIGN_OR_RAISE(int64_t id, job->checkpoints()->Trigger());
  ARROW_RETURN_NOT_OK(job->checkpoints()->WaitFor(id, 10'000));
  std::this_thread::sleep_for(milliseconds(after_ms));
  job->Cancel();
  (void)job->Wait();
  return id;
}

// The window operator's watermark in the newest checkpoint: every window state starts
// with it (8 bytes).
Result<int64_t> WindowWatermarkAtCheckpoint(const std::string& directory) {
  ARROW_ASSIGN_OR_RAISE(auto storage, CheckpointStorage::Open(directory, 3));
  ARROW_ASSIGN_OR_RAISE(auto checkpoint, storage->Latest(nullptr));
  if (!checkpoint) return Status::Invalid("no checkpoint in ", directory);
  for (const auto& [name, file] : checkpoint->files) {
    if (name.rfind("window_aggregate", 0) != 0) continue;
    ARROW_ASSIGN_OR_RAISE(std::string state, storage->ReadFile(*checkpoint, name));
    // Window state starts with a layout byte (windows keep their state in RocksDB
    // when the job runs on it; 'm' is operator memory), then the watermark.
    std::string_view in = state;
    if (in.empty() || in[0] != 'm') return Status::Invalid("unexpected window layout");
    in.remove_prefix(1);
    return StateCodec<int64_t>::Read(&in);
  }
  return Status::Invalid("checkpoint ", checkpoint->id, " has no window state");
}

std::set<int64_t> Ids(const CollectedBatches& collected) {
  std::set<int64_t> ids;
  for (const auto& batch : collected.batches()) {
    auto column = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
    for (int64_t i = 0; i < column->length(); ++i) ids.insert(column->Value(i));
  }
  return ids;
}

TEST(CheckpointTest, PeriodicCheckpointsCompleteAndRecordSourcePositions) {
  testing::TempDirectory directory;
  std::shared_ptr<CollectedBatches> collected;
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 100;
  options.checkpoints.retain = 100;
  auto job = Job::Start(Plan(&collected), options).ValueOrDie();
  ASSERT_TRUE(job->Wait().ok());
  EXPECT_GE(job->checkpoints()->num_completed(), 3);

  auto storage = CheckpointStorage::Open(options.checkpoints.directory, 100).ValueOrDie();
  auto checkpoints = storage->List(nullptr).ValueOrDie();
  ASSERT_GE(checkpoints.size(), 3u);
  int64_t previous = -1;
  for (const auto& checkpoint : checkpoints) {
    // Both generator subtasks recorded a position; positions only move forward.
    int64_t emitted = 0;
    for (int subtask : {0, 1}) {
      std::ostringstream name;
      name << "generator#0-" << subtask << ".position";
      auto bytes = storage->ReadFile(checkpoint, name.str()).ValueOrDie();
      std::string_view in = bytes;
      StateCodec<int64_t>::Read(&in).ValueOrDie();  // next batch
      emitted += StateCodec<int64_t>::Read(&in).ValueOrDie();
    }
    EXPECT_GE(emitted, previous);
    previous = emitted;
    EXPECT_EQ(checkpoint.metadata.at("generator#0"), "2");
  }
}

TEST(CheckpointTest, RestoredJobContinuesFromTheCheckpointedPositions) {
  testing::TempDirectory directory;
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;  // on demand
  std::shared_ptr<CollectedBatches> first_rows;
  auto first = Job::Start(Plan(&first_rows), options).ValueOrDie();
  std::this_thread::sleep_for(milliseconds(300));
  const int64_t id = first->checkpoints()->Trigger().ValueOrDie();
  ASSERT_TRUE(first->checkpoints()->WaitFor(id, 10'000).ok());
  first->Cancel();  // the "crash": everything after the checkpoint is lost
  EXPECT_TRUE(first->Wait().IsCancelled());

  auto storage = CheckpointStorage::Open(options.checkpoints.directory, 3).ValueOrDie();
  auto checkpoint = storage->Latest(nullptr).ValueOrDie();
  ASSERT_TRUE(checkpoint.has_value());
  ASSERT_EQ(checkpoint->id, id);
  // Rows before each subtask's recorded next batch were emitted before the barrier.
  std::set<int64_t> before;
  for (int subtask : {0, 1}) {
    std::ostringstream name;
    name << "generator#0-" << subtask << ".position";
    auto bytes = storage->ReadFile(*checkpoint, name.str()).ValueOrDie();
    std::string_view in = bytes;
    const int64_t next_batch = StateCodec<int64_t>::Read(&in).ValueOrDie();
    for (int64_t batch = subtask; batch < next_batch; batch += 2) {
      for (int64_t row = batch * 500; row < (batch + 1) * 500 && row < kRows; ++row) {
        before.insert(row);
      }
    }
  }
  ASSERT_FALSE(before.empty());
  ASSERT_LT(static_cast<int64_t>(before.size()), kRows);
  // Every row up to the barrier reached the sink of the first job.
  const auto first_ids = Ids(*first_rows);
  for (int64_t row : before) ASSERT_TRUE(first_ids.count(row)) << row;

  options.checkpoints.restore = true;
  std::shared_ptr<CollectedBatches> second_rows;
  auto second = Job::Start(Plan(&second_rows), options).ValueOrDie();
  EXPECT_EQ(second->restored_checkpoint(), id);
  ASSERT_TRUE(second->Wait().ok());
  // The restored job produces exactly the rest: nothing lost, nothing twice.
  const auto second_ids = Ids(*second_rows);
  EXPECT_EQ(static_cast<int64_t>(second_ids.size() + before.size()), kRows);
  for (int64_t row : second_ids) EXPECT_EQ(before.count(row), 0u) << row;
  EXPECT_EQ(second_rows->num_rows(), static_cast<int64_t>(second_ids.size()));
}

// A keyed running aggregation checkpointed mid-stream, "crashed", and restored: the
// restored state plus the replayed rest of the input give exactly the totals of an
// uninterrupted computation.
TEST(CheckpointTest, RestoredAggregationStateMatchesAnUninterruptedRun) {
  GeneratorConfig config;
  config.num_rows = kRows;
  config.rows_per_second = 40'000;
  config.batch_size = 500;
  config.columns = {{.name = "id", .kind = GeneratorColumn::Kind::kSequence},
                    {.name = "k",
                     .kind = GeneratorColumn::Kind::kChoice,
                     .choices = {"a", "b", "c", "d", "e", "f", "g"}}};
  auto plan = [&](std::shared_ptr<CollectedBatches>* collected) {
    StreamEnvironment env;
    env.SetParallelism(2);
    *collected = env.FromGenerator(config)
                     .KeyBy({"k"})
                     .Aggregate({Count(), Sum("id"), CountDistinct("id")})
                     .Collect();
    return env.BuildPlan().ValueOrDie();
  };
  // The reference: every row counted once, computed here row by row.
  std::map<std::string, std::pair<int64_t, int64_t>> expected;
  {
    auto rows = testing::GeneratedRows(config);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    for (const auto& batch : *rows) {
      auto ids = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
      auto keys = std::static_pointer_cast<arrow::StringArray>(batch->column(1));
      for (int64_t i = 0; i < batch->num_rows(); ++i) {
        auto& [count, sum] = expected[keys->GetString(i)];
        ++count;
        sum += ids->Value(i);
      }
    }
  }
  testing::TempDirectory directory;
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;
  std::shared_ptr<CollectedBatches> first_rows;
  // Rows after the checkpoint are lost with the first job.
  const int64_t id = CheckpointThenCrash(plan(&first_rows), options, 100).ValueOrDie();

  options.checkpoints.restore = true;
  std::shared_ptr<CollectedBatches> second_rows;
  auto second = Job::Start(plan(&second_rows), options).ValueOrDie();
  ASSERT_EQ(second->restored_checkpoint(), id);
  ASSERT_TRUE(second->Wait().ok());
  std::map<std::string, std::pair<int64_t, int64_t>> latest;
  std::map<std::string, int64_t> distinct;
  for (const auto& batch : second_rows->batches()) {
    auto keys = std::static_pointer_cast<arrow::StringArray>(batch->column(0));
    auto counts = std::static_pointer_cast<arrow::Int64Array>(batch->column(1));
    auto sums = std::static_pointer_cast<arrow::Int64Array>(batch->column(2));
    auto distincts = std::static_pointer_cast<arrow::Int64Array>(batch->column(3));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      // Counts only grow: the latest row per key is the largest.
      auto& entry = latest[keys->GetString(i)];
      if (counts->Value(i) >= entry.first) {
        entry = {counts->Value(i), sums->Value(i)};
        distinct[keys->GetString(i)] = distincts->Value(i);
      }
    }
  }
  EXPECT_EQ(latest, expected);
  for (const auto& [key, value] : expected) EXPECT_EQ(distinct[key], value.first) << key;
}

// Event-time windows checkpointed mid-stream and restored: windows that had fired by
// the checkpoint's watermark came out of the first job, every later window comes out
// of the restored job exactly as an uninterrupted computation gives it.
TEST(CheckpointTest, RestoredWindowsMatchAnUninterruptedRun) {
  GeneratorConfig config;
  config.num_rows = kRows;
  config.rows_per_second = 40'000;
  config.batch_size = 500;
  config.columns = {
      {.name = "k", .kind = GeneratorColumn::Kind::kChoice, .choices = {"a", "b", "c"}},
      {.name = "v", .kind = GeneratorColumn::Kind::kSequence},
      {.name = "_time",
       .kind = GeneratorColumn::Kind::kEventTime,
       .start_millis = 0,
       .step_millis = 1,
       .max_delay_millis = 200}};
  auto plan = [&](std::shared_ptr<CollectedBatches>* collected) {
    StreamEnvironment env;
    *collected = env.FromGenerator(config)
                     .AssignTimestampsAndWatermarks(
                         WatermarkStrategy::BoundedOutOfOrderness("_time", 300))
                     .KeyBy({"k"})
                     .Window(Tumbling(milliseconds(1000)))
                     .Aggregate({Count(), Sum("v")})
                     .Collect();
    return env.BuildPlan().ValueOrDie();
  };
  using Window = std::pair<std::string, int64_t>;  // key, window start
  std::map<Window, std::pair<int64_t, int64_t>> expected;
  {
    auto rows = testing::GeneratedRows(config);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    for (const auto& batch : *rows) {
      auto keys = std::static_pointer_cast<arrow::StringArray>(batch->column(0));
      auto values = std::static_pointer_cast<arrow::Int64Array>(batch->column(1));
      auto times = std::static_pointer_cast<arrow::Int64Array>(batch->column(2));
      for (int64_t i = 0; i < batch->num_rows(); ++i) {
        const int64_t t = times->Value(i);
        const int64_t start = t - (((t % 1000) + 1000) % 1000);
        auto& [count, sum] = expected[{keys->GetString(i), start}];
        ++count;
        sum += values->Value(i);
      }
    }
  }
  auto results = [](const CollectedBatches& collected) {
    std::map<Window, std::vector<std::pair<int64_t, int64_t>>> rows;
    for (const auto& batch : collected.batches()) {
      auto keys = std::static_pointer_cast<arrow::StringArray>(batch->column(0));
      auto starts = std::static_pointer_cast<arrow::Int64Array>(batch->column(1));
      auto counts = std::static_pointer_cast<arrow::Int64Array>(batch->column(3));
      auto sums = std::static_pointer_cast<arrow::Int64Array>(batch->column(4));
      for (int64_t i = 0; i < batch->num_rows(); ++i) {
        rows[{keys->GetString(i), starts->Value(i)}].emplace_back(counts->Value(i),
                                                                  sums->Value(i));
      }
    }
    return rows;
  };

  testing::TempDirectory directory;
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;
  std::shared_ptr<CollectedBatches> first_rows;
  ASSERT_TRUE(CheckpointThenCrash(plan(&first_rows), options, 0).ok());
  const int64_t watermark =
      WindowWatermarkAtCheckpoint(options.checkpoints.directory).ValueOrDie();
  ASSERT_GT(watermark, 0) << "the checkpoint came after some windows fired";

  options.checkpoints.restore = true;
  std::shared_ptr<CollectedBatches> second_rows;
  auto second = Job::Start(plan(&second_rows), options).ValueOrDie();
  ASSERT_TRUE(second->Wait().ok());
  const auto before = results(*first_rows);
  const auto after = results(*second_rows);
  int64_t late_windows = 0;
  for (const auto& [window, value] : expected) {
    const bool fired_before = window.second + 1000 - 1 <= watermark;
    const auto& source = fired_before ? before : after;
    auto it = source.find(window);
    ASSERT_TRUE(it != source.end()) << window.first << " " << window.second;
    ASSERT_EQ(it->second.size(), 1u) << window.first << " " << window.second;
    EXPECT_EQ(it->second[0], value) << window.first << " " << window.second;
    late_windows += !fired_before;
  }
  EXPECT_GT(late_windows, 0);
  // The restored job emits no window that had fired before the checkpoint.
  for (const auto& [window, rows] : after) {
    EXPECT_GT(window.second + 1000 - 1, watermark)
        << window.first << " " << window.second;
  }
}

// Session windows checkpointed mid-stream and restored: the sessions open at the
// checkpoint continue in the restored job and every session comes out exactly once.
TEST(CheckpointTest, RestoredSessionsMatchAnUninterruptedRun) {
  constexpr int64_t kGap = 4;
  GeneratorConfig config;
  config.num_rows = kRows;
  config.rows_per_second = 40'000;
  config.batch_size = 500;
  config.columns = {
      {.name = "k", .kind = GeneratorColumn::Kind::kChoice, .choices = {"a", "b", "c"}},
      {.name = "_time",
       .kind = GeneratorColumn::Kind::kEventTime,
       .start_millis = 0,
       .step_millis = 1,
       .max_delay_millis = 200}};
  auto plan = [&](std::shared_ptr<CollectedBatches>* collected) {
    StreamEnvironment env;
    *collected = env.FromGenerator(config)
                     .AssignTimestampsAndWatermarks(
                         WatermarkStrategy::BoundedOutOfOrderness("_time", 300))
                     .KeyBy({"k"})
                     .Window(Session(milliseconds(kGap)))
                     .Aggregate({Count()})
                     .Collect();
    return env.BuildPlan().ValueOrDie();
  };
  // Reference sessions per key: sorted times, a new session when a row starts after the
  // current one's end (rows touching the end merge, as in Flink).
  using Window = std::tuple<std::string, int64_t, int64_t>;  // key, start, end
  std::map<Window, int64_t> expected;
  {
    auto rows = testing::GeneratedRows(config);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    std::map<std::string, std::vector<int64_t>> times;
    for (const auto& batch : *rows) {
      auto keys = std::static_pointer_cast<arrow::StringArray>(batch->column(0));
      auto ts = std::static_pointer_cast<arrow::Int64Array>(batch->column(1));
      for (int64_t i = 0; i < batch->num_rows(); ++i) {
        times[keys->GetString(i)].push_back(ts->Value(i));
      }
    }
    for (auto& [key, list] : times) {
      std::sort(list.begin(), list.end());
      int64_t start = list[0], end = list[0] + kGap, count = 0;
      for (int64_t t : list) {
        if (t > end) {
          expected[{key, start, end}] = count;
          start = t;
          count = 0;
        }
        end = std::max(end, t + kGap);
        ++count;
      }
      expected[{key, start, end}] = count;
    }
  }
  auto results = [](const CollectedBatches& collected) {
    std::map<Window, std::vector<int64_t>> rows;
    for (const auto& batch : collected.batches()) {
      auto keys = std::static_pointer_cast<arrow::StringArray>(batch->column(0));
      auto starts = std::static_pointer_cast<arrow::Int64Array>(batch->column(1));
      auto ends = std::static_pointer_cast<arrow::Int64Array>(batch->column(2));
      auto counts = std::static_pointer_cast<arrow::Int64Array>(batch->column(3));
      for (int64_t i = 0; i < batch->num_rows(); ++i) {
        rows[{keys->GetString(i), starts->Value(i), ends->Value(i)}].push_back(
            counts->Value(i));
      }
    }
    return rows;
  };

  testing::TempDirectory directory;
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;
  std::shared_ptr<CollectedBatches> first_rows;
  ASSERT_TRUE(CheckpointThenCrash(plan(&first_rows), options, 0).ok());
  const int64_t watermark =
      WindowWatermarkAtCheckpoint(options.checkpoints.directory).ValueOrDie();
  ASSERT_GT(watermark, 0);

  options.checkpoints.restore = true;
  std::shared_ptr<CollectedBatches> second_rows;
  auto second = Job::Start(plan(&second_rows), options).ValueOrDie();
  ASSERT_TRUE(second->Wait().ok());
  const auto before = results(*first_rows);
  const auto after = results(*second_rows);
  int64_t later = 0;
  for (const auto& [window, count] : expected) {
    const bool fired_before = std::get<2>(window) - 1 <= watermark;
    const auto& source = fired_before ? before : after;
    auto it = source.find(window);
    ASSERT_TRUE(it != source.end()) << std::get<0>(window) << " [" << std::get<1>(window)
                                    << ", " << std::get<2>(window) << ")";
    ASSERT_EQ(it->second, std::vector<int64_t>{count});
    later += !fired_before;
  }
  EXPECT_GT(later, 0);
  EXPECT_EQ(after.size(), static_cast<size_t>(later));
}

// A reader that hides its inner reader's positions, like a source that cannot replay.
class WithoutPositions : public SourceReader {
 public:
  explicit WithoutPositions(std::unique_ptr<SourceReader> inner)
      : inner_(std::move(inner)) {}
  Status Open() override { return inner_->Open(); }
  Result<std::shared_ptr<arrow::RecordBatch>> Next() override { return inner_->Next(); }
  Status Close() override { return inner_->Close(); }

 private:
  std::unique_ptr<SourceReader> inner_;
};

TEST(CheckpointTest, SourceWithoutPositionsAbandonsCheckpointsWithTheReason) {
  // Every built-in source records its position; in this registry the generator's
  // readers do not.
  OperatorRegistry generators;
  ASSERT_TRUE(RegisterGeneratorSource(&generators).ok());
  OperatorRegistry registry;
  ASSERT_TRUE(RegisterStatelessOperators(&registry).ok());
  ASSERT_TRUE(RegisterCollectSinks(&registry).ok());
  ASSERT_TRUE(
      registry
          .AddSource(
              "generator",
              [&generators](const NodeOptions& options, const SourceContext& context)
                  -> Result<std::unique_ptr<SourceReader>> {
                PlanNode node;
                node.name = context.node_name;
                // Not owned: the plan keeps the options alive.
                node.options = std::shared_ptr<const NodeOptions>(
                    std::shared_ptr<const NodeOptions>(), &options);
                ARROW_ASSIGN_OR_RAISE(auto inner,
                                      generators.MakeSourceReader(node, context));
                return std::make_unique<WithoutPositions>(std::move(inner));
              })
          .ok());
  testing::TempDirectory directory;
  StreamEnvironment env;
  env.FromGenerator(SlowSequence()).Blackhole();
  JobOptions options;
  options.registry = &registry;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;
  auto job = Job::Start(env.BuildPlan().ValueOrDie(), options).ValueOrDie();
  auto id = job->checkpoints()->Trigger();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto status = job->checkpoints()->WaitFor(*id, 10'000);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot record its position"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("generator"), std::string::npos) << status.ToString();
  job->Cancel();
  EXPECT_TRUE(job->Wait().IsCancelled());
}

TEST(CheckpointTest, RestoreAtAnotherParallelismIsRefusedWithWhatToDo) {
  testing::TempDirectory directory;
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;
  std::shared_ptr<CollectedBatches> rows;
  auto job = Job::Start(Plan(&rows), options).ValueOrDie();
  const int64_t id = job->checkpoints()->Trigger().ValueOrDie();
  ASSERT_TRUE(job->checkpoints()->WaitFor(id, 10'000).ok());
  job->Cancel();
  (void)job->Wait();

  StreamEnvironment env;
  env.SetParallelism(3);
  env.FromGenerator(SlowSequence()).Filter(col("id") >= 0).Blackhole();
  options.checkpoints.restore = true;
  auto restored = Job::Start(env.BuildPlan().ValueOrDie(), options);
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.status().message().find("keep the source's parallelism"),
            std::string::npos)
      << restored.status().ToString();
}

}  // namespace
}  // namespace sabot
