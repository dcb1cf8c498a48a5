// Savepoints of the keyed window operators: count windows (tumbling, sliding), global
// windows (count, event-time and processing-time triggers), session windows, sliding
// time windows and the running aggregate; those that keep their state in RocksDB when
// the job runs on it (sliding, session, count and global windows, running aggregate)
// on both backends. A job stopped with a savepoint and restored at the same or another
// parallelism of its keyed operator commits, through an exactly-once sink, exactly the
// output of an uninterrupted run: the same multiset of lines where the output is
// deterministic, and the same final value per key where it depends on batching or the
// wall clock.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sabot/api/stream_environment.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

using std::chrono::milliseconds;

enum class Case {
  kCountTumbling,
  kCountSliding,
  kGlobalCount,
  kGlobalCountPurging,
  kGlobalEventTime,
  kGlobalProcessingTime,
  kSession,
  kRunningOnWatermark,
  kRunningOnUpdate,
  kSliding,
};

const char* CaseName(Case c) {
  switch (c) {
    case Case::kCountTumbling:
      return "CountTumbling";
    case Case::kCountSliding:
      return "CountSliding";
    case Case::kGlobalCount:
      return "GlobalCount";
    case Case::kGlobalCountPurging:
      return "GlobalCountPurging";
    case Case::kGlobalEventTime:
      return "GlobalEventTime";
    case Case::kGlobalProcessingTime:
      return "GlobalProcessingTime";
    case Case::kSession:
      return "Session";
    case Case::kRunningOnWatermark:
      return "RunningOnWatermark";
    case Case::kRunningOnUpdate:
      return "RunningOnUpdate";
    case Case::kSliding:
      return "Sliding";
  }
  return "?";
}

// Cases whose emissions depend on batching or the wall clock: only the last value of
// each key (the one with the most rows) is deterministic. Their aggregates are
// cumulative, so that value covers every row of the key.
bool ComparesFinalValues(Case c) {
  return c == Case::kRunningOnUpdate || c == Case::kGlobalProcessingTime;
}

struct RescaleParam {
  Case op;
  int from;
  int to;
  StateBackendKind backend = StateBackendKind::kMemory;
};

void PrintTo(const RescaleParam& param, std::ostream* out) {
  *out << CaseName(param.op) << " " << param.from << " -> " << param.to
       << (param.backend == StateBackendKind::kRocksDb ? " on RocksDB" : "");
}

// Generator (p = 1, one subtask: the rows of a key arrive in the same order in every
// run) → bounded-out-of-orderness watermarks that no row is behind (p = 1) → the keyed
// operator at `parallelism` → exactly-once JSON lines sink (p = 1).
std::shared_ptr<const LogicalPlan> Plan(Case op, int parallelism,
                                        const std::string& output) {
  // A batch spans 500 ms of event time, so the watermark advances 500 ms at a time.
  // With 100 accounts every key has rows in every batch; the event-time trigger gets
  // 1000 accounts, so that most keys have no row in the batch after the savepoint and
  // fire by the timers registered before it.
  const int64_t num_accounts = op == Case::kGlobalEventTime ? 1000 : 100;
  GeneratorConfig input;
  input.num_rows = 60'000;
  input.rows_per_second = 60'000;  // about a second
  input.batch_size = 500;
  input.seed = 23;
  input.columns = {
      {.name = "id", .kind = GeneratorColumn::Kind::kSequence},
      {.name = "account",
       .kind = GeneratorColumn::Kind::kUniformInt,
       .int_min = 0,
       .int_max = num_accounts - 1},
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
  auto keyed = env.FromGenerator(input)
                   .AssignTimestampsAndWatermarks(
                       WatermarkStrategy::BoundedOutOfOrderness("_time", 20))
                   .KeyBy({"account"});
  env.SetParallelism(parallelism);
  const std::vector<AggregateSpec> aggregates = {
      Count().As("n"), Sum("amount").As("total"), Max("id").As("last_id")};
  DataStream result = [&] {
    switch (op) {
      case Case::kCountTumbling:
        return keyed.Window(CountWindow(50)).Aggregate(aggregates);
      case Case::kCountSliding:
        return keyed.Window(CountWindow(40, 15)).Aggregate(aggregates);
      case Case::kGlobalCount:
        return keyed.Window(GlobalWindow(CountTrigger(30))).Aggregate(aggregates);
      case Case::kGlobalCountPurging:
        return keyed.Window(GlobalWindow(CountTrigger(30).Purging()))
            .Aggregate(aggregates);
      case Case::kGlobalEventTime:
        return keyed.Window(GlobalWindow(EventTimeTrigger(milliseconds(100))))
            .Aggregate(aggregates);
      case Case::kGlobalProcessingTime:
        return keyed.Window(GlobalWindow(ProcessingTimeTrigger(milliseconds(50))))
            .Aggregate(aggregates);
      case Case::kSession:
        return keyed.Window(Session(milliseconds(120))).Aggregate(aggregates);
      case Case::kRunningOnWatermark:
        return keyed.Aggregate(aggregates, EmitMode::kOnWatermark);
      case Case::kRunningOnUpdate:
        return keyed.Aggregate(aggregates, EmitMode::kOnUpdate);
      case Case::kSliding:
        return keyed.Window(Sliding(milliseconds(200), milliseconds(50)))
            .Aggregate(aggregates);
    }
    return keyed.Aggregate(aggregates);
  }();
  env.SetParallelism(1);
  result.Rebalance().WriteFiles(
      {FileFormat::kJsonLines, output + "/out", /*exactly_once=*/true});
  return env.BuildPlan().ValueOrDie();
}

JobOptions Options(const std::string& checkpoints, const std::string& restore_from,
                   StateBackendKind backend, const std::string& state_directory) {
  JobOptions options;
  options.state_backend.kind = backend;
  options.state_backend.directory = state_directory;
  options.checkpoints.directory = checkpoints;
  options.checkpoints.interval_ms = 0;  // savepoints only
  options.checkpoints.restore_from = restore_from;
  return options;
}

// Every committed line of the sink's visible files, as a multiset.
std::multiset<std::string> CommittedLines(const std::string& output) {
  std::multiset<std::string> lines;
  const std::string directory = output + "/out";
  if (!std::filesystem::exists(directory)) return lines;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().filename().string().rfind("part-", 0) != 0) continue;
    std::ifstream file(entry.path());
    std::string line;
    while (std::getline(file, line)) lines.insert(line);
  }
  return lines;
}

// The integer value of `"field":` in a JSON line.
int64_t Field(const std::string& line, const std::string& field) {
  std::ostringstream quoted_field;
  quoted_field << '"' << field << '"';
  const std::string quoted = quoted_field.str();
  size_t pos = line.find(quoted);
  EXPECT_NE(pos, std::string::npos) << field << " in " << line;
  if (pos == std::string::npos) return -1;
  pos = line.find(':', pos + quoted.size());
  return std::strtoll(line.c_str() + pos + 1, nullptr, 10);
}

// Per account, the line with the most rows.
std::map<int64_t, std::string> FinalValues(const std::multiset<std::string>& lines) {
  std::map<int64_t, std::string> last;
  for (const std::string& line : lines) {
    const int64_t account = Field(line, "account");
    auto it = last.find(account);
    if (it == last.end() || Field(it->second, "n") < Field(line, "n")) {
      last[account] = line;
    }
  }
  return last;
}

// Waits until the job's source (its first node) emitted `rows`; false after 30 s.
bool WaitForSourceRows(Job& job, int64_t rows) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (job.Metrics()[0].rows_out < rows) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

class WindowRescaleTest : public ::testing::TestWithParam<RescaleParam> {};

TEST_P(WindowRescaleTest, RestoredFromSavepointCommitsTheOutputOfAnUninterruptedRun) {
  const RescaleParam param = GetParam();
  testing::TempDirectory directory;

  const std::string reference = directory.Child("reference");
  auto uninterrupted = Job::Start(Plan(param.op, param.from, reference),
                                  Options(directory.Child("reference-checkpoints"), "",
                                          param.backend, directory.Child("state")))
                           .ValueOrDie();
  const Status reference_status = uninterrupted->Wait();
  ASSERT_TRUE(reference_status.ok()) << reference_status.ToString();
  const std::multiset<std::string> expected = CommittedLines(reference);
  ASSERT_GT(expected.size(), 100u);

  const std::string output = directory.Child("out");
  const std::string checkpoints = directory.Child("checkpoints");
  auto job = Job::Start(Plan(param.op, param.from, output),
                        Options(checkpoints, "", param.backend, directory.Child("state")))
                 .ValueOrDie();
  // Mid-stream by progress, not by time: a loaded machine may start the job late. The
  // source then has about two thirds of a second of input left (it emits 60 000 rows
  // per second).
  ASSERT_TRUE(WaitForSourceRows(*job, 20'000));
  const std::string savepoint = directory.Child("savepoint");
  auto stopped = job->StopWithSavepoint(savepoint);
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  ASSERT_TRUE(job->Wait().ok());
  const std::multiset<std::string> before = CommittedLines(output);
  // The savepoint is taken mid-stream: some output is committed, not all.
  ASSERT_GT(before.size(), 0u);
  if (ComparesFinalValues(param.op)) {
    ASSERT_NE(FinalValues(before), FinalValues(expected));
  } else {
    ASSERT_LT(before.size(), expected.size());
  }

  auto restored = Job::Start(
      Plan(param.op, param.to, output),
      Options(checkpoints, savepoint, param.backend, directory.Child("state")));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ((*restored)->restored_checkpoint(), *stopped);
  const Status finished = (*restored)->Wait();
  ASSERT_TRUE(finished.ok()) << finished.ToString();
  const std::multiset<std::string> actual = CommittedLines(output);
  if (ComparesFinalValues(param.op)) {
    const auto actual_final = FinalValues(actual);
    const auto expected_final = FinalValues(expected);
    EXPECT_EQ(actual_final.size(), expected_final.size());
    EXPECT_TRUE(actual_final == expected_final);
  } else {
    EXPECT_EQ(actual.size(), expected.size());
    EXPECT_TRUE(actual == expected);
  }
}

std::vector<RescaleParam> Params() {
  std::vector<RescaleParam> params;
  for (Case op : {Case::kCountTumbling, Case::kCountSliding, Case::kGlobalCount,
                  Case::kGlobalCountPurging, Case::kGlobalEventTime,
                  Case::kGlobalProcessingTime, Case::kSession, Case::kRunningOnWatermark,
                  Case::kRunningOnUpdate, Case::kSliding}) {
    params.push_back({op, 1, 3});
    params.push_back({op, 3, 2});
  }
  for (Case op : {Case::kRunningOnWatermark, Case::kRunningOnUpdate, Case::kSliding,
                  Case::kCountTumbling, Case::kCountSliding, Case::kGlobalCount,
                  Case::kGlobalCountPurging, Case::kGlobalEventTime,
                  Case::kGlobalProcessingTime, Case::kSession}) {
    params.push_back({op, 1, 3, StateBackendKind::kRocksDb});
    params.push_back({op, 3, 2, StateBackendKind::kRocksDb});
    params.push_back({op, 2, 2, StateBackendKind::kRocksDb});
  }
  // The same parallelism restores each subtask's own state (RestoreState).
  for (Case op :
       {Case::kCountTumbling, Case::kCountSliding, Case::kGlobalCount,
        Case::kGlobalCountPurging, Case::kGlobalEventTime, Case::kGlobalProcessingTime}) {
    params.push_back({op, 2, 2});
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(
    Operators, WindowRescaleTest, ::testing::ValuesIn(Params()), [](const auto& info) {
      std::ostringstream name;
      name << CaseName(info.param.op) << info.param.from << "To" << info.param.to
           << (info.param.backend == StateBackendKind::kRocksDb ? "RocksDb" : "");
      return name.str();
    });

}  // namespace
}  // namespace sabot
