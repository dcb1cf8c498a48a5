// Column-wise accumulators for grouped aggregation: one slot per group id, updated for
// a whole batch of (value, group id) pairs per call. Internal to operators/window.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <arrow/type_fwd.h>

#include "sabot/common/status.h"
#include "sabot/operators/window/window_aggregate.h"

namespace sabot {

class Accumulator {
 public:
  virtual ~Accumulator() = default;
  /// Grows to `num_groups` slots (new groups start empty).
  virtual void Resize(uint32_t num_groups) = 0;
  /// Folds `column` (null for count(*)) into the slots named by `group_ids`.
  virtual Status Consume(const arrow::ArrayData* column, const uint32_t* group_ids,
                         int64_t length) = 0;
  /// Returns one value per group, in group id order.
  virtual Result<std::shared_ptr<arrow::Array>> Finish() = 0;
};

/// Returns an accumulator for `spec` over input values of `input_type` (null for
/// count(*)).
Result<std::unique_ptr<Accumulator>> MakeAccumulator(
    const AggregateSpec& spec, const std::shared_ptr<arrow::DataType>& input_type);

/// Returns the output type of `spec` over `input_type`, or an error naming the column
/// when the type cannot be aggregated that way.
Result<std::shared_ptr<arrow::DataType>> AggregateOutputType(
    const AggregateSpec& spec, const std::shared_ptr<arrow::DataType>& input_type);

}  // namespace sabot
