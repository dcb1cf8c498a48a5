// Keyed windowed aggregation: the plan node options shared by all window kinds and the
// registration of their operators. Rows are mapped to dense key ids once per batch
// (aggregate/key_table.h) and folded into vectorized aggregation state per pane,
// session or count window (aggregate/aggregator_set.h). Results carry the key columns,
// window_start, window_end and one column per aggregate.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/operators/aggregate/aggregate_spec.h"
#include "sabot/operators/window/window_spec.h"
#include "sabot/plan/logical_plan.h"

namespace sabot {

class OperatorRegistry;

struct WindowConfig {
  std::vector<std::string> key_columns;
  /// Event-time column; may be empty for count windows and non-event-time triggers.
  std::string time_column;
  WindowSpec window;
  std::vector<AggregateSpec> aggregates;
  /// Time windows: how long after a window fired late rows still update it (each
  /// update emits the window's new result).
  int64_t allowed_lateness_ms = 0;
  /// Rows too late even for allowed lateness go to side output 1 of the node instead
  /// of being dropped (dropped rows are counted as the node's rows_rejected).
  bool late_data_side_output = false;
};

class WindowAggregateOptions : public NodeOptions {
 public:
  /// Validates the window, columns and aggregate types against `input_schema`.
  static Result<std::shared_ptr<WindowAggregateOptions>> Make(
      WindowConfig config, const std::shared_ptr<arrow::Schema>& input_schema);

  std::string kind() const override { return "window_aggregate"; }
  std::string Describe() const override;

  const WindowConfig& config() const { return config_; }
  const WindowSpec& window() const { return config_.window; }
  const std::vector<int>& key_indices() const { return key_indices_; }
  /// -1 without event time.
  int time_index() const { return time_index_; }
  const std::vector<ResolvedAggregate>& aggregates() const { return aggregates_; }
  const std::shared_ptr<arrow::Schema>& input_schema() const { return input_schema_; }
  const std::shared_ptr<arrow::Schema>& output_schema() const { return output_schema_; }

 private:
  WindowAggregateOptions() = default;
  WindowConfig config_;
  std::vector<int> key_indices_;
  int time_index_ = -1;
  std::vector<ResolvedAggregate> aggregates_;
  std::shared_ptr<arrow::Schema> input_schema_;
  std::shared_ptr<arrow::Schema> output_schema_;
};

/// Registers "window_aggregate".
Status RegisterWindowAggregate(OperatorRegistry* registry);

}  // namespace sabot
