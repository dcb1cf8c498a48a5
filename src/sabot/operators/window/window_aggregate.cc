#include "sabot/operators/window/window_aggregate.h"

#include <arrow/api.h>

#include "sabot/operators/window/count_window_operator.h"
#include "sabot/operators/window/pane_window_operator.h"
#include "sabot/operators/window/session_window_operator.h"
#include "sabot/runtime/backend_dispatch.h"
#include "sabot/runtime/operator.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/time/watermark_strategy.h"
#include "sabot/types/key_groups.h"

namespace sabot {

Result<std::shared_ptr<WindowAggregateOptions>> WindowAggregateOptions::Make(
    WindowConfig config, const std::shared_ptr<arrow::Schema>& input_schema) {
  ARROW_RETURN_NOT_OK(config.window.Validate());
  if (config.allowed_lateness_ms < 0) {
    return Status::Invalid("allowed lateness must be >= 0 ms, got ",
                           config.allowed_lateness_ms);
  }
  std::shared_ptr<WindowAggregateOptions> options(new WindowAggregateOptions());
  ARROW_ASSIGN_OR_RAISE(options->key_indices_,
                        ResolveKeyColumns(*input_schema, config.key_columns));
  if (config.time_column.empty()) {
    if (config.window.NeedsEventTime()) {
      return Status::Invalid(config.window.ToString(),
                             " windows need event time: call "
                             "AssignTimestampsAndWatermarks(...) before KeyBy");
    }
  } else {
    ARROW_ASSIGN_OR_RAISE(options->time_index_,
                          ResolveTimeColumn(*input_schema, config.time_column));
  }
  arrow::FieldVector fields;
  std::vector<std::string> reserved;
  for (int index : options->key_indices_) {
    fields.push_back(input_schema->field(index));
    reserved.push_back(input_schema->field(index)->name());
  }
  const bool nullable_bounds = options->time_index_ < 0;
  fields.push_back(arrow::field("window_start", arrow::int64(), nullable_bounds));
  fields.push_back(arrow::field("window_end", arrow::int64(), nullable_bounds));
  reserved.insert(reserved.end(), {"window_start", "window_end"});
  ARROW_ASSIGN_OR_RAISE(options->aggregates_,
                        ResolveAggregates(config.aggregates, *input_schema, reserved));
  for (const auto& aggregate : options->aggregates_)
    fields.push_back(aggregate.output_field);
  options->config_ = std::move(config);
  options->input_schema_ = input_schema;
  options->output_schema_ = arrow::schema(std::move(fields));
  return options;
}

std::string WindowAggregateOptions::Describe() const {
  std::string text = "window_aggregate(" + config_.window.ToString() + ":";
  for (const auto& aggregate : aggregates_) text += " " + aggregate.spec.output_name;
  if (config_.allowed_lateness_ms > 0)
    text += ", lateness " + std::to_string(config_.allowed_lateness_ms) + " ms";
  return text + ")";
}

Status RegisterWindowAggregate(OperatorRegistry* registry) {
  return registry->AddOperator(
      "window_aggregate",
      [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* typed,
                              CheckedOptionsCast<WindowAggregateOptions>(options));
        switch (typed->window().kind) {
          case WindowKind::kTumbling:
          case WindowKind::kSliding:
            return MakeBackendDispatchOperator(
                [typed] { return MakePaneWindowOperator(*typed); },
                [typed] { return MakeStoredPaneWindowOperator(*typed); });
          case WindowKind::kSession:
            return MakeBackendDispatchOperator(
                [typed] { return MakeSessionWindowOperator(*typed); },
                [typed] { return MakeStoredSessionWindowOperator(*typed); });
          case WindowKind::kCount:
            return MakeBackendDispatchOperator(
                [typed] { return MakeCountWindowOperator(*typed); },
                [typed] { return MakeStoredCountWindowOperator(*typed); });
          case WindowKind::kGlobal:
            if (typed->window().trigger.kind == TriggerKind::kCount) {
              return MakeBackendDispatchOperator(
                  [typed] { return MakeCountWindowOperator(*typed); },
                  [typed] { return MakeStoredCountWindowOperator(*typed); });
            }
            return MakeBackendDispatchOperator(
                [typed] { return MakeTimeTriggerWindowOperator(*typed); },
                [typed] { return MakeStoredTimeTriggerWindowOperator(*typed); });
        }
        return Status::Invalid("unknown window kind");
      });
}

}  // namespace sabot
