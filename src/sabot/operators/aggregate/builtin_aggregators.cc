#include "sabot/operators/aggregate/builtin_aggregators.h"

#include <arrow/api.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "sabot/state/state_codec.h"

namespace sabot {
namespace {

// Reads value i of a consumed column: int64, double or utf8.
template <typename T>
struct ValueReader;

template <>
struct ValueReader<int64_t> {
  explicit ValueReader(const arrow::ArrayData& data)
      : values(data.GetValues<int64_t>(1)) {}
  int64_t operator[](int64_t i) const { return values[i]; }
  const int64_t* values;
};

template <>
struct ValueReader<double> {
  explicit ValueReader(const arrow::ArrayData& data)
      : values(data.GetValues<double>(1)) {}
  double operator[](int64_t i) const { return values[i]; }
  const double* values;
};

template <>
struct ValueReader<std::string> {
  explicit ValueReader(const arrow::ArrayData& data)
      : offsets(data.GetValues<int32_t>(1)),
        bytes(data.buffers[2] ? reinterpret_cast<const char*>(data.buffers[2]->data())
                              : "") {}
  std::string_view operator[](int64_t i) const {
    return {bytes + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i])};
  }
  const int32_t* offsets;
  const char* bytes;
};

// Calls fn(row, slot, value) for the non-null values of `input`.
template <typename T, typename Fn>
void ForEachValue(const AggregateInput& input, const uint32_t* slots, Fn&& fn) {
  const arrow::ArrayData& column = *input.values;
  ValueReader<T> values(column);
  if (column.GetNullCount() == 0) {
    for (int64_t i = 0; i < input.length; ++i) fn(i, slots[i], values[i]);
  } else {
    for (int64_t i = 0; i < input.length; ++i) {
      if (column.IsValid(i)) fn(i, slots[i], values[i]);
    }
  }
}

template <typename T>
using BuilderOf =
    std::conditional_t<std::is_same_v<T, int64_t>, arrow::Int64Builder,
                       std::conditional_t<std::is_same_v<T, double>, arrow::DoubleBuilder,
                                          arrow::StringBuilder>>;

// Builds the results of `slots`; `valid(slot)` says whether a slot has a value.
template <typename T, typename Value, typename Valid>
Result<std::shared_ptr<arrow::Array>> BuildArray(const uint32_t* slots, int64_t count,
                                                 Value&& value, Valid&& valid) {
  BuilderOf<T> builder;
  ARROW_RETURN_NOT_OK(builder.Reserve(count));
  for (int64_t i = 0; i < count; ++i) {
    if (valid(slots[i])) {
      ARROW_RETURN_NOT_OK(builder.Append(value(slots[i])));
    } else {
      ARROW_RETURN_NOT_OK(builder.AppendNull());
    }
  }
  return builder.Finish();
}

// Checkpoint encoding of aggregator vectors: element count, then the elements
// (StateCodec: arithmetic little-endian, strings length-prefixed).
template <typename T>
void AppendVector(const std::vector<T>& values, std::string* out) {
  StateCodec<int64_t>::Append(static_cast<int64_t>(values.size()), out);
  if constexpr (std::is_arithmetic_v<T>) {
    out->append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  } else {
    for (const T& value : values) StateCodec<T>::Append(value, out);
  }
}

template <typename T>
Status ReadVector(std::string_view* in, std::vector<T>* values) {
  ARROW_ASSIGN_OR_RAISE(int64_t size, StateCodec<int64_t>::Read(in));
  if (size < 0) return Status::IOError("corrupt aggregate state");
  if constexpr (std::is_arithmetic_v<T>) {
    const size_t bytes = static_cast<size_t>(size) * sizeof(T);
    if (in->size() < bytes) return Status::IOError("aggregate state is truncated");
    values->resize(size);
    // An empty vector may have no buffer: memcpy must not see a null pointer.
    if (bytes > 0) std::memcpy(values->data(), in->data(), bytes);
    in->remove_prefix(bytes);
  } else {
    values->clear();
    for (int64_t i = 0; i < size; ++i) {
      ARROW_ASSIGN_OR_RAISE(T value, StateCodec<T>::Read(in));
      values->push_back(std::move(value));
    }
  }
  return Status::OK();
}

// Per-slot encoding (SerializeSlot): the slot's fields, StateCodec-encoded. A value
// that may be absent is a flag byte, 0 or 1, followed by the value when it is 1.
Result<bool> ReadFlag(std::string_view* in) {
  ARROW_ASSIGN_OR_RAISE(uint8_t flag, StateCodec<uint8_t>::Read(in));
  if (flag > 1) {
    return Status::IOError("corrupt aggregate state: flag byte ", static_cast<int>(flag));
  }
  return flag == 1;
}

Result<int64_t> ReadCount(std::string_view* in) {
  ARROW_ASSIGN_OR_RAISE(int64_t count, StateCodec<int64_t>::Read(in));
  if (count < 0) return Status::IOError("corrupt aggregate state: negative count");
  return count;
}

// Base for aggregators whose state is plain vectors: CRTP gives Merge the concrete
// type without a virtual call per slot.
template <typename Derived>
class VectorAggregator : public GroupedAggregator {
 public:
  Status Merge(const GroupedAggregator& from, const uint32_t* from_slots,
               const uint32_t* to_slots, int64_t count) override {
    const auto& source = static_cast<const Derived&>(from);
    auto& self = static_cast<Derived&>(*this);
    for (int64_t i = 0; i < count; ++i) {
      ARROW_RETURN_NOT_OK(self.MergeSlot(source, from_slots[i], to_slots[i]));
    }
    return Status::OK();
  }
  void Reset(const uint32_t* slots, int64_t count) override {
    auto& self = static_cast<Derived&>(*this);
    for (int64_t i = 0; i < count; ++i) self.ResetSlot(slots[i]);
  }
};

class CountAggregator : public VectorAggregator<CountAggregator> {
 public:
  explicit CountAggregator(bool count_all) : count_all_(count_all) {}
  void Resize(uint32_t n) override {
    if (n > counts_.size()) counts_.resize(n, 0);
  }
  Status Consume(const AggregateInput& input, const uint32_t* slots) override {
    if (count_all_ || input.values->GetNullCount() == 0) {
      for (int64_t i = 0; i < input.length; ++i) ++counts_[slots[i]];
    } else {
      for (int64_t i = 0; i < input.length; ++i)
        counts_[slots[i]] += input.values->IsValid(i);
    }
    return Status::OK();
  }
  Status MergeSlot(const CountAggregator& from, uint32_t f, uint32_t t) {
    counts_[t] += from.counts_[f];
    return Status::OK();
  }
  void ResetSlot(uint32_t s) { counts_[s] = 0; }
  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                               int64_t count) const override {
    return BuildArray<int64_t>(
        slots, count, [&](uint32_t s) { return counts_[s]; },
        [](uint32_t) { return true; });
  }

  Status Serialize(std::string* out) const override {
    AppendVector(counts_, out);
    return Status::OK();
  }
  Status Deserialize(std::string_view* in) override {
    ARROW_RETURN_NOT_OK(ReadVector(in, &counts_));
    return Status::OK();
  }
  Status SerializeSlot(uint32_t s, std::string* out) const override {
    StateCodec<int64_t>::Append(counts_[s], out);
    return Status::OK();
  }
  Status DeserializeSlot(uint32_t s, std::string_view* in) override {
    ARROW_ASSIGN_OR_RAISE(counts_[s], ReadCount(in));
    return Status::OK();
  }

 private:
  const bool count_all_;
  std::vector<int64_t> counts_;
};

template <typename T>
class SumAggregator : public VectorAggregator<SumAggregator<T>> {
 public:
  void Resize(uint32_t n) override {
    if (n <= sums_.size()) return;
    sums_.resize(n, 0);
    has_value_.resize(n, 0);
  }
  Status Consume(const AggregateInput& input, const uint32_t* slots) override {
    bool overflow = false;
    ForEachValue<T>(input, slots, [&](int64_t, uint32_t s, T v) {
      overflow |= Add(sums_[s], v);
      has_value_[s] = 1;
    });
    return overflow ? Overflow() : Status::OK();
  }
  Status MergeSlot(const SumAggregator& from, uint32_t f, uint32_t t) {
    if (!from.has_value_[f]) return Status::OK();
    has_value_[t] = 1;
    return Add(sums_[t], from.sums_[f]) ? Overflow() : Status::OK();
  }
  void ResetSlot(uint32_t s) {
    sums_[s] = 0;
    has_value_[s] = 0;
  }
  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                               int64_t count) const override {
    return BuildArray<T>(
        slots, count, [&](uint32_t s) { return sums_[s]; },
        [&](uint32_t s) { return has_value_[s] != 0; });
  }

  Status Serialize(std::string* out) const override {
    AppendVector(sums_, out);
    AppendVector(has_value_, out);
    return Status::OK();
  }
  Status Deserialize(std::string_view* in) override {
    ARROW_RETURN_NOT_OK(ReadVector(in, &sums_));
    ARROW_RETURN_NOT_OK(ReadVector(in, &has_value_));
    return Status::OK();
  }
  Status SerializeSlot(uint32_t s, std::string* out) const override {
    StateCodec<uint8_t>::Append(has_value_[s], out);
    if (has_value_[s]) StateCodec<T>::Append(sums_[s], out);
    return Status::OK();
  }
  Status DeserializeSlot(uint32_t s, std::string_view* in) override {
    ARROW_ASSIGN_OR_RAISE(const bool has_value, ReadFlag(in));
    ResetSlot(s);
    if (has_value) {
      ARROW_ASSIGN_OR_RAISE(sums_[s], StateCodec<T>::Read(in));
      has_value_[s] = 1;
    }
    return Status::OK();
  }

 private:
  // Returns true on integer overflow.
  static bool Add(T& sum, T v) {
    if constexpr (std::is_integral_v<T>) {
      return __builtin_add_overflow(sum, v, &sum);
    } else {
      sum += v;
      return false;
    }
  }
  static Status Overflow() {
    return Status::Invalid("integer overflow in sum; Cast the column to double");
  }
  std::vector<T> sums_;
  std::vector<uint8_t> has_value_;
};

template <typename T, bool kIsMin>
class MinMaxAggregator : public VectorAggregator<MinMaxAggregator<T, kIsMin>> {
 public:
  void Resize(uint32_t n) override {
    if (n <= values_.size()) return;
    values_.resize(n, Identity());
    has_value_.resize(n, 0);
  }
  Status Consume(const AggregateInput& input, const uint32_t* slots) override {
    ForEachValue<T>(input, slots, [&](int64_t, uint32_t s, T v) {
      values_[s] = kIsMin ? std::min(values_[s], v) : std::max(values_[s], v);
      has_value_[s] = 1;
    });
    return Status::OK();
  }
  Status MergeSlot(const MinMaxAggregator& from, uint32_t f, uint32_t t) {
    if (!from.has_value_[f]) return Status::OK();
    const T v = from.values_[f];
    values_[t] = kIsMin ? std::min(values_[t], v) : std::max(values_[t], v);
    has_value_[t] = 1;
    return Status::OK();
  }
  void ResetSlot(uint32_t s) {
    values_[s] = Identity();
    has_value_[s] = 0;
  }
  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                               int64_t count) const override {
    return BuildArray<T>(
        slots, count, [&](uint32_t s) { return values_[s]; },
        [&](uint32_t s) { return has_value_[s] != 0; });
  }

  Status Serialize(std::string* out) const override {
    AppendVector(values_, out);
    AppendVector(has_value_, out);
    return Status::OK();
  }
  Status Deserialize(std::string_view* in) override {
    ARROW_RETURN_NOT_OK(ReadVector(in, &values_));
    ARROW_RETURN_NOT_OK(ReadVector(in, &has_value_));
    return Status::OK();
  }
  Status SerializeSlot(uint32_t s, std::string* out) const override {
    StateCodec<uint8_t>::Append(has_value_[s], out);
    if (has_value_[s]) StateCodec<T>::Append(values_[s], out);
    return Status::OK();
  }
  Status DeserializeSlot(uint32_t s, std::string_view* in) override {
    ARROW_ASSIGN_OR_RAISE(const bool has_value, ReadFlag(in));
    ResetSlot(s);
    if (has_value) {
      ARROW_ASSIGN_OR_RAISE(values_[s], StateCodec<T>::Read(in));
      has_value_[s] = 1;
    }
    return Status::OK();
  }

 private:
  static T Identity() {
    return kIsMin ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest();
  }
  std::vector<T> values_;
  std::vector<uint8_t> has_value_;
};

class AvgAggregator : public VectorAggregator<AvgAggregator> {
 public:
  explicit AvgAggregator(bool integer) : integer_(integer) {}
  void Resize(uint32_t n) override {
    if (n <= sums_.size()) return;
    sums_.resize(n, 0);
    counts_.resize(n, 0);
  }
  Status Consume(const AggregateInput& input, const uint32_t* slots) override {
    auto add = [&](int64_t, uint32_t s, auto v) {
      sums_[s] += static_cast<double>(v);
      ++counts_[s];
    };
    if (integer_) {
      ForEachValue<int64_t>(input, slots, add);
    } else {
      ForEachValue<double>(input, slots, add);
    }
    return Status::OK();
  }
  Status MergeSlot(const AvgAggregator& from, uint32_t f, uint32_t t) {
    sums_[t] += from.sums_[f];
    counts_[t] += from.counts_[f];
    return Status::OK();
  }
  void ResetSlot(uint32_t s) {
    sums_[s] = 0;
    counts_[s] = 0;
  }
  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                               int64_t count) const override {
    return BuildArray<double>(
        slots, count,
        [&](uint32_t s) { return sums_[s] / static_cast<double>(counts_[s]); },
        [&](uint32_t s) { return counts_[s] > 0; });
  }

  Status Serialize(std::string* out) const override {
    AppendVector(sums_, out);
    AppendVector(counts_, out);
    return Status::OK();
  }
  Status Deserialize(std::string_view* in) override {
    ARROW_RETURN_NOT_OK(ReadVector(in, &sums_));
    ARROW_RETURN_NOT_OK(ReadVector(in, &counts_));
    return Status::OK();
  }
  Status SerializeSlot(uint32_t s, std::string* out) const override {
    StateCodec<double>::Append(sums_[s], out);
    StateCodec<int64_t>::Append(counts_[s], out);
    return Status::OK();
  }
  Status DeserializeSlot(uint32_t s, std::string_view* in) override {
    ARROW_ASSIGN_OR_RAISE(sums_[s], StateCodec<double>::Read(in));
    ARROW_ASSIGN_OR_RAISE(counts_[s], ReadCount(in));
    return Status::OK();
  }

 private:
  const bool integer_;
  std::vector<double> sums_;
  std::vector<int64_t> counts_;
};

// Welford's running mean and sum of squared deviations, merged with Chan et al.'s
// formula, so that variance stays accurate when the values are large.
class MomentsAggregator : public VectorAggregator<MomentsAggregator> {
 public:
  MomentsAggregator(bool integer, bool population, bool stddev)
      : integer_(integer), population_(population), stddev_(stddev) {}
  void Resize(uint32_t n) override {
    if (n <= counts_.size()) return;
    counts_.resize(n, 0);
    means_.resize(n, 0);
    m2_.resize(n, 0);
  }
  Status Consume(const AggregateInput& input, const uint32_t* slots) override {
    auto add = [&](int64_t, uint32_t s, auto value) {
      const double v = static_cast<double>(value);
      const double n = static_cast<double>(++counts_[s]);
      const double delta = v - means_[s];
      means_[s] += delta / n;
      m2_[s] += delta * (v - means_[s]);
    };
    if (integer_) {
      ForEachValue<int64_t>(input, slots, add);
    } else {
      ForEachValue<double>(input, slots, add);
    }
    return Status::OK();
  }
  Status MergeSlot(const MomentsAggregator& from, uint32_t f, uint32_t t) {
    if (from.counts_[f] == 0) return Status::OK();
    const double na = static_cast<double>(counts_[t]);
    const double nb = static_cast<double>(from.counts_[f]);
    const double delta = from.means_[f] - means_[t];
    const double n = na + nb;
    means_[t] += delta * nb / n;
    m2_[t] += from.m2_[f] + delta * delta * na * nb / n;
    counts_[t] += from.counts_[f];
    return Status::OK();
  }
  void ResetSlot(uint32_t s) {
    counts_[s] = 0;
    means_[s] = 0;
    m2_[s] = 0;
  }
  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                               int64_t count) const override {
    const int64_t min_count = population_ ? 1 : 2;
    return BuildArray<double>(
        slots, count,
        [&](uint32_t s) {
          const double divisor = static_cast<double>(counts_[s] - (population_ ? 0 : 1));
          const double variance = std::max(0.0, m2_[s] / divisor);
          return stddev_ ? std::sqrt(variance) : variance;
        },
        [&](uint32_t s) { return counts_[s] >= min_count; });
  }

  Status Serialize(std::string* out) const override {
    AppendVector(counts_, out);
    AppendVector(means_, out);
    AppendVector(m2_, out);
    return Status::OK();
  }
  Status Deserialize(std::string_view* in) override {
    ARROW_RETURN_NOT_OK(ReadVector(in, &counts_));
    ARROW_RETURN_NOT_OK(ReadVector(in, &means_));
    ARROW_RETURN_NOT_OK(ReadVector(in, &m2_));
    return Status::OK();
  }
  Status SerializeSlot(uint32_t s, std::string* out) const override {
    StateCodec<int64_t>::Append(counts_[s], out);
    StateCodec<double>::Append(means_[s], out);
    StateCodec<double>::Append(m2_[s], out);
    return Status::OK();
  }
  Status DeserializeSlot(uint32_t s, std::string_view* in) override {
    ARROW_ASSIGN_OR_RAISE(counts_[s], ReadCount(in));
    ARROW_ASSIGN_OR_RAISE(means_[s], StateCodec<double>::Read(in));
    ARROW_ASSIGN_OR_RAISE(m2_[s], StateCodec<double>::Read(in));
    return Status::OK();
  }

 private:
  const bool integer_;
  const bool population_;
  const bool stddev_;
  std::vector<int64_t> counts_;
  std::vector<double> means_;
  std::vector<double> m2_;
};

// First / last value by event time. Without times, the row position in arrival order
// stands in (a running sequence number).
template <typename T, bool kIsFirst>
class FirstLastAggregator : public VectorAggregator<FirstLastAggregator<T, kIsFirst>> {
 public:
  void Resize(uint32_t n) override {
    if (n <= values_.size()) return;
    values_.resize(n);
    times_.resize(n, 0);
    has_value_.resize(n, 0);
  }
  Status Consume(const AggregateInput& input, const uint32_t* slots) override {
    ForEachValue<T>(input, slots, [&](int64_t i, uint32_t s, const auto& v) {
      const int64_t time = input.times != nullptr ? input.times[i] : sequence_ + i;
      Offer(s, time, v);
    });
    sequence_ += input.length;
    return Status::OK();
  }
  Status MergeSlot(const FirstLastAggregator& from, uint32_t f, uint32_t t) {
    if (from.has_value_[f]) Offer(t, from.times_[f], from.values_[f]);
    return Status::OK();
  }
  void ResetSlot(uint32_t s) {
    has_value_[s] = 0;
    if constexpr (std::is_same_v<T, std::string>) std::string().swap(values_[s]);
  }
  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                               int64_t count) const override {
    return BuildArray<T>(
        slots, count, [&](uint32_t s) -> const T& { return values_[s]; },
        [&](uint32_t s) { return has_value_[s] != 0; });
  }

  Status Serialize(std::string* out) const override {
    AppendVector(values_, out);
    AppendVector(times_, out);
    AppendVector(has_value_, out);
    StateCodec<int64_t>::Append(sequence_, out);
    return Status::OK();
  }
  Status Deserialize(std::string_view* in) override {
    ARROW_RETURN_NOT_OK(ReadVector(in, &values_));
    ARROW_RETURN_NOT_OK(ReadVector(in, &times_));
    ARROW_RETURN_NOT_OK(ReadVector(in, &has_value_));
    ARROW_ASSIGN_OR_RAISE(sequence_, StateCodec<int64_t>::Read(in));
    return Status::OK();
  }
  Status SerializeSlot(uint32_t s, std::string* out) const override {
    StateCodec<uint8_t>::Append(has_value_[s], out);
    if (has_value_[s]) {
      StateCodec<int64_t>::Append(times_[s], out);
      StateCodec<T>::Append(values_[s], out);
    }
    return Status::OK();
  }
  Status DeserializeSlot(uint32_t s, std::string_view* in) override {
    ARROW_ASSIGN_OR_RAISE(const bool has_value, ReadFlag(in));
    ResetSlot(s);
    if (!has_value) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(times_[s], StateCodec<int64_t>::Read(in));
    ARROW_ASSIGN_OR_RAISE(values_[s], StateCodec<T>::Read(in));
    has_value_[s] = 1;
    // Without event times a row's time is its arrival number, and the stored value may
    // have been numbered by another aggregator that had counted further than this one:
    // rows consumed from now on must still arrive after it. (With event times the
    // sequence is unused.)
    const int64_t after_stored =
        times_[s] < std::numeric_limits<int64_t>::max() ? times_[s] + 1 : times_[s];
    sequence_ = std::max(sequence_, after_stored);
    return Status::OK();
  }

 private:
  template <typename V>
  void Offer(uint32_t s, int64_t time, const V& v) {
    const bool take = !has_value_[s] || (kIsFirst ? time < times_[s] : time >= times_[s]);
    if (!take) return;
    if constexpr (std::is_same_v<T, std::string>) {
      values_[s].assign(v.data(), v.size());
    } else {
      values_[s] = v;
    }
    times_[s] = time;
    has_value_[s] = 1;
  }
  std::vector<T> values_;
  std::vector<int64_t> times_;
  std::vector<uint8_t> has_value_;
  int64_t sequence_ = 0;
};

// Exact distinct counting: one hash set of values per slot. Doubles are compared by
// value (0.0 equals -0.0; all NaNs are one value), as in SQL.
template <typename T>
class CountDistinctAggregator : public VectorAggregator<CountDistinctAggregator<T>> {
  using Key = std::conditional_t<std::is_same_v<T, double>, uint64_t, T>;

 public:
  void Resize(uint32_t n) override {
    if (n > sets_.size()) sets_.resize(n);
  }
  Status Consume(const AggregateInput& input, const uint32_t* slots) override {
    ForEachValue<T>(input, slots, [&](int64_t, uint32_t s, const auto& v) {
      if constexpr (std::is_same_v<T, double>) {
        sets_[s].insert(Normalize(v));
      } else {
        sets_[s].emplace(v);
      }
    });
    return Status::OK();
  }
  Status MergeSlot(const CountDistinctAggregator& from, uint32_t f, uint32_t t) {
    if (&from == this && f == t) return Status::OK();
    sets_[t].insert(from.sets_[f].begin(), from.sets_[f].end());
    return Status::OK();
  }
  void ResetSlot(uint32_t s) { std::unordered_set<Key>().swap(sets_[s]); }
  Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                               int64_t count) const override {
    return BuildArray<int64_t>(
        slots, count, [&](uint32_t s) { return static_cast<int64_t>(sets_[s].size()); },
        [](uint32_t) { return true; });
  }

  Status Serialize(std::string* out) const override {
    StateCodec<int64_t>::Append(static_cast<int64_t>(sets_.size()), out);
    for (const auto& set : sets_) {
      AppendVector(std::vector<Key>(set.begin(), set.end()), out);
    }
    return Status::OK();
  }
  Status Deserialize(std::string_view* in) override {
    ARROW_ASSIGN_OR_RAISE(int64_t size, StateCodec<int64_t>::Read(in));
    if (size < 0) return Status::IOError("corrupt aggregate state");
    sets_.assign(size, {});
    std::vector<Key> values;
    for (auto& set : sets_) {
      ARROW_RETURN_NOT_OK(ReadVector(in, &values));
      set.insert(values.begin(), values.end());
    }
    return Status::OK();
  }
  Status SerializeSlot(uint32_t s, std::string* out) const override {
    StateCodec<int64_t>::Append(static_cast<int64_t>(sets_[s].size()), out);
    for (const Key& value : sets_[s]) StateCodec<Key>::Append(value, out);
    return Status::OK();
  }
  Status DeserializeSlot(uint32_t s, std::string_view* in) override {
    ARROW_ASSIGN_OR_RAISE(const int64_t size, ReadCount(in));
    std::unordered_set<Key> set;
    // Every element takes at least one byte, so a corrupt size cannot reserve more
    // than the input could hold.
    set.reserve(static_cast<size_t>(std::min<int64_t>(size, in->size())));
    for (int64_t i = 0; i < size; ++i) {
      ARROW_ASSIGN_OR_RAISE(Key value, StateCodec<Key>::Read(in));
      set.insert(std::move(value));
    }
    sets_[s].swap(set);
    return Status::OK();
  }

 private:
  static uint64_t Normalize(double v) {
    if (v == 0) v = 0;  // -0.0 == 0.0
    if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    return bits;
  }
  std::vector<std::unordered_set<Key>> sets_;
};

enum class ConsumedType { kInt64, kDouble, kString };

ConsumedType Classify(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::DOUBLE:
      return ConsumedType::kDouble;
    case arrow::Type::STRING:
      return ConsumedType::kString;
    default:
      return ConsumedType::kInt64;
  }
}

template <template <typename> class Aggregator>
std::unique_ptr<GroupedAggregator> ForConsumed(ConsumedType type) {
  switch (type) {
    case ConsumedType::kInt64:
      return std::make_unique<Aggregator<int64_t>>();
    case ConsumedType::kDouble:
      return std::make_unique<Aggregator<double>>();
    case ConsumedType::kString:
      return std::make_unique<Aggregator<std::string>>();
  }
  return nullptr;
}

template <typename T>
using MinAggregator = MinMaxAggregator<T, true>;
template <typename T>
using MaxAggregator = MinMaxAggregator<T, false>;
template <typename T>
using FirstAggregator = FirstLastAggregator<T, true>;
template <typename T>
using LastAggregator = FirstLastAggregator<T, false>;

}  // namespace

Result<std::unique_ptr<GroupedAggregator>> MakeAggregator(
    const ResolvedAggregate& aggregate) {
  const AggregateSpec& spec = aggregate.spec;
  if (spec.kind == AggregateKind::kCountAll)
    return std::make_unique<CountAggregator>(true);
  if (spec.kind == AggregateKind::kUser) {
    ARROW_ASSIGN_OR_RAISE(auto aggregator, spec.factory(aggregate.consumed_type));
    if (!aggregator) {
      return Status::Invalid("the factory of aggregate '", spec.output_name,
                             "' returned no aggregator");
    }
    return aggregator;
  }
  const ConsumedType type = Classify(*aggregate.consumed_type);
  const bool integer = type == ConsumedType::kInt64;
  switch (spec.kind) {
    case AggregateKind::kCount:
      return std::make_unique<CountAggregator>(false);
    case AggregateKind::kSum:
      if (integer) return std::make_unique<SumAggregator<int64_t>>();
      return std::make_unique<SumAggregator<double>>();
    case AggregateKind::kMin:
      if (integer) return std::make_unique<MinAggregator<int64_t>>();
      return std::make_unique<MinAggregator<double>>();
    case AggregateKind::kMax:
      if (integer) return std::make_unique<MaxAggregator<int64_t>>();
      return std::make_unique<MaxAggregator<double>>();
    case AggregateKind::kAvg:
      return std::make_unique<AvgAggregator>(integer);
    case AggregateKind::kVariance:
      return std::make_unique<MomentsAggregator>(integer, false, false);
    case AggregateKind::kVariancePop:
      return std::make_unique<MomentsAggregator>(integer, true, false);
    case AggregateKind::kStddev:
      return std::make_unique<MomentsAggregator>(integer, false, true);
    case AggregateKind::kStddevPop:
      return std::make_unique<MomentsAggregator>(integer, true, true);
    case AggregateKind::kFirst:
      return ForConsumed<FirstAggregator>(type);
    case AggregateKind::kLast:
      return ForConsumed<LastAggregator>(type);
    case AggregateKind::kCountDistinct:
      return ForConsumed<CountDistinctAggregator>(type);
    default:
      return Status::Invalid("unknown aggregate kind for '", spec.output_name, "'");
  }
}

}  // namespace sabot
