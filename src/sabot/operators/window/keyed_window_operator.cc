#include "sabot/operators/window/keyed_window_operator.h"

#include <arrow/api.h>

#include "sabot/runtime/node_metrics.h"
#include "sabot/types/row_selection.h"

namespace sabot {

KeyedWindowOperator::KeyedWindowOperator(const WindowAggregateOptions& options)
    : options_(options) {}

Status KeyedWindowOperator::Open(const OperatorContext& context) {
  ARROW_RETURN_NOT_OK(Operator::Open(context));
  ARROW_ASSIGN_OR_RAISE(keys_,
                        KeyTable::Make(*options_.input_schema(), options_.key_indices()));
  return Status::OK();
}

Result<std::unique_ptr<AggregatorSet>> KeyedWindowOperator::NewAggregatorSet(
    bool track_time_span) {
  return AggregatorSet::Make(options_.aggregates(), track_time_span);
}

Status KeyedWindowOperator::RouteLateRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::vector<uint8_t>& late,
    int64_t num_late) {
  if (num_late == 0) return Status::OK();
  if (!options_.config().late_data_side_output || context().side_outputs.empty()) {
    context().metrics->AddRejected(num_late);
    return Status::OK();
  }
  arrow::BooleanBuilder mask;
  ARROW_RETURN_NOT_OK(mask.Reserve(batch->num_rows()));
  for (uint8_t flag : late) mask.UnsafeAppend(flag != 0);
  ARROW_ASSIGN_OR_RAISE(auto selection, mask.Finish());
  ARROW_ASSIGN_OR_RAISE(auto rows, SelectRows(batch, *selection->data()));
  return context().side_outputs[0]->Collect(std::move(rows));
}

Status KeyedWindowOperator::Emit(const AggregatorSet& set, const WindowResults& results) {
  if (results.empty()) return Status::OK();
  const int64_t count = static_cast<int64_t>(results.key_ids.size());
  ARROW_ASSIGN_OR_RAISE(auto columns, keys_->Keys(results.key_ids.data(), count));
  return EmitWithKeys(std::move(columns), set, results);
}

Status KeyedWindowOperator::EmitWithKeys(
    std::vector<std::shared_ptr<arrow::Array>> columns, const AggregatorSet& set,
    const WindowResults& results) {
  if (results.empty()) return Status::OK();
  const int64_t count = static_cast<int64_t>(results.slots.size());
  for (const auto* bounds : {&results.starts, &results.ends}) {
    arrow::Int64Builder builder;
    if (results.has_bounds) {
      ARROW_RETURN_NOT_OK(builder.AppendValues(*bounds));
    } else {
      ARROW_RETURN_NOT_OK(builder.AppendNulls(count));
    }
    ARROW_ASSIGN_OR_RAISE(auto array, builder.Finish());
    columns.push_back(std::move(array));
  }
  ARROW_ASSIGN_OR_RAISE(auto values, set.Finish(results.slots.data(), count));
  for (auto& value : values) columns.push_back(std::move(value));
  return output()->Collect(
      arrow::RecordBatch::Make(options_.output_schema(), count, std::move(columns)));
}

}  // namespace sabot
