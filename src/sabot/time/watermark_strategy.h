// Event-time watermarks generated from a timestamp column. A watermark W promises that
// no more rows with event time <= W will arrive; windows fire when it passes their end.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"

namespace sabot {

class OperatorRegistry;

struct WatermarkStrategy {
  /// int64 (milliseconds) or timestamp column holding each row's event time.
  std::string time_column = "_time";
  /// Rows may arrive up to this many milliseconds behind the latest event time seen
  /// (bounded out-of-orderness). 0 means timestamps never decrease (monotonic).
  int64_t max_out_of_orderness_ms = 0;
  /// A subtask whose input has had no rows for this long (wall clock) is marked idle:
  /// it stops holding back the watermark downstream until rows arrive again. 0: never.
  int64_t idle_timeout_ms = 0;

  /// Returns a copy with source idleness detection after `timeout_ms`.
  WatermarkStrategy WithIdleness(int64_t timeout_ms) const {
    WatermarkStrategy copy = *this;
    copy.idle_timeout_ms = timeout_ms;
    return copy;
  }

  /// Event time never goes back: watermark = max timestamp seen - 1.
  static WatermarkStrategy Monotonic(std::string time_column);
  /// Watermark = max timestamp seen - max_delay_ms - 1, as in Flink.
  static WatermarkStrategy BoundedOutOfOrderness(std::string time_column,
                                                 int64_t max_delay_ms);
};

/// Options of the "watermark_assigner" operator: each subtask tracks the largest event
/// time of the rows it forwards and emits a watermark after every batch that advances
/// it. Watermarks from upstream are dropped, except the final one at end of input.
/// With an idle timeout, the subtask's output is marked idle while no rows arrive.
class WatermarkAssignerOptions : public NodeOptions {
 public:
  /// Checks that the time column exists and is int64 or a timestamp.
  static Result<std::shared_ptr<WatermarkAssignerOptions>> Make(
      WatermarkStrategy strategy, const std::shared_ptr<arrow::Schema>& input_schema);
  std::string kind() const override { return "watermark_assigner"; }
  std::string Describe() const override;
  const WatermarkStrategy& strategy() const { return strategy_; }
  int time_column_index() const { return time_column_index_; }

 private:
  WatermarkAssignerOptions(WatermarkStrategy strategy, int index)
      : strategy_(std::move(strategy)), time_column_index_(index) {}
  WatermarkStrategy strategy_;
  int time_column_index_;
};

/// Returns the index of `time_column` in `schema` if it is int64 or a timestamp; the
/// error says what to change otherwise.
Result<int> ResolveTimeColumn(const arrow::Schema& schema,
                              const std::string& time_column);

/// Returns the largest non-null value of an int64/timestamp column, or kMinWatermark
/// when it has none.
int64_t MaxTimestamp(const arrow::ArrayData& column);

/// Registers "watermark_assigner".
Status RegisterWatermarkAssigner(OperatorRegistry* registry);

}  // namespace sabot
