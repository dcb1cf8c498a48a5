#include "sabot/operators/process/keyed_process.h"

#include <arrow/api.h>

#include "sabot/common/time.h"
#include "sabot/operators/aggregate/key_table.h"
#include "sabot/runtime/operator.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/runtime/processing_time.h"
#include "sabot/types/key_groups.h"

namespace sabot {

Result<std::shared_ptr<KeyedProcessOptions>> KeyedProcessOptions::Make(
    std::string name, KeyedProcessFunctionFactory factory,
    std::vector<std::string> key_columns,
    const std::shared_ptr<arrow::Schema>& input_schema,
    std::shared_ptr<arrow::Schema> output_schema) {
  if (!factory) return Status::Invalid("Process needs a function factory");
  if (!output_schema) return Status::Invalid("Process needs an output schema");
  std::shared_ptr<KeyedProcessOptions> options(new KeyedProcessOptions());
  ARROW_ASSIGN_OR_RAISE(options->key_indices_,
                        ResolveKeyColumns(*input_schema, key_columns));
  options->name_ = std::move(name);
  options->factory_ = std::move(factory);
  options->input_schema_ = input_schema;
  options->output_schema_ = std::move(output_schema);
  return options;
}

namespace {

class KeyedProcessOperator : public Operator, public KeyedProcessContext {
 public:
  explicit KeyedProcessOperator(const KeyedProcessOptions& options) : options_(options) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    ARROW_ASSIGN_OR_RAISE(
        keys_, KeyTable::Make(*options_.input_schema(), options_.key_indices()));
    function_ = options_.factory()();
    if (!function_) return Status::Invalid("the Process factory returned no function");
    return function_->Open(*this);
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*batch));
    ARROW_RETURN_NOT_OK(function_->ProcessBatch(batch, ids->raw_values(), *this));
    return RequestProcessingTimeCallback();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    ARROW_RETURN_NOT_OK(event_timers_.Advance(watermark, [&](const Timer& timer) {
      return function_->OnTimer(TimeDomain::kEventTime, timer, *this);
    }));
    ARROW_RETURN_NOT_OK(RequestProcessingTimeCallback());
    return output()->EmitWatermark(watermark);
  }

  Status OnProcessingTime(int64_t now) override {
    requested_ = kMaxWatermark;
    ARROW_RETURN_NOT_OK(processing_timers_.Advance(now, [&](const Timer& timer) {
      return function_->OnTimer(TimeDomain::kProcessingTime, timer, *this);
    }));
    return RequestProcessingTimeCallback();
  }

  Status Finish() override { return function_->Finish(*this); }

  // KeyedProcessContext
  int64_t watermark() const override { return watermark_; }
  int64_t processing_time() const override { return WallClockMillis(); }
  uint32_t num_keys() const override { return keys_->size(); }
  Result<std::vector<std::shared_ptr<arrow::Array>>> Keys(
      const std::vector<uint32_t>& key_ids) override {
    return keys_->Keys(key_ids.data(), static_cast<int64_t>(key_ids.size()));
  }
  void RegisterEventTimeTimer(uint32_t key, int64_t timestamp,
                              int64_t name_space) override {
    event_timers_.Register({timestamp, key, name_space});
  }
  void DeleteEventTimeTimer(uint32_t key, int64_t timestamp,
                            int64_t name_space) override {
    event_timers_.Delete({timestamp, key, name_space});
  }
  void RegisterProcessingTimeTimer(uint32_t key, int64_t timestamp,
                                   int64_t name_space) override {
    processing_timers_.Register({timestamp, key, name_space});
  }
  void DeleteProcessingTimeTimer(uint32_t key, int64_t timestamp,
                                 int64_t name_space) override {
    processing_timers_.Delete({timestamp, key, name_space});
  }
  Status Emit(std::shared_ptr<arrow::RecordBatch> batch) override {
    if (!batch->schema()->Equals(*options_.output_schema(), /*check_metadata=*/false)) {
      return Status::Invalid("the process function emitted ", batch->schema()->ToString(),
                             " but declared ", options_.output_schema()->ToString());
    }
    return output()->Collect(std::move(batch));
  }

 private:
  // One pending callback, for the earliest processing-time timer.
  Status RequestProcessingTimeCallback() {
    if (processing_timers_.empty()) return Status::OK();
    const int64_t next = processing_timers_.next_timestamp();
    if (next < requested_) {
      requested_ = next;
      context().processing_time->RequestCallback(next);
    }
    return Status::OK();
  }

  const KeyedProcessOptions& options_;
  std::unique_ptr<KeyTable> keys_;
  std::unique_ptr<KeyedProcessFunction> function_;
  TimerQueue event_timers_;
  TimerQueue processing_timers_;
  int64_t watermark_ = kMinWatermark;
  int64_t requested_ = kMaxWatermark;  // time of the pending processing-time callback
};

}  // namespace

Status RegisterKeyedProcess(OperatorRegistry* registry) {
  return registry->AddOperator(
      "keyed_process",
      [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* typed,
                              CheckedOptionsCast<KeyedProcessOptions>(options));
        return std::make_unique<KeyedProcessOperator>(*typed);
      });
}

}  // namespace sabot
