// Per-slot state of AggregatorSet (GroupedAggregator::SerializeSlot), which operators
// use to keep each (key, window) accumulator as its own state backend value: every
// built-in aggregate survives the trip into another set's slot, a loaded slot keeps
// aggregating as if it had never left, and damaged encodings are errors.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/operators/aggregate/aggregate_spec.h"
#include "sabot/operators/aggregate/aggregator_set.h"
#include "sabot/operators/aggregate/grouped_aggregator.h"

namespace sabot {
namespace {

constexpr uint32_t kSlots = 40;
// Rows go to the first kUsedSlots slots; the others stay empty.
constexpr uint32_t kUsedSlots = 35;
constexpr int kTimeIndex = 5;

bool Contains(std::string_view text, std::string_view word) {
  return text.find(word) != std::string_view::npos;
}

std::shared_ptr<arrow::Schema> InputSchema() {
  return arrow::schema(
      {arrow::field("i", arrow::int32()), arrow::field("d", arrow::float64()),
       arrow::field("s", arrow::utf8()), arrow::field("b", arrow::boolean()),
       arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MILLI)),
       arrow::field("time", arrow::timestamp(arrow::TimeUnit::MILLI))});
}

// Every built-in aggregate kind over every consumed type (int64, double, utf8) and
// the columns that convert to them.
std::vector<AggregateSpec> AllBuiltinAggregates() {
  std::vector<AggregateSpec> specs = {Count(), Min("ts"), Max("ts")};
  for (const char* column : {"i", "d"}) {
    for (const auto& make :
         {Sum, Min, Max, Avg, Variance, VariancePop, Stddev, StddevPop}) {
      specs.push_back(make(column));
    }
  }
  for (const char* column : {"i", "d", "s", "b", "ts"}) {
    for (const auto& make : {Count, First, Last, CountDistinct}) {
      specs.push_back(make(column));
    }
  }
  return specs;
}

// Random rows with nulls, repeated values (distinct sets overlap), NaN and signed zeros,
// and few distinct event times (ties between first / last candidates).
std::shared_ptr<arrow::RecordBatch> RandomBatch(int64_t length, std::mt19937* rng) {
  auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(0, 99)(*rng) < percent;
  };
  auto pick = [&](int64_t n) {
    return std::uniform_int_distribution<int64_t>(0, n - 1)(*rng);
  };
  const std::vector<double> doubles = {
      0.0, -0.0, 1.5, -2.25, 1e300, std::numeric_limits<double>::quiet_NaN()};
  const std::vector<std::string> strings = {"", "a", "bb", "Paris", "a longer string"};
  arrow::Int32Builder i;
  arrow::DoubleBuilder d;
  arrow::StringBuilder s;
  arrow::BooleanBuilder b;
  arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MILLI),
                             arrow::default_memory_pool());
  arrow::TimestampBuilder time(arrow::timestamp(arrow::TimeUnit::MILLI),
                               arrow::default_memory_pool());
  for (int64_t row = 0; row < length; ++row) {
    const bool null = chance(15);
    EXPECT_TRUE(
        (null ? i.AppendNull() : i.Append(static_cast<int32_t>(pick(50) - 25))).ok());
    EXPECT_TRUE((null ? d.AppendNull()
                      : d.Append(chance(50) ? doubles[pick(doubles.size())]
                                            : static_cast<double>(pick(1000)) / 7))
                    .ok());
    EXPECT_TRUE((chance(15) ? s.AppendNull()
                            : s.Append(chance(50) ? strings[pick(strings.size())]
                                                  : std::string(pick(20), 'x')))
                    .ok());
    EXPECT_TRUE((chance(15) ? b.AppendNull() : b.Append(chance(50))).ok());
    EXPECT_TRUE(
        (chance(15) ? ts.AppendNull() : ts.Append(1'700'000'000'000 + pick(100))).ok());
    EXPECT_TRUE(time.Append(pick(20)).ok());
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(6);
  EXPECT_TRUE(i.Finish(&columns[0]).ok());
  EXPECT_TRUE(d.Finish(&columns[1]).ok());
  EXPECT_TRUE(s.Finish(&columns[2]).ok());
  EXPECT_TRUE(b.Finish(&columns[3]).ok());
  EXPECT_TRUE(ts.Finish(&columns[4]).ok());
  EXPECT_TRUE(time.Finish(&columns[5]).ok());
  return arrow::RecordBatch::Make(InputSchema(), length, std::move(columns));
}

std::vector<uint32_t> AllSlots() {
  std::vector<uint32_t> slots(kSlots);
  std::iota(slots.begin(), slots.end(), 0);
  return slots;
}

// The parameter says whether the rows carry event times (and the sets track the time
// span); without them first / last order rows by arrival.
class SlotSerializationTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto resolved = ResolveAggregates(AllBuiltinAggregates(), *InputSchema(), {});
    ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
    aggregates_ = std::move(*resolved);
  }

  bool with_times() const { return GetParam(); }

  std::unique_ptr<AggregatorSet> MakeSet() const {
    auto set = AggregatorSet::Make(aggregates_, /*track_time_span=*/with_times());
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    (*set)->Resize(kSlots);
    return std::move(*set);
  }

  // A batch of `length` random rows and the used slot each row goes to.
  struct Rows {
    std::shared_ptr<arrow::RecordBatch> batch;
    std::vector<uint32_t> slots;
  };
  Rows RandomRows(int64_t length) {
    Rows rows{RandomBatch(length, &rng_), std::vector<uint32_t>(length)};
    for (uint32_t& slot : rows.slots) {
      slot = std::uniform_int_distribution<uint32_t>(0, kUsedSlots - 1)(rng_);
    }
    return rows;
  }

  // Consumes `rows` into `set`, row i into slot_map[rows.slots[i]].
  void Consume(AggregatorSet* set, const Rows& rows,
               const std::vector<uint32_t>& slot_map = AllSlots()) const {
    auto prepared = PrepareRows(aggregates_, *rows.batch, with_times() ? kTimeIndex : -1);
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    std::vector<uint32_t> slots;
    for (uint32_t slot : rows.slots) slots.push_back(slot_map[slot]);
    const Status status = set->Consume(*prepared, slots.data());
    ASSERT_TRUE(status.ok()) << status.ToString();
  }

  // Expects slot a_slots[i] of `a` to hold the same state as b_slots[i] of `b`.
  void ExpectSameSlots(const AggregatorSet& a, const std::vector<uint32_t>& a_slots,
                       const AggregatorSet& b,
                       const std::vector<uint32_t>& b_slots) const {
    const int64_t count = static_cast<int64_t>(a_slots.size());
    auto a_columns = a.Finish(a_slots.data(), count);
    auto b_columns = b.Finish(b_slots.data(), count);
    ASSERT_TRUE(a_columns.ok()) << a_columns.status().ToString();
    ASSERT_TRUE(b_columns.ok()) << b_columns.status().ToString();
    const auto options = arrow::EqualOptions::Defaults().nans_equal(true);
    for (size_t c = 0; c < aggregates_.size(); ++c) {
      EXPECT_TRUE((*a_columns)[c]->Equals(*(*b_columns)[c], options))
          << aggregates_[c].output_field->name() << ":\n"
          << (*a_columns)[c]->ToString() << "\nvs\n"
          << (*b_columns)[c]->ToString();
    }
    for (int64_t i = 0; i < count; ++i) {
      EXPECT_EQ(a.rows(a_slots[i]), b.rows(b_slots[i])) << "slot " << a_slots[i];
      if (with_times()) {
        EXPECT_EQ(a.min_time(a_slots[i]), b.min_time(b_slots[i]))
            << "slot " << a_slots[i];
        EXPECT_EQ(a.max_time(a_slots[i]), b.max_time(b_slots[i]))
            << "slot " << a_slots[i];
      }
    }
  }

  std::string SerializeSlot(const AggregatorSet& set, uint32_t slot) const {
    std::string bytes;
    const Status status = set.SerializeSlot(slot, &bytes);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return bytes;
  }

  std::vector<uint32_t> Shuffled(std::vector<uint32_t> slots) {
    std::shuffle(slots.begin(), slots.end(), rng_);
    return slots;
  }

  std::vector<ResolvedAggregate> aggregates_;
  std::mt19937 rng_{20240607};
};

TEST_P(SlotSerializationTest, SlotsRoundTripIntoShuffledSlotsOfAnotherSet) {
  auto a = MakeSet();
  for (int batch = 0; batch < 3; ++batch) Consume(a.get(), RandomRows(300));
  // Loading must replace what the target slots already hold.
  auto b = MakeSet();
  Consume(b.get(), RandomRows(300));

  const std::vector<uint32_t> a_slots = AllSlots();
  const std::vector<uint32_t> b_slots = Shuffled(a_slots);
  for (uint32_t i = 0; i < kSlots; ++i) {
    const Status status = b->DeserializeSlot(b_slots[i], SerializeSlot(*a, a_slots[i]));
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  ExpectSameSlots(*a, a_slots, *b, b_slots);
}

// Load-consume-store is how a window operator folds each batch into stored state, so a
// loaded slot must go on exactly as if it had consumed every row itself: later rows
// come after the stored first / last value even without event times (the loading set's
// arrival count starts from zero), and distinct values merge with the stored ones.
TEST_P(SlotSerializationTest, LoadedSlotsKeepAggregatingAsIfTheyNeverLeft) {
  const Rows earlier = RandomRows(400);
  const Rows later = RandomRows(400);
  auto whole = MakeSet();
  Consume(whole.get(), earlier);
  Consume(whole.get(), later);

  auto stored = MakeSet();
  Consume(stored.get(), earlier);
  auto loaded = MakeSet();
  const std::vector<uint32_t> slot_map = Shuffled(AllSlots());
  for (uint32_t slot = 0; slot < kSlots; ++slot) {
    const Status status =
        loaded->DeserializeSlot(slot_map[slot], SerializeSlot(*stored, slot));
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  Consume(loaded.get(), later, slot_map);
  ExpectSameSlots(*whole, AllSlots(), *loaded, slot_map);
}

TEST_P(SlotSerializationTest, EveryTruncatedEncodingIsAnErrorThatEmptiesTheSlot) {
  auto a = MakeSet();
  Consume(a.get(), RandomRows(100));
  auto b = MakeSet();
  const size_t header_size = with_times() ? 24 : 8;
  for (uint32_t slot = 0; slot < kSlots; ++slot) {
    const std::string bytes = SerializeSlot(*a, slot);
    for (size_t length = 0; length < bytes.size(); ++length) {
      // A loaded slot, so that the check below sees the failed load empty it.
      ASSERT_TRUE(b->DeserializeSlot(slot, bytes).ok());
      const Status status =
          b->DeserializeSlot(slot, std::string_view(bytes).substr(0, length));
      ASSERT_TRUE(status.IsIOError()) << "slot " << slot << ", " << length << " of "
                                      << bytes.size() << " bytes: " << status.ToString();
      if (length >= header_size) {
        ASSERT_TRUE(Contains(status.message(), "aggregate '")) << status.ToString();
      }
      ASSERT_EQ(b->rows(slot), 0);
    }
  }
  // The failures left nothing behind that a correct load does not replace.
  for (uint32_t slot = 0; slot < kSlots; ++slot) {
    ASSERT_TRUE(b->DeserializeSlot(slot, SerializeSlot(*a, slot)).ok());
  }
  ExpectSameSlots(*a, AllSlots(), *b, AllSlots());
}

TEST_P(SlotSerializationTest, TrailingBytesAreAnError) {
  auto a = MakeSet();
  Consume(a.get(), RandomRows(100));
  auto b = MakeSet();
  const std::string bytes = SerializeSlot(*a, 0) + "x";
  const Status status = b->DeserializeSlot(0, bytes);
  EXPECT_TRUE(status.IsIOError()) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "1 trailing bytes")) << status.ToString();
  EXPECT_EQ(b->rows(0), 0);
}

INSTANTIATE_TEST_SUITE_P(EventTime, SlotSerializationTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "WithEventTimes" : "ArrivalOrder";
                         });

Result<std::unique_ptr<AggregatorSet>> MakeSet(const std::vector<AggregateSpec>& specs) {
  ARROW_ASSIGN_OR_RAISE(auto aggregates, ResolveAggregates(specs, *InputSchema(), {}));
  ARROW_ASSIGN_OR_RAISE(auto set, AggregatorSet::Make(aggregates));
  set->Resize(2);
  return set;
}

TEST(SlotSerializationErrorTest, CorruptFlagNamesTheAggregate) {
  auto set = MakeSet({Count(), Sum("i")}).ValueOrDie();
  std::string bytes;
  ASSERT_TRUE(set->SerializeSlot(0, &bytes).ok());
  // The row count, count(*), then sum_i's "has a value" flag.
  ASSERT_EQ(bytes.size(), 17u);
  bytes[16] = 7;
  const Status status = set->DeserializeSlot(1, bytes);
  EXPECT_TRUE(status.IsIOError()) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "aggregate 'sum_i'")) << status.ToString();
}

TEST(SlotSerializationErrorTest, MissingSlotIsAnError) {
  auto set = MakeSet({Count()}).ValueOrDie();
  std::string bytes;
  ASSERT_TRUE(set->SerializeSlot(1, &bytes).ok());
  EXPECT_TRUE(set->SerializeSlot(2, &bytes).IsIndexError());
  EXPECT_TRUE(set->DeserializeSlot(2, bytes).IsIndexError());
}

// A user-defined aggregate that leaves per-slot state to the defaults.
class NoSlotStateAggregator : public GroupedAggregator {
 public:
  void Resize(uint32_t) override {}
  Status Consume(const AggregateInput&, const uint32_t*) override { return Status::OK(); }
  Status Merge(const GroupedAggregator&, const uint32_t*, const uint32_t*,
               int64_t) override {
    return Status::OK();
  }
  void Reset(const uint32_t*, int64_t) override {}
  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t*,
                                               int64_t count) const override {
    return arrow::MakeArrayOfNull(arrow::int64(), count);
  }
};

Result<std::unique_ptr<GroupedAggregator>> MakeNoSlotState(
    const std::shared_ptr<arrow::DataType>&) {
  return std::make_unique<NoSlotStateAggregator>();
}

TEST(SlotSerializationErrorTest, UserAggregateWithoutSlotStateNamesTheAggregate) {
  auto set =
      MakeSet({Count(), UserAggregate("custom", "i", arrow::int64(), MakeNoSlotState)})
          .ValueOrDie();
  std::string bytes;
  Status status = set->SerializeSlot(0, &bytes);
  EXPECT_TRUE(status.IsNotImplemented()) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "aggregate 'custom'")) << status.ToString();
  // count(*) alone, as if a set without the user aggregate had written it.
  bytes = std::string(16, '\0');
  status = set->DeserializeSlot(0, bytes);
  EXPECT_TRUE(status.IsNotImplemented()) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "aggregate 'custom'")) << status.ToString();
}

}  // namespace
}  // namespace sabot
