#include "sabot/operators/window/accumulators.h"

#include <arrow/api.h>

#include <algorithm>
#include <limits>

namespace sabot {
namespace {

// Visits the valid values of an int64 or double column with their group ids.
template <typename T, typename Fn>
void ForEachValid(const arrow::ArrayData& column, const uint32_t* group_ids,
                  int64_t length, Fn&& fn) {
  const T* values = column.GetValues<T>(1);
  if (column.GetNullCount() == 0) {
    for (int64_t i = 0; i < length; ++i) fn(group_ids[i], values[i]);
  } else {
    for (int64_t i = 0; i < length; ++i) {
      if (column.IsValid(i)) fn(group_ids[i], values[i]);
    }
  }
}

// Wraps per-group values into an array; groups without any value are null.
template <typename ArrowType, typename T>
Result<std::shared_ptr<arrow::Array>> ToArray(const std::vector<T>& values,
                                              const std::vector<uint8_t>* has_value) {
  typename arrow::TypeTraits<ArrowType>::BuilderType builder;
  ARROW_RETURN_NOT_OK(builder.Reserve(static_cast<int64_t>(values.size())));
  for (size_t g = 0; g < values.size(); ++g) {
    if (has_value != nullptr && !(*has_value)[g]) {
      builder.UnsafeAppendNull();
    } else {
      builder.UnsafeAppend(values[g]);
    }
  }
  return builder.Finish();
}

class CountAccumulator : public Accumulator {
 public:
  explicit CountAccumulator(bool count_all) : count_all_(count_all) {}
  void Resize(uint32_t n) override { counts_.resize(n, 0); }
  Status Consume(const arrow::ArrayData* column, const uint32_t* ids,
                 int64_t length) override {
    if (count_all_ || column->GetNullCount() == 0) {
      for (int64_t i = 0; i < length; ++i) ++counts_[ids[i]];
    } else {
      for (int64_t i = 0; i < length; ++i) counts_[ids[i]] += column->IsValid(i);
    }
    return Status::OK();
  }
  Result<std::shared_ptr<arrow::Array>> Finish() override {
    return ToArray<arrow::Int64Type>(counts_, nullptr);
  }

 private:
  const bool count_all_;
  std::vector<int64_t> counts_;
};

template <typename ArrowType>
class SumAccumulator : public Accumulator {
  using T = typename ArrowType::c_type;

 public:
  void Resize(uint32_t n) override {
    sums_.resize(n, 0);
    has_value_.resize(n, 0);
  }
  Status Consume(const arrow::ArrayData* column, const uint32_t* ids,
                 int64_t length) override {
    bool overflow = false;
    ForEachValid<T>(*column, ids, length, [&](uint32_t g, T v) {
      if constexpr (std::is_integral_v<T>) {
        overflow |= __builtin_add_overflow(sums_[g], v, &sums_[g]);
      } else {
        sums_[g] += v;
      }
      has_value_[g] = 1;
    });
    if (overflow)
      return Status::Invalid("integer overflow in sum; Cast the column to double");
    return Status::OK();
  }
  Result<std::shared_ptr<arrow::Array>> Finish() override {
    return ToArray<ArrowType>(sums_, &has_value_);
  }

 private:
  std::vector<T> sums_;
  std::vector<uint8_t> has_value_;
};

template <typename ArrowType, bool kIsMin>
class MinMaxAccumulator : public Accumulator {
  using T = typename ArrowType::c_type;

 public:
  void Resize(uint32_t n) override {
    values_.resize(
        n, kIsMin ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest());
    has_value_.resize(n, 0);
  }
  Status Consume(const arrow::ArrayData* column, const uint32_t* ids,
                 int64_t length) override {
    ForEachValid<T>(*column, ids, length, [&](uint32_t g, T v) {
      values_[g] = kIsMin ? std::min(values_[g], v) : std::max(values_[g], v);
      has_value_[g] = 1;
    });
    return Status::OK();
  }
  Result<std::shared_ptr<arrow::Array>> Finish() override {
    return ToArray<ArrowType>(values_, &has_value_);
  }

 private:
  std::vector<T> values_;
  std::vector<uint8_t> has_value_;
};

template <typename ArrowType>
class AvgAccumulator : public Accumulator {
  using T = typename ArrowType::c_type;

 public:
  void Resize(uint32_t n) override {
    sums_.resize(n, 0);
    counts_.resize(n, 0);
  }
  Status Consume(const arrow::ArrayData* column, const uint32_t* ids,
                 int64_t length) override {
    ForEachValid<T>(*column, ids, length, [&](uint32_t g, T v) {
      sums_[g] += static_cast<double>(v);
      ++counts_[g];
    });
    return Status::OK();
  }
  Result<std::shared_ptr<arrow::Array>> Finish() override {
    std::vector<double> means(sums_.size());
    std::vector<uint8_t> has_value(sums_.size());
    for (size_t g = 0; g < sums_.size(); ++g) {
      has_value[g] = counts_[g] > 0;
      means[g] = counts_[g] > 0 ? sums_[g] / static_cast<double>(counts_[g]) : 0;
    }
    return ToArray<arrow::DoubleType>(means, &has_value);
  }

 private:
  std::vector<double> sums_;
  std::vector<int64_t> counts_;
};

template <template <typename> class Acc>
std::unique_ptr<Accumulator> ForNumeric(bool integer) {
  if (integer) return std::make_unique<Acc<arrow::Int64Type>>();
  return std::make_unique<Acc<arrow::DoubleType>>();
}

template <typename T>
using MinAcc = MinMaxAccumulator<T, true>;
template <typename T>
using MaxAcc = MinMaxAccumulator<T, false>;

}  // namespace

Result<std::shared_ptr<arrow::DataType>> AggregateOutputType(
    const AggregateSpec& spec, const std::shared_ptr<arrow::DataType>& input_type) {
  if (spec.kind == AggregateKind::kCountAll || spec.kind == AggregateKind::kCount) {
    return arrow::int64();
  }
  const bool integer = arrow::is_integer(input_type->id());
  if (!integer && !arrow::is_floating(input_type->id())) {
    return Status::TypeError("cannot aggregate column '", spec.column, "' of type ",
                             input_type->ToString(), " with ", spec.output_name,
                             "; it must be numeric (Cast it, or use Count)");
  }
  if (spec.kind == AggregateKind::kAvg) return arrow::float64();
  return integer ? arrow::int64() : arrow::float64();
}

Result<std::unique_ptr<Accumulator>> MakeAccumulator(
    const AggregateSpec& spec, const std::shared_ptr<arrow::DataType>& input_type) {
  switch (spec.kind) {
    case AggregateKind::kCountAll:
      return std::make_unique<CountAccumulator>(true);
    case AggregateKind::kCount:
      return std::make_unique<CountAccumulator>(false);
    default:
      break;
  }
  ARROW_ASSIGN_OR_RAISE(auto output_type, AggregateOutputType(spec, input_type));
  const bool integer = arrow::is_integer(input_type->id());
  switch (spec.kind) {
    case AggregateKind::kSum:
      return ForNumeric<SumAccumulator>(integer);
    case AggregateKind::kMin:
      return ForNumeric<MinAcc>(integer);
    case AggregateKind::kMax:
      return ForNumeric<MaxAcc>(integer);
    case AggregateKind::kAvg:
      return ForNumeric<AvgAccumulator>(integer);
    default:
      return Status::Invalid("unknown aggregate");
  }
}

}  // namespace sabot
