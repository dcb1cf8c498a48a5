// Keyed event-time tumbling windows with incremental, vectorized aggregation. Rows
// are assigned to [start, start + size) by their event time, grouped per window and key
// with Arrow's Grouper (one hash table per open window), and folded into column-wise
// accumulators batch by batch. A window fires when the watermark reaches its last
// millisecond (end - 1), as in Flink; its result rows carry window_start and window_end.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"

namespace sabot {

class OperatorRegistry;

enum class AggregateKind { kCountAll, kCount, kSum, kMin, kMax, kAvg };

/// One aggregate of a window: what to compute over which column, and the output name.
struct AggregateSpec {
  AggregateKind kind = AggregateKind::kCountAll;
  std::string column;
  std::string output_name;

  /// Returns a copy whose output column is named `name`.
  AggregateSpec As(std::string name) const {
    AggregateSpec copy = *this;
    copy.output_name = std::move(name);
    return copy;
  }
};

/// count(*) (no column) or count of non-null values of `column`; output "count" or
/// "count_<column>".
AggregateSpec Count(std::string column = "");
/// Sum of a numeric column (int64 for integers, double for floats), "sum_<column>".
AggregateSpec Sum(std::string column);
/// Minimum / maximum of a numeric column, "min_<column>" / "max_<column>".
AggregateSpec Min(std::string column);
AggregateSpec Max(std::string column);
/// Mean of a numeric column as double, "avg_<column>".
AggregateSpec Avg(std::string column);

struct TumblingWindow {
  int64_t size_ms = 0;
};

/// A tumbling event-time window of `size`, aligned to the Unix epoch.
TumblingWindow Tumbling(std::chrono::milliseconds size);

class WindowAggregateOptions : public NodeOptions {
 public:
  /// Validates columns and types against `input_schema`; the output schema is the key
  /// columns, window_start, window_end (int64 ms) and one column per aggregate.
  static Result<std::shared_ptr<WindowAggregateOptions>> Make(
      std::vector<std::string> key_columns, std::string time_column,
      TumblingWindow window, std::vector<AggregateSpec> aggregates,
      const std::shared_ptr<arrow::Schema>& input_schema);

  std::string kind() const override { return "window_aggregate"; }
  std::string Describe() const override;

  const std::vector<int>& key_indices() const { return key_indices_; }
  int time_index() const { return time_index_; }
  int64_t size_ms() const { return size_ms_; }
  const std::vector<AggregateSpec>& aggregates() const { return aggregates_; }
  /// Input column of each aggregate (-1 for count(*)).
  const std::vector<int>& aggregate_inputs() const { return aggregate_inputs_; }
  const std::shared_ptr<arrow::Schema>& input_schema() const { return input_schema_; }
  const std::shared_ptr<arrow::Schema>& output_schema() const { return output_schema_; }

 private:
  WindowAggregateOptions() = default;
  std::vector<int> key_indices_;
  int time_index_ = 0;
  int64_t size_ms_ = 0;
  std::vector<AggregateSpec> aggregates_;
  std::vector<int> aggregate_inputs_;
  std::shared_ptr<arrow::Schema> input_schema_;
  std::shared_ptr<arrow::Schema> output_schema_;
};

/// Registers "window_aggregate".
Status RegisterWindowAggregate(OperatorRegistry* registry);

}  // namespace sabot
