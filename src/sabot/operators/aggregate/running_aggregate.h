// Non-windowed keyed aggregation (a running GROUP BY over an unbounded stream): one
// aggregation state per key for all time, emitted as an upsert stream — a row per key
// with its current aggregates, after every batch that changed it (kOnUpdate) or when
// the watermark advances (kOnWatermark: one row per key changed since the last
// emission, fewer and later updates). The last row per key is its current value.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/operators/aggregate/aggregate_spec.h"
#include "sabot/plan/logical_plan.h"

namespace sabot {

class OperatorRegistry;

enum class EmitMode { kOnUpdate, kOnWatermark };

class RunningAggregateOptions : public NodeOptions {
 public:
  /// Output: the key columns, then one column per aggregate.
  static Result<std::shared_ptr<RunningAggregateOptions>> Make(
      std::vector<std::string> key_columns, std::vector<AggregateSpec> aggregates,
      EmitMode emit, const std::string& time_column,
      const std::shared_ptr<arrow::Schema>& input_schema);

  std::string kind() const override { return "running_aggregate"; }
  std::string Describe() const override;

  const std::vector<int>& key_indices() const { return key_indices_; }
  int time_index() const { return time_index_; }
  EmitMode emit() const { return emit_; }
  const std::vector<ResolvedAggregate>& aggregates() const { return aggregates_; }
  const std::shared_ptr<arrow::Schema>& input_schema() const { return input_schema_; }
  const std::shared_ptr<arrow::Schema>& output_schema() const { return output_schema_; }

 private:
  RunningAggregateOptions() = default;
  std::vector<int> key_indices_;
  int time_index_ = -1;
  EmitMode emit_ = EmitMode::kOnUpdate;
  std::vector<ResolvedAggregate> aggregates_;
  std::shared_ptr<arrow::Schema> input_schema_;
  std::shared_ptr<arrow::Schema> output_schema_;
};

/// Registers "running_aggregate".
Status RegisterRunningAggregate(OperatorRegistry* registry);

}  // namespace sabot
