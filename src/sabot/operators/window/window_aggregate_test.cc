#include "sabot/operators/window/window_aggregate.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <tuple>

#include "sabot/api/stream_environment.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

using std::chrono::milliseconds;

// Brute-force reference: every event's window and aggregates computed row by row.
struct ModelAggregate {
  int64_t count = 0;
  double sum = 0;
  double min = INFINITY;
  int64_t max_account = INT64_MIN;
};
using ModelKey = std::tuple<std::string, int64_t>;  // key text, window start

std::map<ModelKey, ModelAggregate> Model(const arrow::Table& events,
                                         const std::string& key, int64_t size) {
  std::map<ModelKey, ModelAggregate> model;
  auto table = events.CombineChunks().ValueOrDie();
  auto keys = table->GetColumnByName(key)->chunk(0);
  auto amounts = std::static_pointer_cast<arrow::DoubleArray>(
      table->GetColumnByName("amount")->chunk(0));
  auto accounts = std::static_pointer_cast<arrow::Int64Array>(
      table->GetColumnByName("account")->chunk(0));
  auto times = std::static_pointer_cast<arrow::Int64Array>(
      table->GetColumnByName("_time")->chunk(0));
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    const int64_t t = times->Value(i);
    const int64_t start = t - (((t % size) + size) % size);
    auto& agg = model[{keys->GetScalar(i).ValueOrDie()->ToString(), start}];
    ++agg.count;
    agg.sum += amounts->Value(i);
    agg.min = std::min(agg.min, amounts->Value(i));
    agg.max_account = std::max(agg.max_account, accounts->Value(i));
  }
  return model;
}

std::shared_ptr<arrow::Table> Events(int64_t rows) {
  StreamEnvironment env;
  auto collected = env.FromGenerator(TransactionsGenerator(rows)).Collect();
  EXPECT_TRUE(env.Execute().ok());
  return collected->ToTable().ValueOrDie();
}

void ExpectWindowsMatchModel(const std::string& key, int64_t size_ms, int parallelism) {
  constexpr int64_t kRows = 300'000;
  StreamEnvironment env;
  env.SetParallelism(parallelism);
  GeneratorConfig config = TransactionsGenerator(kRows);
  config.batch_size = 8192;  // more batches, more interleaving across subtasks
  auto windows = env.FromGenerator(config)
                     .AssignTimestampsAndWatermarks(
                         WatermarkStrategy::BoundedOutOfOrderness("_time", 2000))
                     .KeyBy({key})
                     .Window(Tumbling(milliseconds(size_ms)))
                     .Aggregate({Count(), Sum("amount"), Min("amount"), Max("account"),
                                 Avg("amount")});
  auto collected = windows.Collect();
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->Metrics(windows.node_name()).rows_rejected, 0) << "no event is late";

  auto model = Model(*Events(kRows), key, size_ms);
  auto table = collected->ToTable().ValueOrDie()->CombineChunks().ValueOrDie();
  ASSERT_EQ(table->num_rows(), static_cast<int64_t>(model.size()));
  auto keys = table->GetColumnByName(key)->chunk(0);
  auto starts = std::static_pointer_cast<arrow::Int64Array>(
      table->GetColumnByName("window_start")->chunk(0));
  auto ends = std::static_pointer_cast<arrow::Int64Array>(
      table->GetColumnByName("window_end")->chunk(0));
  auto counts = std::static_pointer_cast<arrow::Int64Array>(
      table->GetColumnByName("count")->chunk(0));
  auto sums = std::static_pointer_cast<arrow::DoubleArray>(
      table->GetColumnByName("sum_amount")->chunk(0));
  auto mins = std::static_pointer_cast<arrow::DoubleArray>(
      table->GetColumnByName("min_amount")->chunk(0));
  auto maxs = std::static_pointer_cast<arrow::Int64Array>(
      table->GetColumnByName("max_account")->chunk(0));
  auto avgs = std::static_pointer_cast<arrow::DoubleArray>(
      table->GetColumnByName("avg_amount")->chunk(0));
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    ModelKey model_key{keys->GetScalar(i).ValueOrDie()->ToString(), starts->Value(i)};
    auto it = model.find(model_key);
    ASSERT_NE(it, model.end()) << "unexpected window " << std::get<0>(model_key) << " @"
                               << std::get<1>(model_key);
    const ModelAggregate& expected = it->second;
    EXPECT_EQ(ends->Value(i), starts->Value(i) + size_ms);
    EXPECT_EQ(counts->Value(i), expected.count);
    // Sums of doubles depend on the order of addition: compare relatively.
    EXPECT_NEAR(sums->Value(i), expected.sum, 1e-9 * std::abs(expected.sum));
    EXPECT_EQ(mins->Value(i), expected.min);
    EXPECT_EQ(maxs->Value(i), expected.max_account);
    EXPECT_NEAR(avgs->Value(i), expected.sum / expected.count,
                1e-9 * std::abs(expected.sum));
    model.erase(it);  // each window exactly once
  }
}

TEST(WindowAggregateTest, OutOfOrderInputMatchesBruteForceModelAcrossParallelism) {
  for (int parallelism : {1, 2, 4}) {
    SCOPED_TRACE("parallelism " + std::to_string(parallelism));
    ExpectWindowsMatchModel("city", 10'000, parallelism);
  }
}

TEST(WindowAggregateTest, ManyKeysMatchBruteForceModel) {
  ExpectWindowsMatchModel("account", 60'000, 2);
}

std::shared_ptr<arrow::Schema> EventSchema() {
  return arrow::schema({arrow::field("k", arrow::utf8()),
                        arrow::field("v", arrow::int32()),
                        arrow::field("t", arrow::int64())});
}

// Runs k/v/t batches (in order, parallelism 1) through a 10 s tumbling window.
struct WindowRun {
  std::shared_ptr<arrow::Table> table;
  int64_t late = 0;
};

WindowRun RunWindows(std::vector<std::string> batches_json, int64_t max_delay = 0) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (const auto& json : batches_json)
    batches.push_back(testing::BatchFromJson(EventSchema(), json));
  StreamEnvironment env;
  auto windows = env.FromBatches(EventSchema(), batches)
                     .AssignTimestampsAndWatermarks(
                         WatermarkStrategy::BoundedOutOfOrderness("t", max_delay))
                     .KeyBy({"k"})
                     .Window(Tumbling(milliseconds(10'000)))
                     .Aggregate({Count(), Sum("v"), Count("v")});
  auto collected = windows.Collect();
  auto result = env.Execute();
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {};
  return {collected->ToTable().ValueOrDie()->CombineChunks().ValueOrDie(),
          result->Metrics(windows.node_name()).rows_rejected};
}

std::string Rows(const WindowRun& run) {
  std::string text;
  auto table = run.table;
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    for (int c = 0; c < table->num_columns(); ++c) {
      text += table->column(c)->GetScalar(i).ValueOrDie()->ToString();
      text += c + 1 < table->num_columns() ? "," : ";";
    }
  }
  return text;
}

TEST(WindowAggregateTest, EventExactlyAtWindowEndBelongsToTheNextWindow) {
  auto run = RunWindows({R"([{"k": "a", "v": 1, "t": 0}, {"k": "a", "v": 2, "t": 9999},
                             {"k": "a", "v": 4, "t": 10000}])"});
  EXPECT_EQ(Rows(run), "a,0,10000,2,3,2;a,10000,20000,1,4,1;");
}

TEST(WindowAggregateTest, EmptyWindowsEmitNothingAndNegativeTimesFloor) {
  auto run =
      RunWindows({R"([{"k": "a", "v": 1, "t": -1}, {"k": "a", "v": 2, "t": 35000}])"});
  EXPECT_EQ(Rows(run), "a,-10000,0,1,1,1;a,30000,40000,1,2,1;");
}

TEST(WindowAggregateTest, LateEventIsDroppedAndCountedNotSilentlyLost) {
  // Monotonic: after t=15000 the watermark is 14999, so window [0, 10000) has fired.
  auto run =
      RunWindows({R"([{"k": "a", "v": 1, "t": 5000}, {"k": "b", "v": 1, "t": 15000}])",
                  R"([{"k": "a", "v": 7, "t": 1000}])"});
  EXPECT_EQ(Rows(run), "a,0,10000,1,1,1;b,10000,20000,1,1,1;");
  EXPECT_EQ(run.late, 1);
}

TEST(WindowAggregateTest, AllowedOutOfOrdernessKeepsDelayedEventInItsWindow) {
  auto run =
      RunWindows({R"([{"k": "a", "v": 1, "t": 5000}, {"k": "b", "v": 1, "t": 11000}])",
                  R"([{"k": "a", "v": 7, "t": 9000}])"},
                 /*max_delay=*/2000);
  EXPECT_EQ(Rows(run), "a,0,10000,2,8,2;b,10000,20000,1,1,1;");
  EXPECT_EQ(run.late, 0);
}

TEST(WindowAggregateTest, NullsAreSkippedByColumnAggregatesAndNullTimesAreDropped) {
  auto run = RunWindows({R"([{"k": "a", "v": null, "t": 1}, {"k": "a", "v": 3, "t": 2},
                             {"k": "a", "v": 5, "t": null}])"});
  EXPECT_EQ(Rows(run), "a,0,10000,2,3,1;");
  EXPECT_EQ(run.late, 1);
}

TEST(WindowAggregateTest, PlanErrorsSayWhatToChange) {
  {
    StreamEnvironment env;
    env.FromBatches(EventSchema(), {})
        .KeyBy({"k"})
        .Window(Tumbling(milliseconds(10)))
        .Aggregate({Count()})
        .Blackhole();
    auto plan = env.BuildPlan();
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.status().message().find("AssignTimestampsAndWatermarks"),
              std::string::npos);
  }
  {
    StreamEnvironment env;
    env.FromBatches(EventSchema(), {})
        .AssignTimestampsAndWatermarks(WatermarkStrategy::Monotonic("t"))
        .KeyBy({"k"})
        .Window(Tumbling(milliseconds(10)))
        .Aggregate({Sum("k")})
        .Blackhole();
    auto plan = env.BuildPlan();
    ASSERT_FALSE(plan.ok());
    EXPECT_TRUE(plan.status().IsTypeError());
    EXPECT_NE(plan.status().message().find("column 'k' of type string"),
              std::string::npos)
        << plan.status().message();
  }
  {
    StreamEnvironment env;
    env.FromBatches(EventSchema(), {})
        .AssignTimestampsAndWatermarks(WatermarkStrategy::Monotonic("k"))
        .Blackhole();
    auto plan = env.BuildPlan();
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.status().message().find("must be int64 milliseconds or a timestamp"),
              std::string::npos);
  }
}

// Every row has a new key and panes (sessions) are always open (the watermark trails
// by 1.5 windows), so the key table outgrows the live keys and is compacted several
// times; the results show whether keys survived the renumbering.
TEST(WindowAggregateTest, KeyTableCompactionKeepsResultsExact) {
  constexpr int64_t kRows = 300'000;
  auto schema = arrow::schema(
      {arrow::field("k", arrow::int64()), arrow::field("_time", arrow::int64())});
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int64_t first = 0; first < kRows; first += 4096) {
    arrow::Int64Builder keys, times;
    for (int64_t i = first; i < std::min(kRows, first + 4096); ++i) {
      EXPECT_TRUE(keys.Append(i).ok());
      EXPECT_TRUE(times.Append(i).ok());
    }
    const int64_t length = keys.length();
    batches.push_back(arrow::RecordBatch::Make(
        schema, length, {keys.Finish().ValueOrDie(), times.Finish().ValueOrDie()}));
  }
  for (WindowSpec window :
       {Tumbling(milliseconds(1000)), Sliding(milliseconds(2000), milliseconds(1000)),
        Session(milliseconds(1000))}) {
    StreamEnvironment env;
    auto collected = env.FromBatches(schema, batches)
                         .AssignTimestampsAndWatermarks(
                             WatermarkStrategy::BoundedOutOfOrderness("_time", 1500))
                         .KeyBy({"k"})
                         .Window(window)
                         .Aggregate({Count()})
                         .Collect();
    ASSERT_TRUE(env.Execute().ok());
    auto table = collected->ToTable().ValueOrDie()->CombineChunks().ValueOrDie();
    const bool session = window.kind == WindowKind::kSession;
    const int64_t windows_per_row = session ? 1 : window.size_ms / window.slide_ms;
    const int64_t size = session ? window.gap_ms : window.size_ms;
    ASSERT_EQ(table->num_rows(), kRows * windows_per_row) << window.ToString();
    auto keys = std::static_pointer_cast<arrow::Int64Array>(table->column(0)->chunk(0));
    auto starts = std::static_pointer_cast<arrow::Int64Array>(table->column(1)->chunk(0));
    auto counts = std::static_pointer_cast<arrow::Int64Array>(table->column(3)->chunk(0));
    std::map<int64_t, int64_t> windows_of_key;
    for (int64_t i = 0; i < table->num_rows(); ++i) {
      // Key k (= its event time) lies in the windows starting in (k - size, k]; its
      // session is [k, k + gap).
      const int64_t k = keys->Value(i);
      ASSERT_LE(starts->Value(i), k) << window.ToString();
      ASSERT_GT(starts->Value(i) + size, k) << window.ToString();
      if (session) {
        ASSERT_EQ(starts->Value(i), k);
      }
      ASSERT_EQ(counts->Value(i), 1);
      ++windows_of_key[k];
    }
    ASSERT_EQ(static_cast<int64_t>(windows_of_key.size()), kRows);
    for (const auto& [key, n] : windows_of_key) ASSERT_EQ(n, windows_per_row) << key;
  }
}

}  // namespace
}  // namespace sabot
