// Global windows through the StreamEnvironment API: count triggers (cumulative and
// purging), event-time and processing-time triggers, each on the memory and the RocksDB
// state backend, and the validation of window parameters. Every expected emission is
// computed by a row-by-row model of the documented semantics (docs/event_time.md),
// independently of the engine's panes, slots and bucket bookkeeping.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "sabot/api/stream_environment.h"
#include "sabot/operators/window/window_aggregate.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

using std::chrono::milliseconds;
using BatchVector = std::vector<std::shared_ptr<arrow::RecordBatch>>;

// ---------------------------------------------------------------------------------------
// Input rows: key `k`, event time `t`, value `v`.

struct Row {
  std::string k;
  int64_t t = 0;
  int64_t v = 0;
};

// A batch of input, in arrival order.
using RowBatch = std::vector<Row>;

std::shared_ptr<arrow::Schema> RowSchema() {
  return arrow::schema({arrow::field("k", arrow::utf8()),
                        arrow::field("t", arrow::int64()),
                        arrow::field("v", arrow::int64())});
}

std::shared_ptr<arrow::RecordBatch> MakeBatch(const RowBatch& rows) {
  arrow::StringBuilder k;
  arrow::Int64Builder t;
  arrow::Int64Builder v;
  for (const Row& row : rows) {
    EXPECT_TRUE(k.Append(row.k).ok());
    EXPECT_TRUE(t.Append(row.t).ok());
    EXPECT_TRUE(v.Append(row.v).ok());
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(3);
  EXPECT_TRUE(k.Finish(&columns[0]).ok());
  EXPECT_TRUE(t.Finish(&columns[1]).ok());
  EXPECT_TRUE(v.Finish(&columns[2]).ok());
  return arrow::RecordBatch::Make(RowSchema(), static_cast<int64_t>(rows.size()),
                                  std::move(columns));
}

BatchVector MakeBatches(const std::vector<RowBatch>& batches) {
  BatchVector result;
  for (const RowBatch& rows : batches) result.push_back(MakeBatch(rows));
  return result;
}

// Rows of keys a-d (skewed), with event times that mostly grow but jitter backwards
// (count windows accept any time), cut into batches of 1-9 rows.
std::vector<RowBatch> RandomBatches(size_t num_rows, uint32_t seed) {
  static const char* const kKeys[] = {"a", "b", "c", "d"};
  std::mt19937 rng(seed);
  std::discrete_distribution<int> key({40, 30, 20, 10});
  std::uniform_int_distribution<int64_t> step(0, 20);
  std::uniform_int_distribution<int64_t> jitter(0, 50);
  std::uniform_int_distribution<int64_t> value(-100, 100);
  std::uniform_int_distribution<size_t> batch_size(1, 9);
  std::vector<RowBatch> batches;
  int64_t base = -2000;  // negative times too
  size_t emitted = 0;
  while (emitted < num_rows) {
    RowBatch batch;
    const size_t size = std::min(batch_size(rng), num_rows - emitted);
    for (size_t i = 0; i < size; ++i) {
      base += step(rng);
      batch.push_back(Row{kKeys[key(rng)], base - jitter(rng), value(rng)});
    }
    emitted += size;
    batches.push_back(std::move(batch));
  }
  return batches;
}

// ---------------------------------------------------------------------------------------
// Emitted rows: key, window bounds (null without event time), count(*) and sum(v).

struct Emission {
  std::string key;
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  int64_t count = 0;
  int64_t sum = 0;

  bool operator==(const Emission& other) const {
    return std::tie(key, start, end, count, sum) ==
           std::tie(other.key, other.start, other.end, other.count, other.sum);
  }
  bool operator<(const Emission& other) const {
    return std::tie(key, start, end, count, sum) <
           std::tie(other.key, other.start, other.end, other.count, other.sum);
  }
};

std::ostream& operator<<(std::ostream& out, const std::optional<int64_t>& value) {
  if (value) return out << *value;
  return out << "null";
}

void PrintTo(const Emission& e, std::ostream* out) {
  *out << "(" << e.key << ", [" << e.start << ", " << e.end << "), count " << e.count
       << ", sum " << e.sum << ")";
}

std::string Text(const Emission& e) {
  std::ostringstream out;
  PrintTo(e, &out);
  return out.str();
}

std::string Text(const std::vector<Emission>& emissions) {
  std::ostringstream out;
  out << "{";
  for (size_t i = 0; i < emissions.size(); ++i) {
    out << (i > 0 ? ", " : "") << Text(emissions[i]);
  }
  out << "}";
  return out.str();
}

// Compares two sequences of emissions element by element and reports the first
// differences with their position (a plain EXPECT_EQ would dump hundreds of rows).
void ExpectSameSequence(const std::vector<Emission>& actual,
                        const std::vector<Emission>& expected) {
  constexpr int kMaxReports = 8;
  int reports = 0;
  for (size_t i = 0; i < std::max(actual.size(), expected.size()); ++i) {
    const bool has_actual = i < actual.size();
    const bool has_expected = i < expected.size();
    if (has_actual && has_expected && actual[i] == expected[i]) continue;
    if (++reports > kMaxReports) break;
    ADD_FAILURE() << "emission #" << i << ": got "
                  << (has_actual ? Text(actual[i]) : "nothing") << ", expected "
                  << (has_expected ? Text(expected[i]) : "nothing");
  }
  EXPECT_EQ(actual.size(), expected.size()) << "number of emissions";
}

std::optional<int64_t> OptionalCell(const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return std::nullopt;
  return static_cast<const arrow::Int64Array&>(array).Value(i);
}

// Reads the emissions of one result batch (output of Aggregate({Count(), Sum("v")})).
std::vector<Emission> EmissionsOf(const arrow::RecordBatch& batch) {
  std::vector<Emission> emissions;
  const auto keys = batch.GetColumnByName("k");
  const auto starts = batch.GetColumnByName("window_start");
  const auto ends = batch.GetColumnByName("window_end");
  const auto counts = batch.GetColumnByName("count");
  const auto sums = batch.GetColumnByName("sum_v");
  if (!keys || !starts || !ends || !counts || !sums) {
    ADD_FAILURE() << "unexpected result schema " << batch.schema()->ToString();
    return emissions;
  }
  for (int64_t i = 0; i < batch.num_rows(); ++i) {
    Emission e;
    e.key = static_cast<const arrow::StringArray&>(*keys).GetString(i);
    e.start = OptionalCell(*starts, i);
    e.end = OptionalCell(*ends, i);
    e.count = *OptionalCell(*counts, i);
    const std::optional<int64_t> sum = OptionalCell(*sums, i);
    EXPECT_TRUE(sum.has_value()) << "sum_v is never null here";
    e.sum = sum.value_or(0);
    emissions.push_back(std::move(e));
  }
  return emissions;
}

// ---------------------------------------------------------------------------------------
// Running the engine.

struct Pipeline {
  WindowSpec window;
  // Declares `t` as event time with this out-of-orderness bound (watermark = max time
  // seen - delay - 1 after each batch); none: the stream has no event time.
  std::optional<int64_t> delay = 0;
  int parallelism = 1;
  StateBackendKind backend = StateBackendKind::kMemory;
};

// Sets the job's state backend, with its files in `directory`. On RocksDB a small value
// cache makes most state reads and writes go to RocksDB itself.
void SetStateBackend(StateBackendKind backend, const testing::TempDirectory& directory,
                     StreamEnvironment* env) {
  env->SetStateBackend(
      {.kind = backend, .directory = directory.path(), .value_cache_bytes = 4096});
}

// Runs the batches in order through KeyBy(k).Window(...).Aggregate({Count(),
// Sum("v")}) and returns the emissions of each result batch (one per firing), in the
// order the sink received them.
void RunPipeline(const Pipeline& pipeline, const std::vector<RowBatch>& batches,
                 std::vector<std::vector<Emission>>* firings) {
  StreamEnvironment env;
  env.SetParallelism(pipeline.parallelism);
  testing::TempDirectory state_directory;
  SetStateBackend(pipeline.backend, state_directory, &env);
  DataStream input = env.FromBatches(RowSchema(), MakeBatches(batches));
  if (pipeline.delay) {
    input = input.AssignTimestampsAndWatermarks(
        WatermarkStrategy::BoundedOutOfOrderness("t", *pipeline.delay));
  }
  DataStream windows =
      input.KeyBy({"k"}).Window(pipeline.window).Aggregate({Count(), Sum("v")});
  std::shared_ptr<CollectedBatches> results = windows.Collect();
  auto job = env.Execute();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->Metrics(windows.node_name()).rows_rejected, 0);
  for (const auto& batch : results->batches()) {
    // Bounds are null exactly when the stream has no event time.
    const bool nullable = !pipeline.delay.has_value();
    EXPECT_EQ(batch->schema()->GetFieldByName("window_start")->nullable(), nullable);
    EXPECT_EQ(batch->schema()->GetFieldByName("window_end")->nullable(), nullable);
    firings->push_back(EmissionsOf(*batch));
  }
}

std::vector<Emission> Flatten(const std::vector<std::vector<Emission>>& firings) {
  std::vector<Emission> all;
  for (const auto& firing : firings) all.insert(all.end(), firing.begin(), firing.end());
  return all;
}

// ---------------------------------------------------------------------------------------
// Models.

// count(*), sum(v) and the event-time span of `rows` as an emission of `key`.
Emission Summarize(const std::string& key, const std::vector<const Row*>& rows,
                   bool event_time) {
  Emission e;
  e.key = key;
  e.count = static_cast<int64_t>(rows.size());
  int64_t min_t = std::numeric_limits<int64_t>::max();
  int64_t max_t = std::numeric_limits<int64_t>::min();
  for (const Row* row : rows) {
    e.sum += row->v;
    min_t = std::min(min_t, row->t);
    max_t = std::max(max_t, row->t);
  }
  if (event_time) {
    e.start = min_t;
    e.end = max_t + 1;
  }
  return e;
}

// GlobalWindow(CountTrigger(n)): per key in arrival order, after every n-th row of the
// key one emission over all its rows so far (or, purging, over the rows since its
// previous emission). Rows after a key's last multiple of n are never emitted.
std::vector<Emission> ModelCountTrigger(const std::vector<RowBatch>& batches, int64_t n,
                                        bool purge, bool event_time) {
  std::map<std::string, std::vector<const Row*>> rows_of_key;  // since the last purge
  std::map<std::string, int64_t> seen;
  std::vector<Emission> emissions;
  for (const RowBatch& batch : batches) {
    for (const Row& row : batch) {
      rows_of_key[row.k].push_back(&row);
      if (++seen[row.k] % n != 0) continue;
      emissions.push_back(Summarize(row.k, rows_of_key[row.k], event_time));
      if (purge) rows_of_key[row.k].clear();
    }
  }
  return emissions;
}

int64_t FloorDivide(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// GlobalWindow(EventTimeTrigger(interval)) at parallelism 1: after each batch the
// watermark is max time - delay - 1 (when it advances). A key updated by a row at t
// becomes due at the next multiple of `interval` after t (the earliest such time over
// its rows since its last firing); a watermark fires every due key once, with all its
// rows so far (or, purging, its rows since its previous firing), including rows of the
// batch that carried the watermark. The final watermark fires every key updated since
// its last firing. Returns the emissions of each firing, sorted by key.
std::vector<std::vector<Emission>> ModelEventTimeTrigger(
    const std::vector<RowBatch>& batches, int64_t interval, int64_t delay, bool purge) {
  std::map<std::string, std::vector<const Row*>> rows_of_key;  // since the last purge
  std::map<std::string, int64_t> due;  // keys updated since their last firing
  std::vector<std::vector<Emission>> firings;
  const auto fire = [&](int64_t watermark) {
    std::vector<Emission> firing;
    for (auto it = due.begin(); it != due.end();) {
      if (it->second > watermark) {
        ++it;
        continue;
      }
      firing.push_back(Summarize(it->first, rows_of_key[it->first], true));
      if (purge) rows_of_key[it->first].clear();
      it = due.erase(it);
    }
    if (!firing.empty()) firings.push_back(std::move(firing));
  };
  int64_t max_time = std::numeric_limits<int64_t>::min();
  int64_t watermark = std::numeric_limits<int64_t>::min();
  for (const RowBatch& batch : batches) {
    for (const Row& row : batch) {
      rows_of_key[row.k].push_back(&row);
      const int64_t next_multiple = (FloorDivide(row.t, interval) + 1) * interval;
      auto [it, inserted] = due.emplace(row.k, next_multiple);
      if (!inserted) it->second = std::min(it->second, next_multiple);
      max_time = std::max(max_time, row.t);
    }
    if (max_time - delay - 1 > watermark) {
      watermark = max_time - delay - 1;
      fire(watermark);
    }
  }
  fire(std::numeric_limits<int64_t>::max());
  return firings;
}

// Sorts the emissions of each firing by key: the order of keys within one firing is
// not part of the contract.
std::vector<std::vector<Emission>> SortedWithinFirings(
    std::vector<std::vector<Emission>> firings) {
  for (auto& firing : firings) std::sort(firing.begin(), firing.end());
  return firings;
}

void ExpectSameFirings(const std::vector<std::vector<Emission>>& actual,
                       const std::vector<std::vector<Emission>>& expected) {
  const auto sorted_actual = SortedWithinFirings(actual);
  const auto sorted_expected = SortedWithinFirings(expected);
  for (size_t i = 0; i < std::max(actual.size(), expected.size()); ++i) {
    const std::string got =
        i < sorted_actual.size() ? Text(sorted_actual[i]) : std::string("nothing");
    const std::string want =
        i < sorted_expected.size() ? Text(sorted_expected[i]) : std::string("nothing");
    EXPECT_EQ(got, want) << "firing #" << i;
  }
}

// (key, count) of each emission, firing by firing.
std::vector<std::vector<std::pair<std::string, int64_t>>> KeyCounts(
    const std::vector<std::vector<Emission>>& firings) {
  std::vector<std::vector<std::pair<std::string, int64_t>>> result;
  for (const auto& firing : SortedWithinFirings(firings)) {
    result.emplace_back();
    for (const Emission& e : firing) result.back().emplace_back(e.key, e.count);
  }
  return result;
}

// The job-level tests run on both state backends: on RocksDB global windows keep their
// state in the backend.
class GlobalWindowTest : public ::testing::TestWithParam<StateBackendKind> {};

// ---------------------------------------------------------------------------------------
// CountTrigger.

constexpr uint32_t kSeed = 20240917;

TEST_P(GlobalWindowTest, CountTriggerIsCumulativePerKeyWithEventTimeSpan) {
  const std::vector<RowBatch> batches = RandomBatches(400, kSeed);
  std::vector<std::vector<Emission>> firings;
  RunPipeline(
      {.window = GlobalWindow(CountTrigger(3)), .delay = 60, .backend = GetParam()},
      batches, &firings);
  // Emissions follow the rows that completed them, so the order is exact.
  ExpectSameSequence(Flatten(firings),
                     ModelCountTrigger(batches, 3, /*purge=*/false, /*event_time=*/true));
}

TEST_P(GlobalWindowTest, CountTriggerWithoutEventTimeHasNullBounds) {
  const std::vector<RowBatch> batches = RandomBatches(400, kSeed + 1);
  std::vector<std::vector<Emission>> firings;
  RunPipeline({.window = GlobalWindow(CountTrigger(3)),
               .delay = std::nullopt,
               .backend = GetParam()},
              batches, &firings);
  ExpectSameSequence(Flatten(firings), ModelCountTrigger(batches, 3, /*purge=*/false,
                                                         /*event_time=*/false));
}

TEST_P(GlobalWindowTest, PurgingCountTriggerCoversRowsSincePreviousEmission) {
  const std::vector<RowBatch> batches = RandomBatches(400, kSeed + 2);
  std::vector<std::vector<Emission>> firings;
  RunPipeline({.window = GlobalWindow(CountTrigger(3).Purging()),
               .delay = 60,
               .backend = GetParam()},
              batches, &firings);
  ExpectSameSequence(Flatten(firings),
                     ModelCountTrigger(batches, 3, /*purge=*/true, /*event_time=*/true));

  std::vector<std::vector<Emission>> no_time_firings;
  RunPipeline({.window = GlobalWindow(CountTrigger(3).Purging()),
               .delay = std::nullopt,
               .backend = GetParam()},
              batches, &no_time_firings);
  ExpectSameSequence(Flatten(no_time_firings), ModelCountTrigger(batches, 3,
                                                                 /*purge=*/true,
                                                                 /*event_time=*/false));
}

// Ten rows of `a` interleaved with five of `b` in one batch: every emission is a
// snapshot of its own prefix, not of the state at the end of the batch.
TEST_P(GlobalWindowTest, SeveralEmissionsOfOneKeyInOneBatchSnapshotTheirPrefix) {
  RowBatch batch;
  for (int64_t i = 0; i < 10; ++i) {
    batch.push_back(Row{"a", 1000 - 10 * i, i + 1});  // times decrease: min moves
    if (i % 2 == 1) batch.push_back(Row{"b", 2000 + i, 100 * i});
  }
  const std::vector<RowBatch> batches = {batch};
  for (bool purge : {false, true}) {
    SCOPED_TRACE(purge ? "purging" : "cumulative");
    Trigger trigger = CountTrigger(2);
    if (purge) trigger = trigger.Purging();
    std::vector<std::vector<Emission>> firings;
    RunPipeline({.window = GlobalWindow(trigger), .delay = 0, .backend = GetParam()},
                batches, &firings);
    const std::vector<Emission> expected =
        ModelCountTrigger(batches, 2, purge, /*event_time=*/true);
    ExpectSameSequence(Flatten(firings), expected);

    // The model itself, spelled out for `a`: counts 2, 4, ..., 10 cumulative, or 2 each
    // purging; sums of 1..2k (cumulative) or of each pair.
    std::vector<std::pair<int64_t, int64_t>> a_counts_and_sums;
    for (const Emission& e : expected) {
      if (e.key == "a") a_counts_and_sums.emplace_back(e.count, e.sum);
    }
    if (purge) {
      EXPECT_EQ(a_counts_and_sums, (std::vector<std::pair<int64_t, int64_t>>{
                                       {2, 3}, {2, 7}, {2, 11}, {2, 15}, {2, 19}}));
    } else {
      EXPECT_EQ(a_counts_and_sums, (std::vector<std::pair<int64_t, int64_t>>{
                                       {2, 3}, {4, 10}, {6, 21}, {8, 36}, {10, 55}}));
    }
  }
}

// ---------------------------------------------------------------------------------------
// EventTimeTrigger.

// Monotonic times; whenever a batch's watermark crosses a multiple of 1000, every key
// with a row in that batch also had a row before the multiple, so the firing does not
// depend on when a key updated only by the crossing batch is due (see the next tests).
std::vector<RowBatch> EventTimeBatches() {
  return {
      {{"a", 100, 1}, {"b", 200, 2}, {"a", 300, 3}},  // watermark 299
      {{"c", 900, 4}, {"a", 950, 5}},                 // 949
      {{"a", 1005, 6}, {"b", 1010, 7}},               // 1009: fires a, b, c
      {{"a", 1500, 8}, {"c", 1600, 9}},               // 1599
      {{"a", 1700, 10}, {"b", 1800, 11}},             // 1799
      {{"c", 2500, 12}, {"b", 2600, 13}},             // 2599: fires a, b, c
      {{"a", 2700, 14}, {"a", 2800, 15}},             // 2799
      {{"d", 2900, 16}},                              // 2899
      {{"a", 5200, 17}},                              // 5199: fires a, d
      {{"b", 5300, 18}},                              // 5299; end: fires b
  };
}

TEST_P(GlobalWindowTest, EventTimeTriggerFiresUpdatedKeysAtMultiplesOfInterval) {
  const std::vector<RowBatch> batches = EventTimeBatches();
  std::vector<std::vector<Emission>> firings;
  RunPipeline({.window = GlobalWindow(EventTimeTrigger(milliseconds(1000))),
               .delay = 0,
               .backend = GetParam()},
              batches, &firings);
  const auto expected = ModelEventTimeTrigger(batches, 1000, 0, /*purge=*/false);
  ExpectSameFirings(firings, expected);
  using KeyCount = std::vector<std::pair<std::string, int64_t>>;
  // The model, spelled out.
  EXPECT_EQ(KeyCounts(expected), (std::vector<KeyCount>{{{"a", 4}, {"b", 2}, {"c", 1}},
                                                        {{"a", 6}, {"b", 4}, {"c", 3}},
                                                        {{"a", 9}, {"d", 1}},
                                                        {{"b", 5}}}));
}

TEST_P(GlobalWindowTest, PurgingEventTimeTriggerEmitsRowsSincePreviousFiring) {
  const std::vector<RowBatch> batches = EventTimeBatches();
  std::vector<std::vector<Emission>> firings;
  RunPipeline({.window = GlobalWindow(EventTimeTrigger(milliseconds(1000)).Purging()),
               .delay = 0,
               .backend = GetParam()},
              batches, &firings);
  const auto expected = ModelEventTimeTrigger(batches, 1000, 0, /*purge=*/true);
  ExpectSameFirings(firings, expected);
  using KeyCount = std::vector<std::pair<std::string, int64_t>>;
  EXPECT_EQ(KeyCounts(expected), (std::vector<KeyCount>{{{"a", 4}, {"b", 2}, {"c", 1}},
                                                        {{"a", 2}, {"b", 2}, {"c", 2}},
                                                        {{"a", 3}, {"d", 1}},
                                                        {{"b", 1}}}));
}

// A key whose only update since its last firing is in the batch whose watermark crosses
// a multiple of the interval is due at the next multiple after that row, not at the one
// the watermark just crossed (Flink's ContinuousEventTimeTrigger registers the firing
// at the next multiple after the element's timestamp).
TEST_P(GlobalWindowTest, EventTimeTriggerKeyUpdatedByCrossingBatchWaitsForItsMultiple) {
  const std::vector<RowBatch> batches = {
      {{"a", 500, 1}},                   // watermark 499
      {{"b", 1005, 2}, {"a", 600, 3}},   // 1004: a is due at 1000, b at 2000
      {{"b", 1500, 4}},                  // 1499
      {{"c", 2001, 5}, {"a", 1999, 6}},  // 2000: b is due; a and c at 2000 and 3000
      {{"c", 2100, 7}},                  // 2099; end: c
  };
  std::vector<std::vector<Emission>> firings;
  RunPipeline({.window = GlobalWindow(EventTimeTrigger(milliseconds(1000))),
               .delay = 0,
               .backend = GetParam()},
              batches, &firings);
  const auto expected = ModelEventTimeTrigger(batches, 1000, 0, /*purge=*/false);
  ExpectSameFirings(firings, expected);
  using KeyCount = std::vector<std::pair<std::string, int64_t>>;
  EXPECT_EQ(KeyCounts(expected),
            (std::vector<KeyCount>{{{"a", 2}}, {{"a", 3}, {"b", 2}}, {{"c", 2}}}));
}

// With out-of-order input the first row of the stream is not its earliest: a row at 700
// after one at 1500 is due at 1000, and fires when the watermark passes 1000.
TEST_P(GlobalWindowTest, EventTimeTriggerOutOfOrderRowFiresAtItsOwnMultiple) {
  const std::vector<RowBatch> batches = {
      {{"a", 1500, 1}, {"b", 700, 2}},  // watermark 999 (delay 500)
      {{"c", 1600, 3}},                 // 1099: b is due
      {{"a", 2600, 4}},                 // 2099: a and c are due
  };
  std::vector<std::vector<Emission>> firings;
  RunPipeline({.window = GlobalWindow(EventTimeTrigger(milliseconds(1000))),
               .delay = 500,
               .backend = GetParam()},
              batches, &firings);
  const auto expected = ModelEventTimeTrigger(batches, 1000, 500, /*purge=*/false);
  ExpectSameFirings(firings, expected);
  using KeyCount = std::vector<std::pair<std::string, int64_t>>;
  EXPECT_EQ(KeyCounts(expected),
            (std::vector<KeyCount>{{{"b", 1}}, {{"a", 2}, {"c", 1}}}));
}

// Thousands of keys with two timers each, all due at the final watermark: every key
// fires once, with both its rows, also when the firing is split into several output
// batches (the RocksDB layout fires due timers a few thousand at a time, and a key's
// second timer may come in a later chunk than its first).
TEST_P(GlobalWindowTest, EventTimeTriggerFiresEachDueKeyOnceAmongManyTimers) {
  RowBatch batch;
  for (int64_t i = 0; i < 5000; ++i) {
    std::ostringstream key;
    key << "k" << i;
    batch.push_back(Row{key.str(), 100, i});   // due at 1000
    batch.push_back(Row{key.str(), 1500, 1});  // due at 2000
  }
  const std::vector<RowBatch> batches = {batch};
  for (bool purge : {false, true}) {
    SCOPED_TRACE(purge ? "purging" : "cumulative");
    Trigger trigger = EventTimeTrigger(milliseconds(1000));
    if (purge) trigger = trigger.Purging();
    std::vector<std::vector<Emission>> firings;
    // The watermark of the batch (-8501) makes nothing due; the final one all.
    RunPipeline({.window = GlobalWindow(trigger), .delay = 10'000, .backend = GetParam()},
                batches, &firings);
    std::vector<Emission> actual = Flatten(firings);
    std::vector<Emission> expected =
        Flatten(ModelEventTimeTrigger(batches, 1000, 10'000, purge));
    ASSERT_EQ(expected.size(), 5000u);
    std::sort(actual.begin(), actual.end());
    std::sort(expected.begin(), expected.end());
    ExpectSameSequence(actual, expected);
  }
}

// ---------------------------------------------------------------------------------------
// ProcessingTimeTrigger.

// ~300 rows over ~300 ms of wall-clock time (batches of 10 rows every ~10 ms), three
// keys, fired every 50 ms.
GeneratorConfig SlowGenerator() {
  GeneratorConfig config;
  GeneratorColumn key;
  key.name = "k";
  key.kind = GeneratorColumn::Kind::kChoice;
  key.choices = {"x", "y", "z"};
  GeneratorColumn value;
  value.name = "v";
  value.kind = GeneratorColumn::Kind::kUniformInt;
  value.int_min = -1000;
  value.int_max = 1000;
  config.columns = {key, value};
  config.seed = 7;
  config.num_rows = 300;
  config.batch_size = 10;
  config.rows_per_second = 1000;
  return config;
}

TEST_P(GlobalWindowTest, ProcessingTimeTriggerEmitsCumulativeCountsRepeatedly) {
  // The generator's rows, collected on their own: values depend only on the seed and
  // the row index, so the windowed run sees the same rows.
  std::map<std::string, std::pair<int64_t, int64_t>> model;  // key -> (count, sum)
  {
    StreamEnvironment env;
    auto rows = env.FromGenerator(SlowGenerator()).Collect();
    auto job = env.Execute();
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    for (const auto& batch : rows->batches()) {
      const auto& keys = static_cast<const arrow::StringArray&>(*batch->column(0));
      const auto& values = static_cast<const arrow::Int64Array&>(*batch->column(1));
      for (int64_t i = 0; i < batch->num_rows(); ++i) {
        auto& [count, sum] = model[keys.GetString(i)];
        ++count;
        sum += values.Value(i);
      }
    }
  }
  ASSERT_EQ(model.size(), 3u);

  StreamEnvironment env;
  testing::TempDirectory state_directory;
  SetStateBackend(GetParam(), state_directory, &env);
  auto windows = env.FromGenerator(SlowGenerator())
                     .KeyBy({"k"})
                     .Window(GlobalWindow(ProcessingTimeTrigger(milliseconds(50))))
                     .Aggregate({Count(), Sum("v")});
  auto results = windows.Collect();
  auto job = env.Execute();
  ASSERT_TRUE(job.ok()) << job.status().ToString();

  std::vector<Emission> emissions;
  for (const auto& batch : results->batches()) {
    for (Emission& e : EmissionsOf(*batch)) emissions.push_back(std::move(e));
  }
  // ~6 firings of up to 3 keys; at least more than one emission per key on average.
  EXPECT_GT(emissions.size(), model.size()) << Text(emissions);
  std::map<std::string, Emission> latest;
  for (const Emission& e : emissions) {
    EXPECT_FALSE(e.start.has_value()) << "no event time: " << Text(e);
    EXPECT_FALSE(e.end.has_value()) << "no event time: " << Text(e);
    auto it = latest.find(e.key);
    if (it != latest.end()) {
      EXPECT_GT(e.count, it->second.count)
          << "cumulative, and only updated keys fire: " << Text(it->second) << " then "
          << Text(e);
    }
    latest[e.key] = e;
  }
  for (const auto& [key, count_and_sum] : model) {
    SCOPED_TRACE(key);
    auto it = latest.find(key);
    ASSERT_NE(it, latest.end()) << "key never emitted; emissions " << Text(emissions);
    EXPECT_EQ(it->second.count, count_and_sum.first)
        << "latest emission must cover all rows; emissions " << Text(emissions);
    EXPECT_EQ(it->second.sum, count_and_sum.second);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, GlobalWindowTest,
                         ::testing::Values(StateBackendKind::kMemory,
                                           StateBackendKind::kRocksDb),
                         [](const auto& info) {
                           return info.param == StateBackendKind::kRocksDb
                                      ? std::string("RocksDb")
                                      : std::string("Memory");
                         });

// ---------------------------------------------------------------------------------------
// Validation.

struct InvalidCase {
  const char* name;
  WindowSpec window;
  int64_t allowed_lateness_ms;
  // Words the error must contain: the bad parameter.
  std::vector<std::string> words;
};

TEST(GlobalWindowValidationTest, InvalidWindowParametersFailWithTheirName) {
  const std::vector<InvalidCase> cases = {
      {"count trigger 0", GlobalWindow(CountTrigger(0)), 0, {"CountTrigger", "count"}},
      {"count trigger -2", GlobalWindow(CountTrigger(-2)), 0, {"CountTrigger", "count"}},
      {"purging count trigger 0",
       GlobalWindow(CountTrigger(0).Purging()),
       0,
       {"CountTrigger", "count"}},
      {"event-time interval 0",
       GlobalWindow(EventTimeTrigger(milliseconds(0))),
       0,
       {"interval"}},
      {"processing-time interval -5",
       GlobalWindow(ProcessingTimeTrigger(milliseconds(-5))),
       0,
       {"interval"}},
      {"no trigger", GlobalWindow(Trigger{}), 0, {"trigger"}},
      {"count window 0", CountWindow(0), 0, {"size"}},
      {"count window slide > size", CountWindow(3, 4), 0, {"slide"}},
      {"sliding slide > size",
       Sliding(milliseconds(1000), milliseconds(2000)),
       0,
       {"slide", "size"}},
      {"session gap 0", Session(milliseconds(0)), 0, {"gap"}},
      {"negative lateness", Tumbling(milliseconds(1000)), -1, {"lateness"}},
  };
  const auto batch = MakeBatch({{"a", 1, 1}});
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    StreamEnvironment env;
    WindowedStream windowed = env.FromBatches(RowSchema(), {batch})
                                  .AssignTimestampsAndWatermarks(
                                      WatermarkStrategy::BoundedOutOfOrderness("t", 0))
                                  .KeyBy({"k"})
                                  .Window(c.window);
    windowed.AllowedLateness(milliseconds(c.allowed_lateness_ms));
    windowed.Aggregate({Count()}).Collect();
    auto plan = env.BuildPlan();
    ASSERT_FALSE(plan.ok());
    const std::string message = plan.status().ToString();
    EXPECT_NE(message.find("Window.Aggregate"), std::string::npos)
        << "names the method: " << message;
    for (const std::string& word : c.words) {
      EXPECT_NE(message.find(word), std::string::npos)
          << "expected '" << word << "' in: " << message;
    }
    auto job = env.Execute();
    ASSERT_FALSE(job.ok());
    EXPECT_EQ(job.status().ToString(), message);
  }
}

}  // namespace
}  // namespace sabot
