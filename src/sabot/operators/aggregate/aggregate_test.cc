// Aggregation building blocks: user-defined aggregates in every window kind (compared
// with a brute-force model of the windows), the dense key ids of KeyTable, the per-pane
// state of KeyedAggregates, and the errors for aggregates that do not fit their input.
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
#include <utility>
#include <vector>

#include "sabot/api/stream_environment.h"
#include "sabot/operators/aggregate/aggregate_spec.h"
#include "sabot/operators/aggregate/aggregator_set.h"
#include "sabot/operators/aggregate/grouped_aggregator.h"
#include "sabot/operators/aggregate/key_table.h"
#include "sabot/operators/aggregate/keyed_aggregates.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

using std::chrono::milliseconds;
using BatchVector = std::vector<std::shared_ptr<arrow::RecordBatch>>;

bool Contains(const std::string& text, const std::string& word) {
  return text.find(word) != std::string::npos;
}

// ---------------------------------------------------------------------------------------
// User-defined aggregates.

// Wrapping multiplication: the product modulo 2^64 is the same whatever order values
// are folded and merged in, so it can be compared exactly with the model.
int64_t WrappingMultiply(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// Shared by both user aggregates: a value per slot and whether the slot saw a non-null
// value (an all-null group yields null).
template <typename Derived, typename State>
class SlotAggregator : public GroupedAggregator {
 public:
  void Resize(uint32_t num_slots) override {
    if (num_slots <= states_.size()) return;
    states_.resize(num_slots, Derived::kIdentity);
    has_value_.resize(num_slots, 0);
  }

  Status Consume(const AggregateInput& input, const uint32_t* slots) override {
    const arrow::ArrayData& values = *input.values;
    if (values.type->id() != arrow::Type::INT64) {
      return Status::TypeError("expected int64 input, got ", values.type->ToString());
    }
    const int64_t* data = values.GetValues<int64_t>(1);
    for (int64_t i = 0; i < input.length; ++i) {
      if (!values.IsValid(i)) continue;
      states_[slots[i]] = Derived::Fold(states_[slots[i]], data[i]);
      has_value_[slots[i]] = 1;
    }
    return Status::OK();
  }

  Status Merge(const GroupedAggregator& from, const uint32_t* from_slots,
               const uint32_t* to_slots, int64_t count) override {
    const auto* source = dynamic_cast<const Derived*>(&from);
    if (source == nullptr) return Status::Invalid("merging different aggregators");
    for (int64_t i = 0; i < count; ++i) {
      if (!source->has_value_[from_slots[i]]) continue;
      states_[to_slots[i]] =
          Derived::Combine(states_[to_slots[i]], source->states_[from_slots[i]]);
      has_value_[to_slots[i]] = 1;
    }
    return Status::OK();
  }

  void Reset(const uint32_t* slots, int64_t count) override {
    for (int64_t i = 0; i < count; ++i) {
      states_[slots[i]] = Derived::kIdentity;
      has_value_[slots[i]] = 0;
    }
  }

  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                               int64_t count) const override {
    typename arrow::CTypeTraits<State>::BuilderType builder;
    for (int64_t i = 0; i < count; ++i) {
      if (has_value_[slots[i]]) {
        ARROW_RETURN_NOT_OK(builder.Append(states_[slots[i]]));
      } else {
        ARROW_RETURN_NOT_OK(builder.AppendNull());
      }
    }
    return builder.Finish();
  }

 private:
  std::vector<State> states_;
  std::vector<uint8_t> has_value_;
};

// Product of int64 values (wrapping), as int64.
class ProductAggregator : public SlotAggregator<ProductAggregator, int64_t> {
 public:
  static constexpr int64_t kIdentity = 1;
  static int64_t Fold(int64_t state, int64_t value) {
    return WrappingMultiply(state, value);
  }
  static int64_t Combine(int64_t a, int64_t b) { return WrappingMultiply(a, b); }
};

// Sum of squares of int64 values, as double (exact for the small values used here).
class SumOfSquaresAggregator : public SlotAggregator<SumOfSquaresAggregator, double> {
 public:
  static constexpr double kIdentity = 0;
  static double Fold(double state, int64_t value) {
    return state + static_cast<double>(value) * static_cast<double>(value);
  }
  static double Combine(double a, double b) { return a + b; }
};

// Factories check the type the engine hands them: user aggregates consume the column
// in its own type.
AggregateSpec Product(const std::string& column) {
  return UserAggregate("product_" + column, column, arrow::int64(),
                       [](const std::shared_ptr<arrow::DataType>& type)
                           -> Result<std::unique_ptr<GroupedAggregator>> {
                         if (!type->Equals(*arrow::int64())) {
                           return Status::TypeError("product needs int64, got ",
                                                    type->ToString());
                         }
                         return std::make_unique<ProductAggregator>();
                       });
}

AggregateSpec SumOfSquares(const std::string& column) {
  return UserAggregate("sum_squares_" + column, column, arrow::float64(),
                       [](const std::shared_ptr<arrow::DataType>& type)
                           -> Result<std::unique_ptr<GroupedAggregator>> {
                         if (!type->Equals(*arrow::int64())) {
                           return Status::TypeError("sum of squares needs int64, got ",
                                                    type->ToString());
                         }
                         return std::make_unique<SumOfSquaresAggregator>();
                       });
}

// Input rows: key `k`, event time `t`, nullable value `x`.
struct Event {
  std::string k;
  int64_t t = 0;
  std::optional<int64_t> x;
};

std::shared_ptr<arrow::Schema> EventSchema() {
  return arrow::schema({arrow::field("k", arrow::utf8()),
                        arrow::field("t", arrow::int64()),
                        arrow::field("x", arrow::int64())});
}

std::shared_ptr<arrow::RecordBatch> MakeBatch(const std::vector<Event>& events) {
  arrow::StringBuilder k;
  arrow::Int64Builder t;
  arrow::Int64Builder x;
  for (const Event& event : events) {
    EXPECT_TRUE(k.Append(event.k).ok());
    EXPECT_TRUE(t.Append(event.t).ok());
    EXPECT_TRUE((event.x ? x.Append(*event.x) : x.AppendNull()).ok());
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(3);
  EXPECT_TRUE(k.Finish(&columns[0]).ok());
  EXPECT_TRUE(t.Finish(&columns[1]).ok());
  EXPECT_TRUE(x.Finish(&columns[2]).ok());
  return arrow::RecordBatch::Make(EventSchema(), static_cast<int64_t>(events.size()),
                                  std::move(columns));
}

BatchVector Batches(const std::vector<Event>& events, size_t rows_per_batch) {
  BatchVector batches;
  for (size_t begin = 0; begin < events.size(); begin += rows_per_batch) {
    const size_t end = std::min(events.size(), begin + rows_per_batch);
    batches.push_back(
        MakeBatch(std::vector<Event>(events.begin() + begin, events.begin() + end)));
  }
  return batches;
}

// Rows at most kMaxDelay behind the rows before them (the base time grows with the row
// index, a row is base minus a delay), with pauses so that sessions end. With a
// watermark bound of kOutOfOrderness > kMaxDelay no row is late at any parallelism:
// every watermark a window has seen is below the time of any row still to come.
constexpr int64_t kMaxDelay = 100;
constexpr int64_t kOutOfOrderness = 200;

std::vector<Event> GenerateEvents(size_t num_rows, uint32_t seed) {
  static const char* const kKeys[] = {"a", "b", "c", "d", "e"};
  std::mt19937 rng(seed);
  std::discrete_distribution<int> key({40, 25, 20, 10, 5});
  std::uniform_int_distribution<int64_t> step(0, 5);
  std::uniform_int_distribution<int64_t> pause(200, 600);
  std::uniform_int_distribution<int64_t> delay(0, kMaxDelay);
  std::uniform_int_distribution<int64_t> value(-3, 3);
  std::uniform_int_distribution<int> percent(0, 99);
  std::vector<Event> events;
  int64_t base = -3000;
  while (events.size() < num_rows) {
    base += percent(rng) < 2 ? pause(rng) : step(rng);
    Event event;
    event.k = kKeys[key(rng)];
    event.t = base - (percent(rng) < 30 ? delay(rng) : 0);
    if (percent(rng) >= 10) event.x = value(rng);
    events.push_back(std::move(event));
  }
  return events;
}

int64_t FloorDivide(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

using WindowId = std::tuple<std::string, int64_t, int64_t>;  // key, start, end

// The rows of every (key, window): tumbling and sliding windows [s, s + size) with
// s = k * slide and s <= t < s + size; sessions per key over the rows sorted by time,
// a row joining the current session when t <= its end ([t, t + gap) overlaps or
// touches it).
std::map<WindowId, std::vector<const Event*>> ModelWindows(
    const std::vector<Event>& events, const WindowSpec& window) {
  std::map<WindowId, std::vector<const Event*>> windows;
  if (window.kind == WindowKind::kSession) {
    std::map<std::string, std::vector<const Event*>> rows_of_key;
    for (const Event& event : events) rows_of_key[event.k].push_back(&event);
    for (auto& [key, rows] : rows_of_key) {
      std::stable_sort(rows.begin(), rows.end(),
                       [](const Event* a, const Event* b) { return a->t < b->t; });
      std::vector<const Event*> session;
      int64_t start = 0;
      int64_t end = 0;
      for (const Event* row : rows) {
        if (!session.empty() && row->t > end) {
          windows[{key, start, end}] = session;
          session.clear();
        }
        if (session.empty()) start = row->t;
        end = session.empty() ? row->t + window.gap_ms
                              : std::max(end, row->t + window.gap_ms);
        session.push_back(row);
      }
      if (!session.empty()) windows[{key, start, end}] = session;
    }
    return windows;
  }
  const int64_t size = window.size_ms;
  const int64_t slide = window.slide_ms;
  for (const Event& event : events) {
    for (int64_t start = FloorDivide(event.t, slide) * slide; start > event.t - size;
         start -= slide) {
      windows[{event.k, start, start + size}].push_back(&event);
    }
  }
  return windows;
}

// count(*), count(x), product(x), sum of squares(x) of one window.
struct WindowValues {
  int64_t count = 0;
  int64_t count_x = 0;
  std::optional<int64_t> product;
  std::optional<double> sum_squares;

  bool operator==(const WindowValues& other) const {
    return std::tie(count, count_x, product, sum_squares) ==
           std::tie(other.count, other.count_x, other.product, other.sum_squares);
  }
};

std::string Text(const WindowId& id) {
  std::ostringstream out;
  out << "(" << std::get<0>(id) << ", [" << std::get<1>(id) << ", " << std::get<2>(id)
      << "))";
  return out.str();
}

std::string Text(const WindowValues& values) {
  std::ostringstream out;
  out << "count " << values.count << ", count_x " << values.count_x << ", product ";
  if (values.product) {
    out << *values.product;
  } else {
    out << "null";
  }
  out << ", sum_squares ";
  if (values.sum_squares) {
    out << *values.sum_squares;
  } else {
    out << "null";
  }
  return out.str();
}

WindowValues ModelValues(const std::vector<const Event*>& rows) {
  WindowValues values;
  values.count = static_cast<int64_t>(rows.size());
  for (const Event* row : rows) {
    if (!row->x) continue;
    ++values.count_x;
    values.product = WrappingMultiply(values.product.value_or(1), *row->x);
    values.sum_squares =
        values.sum_squares.value_or(0) + static_cast<double>(*row->x * *row->x);
  }
  return values;
}

const std::vector<AggregateSpec>& UserAggregates() {
  static const std::vector<AggregateSpec> aggregates = {Count(), Count("x"), Product("x"),
                                                        SumOfSquares("x")};
  return aggregates;
}

// Runs the events (in batches of `rows_per_batch`) through
// KeyBy(k).Window(window).Aggregate(UserAggregates()) and returns the result rows by
// window; a window emitted twice fails the test.
void RunUserAggregates(const std::vector<Event>& events, const WindowSpec& window,
                       int parallelism, size_t rows_per_batch,
                       std::map<WindowId, WindowValues>* results) {
  StreamEnvironment env;
  env.SetParallelism(parallelism);
  DataStream windows =
      env.FromBatches(EventSchema(), Batches(events, rows_per_batch))
          .AssignTimestampsAndWatermarks(
              WatermarkStrategy::BoundedOutOfOrderness("t", kOutOfOrderness))
          .KeyBy({"k"})
          .Window(window)
          .Aggregate(UserAggregates());
  std::shared_ptr<CollectedBatches> collected = windows.Collect();
  auto job = env.Execute();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->Metrics(windows.node_name()).rows_rejected, 0) << "no row is late";
  for (const auto& batch : collected->batches()) {
    ASSERT_EQ(batch->schema()->GetFieldByName("product_x")->type()->id(),
              arrow::Type::INT64);
    ASSERT_EQ(batch->schema()->GetFieldByName("sum_squares_x")->type()->id(),
              arrow::Type::DOUBLE);
    const auto& keys = static_cast<const arrow::StringArray&>(*batch->column(0));
    const auto& starts =
        static_cast<const arrow::Int64Array&>(*batch->GetColumnByName("window_start"));
    const auto& ends =
        static_cast<const arrow::Int64Array&>(*batch->GetColumnByName("window_end"));
    const auto& counts =
        static_cast<const arrow::Int64Array&>(*batch->GetColumnByName("count"));
    const auto& counts_x =
        static_cast<const arrow::Int64Array&>(*batch->GetColumnByName("count_x"));
    const auto& products =
        static_cast<const arrow::Int64Array&>(*batch->GetColumnByName("product_x"));
    const auto& squares =
        static_cast<const arrow::DoubleArray&>(*batch->GetColumnByName("sum_squares_x"));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      const WindowId id{keys.GetString(i), starts.Value(i), ends.Value(i)};
      WindowValues values;
      values.count = counts.Value(i);
      values.count_x = counts_x.Value(i);
      if (products.IsValid(i)) values.product = products.Value(i);
      if (squares.IsValid(i)) values.sum_squares = squares.Value(i);
      EXPECT_TRUE(results->emplace(id, values).second) << "emitted twice: " << Text(id);
    }
  }
}

void ExpectSameWindows(const std::map<WindowId, WindowValues>& actual,
                       const std::map<WindowId, WindowValues>& expected) {
  constexpr int kMaxReports = 10;
  int mismatches = 0;
  for (const auto& [id, values] : expected) {
    auto it = actual.find(id);
    if (it == actual.end()) {
      if (++mismatches <= kMaxReports)
        ADD_FAILURE() << "missing " << Text(id) << ": " << Text(values);
    } else if (!(it->second == values)) {
      if (++mismatches <= kMaxReports) {
        ADD_FAILURE() << Text(id) << ": got " << Text(it->second) << ", expected "
                      << Text(values);
      }
    }
  }
  for (const auto& [id, values] : actual) {
    if (expected.count(id) == 0 && ++mismatches <= kMaxReports)
      ADD_FAILURE() << "unexpected " << Text(id) << ": " << Text(values);
  }
  EXPECT_EQ(mismatches, 0) << actual.size() << " windows, expected " << expected.size();
}

struct UserAggregateCase {
  const char* name;
  WindowSpec window;
};

void PrintTo(const UserAggregateCase& c, std::ostream* out) { *out << c.name; }

// Tumbling windows use Consume only; sliding windows assemble windows from panes
// (Merge across aggregator instances); sessions merge when a row bridges two. Small
// batches, so that sessions exist before the out-of-order rows that bridge them.
class AggregateUserDefinedWindowTest
    : public ::testing::TestWithParam<std::tuple<UserAggregateCase, int>> {};

TEST_P(AggregateUserDefinedWindowTest, MatchesBruteForceModel) {
  const auto& [window_case, parallelism] = GetParam();
  const std::vector<Event> events = GenerateEvents(4000, 20240917);
  std::map<WindowId, WindowValues> expected;
  for (const auto& [id, rows] : ModelWindows(events, window_case.window)) {
    expected[id] = ModelValues(rows);
  }
  std::map<WindowId, WindowValues> actual;
  RunUserAggregates(events, window_case.window, parallelism, /*rows_per_batch=*/13,
                    &actual);
  ExpectSameWindows(actual, expected);
}

INSTANTIATE_TEST_SUITE_P(
    AggregateWindows, AggregateUserDefinedWindowTest,
    ::testing::Combine(::testing::Values(UserAggregateCase{"tumbling_1000",
                                                           Tumbling(milliseconds(1000))},
                                         UserAggregateCase{"sliding_1000_250",
                                                           Sliding(milliseconds(1000),
                                                                   milliseconds(250))},
                                         UserAggregateCase{"session_150",
                                                           Session(milliseconds(150))}),
                       ::testing::Values(1, 4)),
    [](const ::testing::TestParamInfo<std::tuple<UserAggregateCase, int>>& info) {
      std::ostringstream name;
      name << std::get<0>(info.param).name << "_p" << std::get<1>(info.param);
      return name.str();
    });

// The model's session merging, checked on a case small enough to follow by hand: rows
// at 0, 50 and 300 make two sessions; 200 then 150 (out of order, not late) bridge them.
TEST(AggregateUserDefinedTest, SessionBridgedByLaterRowMergesUserState) {
  const std::vector<Event> events = {{"a", 0, 2},  {"a", 50, 3},   {"a", 300, 5},
                                     {"b", 10, 7}, {"a", 200, -1}, {"a", 150, 1},
                                     {"b", 500, 4}};
  const WindowSpec window = Session(milliseconds(100));
  std::map<WindowId, WindowValues> expected;
  for (const auto& [id, rows] : ModelWindows(events, window)) {
    expected[id] = ModelValues(rows);
  }
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(expected[WindowId("a", 0, 400)].product, std::optional<int64_t>(-30));
  for (int parallelism : {1, 2}) {
    SCOPED_TRACE(parallelism);
    // One row per batch, so that the sessions exist before the bridging rows arrive.
    std::map<WindowId, WindowValues> actual;
    RunUserAggregates(events, window, parallelism, /*rows_per_batch=*/1, &actual);
    ExpectSameWindows(actual, expected);
  }
}

AggregateSpec BrokenAggregate(AggregatorFactory factory) {
  return UserAggregate("broken", "x", arrow::int64(), std::move(factory));
}

// Runs a tumbling window and a running aggregate over `aggregate`; both must fail
// (at BuildPlan() when `at_build` is true, else at Execute()) with all `words`.
void ExpectAggregateFails(const AggregateSpec& aggregate, bool at_build,
                          const std::vector<std::string>& words) {
  const auto batch = MakeBatch({{"a", 1, 2}, {"b", 2, 3}});
  for (bool windowed : {true, false}) {
    SCOPED_TRACE(windowed ? "window" : "running aggregate");
    StreamEnvironment env;
    KeyedStream keyed = env.FromBatches(EventSchema(), {batch})
                            .AssignTimestampsAndWatermarks(
                                WatermarkStrategy::BoundedOutOfOrderness("t", 0))
                            .KeyBy({"k"});
    if (windowed) {
      keyed.Window(Tumbling(milliseconds(10))).Aggregate({Count(), aggregate}).Collect();
    } else {
      keyed.Aggregate({Count(), aggregate}).Collect();
    }
    EXPECT_EQ(env.BuildPlan().ok(), !at_build) << env.BuildPlan().status().ToString();
    auto job = env.Execute();
    ASSERT_FALSE(job.ok());
    const std::string message = job.status().ToString();
    for (const std::string& word : words) {
      EXPECT_TRUE(Contains(message, word)) << "expected '" << word << "' in: " << message;
    }
  }
}

TEST(AggregateUserDefinedTest, FactoryReturningNullIsAClearError) {
  ExpectAggregateFails(BrokenAggregate([](const std::shared_ptr<arrow::DataType>&)
                                           -> Result<std::unique_ptr<GroupedAggregator>> {
                         return std::unique_ptr<GroupedAggregator>();
                       }),
                       /*at_build=*/false, {"broken", "factory", "no aggregator"});
}

TEST(AggregateUserDefinedTest, FactoryErrorIsReported) {
  ExpectAggregateFails(BrokenAggregate([](const std::shared_ptr<arrow::DataType>&)
                                           -> Result<std::unique_ptr<GroupedAggregator>> {
                         return Status::NotImplemented("no state for you");
                       }),
                       /*at_build=*/false, {"no state for you"});
}

TEST(AggregateUserDefinedTest, MissingFactoryOrOutputTypeFailsAtBuild) {
  ExpectAggregateFails(BrokenAggregate(nullptr), /*at_build=*/true,
                       {"broken", "factory"});
  AggregateSpec untyped = Product("x");
  untyped.output_type = nullptr;
  ExpectAggregateFails(untyped, /*at_build=*/true, {"product_x", "output type"});
}

// ---------------------------------------------------------------------------------------
// KeyTable.

// Encodes row `i` of the key columns as text, nulls distinct from every value, so that
// equal keys have equal encodings.
std::string EncodeRow(const std::vector<std::shared_ptr<arrow::Array>>& columns,
                      int64_t i) {
  std::ostringstream out;
  for (const auto& column : columns) {
    if (column->IsNull(i)) {
      out << "n|";
      continue;
    }
    const std::string text = column->GetScalar(i).ValueOrDie()->ToString();
    out << "v" << text.size() << ":" << text << "|";
  }
  return out.str();
}

// Dense ids in first-seen order, and the number of distinct keys.
std::vector<uint32_t> FirstSeenIds(
    const std::vector<std::shared_ptr<arrow::Array>>& columns, uint32_t* num_keys) {
  std::map<std::string, uint32_t> ids;
  std::vector<uint32_t> result;
  for (int64_t i = 0; i < columns[0]->length(); ++i) {
    auto [it, inserted] = ids.emplace(EncodeRow(columns, i), ids.size());
    result.push_back(it->second);
  }
  *num_keys = static_cast<uint32_t>(ids.size());
  return result;
}

std::vector<uint32_t> ToVector(const arrow::UInt32Array& ids) {
  return std::vector<uint32_t>(ids.raw_values(), ids.raw_values() + ids.length());
}

// Concatenates the key columns of `batches` (columns `key_indices`).
std::vector<std::shared_ptr<arrow::Array>> KeyColumns(
    const BatchVector& batches, const std::vector<int>& key_indices) {
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (int index : key_indices) {
    arrow::ArrayVector chunks;
    for (const auto& batch : batches) chunks.push_back(batch->column(index));
    columns.push_back(arrow::Concatenate(chunks).ValueOrDie());
  }
  return columns;
}

// Maps `batches` in order through one KeyTable and checks the ids against the
// first-seen model, then that Keys() gives back every row's original key values (type
// and nulls included), and that asking for the distinct ids in reverse works too.
void ExpectKeyTableMatchesModel(const BatchVector& batches,
                                const std::vector<int>& key_indices) {
  auto table = KeyTable::Make(*batches[0]->schema(), key_indices);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  std::vector<uint32_t> ids;
  for (const auto& batch : batches) {
    auto batch_ids = (*table)->Map(*batch);
    ASSERT_TRUE(batch_ids.ok()) << batch_ids.status().ToString();
    ASSERT_EQ((*batch_ids)->length(), batch->num_rows());
    for (uint32_t id : ToVector(**batch_ids)) ids.push_back(id);
  }
  const auto columns = KeyColumns(batches, key_indices);
  uint32_t num_keys = 0;
  const std::vector<uint32_t> expected = FirstSeenIds(columns, &num_keys);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ((*table)->size(), num_keys);

  auto keys = (*table)->Keys(ids.data(), static_cast<int64_t>(ids.size()));
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    EXPECT_TRUE((*keys)[c]->type()->Equals(*columns[c]->type()))
        << (*keys)[c]->type()->ToString() << " vs " << columns[c]->type()->ToString();
    EXPECT_TRUE((*keys)[c]->Equals(*columns[c]))
        << "column " << c << ": got " << (*keys)[c]->ToString() << "\nexpected "
        << columns[c]->ToString();
  }

  // Distinct ids in reverse: the first row of each key, from last-seen to first-seen.
  std::vector<uint32_t> reverse_ids(num_keys);
  std::vector<int64_t> first_row(num_keys, -1);
  for (size_t i = 0; i < expected.size(); ++i) {
    if (first_row[expected[i]] < 0) first_row[expected[i]] = static_cast<int64_t>(i);
  }
  for (uint32_t id = 0; id < num_keys; ++id) reverse_ids[id] = num_keys - 1 - id;
  auto reversed = (*table)->Keys(reverse_ids.data(), num_keys);
  ASSERT_TRUE(reversed.ok()) << reversed.status().ToString();
  for (size_t c = 0; c < columns.size(); ++c) {
    for (uint32_t r = 0; r < num_keys; ++r) {
      const int64_t row = first_row[reverse_ids[r]];
      EXPECT_EQ(EncodeRow({(*reversed)[c]}, r), EncodeRow({columns[c]}, row))
          << "column " << c << ", id " << reverse_ids[r];
    }
  }
}

// A batch of a key column `key` of `type` (from JSON) after an int64 column, so that
// the key is not column 0.
std::shared_ptr<arrow::RecordBatch> KeyBatch(const std::shared_ptr<arrow::DataType>& type,
                                             const std::string& json) {
  auto keys = testing::ArrayFromJson(type, json);
  std::vector<int64_t> filler(keys->length(), 7);
  arrow::Int64Builder builder;
  EXPECT_TRUE(builder.AppendValues(filler).ok());
  auto schema =
      arrow::schema({arrow::field("other", arrow::int64()), arrow::field("key", type)});
  return arrow::RecordBatch::Make(schema, keys->length(),
                                  {builder.Finish().ValueOrDie(), keys});
}

TEST(KeyTableTest, IntegerKeysGetDenseIdsInFirstSeenOrder) {
  struct Case {
    std::shared_ptr<arrow::DataType> type;
    std::vector<std::string> batches;  // JSON arrays
  };
  const std::vector<Case> cases = {
      {arrow::int8(),
       {"[5, -3, 5, null, 0, -128, 127, null]", "[-3, 0, 1, 127, -1, null, -128]"}},
      {arrow::int32(),
       {"[2147483647, -2147483648, 0, null, 2147483647]",
        "[0, -1, null, 1, -2147483648]"}},
      // Values above INT64_MAX, and the ones whose bits equal small negative int64s.
      {arrow::uint64(),
       {"[18446744073709551615, 0, 9223372036854775808, null, 1]",
        "[9223372036854775807, 18446744073709551615, 9223372036854775808, "
        "18446744073709551614, null, 0]"}},
      {arrow::int64(),
       {"[-9223372036854775808, 9223372036854775807, 0, null, -1]",
        "[-1, 0, null, -9223372036854775808]"}},
      {arrow::uint8(), {"[255, 0, null, 128]", "[128, 255, 1, null]"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type->ToString());
    BatchVector batches;
    for (const std::string& json : c.batches) batches.push_back(KeyBatch(c.type, json));
    ExpectKeyTableMatchesModel(batches, {1});
  }
}

// Enough distinct keys to grow the open-addressing table many times, over batches that
// are slices (non-zero offsets) of larger batches.
TEST(KeyTableTest, ManyIntegerKeysAcrossSlicedBatches) {
  std::mt19937_64 rng(99);
  std::vector<int64_t> pool = {std::numeric_limits<int64_t>::min(),
                               std::numeric_limits<int64_t>::max(), 0, -1};
  for (int i = 0; i < 6000; ++i) pool.push_back(static_cast<int64_t>(rng()));
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_int_distribution<int> percent(0, 99);
  for (const auto& type : {arrow::int64(), arrow::uint64()}) {
    SCOPED_TRACE(type->ToString());
    BatchVector batches;
    for (int b = 0; b < 12; ++b) {
      arrow::Int64Builder builder;
      for (int i = 0; i < 2000; ++i) {
        if (percent(rng) == 0) {
          ASSERT_TRUE(builder.AppendNull().ok());
        } else {
          ASSERT_TRUE(builder.Append(pool[pick(rng)]).ok());
        }
      }
      std::shared_ptr<arrow::Array> keys = builder.Finish().ValueOrDie();
      // Reinterpret the bits for uint64 (values above INT64_MAX included).
      if (type->id() == arrow::Type::UINT64) {
        auto data = keys->data()->Copy();
        data->type = type;
        keys = arrow::MakeArray(data);
      }
      auto schema = arrow::schema({arrow::field("key", type)});
      auto batch = arrow::RecordBatch::Make(schema, keys->length(), {keys});
      batches.push_back(batch->Slice(100 + b, 1500));
    }
    ExpectKeyTableMatchesModel(batches, {0});
  }
}

TEST(KeyTableTest, MultiColumnAndStringKeysUseTheGrouper) {
  auto schema = arrow::schema({arrow::field("s", arrow::utf8()),
                               arrow::field("v", arrow::float64()),
                               arrow::field("g", arrow::int64())});
  const BatchVector batches = {
      testing::BatchFromJson(schema, R"([["x", 1, 1], ["y", 2, 1], ["x", 3, 1],
                                         [null, 4, 1], ["x", 5, null], [null, 6, null],
                                         ["", 7, 1], ["x", 8, 2]])"),
      testing::BatchFromJson(schema, R"([["x", 9, null], [null, 10, 1], ["", 11, 1],
                                         ["z", 12, 3], ["y", 13, 1], [null, 14, null],
                                         ["null", 15, 1]])"),
  };
  {
    SCOPED_TRACE("string + int64");
    ExpectKeyTableMatchesModel(batches, {0, 2});
  }
  {
    SCOPED_TRACE("int64 + string (reversed column order)");
    ExpectKeyTableMatchesModel(batches, {2, 0});
  }
  {
    SCOPED_TRACE("string only");
    ExpectKeyTableMatchesModel(batches, {0});
  }
}

TEST(KeyTableTest, ResetRestartsIds) {
  for (const auto& type : {arrow::int32(), arrow::utf8()}) {
    SCOPED_TRACE(type->ToString());
    const auto batch =
        KeyBatch(type, type->id() == arrow::Type::STRING ? R"(["p", "q", "p", null])"
                                                         : "[10, 20, 10, null]");
    auto table = KeyTable::Make(*batch->schema(), {1});
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    ASSERT_TRUE((*table)->Map(*batch).ok());
    ASSERT_TRUE((*table)->Reset().ok());
    EXPECT_EQ((*table)->size(), 0u);
    // After the reset, the last value comes first.
    auto reversed = arrow::RecordBatch::Make(
        batch->schema(), 2,
        {batch->column(0)->Slice(2, 2), batch->column(1)->Slice(2, 2)});
    auto ids = (*table)->Map(*reversed);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(ToVector(**ids), (std::vector<uint32_t>{0, 1}));
    auto keys = (*table)->Keys(ToVector(**ids).data(), 2);
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    EXPECT_TRUE((*keys)[0]->Equals(*batch->column(1)->Slice(2, 2)))
        << (*keys)[0]->ToString();
  }
}

// ---------------------------------------------------------------------------------------
// KeyedAggregates.

std::shared_ptr<arrow::Schema> ValueSchema() {
  return arrow::schema({arrow::field("v", arrow::int64())});
}

std::vector<ResolvedAggregate> CountAndSum() {
  auto resolved = ResolveAggregates({Count(), Sum("v")}, *ValueSchema(), {});
  EXPECT_TRUE(resolved.ok()) << resolved.status().ToString();
  return *resolved;
}

PreparedRows Prepared(const std::vector<int64_t>& values) {
  arrow::Int64Builder builder;
  EXPECT_TRUE(builder.AppendValues(values).ok());
  auto batch =
      arrow::RecordBatch::Make(ValueSchema(), static_cast<int64_t>(values.size()),
                               {builder.Finish().ValueOrDie()});
  auto rows = PrepareRows(CountAndSum(), *batch, /*time_index=*/-1);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return *rows;
}

// The model: keys in the order they got a slot, with their row count and sum.
struct ModelState {
  std::vector<uint32_t> keys;
  std::map<uint32_t, std::pair<int64_t, int64_t>> values;

  void Add(uint32_t key, int64_t count, int64_t sum) {
    if (values.count(key) == 0) keys.push_back(key);
    values[key].first += count;
    values[key].second += sum;
  }
  void Consume(const std::vector<uint32_t>& key_ids, const std::vector<int64_t>& v) {
    for (size_t i = 0; i < key_ids.size(); ++i) Add(key_ids[i], 1, v[i]);
  }
  // Folds `other`'s keys (those in `subset`, in the subset's order, if given).
  void MergeFrom(const ModelState& other, const std::vector<uint32_t>* subset = nullptr) {
    for (uint32_t key : subset ? *subset : other.keys) {
      auto it = other.values.find(key);
      if (it != other.values.end()) Add(key, it->second.first, it->second.second);
    }
  }
};

Result<std::unique_ptr<KeyedAggregates>> Consumed(const std::vector<uint32_t>& key_ids,
                                                  const std::vector<int64_t>& values) {
  ARROW_ASSIGN_OR_RAISE(auto state, KeyedAggregates::Make(CountAndSum()));
  ARROW_RETURN_NOT_OK(state->Consume(Prepared(values), key_ids.data()));
  return state;
}

void ExpectSameState(const KeyedAggregates& state, const ModelState& model) {
  EXPECT_EQ(state.keys(), model.keys);
  const uint32_t num_slots = static_cast<uint32_t>(state.keys().size());
  std::vector<uint32_t> slots(num_slots);
  for (uint32_t s = 0; s < num_slots; ++s) slots[s] = s;
  auto columns = state.set().Finish(slots.data(), num_slots);
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  const auto& counts = static_cast<const arrow::Int64Array&>(*(*columns)[0]);
  const auto& sums = static_cast<const arrow::Int64Array&>(*(*columns)[1]);
  for (uint32_t s = 0; s < num_slots && s < model.keys.size(); ++s) {
    const uint32_t key = state.keys()[s];
    SCOPED_TRACE(key);
    const auto& [count, sum] = model.values.at(model.keys[s]);
    EXPECT_EQ(state.Find(key), static_cast<int64_t>(s));
    EXPECT_EQ(state.set().rows(s), count);
    EXPECT_EQ(counts.Value(s), count);
    EXPECT_EQ(sums.Value(s), sum);
  }
}

TEST(KeyedAggregatesTest, ConsumeGivesSlotsInFirstSeenOrder) {
  const std::vector<uint32_t> key_ids = {5, 9, 5, 1000000};
  const std::vector<int64_t> values = {1, 2, 3, 4};
  auto state = Consumed(key_ids, values);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ModelState model;
  model.Consume(key_ids, values);
  ExpectSameState(**state, model);
  EXPECT_EQ((*state)->keys(), (std::vector<uint32_t>{5, 9, 1000000}));
  EXPECT_EQ((*state)->set().rows(0), 2);
  EXPECT_EQ((*state)->set().rows(1), 1);
  EXPECT_EQ((*state)->set().rows(2), 1);
  EXPECT_EQ((*state)->Find(7), -1);
  EXPECT_EQ((*state)->Find(0), -1);

  // SlotOf() returns existing slots and appends new ones; ConsumeSlots() folds into them.
  const uint32_t slot_9 = (*state)->SlotOf(9);
  const uint32_t slot_0 = (*state)->SlotOf(0);
  EXPECT_EQ(slot_9, 1u);
  EXPECT_EQ(slot_0, 3u);
  const std::vector<uint32_t> slots = {slot_0, slot_9, slot_0};
  ASSERT_TRUE((*state)->ConsumeSlots(Prepared({10, 20, 30}), slots.data()).ok());
  model.Consume({0, 9, 0}, {10, 20, 30});
  ExpectSameState(**state, model);
}

TEST(KeyedAggregatesTest, MergeFromFoldsOverlappingKeys) {
  const std::vector<uint32_t> first_keys = {5, 9, 5, 1000000};
  const std::vector<int64_t> first_values = {1, 2, 3, 4};
  const std::vector<uint32_t> second_keys = {9, 7, 5, 7};
  const std::vector<int64_t> second_values = {10, 20, 30, 40};
  auto first = Consumed(first_keys, first_values);
  auto second = Consumed(second_keys, second_values);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*first)->MergeFrom(**second).ok());

  ModelState model;
  model.Consume(first_keys, first_values);
  ModelState second_model;
  second_model.Consume(second_keys, second_values);
  model.MergeFrom(second_model);
  ExpectSameState(**first, model);
  EXPECT_EQ((*first)->keys(), (std::vector<uint32_t>{5, 9, 1000000, 7}));

  // The source is unchanged, and merging a state into itself doubles it.
  ExpectSameState(**second, second_model);
  ASSERT_TRUE((*second)->MergeFrom(**second).ok());
  second_model.MergeFrom(ModelState(second_model));
  ExpectSameState(**second, second_model);
}

TEST(KeyedAggregatesTest, MergeFromKeySubsetTakesOnlyKeysTheSourceHas) {
  auto target = Consumed({5, 9}, {1, 2});
  auto source = Consumed({7, 8, 1000000, 8}, {10, 20, 30, 40});
  ASSERT_TRUE(target.ok() && source.ok());
  // 42 is in neither state, 5 only in the target, 1000000 not asked for.
  const std::vector<uint32_t> subset = {8, 42, 5, 7};
  ASSERT_TRUE((*target)->MergeFrom(**source, subset).ok());

  ModelState model;
  model.Consume({5, 9}, {1, 2});
  ModelState source_model;
  source_model.Consume({7, 8, 1000000, 8}, {10, 20, 30, 40});
  model.MergeFrom(source_model, &subset);
  ExpectSameState(**target, model);
  EXPECT_EQ((*target)->keys(), (std::vector<uint32_t>{5, 9, 8, 7}));
  EXPECT_EQ((*target)->Find(42), -1);
  EXPECT_EQ((*target)->Find(1000000), -1);
}

// Thousands of sparse key ids grow the hash table; merges between such states must
// keep every key's slot.
TEST(KeyedAggregatesTest, ManyKeysSurviveGrowthAndMerge) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> key(0, 0x7FFFFFFF);
  std::uniform_int_distribution<int64_t> value(-1000, 1000);
  std::vector<uint32_t> pool;
  for (int i = 0; i < 3000; ++i) pool.push_back(key(rng));
  pool.push_back(0);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  const auto random_rows = [&](size_t n, std::vector<uint32_t>* keys,
                               std::vector<int64_t>* values) {
    for (size_t i = 0; i < n; ++i) {
      keys->push_back(pool[pick(rng)]);
      values->push_back(value(rng));
    }
  };
  std::vector<uint32_t> keys_a, keys_b;
  std::vector<int64_t> values_a, values_b;
  random_rows(8000, &keys_a, &values_a);
  random_rows(5000, &keys_b, &values_b);
  auto a = Consumed(keys_a, values_a);
  auto b = Consumed(keys_b, values_b);
  ASSERT_TRUE(a.ok() && b.ok());
  ModelState model_a;
  model_a.Consume(keys_a, values_a);
  ModelState model_b;
  model_b.Consume(keys_b, values_b);
  ExpectSameState(**a, model_a);
  ExpectSameState(**b, model_b);

  std::vector<uint32_t> subset(pool.begin(), pool.begin() + 1000);
  ASSERT_TRUE((*a)->MergeFrom(**b, subset).ok());
  model_a.MergeFrom(model_b, &subset);
  ExpectSameState(**a, model_a);
  ASSERT_TRUE((*a)->MergeFrom(**b).ok());
  model_a.MergeFrom(model_b);
  ExpectSameState(**a, model_a);
}

// ---------------------------------------------------------------------------------------
// Aggregates that do not fit their input.

struct InvalidAggregateCase {
  const char* name;
  std::vector<AggregateSpec> aggregates;
  // Words the error must contain: the column and what to change.
  std::vector<std::string> words;
  bool windowed_only = false;
};

TEST(AggregateErrorTest, ErrorsNameTheColumnAndTheFix) {
  const auto schema = arrow::schema(
      {arrow::field("k", arrow::utf8()), arrow::field("t", arrow::int64()),
       arrow::field("v", arrow::float64()), arrow::field("name", arrow::utf8())});
  const auto batch = testing::BatchFromJson(schema, R"([["a", 1, 2.5, "x"]])");
  const std::vector<InvalidAggregateCase> cases = {
      {"sum of string", {Count(), Sum("name")}, {"'name'", "string", "Sum", "Cast"}},
      {"min of string", {Min("name")}, {"'name'", "string", "Min", "Cast"}},
      {"max of string", {Max("name")}, {"'name'", "Max", "Cast"}},
      {"avg of string", {Avg("name")}, {"'name'", "Avg", "Cast"}},
      {"unknown column", {Sum("nope")}, {"'nope'", "unknown column", "name: string"}},
      {"duplicate output", {Count(), Sum("v"), Sum("v")}, {"'sum_v'", "twice", ".As("}},
      {"output named like the key", {Count().As("k")}, {"'k'", ".As("}},
      {"output named like a window bound",
       {Count().As("window_end")},
       {"'window_end'", ".As("},
       /*windowed_only=*/true},
      {"empty output name", {Sum("v").As("")}, {"empty output name", ".As("}},
  };
  for (const InvalidAggregateCase& c : cases) {
    for (bool windowed : {true, false}) {
      if (c.windowed_only && !windowed) continue;
      SCOPED_TRACE(c.name);
      SCOPED_TRACE(windowed ? "window" : "running aggregate");
      StreamEnvironment env;
      KeyedStream keyed = env.FromBatches(schema, {batch})
                              .AssignTimestampsAndWatermarks(
                                  WatermarkStrategy::BoundedOutOfOrderness("t", 0))
                              .KeyBy({"k"});
      if (windowed) {
        keyed.Window(Tumbling(milliseconds(10))).Aggregate(c.aggregates).Collect();
      } else {
        keyed.Aggregate(c.aggregates).Collect();
      }
      auto plan = env.BuildPlan();
      ASSERT_FALSE(plan.ok());
      const std::string message = plan.status().ToString();
      for (const std::string& word : c.words) {
        EXPECT_TRUE(Contains(message, word))
            << "expected '" << word << "' in: " << message;
      }
      EXPECT_TRUE(Contains(message, windowed ? "Window.Aggregate" : "Aggregate"))
          << "names the method: " << message;
      auto job = env.Execute();
      ASSERT_FALSE(job.ok());
      EXPECT_EQ(job.status().ToString(), message);
    }
  }
}

}  // namespace
}  // namespace sabot
