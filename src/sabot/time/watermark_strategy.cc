#include "sabot/time/watermark_strategy.h"

#include <arrow/api.h>

#include <algorithm>

#include "sabot/common/time.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/runtime/processing_time.h"

namespace sabot {

WatermarkStrategy WatermarkStrategy::Monotonic(std::string time_column) {
  return {std::move(time_column), 0};
}

WatermarkStrategy WatermarkStrategy::BoundedOutOfOrderness(std::string time_column,
                                                           int64_t max_delay_ms) {
  return {std::move(time_column), max_delay_ms};
}

Result<int> ResolveTimeColumn(const arrow::Schema& schema,
                              const std::string& time_column) {
  const int index = schema.GetFieldIndex(time_column);
  if (index < 0) {
    return Status::Invalid("event-time column '", time_column, "' is not in the stream (",
                           schema.ToString(/*show_metadata=*/false),
                           "); name the column that holds event time");
  }
  const auto id = schema.field(index)->type()->id();
  if (id != arrow::Type::INT64 && id != arrow::Type::TIMESTAMP) {
    return Status::TypeError(
        "event-time column '", time_column, "' has type ",
        schema.field(index)->type()->ToString(),
        "; it must be int64 milliseconds or a timestamp: Cast it first");
  }
  return index;
}

int64_t MaxTimestamp(const arrow::ArrayData& column) {
  const int64_t* values = column.GetValues<int64_t>(1);
  int64_t max = kMinWatermark;
  if (column.GetNullCount() == 0) {
    for (int64_t i = 0; i < column.length; ++i) max = std::max(max, values[i]);
  } else {
    for (int64_t i = 0; i < column.length; ++i) {
      if (column.IsValid(i)) max = std::max(max, values[i]);
    }
  }
  return max;
}

Result<std::shared_ptr<WatermarkAssignerOptions>> WatermarkAssignerOptions::Make(
    WatermarkStrategy strategy, const std::shared_ptr<arrow::Schema>& input_schema) {
  if (strategy.idle_timeout_ms < 0) {
    return Status::Invalid("idle timeout must be >= 0 ms (0 disables it), got ",
                           strategy.idle_timeout_ms);
  }
  if (strategy.max_out_of_orderness_ms < 0) {
    return Status::Invalid("max out-of-orderness must be >= 0 ms, got ",
                           strategy.max_out_of_orderness_ms);
  }
  ARROW_ASSIGN_OR_RAISE(int index,
                        ResolveTimeColumn(*input_schema, strategy.time_column));
  return std::shared_ptr<WatermarkAssignerOptions>(
      new WatermarkAssignerOptions(std::move(strategy), index));
}

std::string WatermarkAssignerOptions::Describe() const {
  return "watermark_assigner(" + strategy_.time_column + ", out of order " +
         std::to_string(strategy_.max_out_of_orderness_ms) + " ms)";
}

namespace {

class WatermarkAssigner : public Operator {
 public:
  explicit WatermarkAssigner(const WatermarkAssignerOptions& options)
      : delay_(options.strategy().max_out_of_orderness_ms),
        idle_timeout_(options.strategy().idle_timeout_ms),
        column_(options.time_column_index()) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    if (idle_timeout_ > 0) {
      last_rows_ = context.processing_time->Now();
      context.processing_time->RequestCallback(last_rows_ + idle_timeout_);
    }
    return Status::OK();
  }

  Status OnProcessingTime(int64_t now) override {
    if (!idle_ && now - last_rows_ >= idle_timeout_) {
      idle_ = true;
      ARROW_RETURN_NOT_OK(output()->EmitIdleStatus(true));
    }
    // While idle, check again after a timeout for rows having resumed and gone quiet.
    context().processing_time->RequestCallback((idle_ ? now : last_rows_) +
                                               idle_timeout_);
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    if (idle_timeout_ > 0) {
      last_rows_ = context().processing_time->Now();
      if (idle_) {
        idle_ = false;
        ARROW_RETURN_NOT_OK(output()->EmitIdleStatus(false));
      }
    }
    const int64_t max = MaxTimestamp(*batch->column_data(column_));
    max_timestamp_ = std::max(max_timestamp_, max);
    ARROW_RETURN_NOT_OK(output()->Collect(std::move(batch)));
    if (max_timestamp_ == kMinWatermark) return Status::OK();
    // Saturating: a timestamp near INT64_MIN must not wrap around.
    const int64_t watermark = max_timestamp_ < kMinWatermark + delay_ + 1
                                  ? kMinWatermark
                                  : max_timestamp_ - delay_ - 1;
    if (watermark > current_watermark_) {
      current_watermark_ = watermark;
      return output()->EmitWatermark(watermark);
    }
    return Status::OK();
  }

  // Idleness comes from this assigner's own detection, not from upstream.
  Status ProcessIdleStatus(bool) override { return Status::OK(); }

  Status ProcessWatermark(int64_t watermark) override {
    // Upstream event time is replaced by this assigner's, except the end of input.
    if (watermark == kMaxWatermark && current_watermark_ < kMaxWatermark) {
      current_watermark_ = kMaxWatermark;
      return output()->EmitWatermark(kMaxWatermark);
    }
    return Status::OK();
  }

 private:
  const int64_t delay_;
  const int64_t idle_timeout_;
  const int column_;
  int64_t last_rows_ = 0;  // wall-clock time of the last batch
  bool idle_ = false;
  int64_t max_timestamp_ = kMinWatermark;
  int64_t current_watermark_ = kMinWatermark;
};

}  // namespace

Status RegisterWatermarkAssigner(OperatorRegistry* registry) {
  return registry->AddOperator(
      "watermark_assigner",
      [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* typed,
                              CheckedOptionsCast<WatermarkAssignerOptions>(options));
        return std::make_unique<WatermarkAssigner>(*typed);
      });
}

}  // namespace sabot
