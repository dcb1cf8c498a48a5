#include "sabot/runtime/restart.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "sabot/api/stream_environment.h"
#include "sabot/common/time.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

constexpr int64_t kRows = 40'000;

GeneratorConfig Input() {
  GeneratorConfig config;
  config.num_rows = kRows;
  config.rows_per_second = 50'000;
  config.batch_size = 500;
  config.columns = {{.name = "id", .kind = GeneratorColumn::Kind::kSequence},
                    {.name = "k",
                     .kind = GeneratorColumn::Kind::kChoice,
                     .choices = {"a", "b", "c", "d"}}};
  return config;
}

// A map that fails on the batch holding row `fail_at` while `failures_left` > 0.
MapFunction FailingAt(int64_t fail_at, std::shared_ptr<std::atomic<int>> failures_left) {
  return [fail_at, failures_left](std::shared_ptr<arrow::RecordBatch> batch)
             -> Result<std::shared_ptr<arrow::RecordBatch>> {
    auto ids = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
    for (int64_t i = 0; i < ids->length(); ++i) {
      if (ids->Value(i) == fail_at && failures_left->fetch_sub(1) > 0) {
        return Status::IOError("injected failure at row ", fail_at);
      }
    }
    return batch;
  };
}

std::shared_ptr<const LogicalPlan> Plan(MapFunction map,
                                        std::shared_ptr<CollectedBatches>* collected) {
  StreamEnvironment env;
  env.SetParallelism(2);
  *collected = env.FromGenerator(Input())
                   .Map("failing", std::move(map))
                   .KeyBy({"k"})
                   .Aggregate({Count(), Sum("id")})
                   .Collect();
  return env.BuildPlan().ValueOrDie();
}

TEST(RestartTest, FailedJobResumesFromItsCheckpointAndEndsWithExactTotals) {
  testing::TempDirectory directory;
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 50;
  std::shared_ptr<CollectedBatches> collected;
  auto failures = std::make_shared<std::atomic<int>>(1);
  auto report = RunWithRestarts(Plan(FailingAt(30'000, failures), &collected), options,
                                RestartStrategy::FixedDelay(3, 10));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->restarts, 1);
  ASSERT_EQ(report->failures.size(), 1u);
  EXPECT_NE(report->failures[0].find("injected failure"), std::string::npos);
  ASSERT_EQ(report->restored_checkpoints.size(), 1u);
  EXPECT_GT(report->restored_checkpoints[0], 0) << "resumed from a checkpoint";

  // The latest count and sum per key (counts only grow) equal a direct computation:
  // rows before the checkpoint are counted once, from the restored state.
  std::map<std::string, std::pair<int64_t, int64_t>> expected, latest;
  {
    auto rows = testing::GeneratedRows(Input());
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
  for (const auto& batch : collected->batches()) {
    auto keys = std::static_pointer_cast<arrow::StringArray>(batch->column(0));
    auto counts = std::static_pointer_cast<arrow::Int64Array>(batch->column(1));
    auto sums = std::static_pointer_cast<arrow::Int64Array>(batch->column(2));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      auto& entry = latest[keys->GetString(i)];
      if (counts->Value(i) >= entry.first) entry = {counts->Value(i), sums->Value(i)};
    }
  }
  EXPECT_EQ(latest, expected);
}

TEST(RestartTest, StrategiesGiveUpAtTheirLimitAndSaySo) {
  testing::TempDirectory directory;
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 50;
  std::shared_ptr<CollectedBatches> collected;
  auto always = std::make_shared<std::atomic<int>>(1'000'000);
  {
    auto report = RunWithRestarts(Plan(FailingAt(100, always), &collected), options,
                                  RestartStrategy::FixedDelay(2, 1));
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("failed 3 time(s)"), std::string::npos)
        << report.status().ToString();
    EXPECT_NE(report.status().message().find("fixed delay (2 restarts"),
              std::string::npos);
    EXPECT_NE(report.status().message().find("injected failure"), std::string::npos);
  }
  {
    auto report = RunWithRestarts(Plan(FailingAt(100, always), &collected), options,
                                  RestartStrategy::FailureRate(1, 60'000, 1));
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("failed 2 time(s)"), std::string::npos)
        << report.status().ToString();
    EXPECT_NE(report.status().message().find("failure rate"), std::string::npos);
  }
  {
    auto report = RunWithRestarts(Plan(FailingAt(100, always), &collected), options,
                                  RestartStrategy::None());
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("failed 1 time(s)"), std::string::npos);
  }
  {
    // Waits of 20, 40 and 80 ms (capped at 80) before the three restarts.
    const int64_t start = WallClockMillis();
    auto report = RunWithRestarts(Plan(FailingAt(100, always), &collected), options,
                                  RestartStrategy::ExponentialBackoff(3, 20, 80));
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("failed 4 time(s)"), std::string::npos);
    EXPECT_GE(WallClockMillis() - start, 20 + 40 + 80);
  }
}

TEST(RestartTest, InvalidStrategyIsRejected) {
  std::shared_ptr<CollectedBatches> collected;
  auto never = std::make_shared<std::atomic<int>>(0);
  auto report = RunWithRestarts(Plan(FailingAt(0, never), &collected), {},
                                RestartStrategy::FixedDelay(-1, 0));
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().IsInvalid());
}

}  // namespace
}  // namespace sabot
