// Property and edge-case tests of keyed windows against brute-force models. Every
// expected result is computed row by row from the input (which windows a row belongs to,
// then each aggregate over the window's rows), independently of the engine's panes,
// session merging and count bookkeeping, and compared with the engine's output as a
// multiset of rows.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "sabot/api/stream_environment.h"
#include "sabot/operators/window/window_aggregate.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

using std::chrono::milliseconds;
using BatchVector = std::vector<std::shared_ptr<arrow::RecordBatch>>;

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// ---------------------------------------------------------------------------------------
// Input rows.

// One input row: string key `k`, int64 key `g`, event time `t` and value columns of the
// types the aggregates treat differently. `v` holds multiples of 1/8 of modest size, so
// that double sums are exact whatever order the engine adds them in.
struct Event {
  std::string k;
  int64_t g = 0;
  int64_t t = 0;
  double v = 0;
  int32_t n = 0;
  std::string tag;
  int64_t stamp = 0;  // microseconds
};

Event At(std::string key, int64_t t, double v = 1) {
  return Event{.k = std::move(key), .t = t, .v = v};
}

std::shared_ptr<arrow::DataType> StampType() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

std::shared_ptr<arrow::Schema> EventSchema() {
  return arrow::schema(
      {arrow::field("k", arrow::utf8()), arrow::field("g", arrow::int64()),
       arrow::field("t", arrow::int64()), arrow::field("v", arrow::float64()),
       arrow::field("n", arrow::int32()), arrow::field("tag", arrow::utf8()),
       arrow::field("stamp", StampType())});
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> MakeBatch(
    const std::vector<Event>& events) {
  arrow::StringBuilder k;
  arrow::Int64Builder g;
  arrow::Int64Builder t;
  arrow::DoubleBuilder v;
  arrow::Int32Builder n;
  arrow::StringBuilder tag;
  arrow::TimestampBuilder stamp(StampType(), arrow::default_memory_pool());
  for (const Event& event : events) {
    ARROW_RETURN_NOT_OK(k.Append(event.k));
    ARROW_RETURN_NOT_OK(g.Append(event.g));
    ARROW_RETURN_NOT_OK(t.Append(event.t));
    ARROW_RETURN_NOT_OK(v.Append(event.v));
    ARROW_RETURN_NOT_OK(n.Append(event.n));
    ARROW_RETURN_NOT_OK(tag.Append(event.tag));
    ARROW_RETURN_NOT_OK(stamp.Append(event.stamp));
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(7);
  ARROW_RETURN_NOT_OK(k.Finish(&columns[0]));
  ARROW_RETURN_NOT_OK(g.Finish(&columns[1]));
  ARROW_RETURN_NOT_OK(t.Finish(&columns[2]));
  ARROW_RETURN_NOT_OK(v.Finish(&columns[3]));
  ARROW_RETURN_NOT_OK(n.Finish(&columns[4]));
  ARROW_RETURN_NOT_OK(tag.Finish(&columns[5]));
  ARROW_RETURN_NOT_OK(stamp.Finish(&columns[6]));
  return arrow::RecordBatch::Make(EventSchema(), static_cast<int64_t>(events.size()),
                                  std::move(columns));
}

std::shared_ptr<arrow::RecordBatch> Batch(const std::vector<Event>& events) {
  return MakeBatch(events).ValueOrDie();
}

// Cuts `events` into batches of `rows_per_batch` rows, in order.
BatchVector Batches(const std::vector<Event>& events, size_t rows_per_batch) {
  BatchVector batches;
  for (size_t begin = 0; begin < events.size(); begin += rows_per_batch) {
    const size_t end = std::min(events.size(), begin + rows_per_batch);
    batches.push_back(
        Batch(std::vector<Event>(events.begin() + begin, events.begin() + end)));
  }
  return batches;
}

// How far behind the rows before it a generated row may be, and the watermark bound
// used with generated input (larger, so that no row is ever late).
constexpr int64_t kMaxDelay = 500;
constexpr int64_t kOutOfOrderness = 600;

// Rows whose base time grows with the row index (steps of 0-3 ms, now and then a pause
// of 100-900 ms so that sessions end), minus a random delay of at most kMaxDelay. Any
// earlier row j has t_j <= base_j <= base_i, so row i is at most kMaxDelay behind every
// row before it, however the source deals batches to subtasks. A watermark the window
// has seen when row i arrives is at most (max time of earlier rows) - kOutOfOrderness - 1
// < t_i - 100: no row is late, no window fires before all its rows arrived, and no row
// can touch a session that already fired. Keys are skewed so that rare keys have long
// gaps; times are unique per key so that First/Last are well defined.
std::vector<Event> GenerateEvents(size_t num_rows, uint32_t seed) {
  static const char* const kKeys[] = {"ant", "bee", "cat", "dog", "eel", "fox", "gnu"};
  static const char* const kTags[] = {"red", "green", "blue", "", "cyan"};
  std::mt19937 rng(seed);
  std::discrete_distribution<int> key({30, 20, 15, 10, 5, 2, 1});
  std::uniform_int_distribution<int64_t> step(0, 3);
  std::uniform_int_distribution<int64_t> pause(100, 900);
  std::uniform_int_distribution<int64_t> delay(0, kMaxDelay);
  std::uniform_int_distribution<int64_t> eighths(-8000, 8000);
  std::uniform_int_distribution<int32_t> small(-20, 20);
  std::uniform_int_distribution<int64_t> micros(-1'000'000'000'000'000,
                                                1'000'000'000'000'000);
  std::uniform_int_distribution<int> percent(0, 99);
  std::map<std::string, std::set<int64_t>> used_times;
  std::vector<Event> events;
  int64_t base = -5000;  // negative times too
  while (events.size() < num_rows) {
    base += percent(rng) == 0 ? pause(rng) : step(rng);
    Event event;
    event.k = kKeys[key(rng)];
    event.g = percent(rng) % 3;
    event.t = base - (percent(rng) < 30 ? delay(rng) : 0);
    event.v = static_cast<double>(eighths(rng)) / 8;
    event.n = small(rng);
    event.tag = kTags[percent(rng) % 5];
    event.stamp = micros(rng);
    if (!used_times[event.k].insert(event.t).second) continue;
    events.push_back(std::move(event));
  }
  return events;
}

// ---------------------------------------------------------------------------------------
// Result rows, from the engine or from the model.

using Value = std::variant<std::monostate, int64_t, double, std::string>;

std::string Text(const Value& value) {
  std::ostringstream out;
  out.precision(17);
  std::visit(
      [&](const auto& x) {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::monostate>) {
          out << "null";
        } else {
          out << x;
        }
      },
      value);
  return out.str();
}

double AsDouble(const Value& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  return std::get<double>(value);
}

struct ResultRow {
  std::string key;              // key columns joined by '|'
  std::vector<int64_t> bounds;  // {window_start, window_end}; empty for count windows
  std::vector<Value> aggregates;
};

std::string Text(const ResultRow& row) {
  std::ostringstream out;
  out << "(" << row.key;
  for (int64_t bound : row.bounds) out << ", " << bound;
  for (const Value& value : row.aggregates) out << ", " << Text(value);
  out << ")";
  return out.str();
}

// A result row of a time window with count(*) only, or with count(*) and sum(v).
ResultRow Row(std::string key, int64_t start, int64_t end, int64_t count) {
  return ResultRow{std::move(key), {start, end}, {Value(count)}};
}

ResultRow Row(std::string key, int64_t start, int64_t end, int64_t count, double sum) {
  return ResultRow{std::move(key), {start, end}, {Value(count), Value(sum)}};
}

Value CellOf(const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return std::monostate{};
  switch (array.type_id()) {
    case arrow::Type::INT32:
      return int64_t{static_cast<const arrow::Int32Array&>(array).Value(i)};
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(array).Value(i);
    case arrow::Type::TIMESTAMP:
      return static_cast<const arrow::TimestampArray&>(array).Value(i);
    case arrow::Type::DOUBLE:
      return static_cast<const arrow::DoubleArray&>(array).Value(i);
    case arrow::Type::STRING:
      return std::string(static_cast<const arrow::StringArray&>(array).GetView(i));
    default:
      ADD_FAILURE() << "unexpected result column type " << array.type()->ToString();
      return std::monostate{};
  }
}

// Reads the engine's result rows: the `num_keys` key columns first, then the window
// bounds (unless `with_bounds` is false) and the aggregates, looked up by name.
std::vector<ResultRow> ResultRows(const arrow::RecordBatch& batch, size_t num_keys,
                                  const std::vector<AggregateSpec>& aggregates,
                                  bool with_bounds) {
  std::vector<std::shared_ptr<arrow::Array>> bounds;
  if (with_bounds) {
    bounds = {batch.GetColumnByName("window_start"), batch.GetColumnByName("window_end")};
  }
  std::vector<std::shared_ptr<arrow::Array>> values;
  for (const AggregateSpec& aggregate : aggregates) {
    values.push_back(batch.GetColumnByName(aggregate.output_name));
  }
  bool complete = true;
  for (const auto& column : bounds) {
    if (!column) ADD_FAILURE() << "no window_start/window_end column";
    complete &= column != nullptr;
  }
  for (size_t a = 0; a < aggregates.size(); ++a) {
    if (!values[a]) ADD_FAILURE() << "no column " << aggregates[a].output_name;
    complete &= values[a] != nullptr;
  }
  if (!complete) return {};
  std::vector<ResultRow> rows(batch.num_rows());
  for (int64_t i = 0; i < batch.num_rows(); ++i) {
    ResultRow& row = rows[i];
    for (size_t c = 0; c < num_keys; ++c) {
      if (c > 0) row.key += "|";
      row.key += Text(CellOf(*batch.column(static_cast<int>(c)), i));
    }
    for (const auto& column : bounds) {
      row.bounds.push_back(std::get<int64_t>(CellOf(*column, i)));
    }
    for (const auto& column : values) row.aggregates.push_back(CellOf(*column, i));
  }
  return rows;
}

bool SameValue(const Value& actual, const Value& expected) {
  if (const auto* e = std::get_if<double>(&expected)) {
    const auto* a = std::get_if<double>(&actual);
    return a != nullptr && std::abs(*a - *e) <= 1e-9 * std::max(1.0, std::abs(*e));
  }
  return actual == expected;
}

// Compares result rows as multisets: rows are matched by key and window bounds (rows of
// the same window, i.e. allowed-lateness updates and count windows of a key, in the
// order emitted), doubles within 1e-9 relative. Reports the first few differences.
void ExpectSameRows(std::vector<ResultRow> actual, std::vector<ResultRow> expected) {
  const auto by_window = [](const ResultRow& a, const ResultRow& b) {
    return std::tie(a.key, a.bounds) < std::tie(b.key, b.bounds);
  };
  std::stable_sort(actual.begin(), actual.end(), by_window);
  std::stable_sort(expected.begin(), expected.end(), by_window);
  constexpr int kMaxReports = 10;
  int mismatches = 0;
  size_t i = 0;
  size_t j = 0;
  while (i < actual.size() || j < expected.size()) {
    if (j == expected.size() ||
        (i < actual.size() && by_window(actual[i], expected[j]))) {
      if (++mismatches <= kMaxReports)
        ADD_FAILURE() << "unexpected row " << Text(actual[i]);
      ++i;
    } else if (i == actual.size() || by_window(expected[j], actual[i])) {
      if (++mismatches <= kMaxReports)
        ADD_FAILURE() << "missing row " << Text(expected[j]);
      ++j;
    } else {
      bool same = actual[i].aggregates.size() == expected[j].aggregates.size();
      for (size_t a = 0; same && a < expected[j].aggregates.size(); ++a) {
        same = SameValue(actual[i].aggregates[a], expected[j].aggregates[a]);
      }
      if (!same && ++mismatches <= kMaxReports) {
        ADD_FAILURE() << "row " << Text(actual[i]) << ", expected " << Text(expected[j]);
      }
      ++i;
      ++j;
    }
  }
  EXPECT_EQ(mismatches, 0) << "rows differ: " << actual.size() << " rows, expected "
                           << expected.size();
}

// ---------------------------------------------------------------------------------------
// Brute-force model.

Value ColumnValue(const Event& event, const std::string& column) {
  if (column == "k") return event.k;
  if (column == "g") return event.g;
  if (column == "t") return event.t;
  if (column == "v") return event.v;
  if (column == "n") return int64_t{event.n};
  if (column == "tag") return event.tag;
  if (column == "stamp") return event.stamp;
  ADD_FAILURE() << "the model has no column " << column;
  return std::monostate{};
}

std::string KeyOf(const Event& event, const std::vector<std::string>& key_columns) {
  std::string key;
  for (size_t c = 0; c < key_columns.size(); ++c) {
    if (c > 0) key += "|";
    key += Text(ColumnValue(event, key_columns[c]));
  }
  return key;
}

// The rows of one key's window, in arrival order.
struct ModelWindow {
  std::string key;
  std::vector<int64_t> bounds;
  std::vector<const Event*> rows;
};

int64_t FloorDivide(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// Tumbling and sliding windows: a row at t belongs to every [s, s + size) with
// s = offset + k * slide and s <= t < s + size. Sessions: per key, the rows sorted by
// time, a row joining the current session when it is not after the session's end
// ([t, t + gap) overlapping or touching it).
std::vector<ModelWindow> ModelTimeWindows(const std::vector<Event>& events,
                                          const WindowSpec& window,
                                          const std::vector<std::string>& key_columns) {
  std::vector<ModelWindow> windows;
  if (window.kind == WindowKind::kSession) {
    std::map<std::string, std::vector<const Event*>> rows_of_key;
    for (const Event& event : events)
      rows_of_key[KeyOf(event, key_columns)].push_back(&event);
    for (auto& [key, rows] : rows_of_key) {
      std::stable_sort(rows.begin(), rows.end(),
                       [](const Event* a, const Event* b) { return a->t < b->t; });
      for (const Event* row : rows) {
        if (windows.empty() || windows.back().key != key ||
            row->t > windows.back().bounds[1]) {
          windows.push_back({key, {row->t, row->t + window.gap_ms}, {}});
        }
        ModelWindow& session = windows.back();
        session.bounds[1] = std::max(session.bounds[1], row->t + window.gap_ms);
        session.rows.push_back(row);
      }
    }
    return windows;
  }
  const int64_t size = window.size_ms;
  const int64_t slide = window.kind == WindowKind::kTumbling ? size : window.slide_ms;
  std::map<std::tuple<std::string, int64_t>, std::vector<const Event*>> rows_of_window;
  for (const Event& event : events) {
    const int64_t last_start =
        window.offset_ms + FloorDivide(event.t - window.offset_ms, slide) * slide;
    for (int64_t start = last_start; start > event.t - size; start -= slide) {
      rows_of_window[{KeyOf(event, key_columns), start}].push_back(&event);
    }
  }
  for (auto& [id, rows] : rows_of_window) {
    const auto& [key, start] = id;
    windows.push_back({key, {start, start + size}, std::move(rows)});
  }
  return windows;
}

// Count windows (Flink's countWindow(size, slide)): per key in arrival order, after
// every `slide`-th row the last `size` rows (fewer at the start); rows after the last
// firing are never emitted.
std::vector<ModelWindow> ModelCountWindows(const std::vector<Event>& events, size_t size,
                                           size_t slide,
                                           const std::vector<std::string>& key_columns) {
  std::map<std::string, std::vector<const Event*>> rows_of_key;
  for (const Event& event : events)
    rows_of_key[KeyOf(event, key_columns)].push_back(&event);
  std::vector<ModelWindow> windows;
  for (const auto& [key, rows] : rows_of_key) {
    for (size_t end = slide; end <= rows.size(); end += slide) {
      const size_t begin = end > size ? end - size : 0;
      windows.push_back({key, {}, {rows.begin() + begin, rows.begin() + end}});
    }
  }
  return windows;
}

// The value of `aggregate` over `rows` (arrival order). First/Last take the row with the
// smallest/largest event time when `by_event_time`, else the first/last to arrive.
Value ModelAggregate(const AggregateSpec& aggregate,
                     const std::vector<const Event*>& rows, bool by_event_time) {
  if (aggregate.kind == AggregateKind::kCountAll) {
    return static_cast<int64_t>(rows.size());
  }
  std::vector<Value> values;
  for (const Event* row : rows) values.push_back(ColumnValue(*row, aggregate.column));
  const double count = static_cast<double>(values.size());
  // Numeric aggregates only: strings have no sum.
  const auto sum = [&values] {
    double total = 0;
    for (const Value& value : values) total += AsDouble(value);
    return total;
  };
  switch (aggregate.kind) {
    case AggregateKind::kCount:
      return static_cast<int64_t>(values.size());
    case AggregateKind::kSum: {
      if (!std::holds_alternative<int64_t>(values.front())) return sum();
      int64_t total = 0;
      for (const Value& value : values) total += std::get<int64_t>(value);
      return total;
    }
    case AggregateKind::kMin:
      return *std::min_element(values.begin(), values.end());
    case AggregateKind::kMax:
      return *std::max_element(values.begin(), values.end());
    case AggregateKind::kAvg:
      return sum() / count;
    case AggregateKind::kFirst:
    case AggregateKind::kLast: {
      const bool first = aggregate.kind == AggregateKind::kFirst;
      if (!by_event_time) return first ? values.front() : values.back();
      size_t pick = 0;
      for (size_t i = 1; i < rows.size(); ++i) {
        if (first ? rows[i]->t < rows[pick]->t : rows[i]->t >= rows[pick]->t) pick = i;
      }
      return values[pick];
    }
    case AggregateKind::kCountDistinct:
      return static_cast<int64_t>(std::set<Value>(values.begin(), values.end()).size());
    case AggregateKind::kVariance:
    case AggregateKind::kStddev:
    case AggregateKind::kVariancePop:
    case AggregateKind::kStddevPop: {
      const bool sample = aggregate.kind == AggregateKind::kVariance ||
                          aggregate.kind == AggregateKind::kStddev;
      if (sample && values.size() < 2) return std::monostate{};
      const double mean = sum() / count;
      double squares = 0;
      for (const Value& value : values) {
        squares += (AsDouble(value) - mean) * (AsDouble(value) - mean);
      }
      const double variance = squares / (sample ? count - 1 : count);
      const bool deviation = aggregate.kind == AggregateKind::kStddev ||
                             aggregate.kind == AggregateKind::kStddevPop;
      return deviation ? std::sqrt(variance) : variance;
    }
    default:
      ADD_FAILURE() << "the model has no aggregate " << aggregate.output_name;
      return std::monostate{};
  }
}

std::vector<ResultRow> ModelResults(const std::vector<ModelWindow>& windows,
                                    const std::vector<AggregateSpec>& aggregates,
                                    bool by_event_time) {
  std::vector<ResultRow> rows;
  for (const ModelWindow& window : windows) {
    ResultRow row{window.key, window.bounds, {}};
    for (const AggregateSpec& aggregate : aggregates) {
      row.aggregates.push_back(ModelAggregate(aggregate, window.rows, by_event_time));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// Running the engine.

struct Pipeline {
  WindowSpec window;
  std::vector<AggregateSpec> aggregates = {Count()};
  std::vector<std::string> keys = {"k"};
  int parallelism = 1;
  // Declares `t` as event time with this out-of-orderness bound; none for count
  // windows without event time (First/Last then follow arrival order).
  std::optional<int64_t> out_of_orderness = 0;
  int64_t allowed_lateness = 0;
  bool side_output_late_data = false;
  StateBackendKind backend = StateBackendKind::kMemory;
  // RocksDB: a small value cache makes most accumulator reads and writes go to RocksDB
  // itself.
  int64_t value_cache_bytes = 64 << 10;
};

struct Outcome {
  std::vector<ResultRow> rows;
  std::shared_ptr<arrow::Schema> schema;
  // (k, t) of the rows in the late-data side output, sorted.
  std::vector<std::pair<std::string, int64_t>> late;
  int64_t rows_rejected = 0;
};

void RunPipeline(const Pipeline& pipeline, BatchVector batches, Outcome* outcome) {
  StreamEnvironment env;
  env.SetParallelism(pipeline.parallelism);
  testing::TempDirectory state_directory;
  env.SetStateBackend({.kind = pipeline.backend,
                       .directory = state_directory.path(),
                       .value_cache_bytes = pipeline.value_cache_bytes});
  DataStream input = env.FromBatches(EventSchema(), std::move(batches));
  if (pipeline.out_of_orderness) {
    input = input.AssignTimestampsAndWatermarks(
        WatermarkStrategy::BoundedOutOfOrderness("t", *pipeline.out_of_orderness));
  }
  WindowedStream windowed = input.KeyBy(pipeline.keys).Window(pipeline.window);
  windowed.AllowedLateness(milliseconds(pipeline.allowed_lateness));
  if (pipeline.side_output_late_data) windowed.SideOutputLateData();
  DataStream windows = windowed.Aggregate(pipeline.aggregates);
  std::shared_ptr<CollectedBatches> results = windows.Collect();
  std::shared_ptr<CollectedBatches> late =
      pipeline.side_output_late_data ? windows.LateData().Collect() : nullptr;
  auto job = env.Execute();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  outcome->rows_rejected = job->Metrics(windows.node_name()).rows_rejected;

  auto table = results->ToTable();
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  outcome->schema = (*table)->schema();
  auto batch = (*table)->CombineChunksToBatch();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  outcome->rows = ResultRows(**batch, pipeline.keys.size(), pipeline.aggregates,
                             pipeline.window.kind != WindowKind::kCount);
  if (!late) return;
  auto late_table = late->ToTable();
  ASSERT_TRUE(late_table.ok()) << late_table.status().ToString();
  auto late_batch = (*late_table)->CombineChunksToBatch();
  ASSERT_TRUE(late_batch.ok()) << late_batch.status().ToString();
  for (int64_t i = 0; i < (*late_batch)->num_rows(); ++i) {
    outcome->late.emplace_back(
        std::get<std::string>(CellOf(*(*late_batch)->GetColumnByName("k"), i)),
        std::get<int64_t>(CellOf(*(*late_batch)->GetColumnByName("t"), i)));
  }
  std::sort(outcome->late.begin(), outcome->late.end());
}

// Tumbling, sliding, session, count and global windows keep their state in RocksDB
// when the job runs on it (every other kind keeps it in operator memory on both
// backends).
bool HasStoredLayout(const WindowSpec& window) {
  return window.kind == WindowKind::kTumbling || window.kind == WindowKind::kSliding ||
         window.kind == WindowKind::kSession || window.kind == WindowKind::kCount ||
         window.kind == WindowKind::kGlobal;
}

// Runs `pipeline` on the memory backend and, for windows with a RocksDB layout, on
// RocksDB too, expecting the same rows, rejections and late rows from both.
void RunOnEveryBackend(Pipeline pipeline, const BatchVector& batches, Outcome* outcome) {
  pipeline.backend = StateBackendKind::kMemory;
  ASSERT_NO_FATAL_FAILURE(RunPipeline(pipeline, batches, outcome));
  if (!HasStoredLayout(pipeline.window)) return;
  SCOPED_TRACE("RocksDB backend");
  pipeline.backend = StateBackendKind::kRocksDb;
  Outcome stored;
  ASSERT_NO_FATAL_FAILURE(RunPipeline(pipeline, batches, &stored));
  ExpectSameRows(stored.rows, outcome->rows);
  EXPECT_EQ(stored.rows_rejected, outcome->rows_rejected);
  EXPECT_EQ(stored.late, outcome->late);
}

// Runs `batches` (parallelism 1, in order, watermark = max time - 1) through `window`
// with count(*) only, on every backend.
std::vector<ResultRow> CountPerWindow(const WindowSpec& window, BatchVector batches) {
  Outcome outcome;
  RunOnEveryBackend({.window = window}, batches, &outcome);
  EXPECT_EQ(outcome.rows_rejected, 0);
  return outcome.rows;
}

// ---------------------------------------------------------------------------------------
// 1. Randomized: out-of-order input across parallelism, window kinds and key layouts.

constexpr uint32_t kSeed = 20240611;

struct WindowCase {
  const char* name;
  WindowSpec window;
};

const std::vector<WindowCase>& WindowCases() {
  static const std::vector<WindowCase> cases = {
      {"tumbling_1000", Tumbling(milliseconds(1000))},
      {"tumbling_1000_offset_250", Tumbling(milliseconds(1000), milliseconds(250))},
      {"sliding_1000_250", Sliding(milliseconds(1000), milliseconds(250))},
      {"sliding_3000_1000", Sliding(milliseconds(3000), milliseconds(1000))},
      {"session_300", Session(milliseconds(300))},
  };
  return cases;
}

// (parallelism, index into WindowCases(), two key columns, RocksDB backend).
using PropertyParam = std::tuple<int, int, bool, bool>;

class WindowPropertyTest : public ::testing::TestWithParam<PropertyParam> {};

TEST_P(WindowPropertyTest, OutOfOrderInputMatchesBruteForceModel) {
  const auto [parallelism, case_index, two_keys, rocksdb] = GetParam();
  const std::vector<Event> events = GenerateEvents(20'000, kSeed);
  const Pipeline pipeline{
      .window = WindowCases()[case_index].window,
      .aggregates = {Count(), Sum("v"), Min("v"), Max("v"), Avg("v"), Sum("n")},
      .keys =
          two_keys ? std::vector<std::string>{"k", "g"} : std::vector<std::string>{"k"},
      .parallelism = parallelism,
      .out_of_orderness = kOutOfOrderness,
      .backend = rocksdb ? StateBackendKind::kRocksDb : StateBackendKind::kMemory,
  };
  Outcome outcome;
  // Small batches: out-of-order rows cross batch and subtask boundaries.
  ASSERT_NO_FATAL_FAILURE(RunPipeline(pipeline, Batches(events, 97), &outcome));
  EXPECT_EQ(outcome.rows_rejected, 0) << "the input is generated so that nothing is late";
  ExpectSameRows(outcome.rows,
                 ModelResults(ModelTimeWindows(events, pipeline.window, pipeline.keys),
                              pipeline.aggregates, /*by_event_time=*/true));
}

std::string PropertyName(const ::testing::TestParamInfo<PropertyParam>& info) {
  std::ostringstream name;
  name << "p" << std::get<0>(info.param) << "_"
       << WindowCases()[std::get<1>(info.param)].name
       << (std::get<2>(info.param) ? "_two_keys" : "_one_key")
       << (std::get<3>(info.param) ? "_rocksdb" : "");
  return name.str();
}

INSTANTIATE_TEST_SUITE_P(
    WindowPropertyRandomized, WindowPropertyTest,
    ::testing::Combine(::testing::Values(1, 2, 4),
                       ::testing::Range(0, static_cast<int>(WindowCases().size())),
                       ::testing::Bool(), ::testing::Values(false)),
    PropertyName);

// The tumbling, sliding and session cases (the first five) with their state in RocksDB.
INSTANTIATE_TEST_SUITE_P(WindowPropertyRandomizedRocksDb, WindowPropertyTest,
                         ::testing::Combine(::testing::Values(1, 3),
                                            ::testing::Range(0, 5), ::testing::Bool(),
                                            ::testing::Values(true)),
                         PropertyName);

// ---------------------------------------------------------------------------------------
// 2. Every aggregate function, with its output name and type.

TEST(WindowPropertyAggregateTest, AggregatesMatchModelWithTheirOutputTypes) {
  const std::vector<AggregateSpec> aggregates = {
      Count(),        First("v"),         Last("v"),
      First("tag"),   Last("tag"),        First("stamp"),
      Last("n"),      CountDistinct("n"), CountDistinct("tag"),
      Variance("v"),  Stddev("v"),        VariancePop("v"),
      StddevPop("v"), Min("stamp"),       Max("stamp"),
      Sum("n"),
  };
  // Min/Max/First/Last keep the input type (here a zoned microsecond timestamp and an
  // int32); Sum widens integers to int64; statistics are double.
  const std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> columns = {
      {"k", arrow::utf8()},
      {"window_start", arrow::int64()},
      {"window_end", arrow::int64()},
      {"count", arrow::int64()},
      {"first_v", arrow::float64()},
      {"last_v", arrow::float64()},
      {"first_tag", arrow::utf8()},
      {"last_tag", arrow::utf8()},
      {"first_stamp", StampType()},
      {"last_n", arrow::int32()},
      {"count_distinct_n", arrow::int64()},
      {"count_distinct_tag", arrow::int64()},
      {"variance_v", arrow::float64()},
      {"stddev_v", arrow::float64()},
      {"variance_pop_v", arrow::float64()},
      {"stddev_pop_v", arrow::float64()},
      {"min_stamp", StampType()},
      {"max_stamp", StampType()},
      {"sum_n", arrow::int64()},
  };
  const std::vector<Event> events = GenerateEvents(6000, kSeed + 1);
  for (int parallelism : {1, 2}) {
    std::ostringstream trace;
    trace << "parallelism " << parallelism;
    SCOPED_TRACE(trace.str());
    const Pipeline pipeline{.window = Tumbling(milliseconds(1000)),
                            .aggregates = aggregates,
                            .parallelism = parallelism,
                            .out_of_orderness = kOutOfOrderness};
    Outcome outcome;
    ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(pipeline, Batches(events, 97), &outcome));
    ASSERT_EQ(outcome.schema->num_fields(), static_cast<int>(columns.size()));
    for (size_t c = 0; c < columns.size(); ++c) {
      const auto& field = outcome.schema->field(static_cast<int>(c));
      EXPECT_EQ(field->name(), columns[c].first);
      EXPECT_TRUE(field->type()->Equals(*columns[c].second))
          << field->name() << ": " << field->type()->ToString() << ", expected "
          << columns[c].second->ToString();
    }
    EXPECT_EQ(outcome.rows_rejected, 0);
    ExpectSameRows(outcome.rows,
                   ModelResults(ModelTimeWindows(events, pipeline.window, pipeline.keys),
                                aggregates, /*by_event_time=*/true));
  }
}

// ---------------------------------------------------------------------------------------
// 3. Edge cases, with hand-written expectations.

TEST(WindowPropertyEdgeTest, EventAtWindowEndBelongsToTheNextWindow) {
  const BatchVector input = {Batch({At("a", 0), At("a", 9), At("a", 10)})};
  ExpectSameRows(CountPerWindow(Tumbling(milliseconds(10)), input),
                 {Row("a", 0, 10, 2), Row("a", 10, 20, 1)});
  ExpectSameRows(
      CountPerWindow(Sliding(milliseconds(10), milliseconds(5)), input),
      {Row("a", -5, 5, 1), Row("a", 0, 10, 2), Row("a", 5, 15, 2), Row("a", 10, 20, 1)});
  // Sessions [0, 10) and [10, 20) touch, so they merge; [21, 31) starts one past the
  // merged session's end and stays apart.
  ExpectSameRows(CountPerWindow(Session(milliseconds(10)),
                                {Batch({At("a", 0), At("a", 10), At("a", 21)})}),
                 {Row("a", 0, 20, 2), Row("a", 21, 31, 1)});
}

TEST(WindowPropertyEdgeTest, EmptyWindowsEmitNothing) {
  const BatchVector input = {Batch({At("a", 5), At("a", 47)})};
  ExpectSameRows(CountPerWindow(Tumbling(milliseconds(10)), input),
                 {Row("a", 0, 10, 1), Row("a", 40, 50, 1)});
  ExpectSameRows(
      CountPerWindow(Sliding(milliseconds(10), milliseconds(5)), input),
      {Row("a", 0, 10, 1), Row("a", 5, 15, 1), Row("a", 40, 50, 1), Row("a", 45, 55, 1)});
}

TEST(WindowPropertyEdgeTest, NegativeTimestampsRoundWindowStartsDown) {
  const BatchVector input = {
      Batch({At("a", -11), At("a", -10), At("a", -8), At("a", -1)})};
  ExpectSameRows(CountPerWindow(Tumbling(milliseconds(10)), input),
                 {Row("a", -20, -10, 1), Row("a", -10, 0, 3)});
  // Starts are 3 + 10k: -8 is in [-17, -7), -1 in [-7, 3).
  ExpectSameRows(CountPerWindow(Tumbling(milliseconds(10), milliseconds(3)), input),
                 {Row("a", -17, -7, 3), Row("a", -7, 3, 1)});
  ExpectSameRows(CountPerWindow(Sliding(milliseconds(10), milliseconds(5)), input),
                 {Row("a", -20, -10, 1), Row("a", -15, -5, 3), Row("a", -10, 0, 3),
                  Row("a", -5, 5, 1)});
  ExpectSameRows(CountPerWindow(Session(milliseconds(3)), input),
                 {Row("a", -11, -5, 3), Row("a", -1, 2, 1)});
}

// Windows whose true bounds lie beyond the int64 range are reported with the bound
// clamped to INT64_MIN / INT64_MAX (there is no other representation); they must still
// be assigned, fired (at the latest by the end-of-input watermark) and emitted.
TEST(WindowPropertyEdgeTest, TimestampsNearInt64MaxAreEmittedAtEndOfInput) {
  const BatchVector input = {Batch({At("a", kInt64Max - 20), At("a", kInt64Max - 5)})};
  // INT64_MAX = ...807: MAX - 5 is in [...800, ...810).
  ExpectSameRows(CountPerWindow(Tumbling(milliseconds(10)), input),
                 {Row("a", kInt64Max - 27, kInt64Max - 17, 1),
                  Row("a", kInt64Max - 7, kInt64Max, 1)});
  ExpectSameRows(CountPerWindow(Sliding(milliseconds(10), milliseconds(5)), input),
                 {Row("a", kInt64Max - 27, kInt64Max - 17, 1),
                  Row("a", kInt64Max - 22, kInt64Max - 12, 1),
                  Row("a", kInt64Max - 12, kInt64Max - 2, 1),
                  Row("a", kInt64Max - 7, kInt64Max, 1)});
  ExpectSameRows(CountPerWindow(Session(milliseconds(10)), input),
                 {Row("a", kInt64Max - 20, kInt64Max - 10, 1),
                  Row("a", kInt64Max - 5, kInt64Max, 1)});
}

TEST(WindowPropertyEdgeTest, TimestampsNearInt64MinAreAssignedAndEmitted) {
  const BatchVector input = {Batch({At("a", kInt64Min + 3), At("a", kInt64Min + 12)})};
  // INT64_MIN = -...808: MIN + 3 = -...805 is in [-...810, -...800), whose start is
  // clamped; MIN + 12 = -...796 is in [-...800, -...790).
  ExpectSameRows(CountPerWindow(Tumbling(milliseconds(10)), input),
                 {Row("a", kInt64Min, kInt64Min + 8, 1),
                  Row("a", kInt64Min + 8, kInt64Min + 18, 1)});
  ExpectSameRows(CountPerWindow(Tumbling(milliseconds(8)), input),
                 {Row("a", kInt64Min, kInt64Min + 8, 1),
                  Row("a", kInt64Min + 8, kInt64Min + 16, 1)});
  ExpectSameRows(
      CountPerWindow(Sliding(milliseconds(10), milliseconds(5)), input),
      {Row("a", kInt64Min, kInt64Min + 8, 1), Row("a", kInt64Min + 3, kInt64Min + 13, 2),
       Row("a", kInt64Min + 8, kInt64Min + 18, 1)});
  ExpectSameRows(CountPerWindow(Session(milliseconds(10)), input),
                 {Row("a", kInt64Min + 3, kInt64Min + 22, 2)});
}

TEST(WindowPropertyEdgeTest, SampleStatisticsOfOneRowAreNull) {
  const std::vector<AggregateSpec> aggregates = {Variance("v"), Stddev("v"),
                                                 VariancePop("v"), StddevPop("v")};
  Outcome outcome;
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(
      {.window = Tumbling(milliseconds(10)), .aggregates = aggregates},
      {Batch({At("a", 5, 3), At("b", 5, 3), At("b", 6, 5)})}, &outcome));
  ExpectSameRows(outcome.rows,
                 {ResultRow{"a", {0, 10}, {std::monostate{}, std::monostate{}, 0.0, 0.0}},
                  ResultRow{"b", {0, 10}, {2.0, std::sqrt(2.0), 1.0, 1.0}}});
}

// Tumbling 10 ms windows, monotonic watermarks (watermark = max time - 1) and 5 ms of
// allowed lateness: window [0, 10) takes late rows while 9 + 5 > watermark.
Pipeline LatenessPipeline() {
  return {.window = Tumbling(milliseconds(10)),
          .aggregates = {Count(), Sum("v")},
          .allowed_lateness = 5};
}

TEST(WindowPropertyEdgeTest, RowAtLatenessBoundaryIsDropped) {
  Outcome outcome;
  // b@15 moves the watermark to 14 = 9 + 5: [0, 10) is past its allowed lateness.
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(
      LatenessPipeline(),
      {Batch({At("a", 0, 1), At("b", 15, 10)}), Batch({At("a", 5, 100)})}, &outcome));
  ExpectSameRows(outcome.rows, {Row("a", 0, 10, 1, 1), Row("b", 10, 20, 1, 10)});
  EXPECT_EQ(outcome.rows_rejected, 1);
}

TEST(WindowPropertyEdgeTest, RowOneMillisecondWithinLatenessUpdatesFiredWindow) {
  Outcome outcome;
  // b@14 moves the watermark to 13: [0, 10) fired, 9 + 5 = watermark + 1.
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(
      LatenessPipeline(),
      {Batch({At("a", 0, 1), At("b", 14, 10)}), Batch({At("a", 5, 100)})}, &outcome));
  // The fired result, then the update with the late row (matched in emission order).
  ExpectSameRows(outcome.rows, {Row("a", 0, 10, 1, 1), Row("a", 0, 10, 2, 101),
                                Row("b", 10, 20, 1, 10)});
  EXPECT_EQ(outcome.rows_rejected, 0);
}

TEST(WindowPropertyEdgeTest, OutOfOrderRowBridgesTwoSessions) {
  Outcome outcome;
  // With 20 ms out-of-orderness b@28 moves the watermark to 7; a@9 is behind the max
  // time but not behind the watermark, and [9, 19) touches [0, 10) and [18, 28).
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(
      {.window = Session(milliseconds(10)),
       .aggregates = {Count(), Sum("v")},
       .out_of_orderness = 20},
      {Batch({At("a", 0, 1), At("a", 18, 2), At("b", 28, 5)}), Batch({At("a", 9, 4)})},
      &outcome));
  ExpectSameRows(outcome.rows, {Row("a", 0, 28, 3, 7), Row("b", 28, 38, 1, 5)});
  EXPECT_EQ(outcome.rows_rejected, 0);
}

TEST(WindowPropertyEdgeTest, RowWithinLatenessMergesTwoFiredSessions) {
  Outcome outcome;
  // b@40 moves the watermark to 39: sessions [0, 10) and [18, 28) of a fire. a@9 is
  // within 100 ms of allowed lateness and bridges them: the merged session fires again
  // at once, as Flink fires a merged window that is already behind the watermark.
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(
      {.window = Session(milliseconds(10)),
       .aggregates = {Count(), Sum("v")},
       .allowed_lateness = 100},
      {Batch({At("a", 0, 1), At("a", 18, 2), At("b", 40, 5)}), Batch({At("a", 9, 4)})},
      &outcome));
  ExpectSameRows(outcome.rows, {Row("a", 0, 10, 1, 1), Row("a", 18, 28, 1, 2),
                                Row("a", 0, 28, 3, 7), Row("b", 40, 50, 1, 5)});
  EXPECT_EQ(outcome.rows_rejected, 0);
}

TEST(WindowPropertyEdgeTest, RowWithinLatenessExtendsAFiredSessionPastTheWatermark) {
  Outcome outcome;
  // b@16 moves the watermark to 15: a's [0, 10) fires. a@8 is within lateness and
  // extends it to [0, 18), which now ends after the watermark: it must fire again once
  // the watermark passes 17 (b@60), not be dropped by its cleanup timer.
  ASSERT_NO_FATAL_FAILURE(
      RunOnEveryBackend({.window = Session(milliseconds(10)),
                         .aggregates = {Count(), Sum("v")},
                         .allowed_lateness = 100},
                        {Batch({At("a", 0, 1), At("b", 16, 10)}),
                         Batch({At("a", 8, 100)}), Batch({At("b", 60, 1000)})},
                        &outcome));
  ExpectSameRows(outcome.rows, {Row("a", 0, 10, 1, 1), Row("a", 0, 18, 2, 101),
                                Row("b", 16, 26, 1, 10), Row("b", 60, 70, 1, 1000)});
  EXPECT_EQ(outcome.rows_rejected, 0);
}

// Thousands of keys and a value cache of one entry: on RocksDB every key's sessions
// are written back and read again from RocksDB itself between batches and firings,
// and the output still equals the memory backend's and the model's.
TEST(WindowPropertyEdgeTest, SessionsOfMoreKeysThanTheValueCacheMatchMemory) {
  std::vector<Event> events = GenerateEvents(20'000, kSeed + 3);
  for (size_t i = 0; i < events.size(); ++i) events[i].k += std::to_string(i % 3000);
  const Pipeline pipeline{.window = Session(milliseconds(300)),
                          .aggregates = {Count(), Sum("v"), Min("v"), Last("tag")},
                          .parallelism = 2,
                          .out_of_orderness = kOutOfOrderness,
                          .allowed_lateness = 1000,
                          .value_cache_bytes = 1};
  Outcome outcome;
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(pipeline, Batches(events, 97), &outcome));
  EXPECT_EQ(outcome.rows_rejected, 0);
  ExpectSameRows(outcome.rows,
                 ModelResults(ModelTimeWindows(events, pipeline.window, pipeline.keys),
                              pipeline.aggregates, /*by_event_time=*/true));
}

TEST(WindowPropertyEdgeTest, LateSideOutputHoldsExactlyTheTooLateRows) {
  // b@30 moves the watermark to 29: [0, 10) and [10, 20) are past 5 ms of allowed
  // lateness (a@3 and b@19 are too late); [20, 30) fired but takes a@25 (29 + 5 > 29),
  // a@31 is on time.
  const BatchVector input = {
      Batch({At("a", 0, 1), At("a", 12, 2), At("b", 30, 4)}),
      Batch({At("a", 3, 8), At("a", 25, 16), At("b", 19, 32), At("a", 31, 64)})};
  const std::vector<ResultRow> expected = {
      Row("a", 0, 10, 1, 1), Row("a", 10, 20, 1, 2), Row("a", 20, 30, 1, 16),
      Row("a", 30, 40, 1, 64), Row("b", 30, 40, 1, 4)};
  Pipeline pipeline = LatenessPipeline();
  pipeline.side_output_late_data = true;
  Outcome outcome;
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(pipeline, input, &outcome));
  ExpectSameRows(outcome.rows, expected);
  const std::vector<std::pair<std::string, int64_t>> too_late = {{"a", 3}, {"b", 19}};
  EXPECT_EQ(outcome.late, too_late);
  EXPECT_EQ(outcome.rows_rejected, 0) << "side-output rows are not rejected";

  // Without the side output the same rows are dropped and counted.
  Outcome dropped;
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(LatenessPipeline(), input, &dropped));
  ExpectSameRows(dropped.rows, expected);
  EXPECT_EQ(dropped.rows_rejected, 2);
}

TEST(WindowPropertyEdgeTest, RowsWithoutEventTimeAreRejected) {
  std::shared_ptr<arrow::RecordBatch> batch =
      Batch({At("a", 1), At("a", 0), At("a", 5), At("b", 0)});
  batch = batch
              ->SetColumn(2, batch->schema()->field(2),
                          testing::ArrayFromJson(arrow::int64(), "[1, null, 5, null]"))
              .ValueOrDie();
  const std::vector<std::pair<WindowSpec, std::vector<ResultRow>>> cases = {
      {Tumbling(milliseconds(10)), {Row("a", 0, 10, 2)}},
      {Sliding(milliseconds(10), milliseconds(5)),
       {Row("a", -5, 5, 1), Row("a", 0, 10, 2), Row("a", 5, 15, 1)}},
      {Session(milliseconds(10)), {Row("a", 1, 15, 2)}},
      {CountWindow(2), {ResultRow{"a", {}, {Value(int64_t{2})}}}},
      {GlobalWindow(CountTrigger(2)), {Row("a", 1, 6, 2)}},
      {GlobalWindow(EventTimeTrigger(milliseconds(10))), {Row("a", 1, 6, 2)}},
  };
  for (const auto& [window, expected] : cases) {
    SCOPED_TRACE(window.ToString());
    Outcome outcome;
    ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend({.window = window}, {batch}, &outcome));
    ExpectSameRows(outcome.rows, expected);
    EXPECT_EQ(outcome.rows_rejected, 2);
  }
}

// ---------------------------------------------------------------------------------------
// 4. Count windows, without event time: per key in arrival order.

void ExpectCountWindowsMatchModel(int64_t size, int64_t slide) {
  const std::vector<Event> events = GenerateEvents(3000, kSeed + 2);
  const Pipeline pipeline{
      .window = CountWindow(size, slide),
      .aggregates = {Count(), Sum("v"), Min("n"), First("v"), Last("tag")},
      .out_of_orderness = std::nullopt,
  };
  Outcome outcome;
  ASSERT_NO_FATAL_FAILURE(RunOnEveryBackend(pipeline, Batches(events, 97), &outcome));
  EXPECT_EQ(outcome.rows_rejected, 0);
  ExpectSameRows(outcome.rows,
                 ModelResults(ModelCountWindows(events, size, slide > 0 ? slide : size,
                                                pipeline.keys),
                              pipeline.aggregates, /*by_event_time=*/false));
}

TEST(WindowPropertyCountTest, TumblingCountWindowsMatchModel) {
  ExpectCountWindowsMatchModel(3, 0);
}

TEST(WindowPropertyCountTest, SlidingCountWindowsMatchModel) {
  ExpectCountWindowsMatchModel(4, 2);
}

}  // namespace
}  // namespace sabot
