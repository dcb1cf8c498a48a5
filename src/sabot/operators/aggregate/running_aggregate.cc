#include "sabot/operators/aggregate/running_aggregate.h"

#include <arrow/api.h>

#include <algorithm>

#include "sabot/common/time.h"
#include "sabot/operators/aggregate/aggregator_set.h"
#include "sabot/operators/aggregate/key_redistribution.h"
#include "sabot/operators/aggregate/key_table.h"
#include "sabot/operators/aggregate/stored_running_aggregate.h"
#include "sabot/runtime/backend_dispatch.h"
#include "sabot/runtime/operator.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/state/state_codec.h"
#include "sabot/time/watermark_strategy.h"
#include "sabot/types/key_groups.h"

namespace sabot {

Result<std::shared_ptr<RunningAggregateOptions>> RunningAggregateOptions::Make(
    std::vector<std::string> key_columns, std::vector<AggregateSpec> aggregates,
    EmitMode emit, const std::string& time_column,
    const std::shared_ptr<arrow::Schema>& input_schema) {
  std::shared_ptr<RunningAggregateOptions> options(new RunningAggregateOptions());
  ARROW_ASSIGN_OR_RAISE(options->key_indices_,
                        ResolveKeyColumns(*input_schema, key_columns));
  if (!time_column.empty()) {
    ARROW_ASSIGN_OR_RAISE(options->time_index_,
                          ResolveTimeColumn(*input_schema, time_column));
  } else if (emit == EmitMode::kOnWatermark) {
    return Status::Invalid(
        "emit on watermark needs event time: call AssignTimestampsAndWatermarks(...) "
        "before KeyBy, or emit on update");
  }
  arrow::FieldVector fields;
  std::vector<std::string> reserved;
  for (int index : options->key_indices_) {
    fields.push_back(input_schema->field(index));
    reserved.push_back(input_schema->field(index)->name());
  }
  ARROW_ASSIGN_OR_RAISE(options->aggregates_,
                        ResolveAggregates(aggregates, *input_schema, reserved));
  for (const auto& aggregate : options->aggregates_)
    fields.push_back(aggregate.output_field);
  options->emit_ = emit;
  options->input_schema_ = input_schema;
  options->output_schema_ = arrow::schema(std::move(fields));
  return options;
}

std::string RunningAggregateOptions::Describe() const {
  std::string text = "running_aggregate(";
  for (const auto& aggregate : aggregates_) text += aggregate.spec.output_name + " ";
  return text + (emit_ == EmitMode::kOnUpdate ? "on update)" : "on watermark)");
}

namespace {

class RunningAggregateOperator : public Operator {
 public:
  explicit RunningAggregateOperator(const RunningAggregateOptions& options)
      : options_(options) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    ARROW_ASSIGN_OR_RAISE(
        keys_, KeyTable::Make(*options_.input_schema(), options_.key_indices()));
    ARROW_ASSIGN_OR_RAISE(state_, AggregatorSet::Make(options_.aggregates()));
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    if (batch->num_rows() == 0) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*batch));
    state_->Resize(keys_->size());
    if (dirty_.size() < keys_->size()) dirty_.resize(keys_->size(), 0);
    const uint32_t* key_ids = ids->raw_values();
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      if (!dirty_[key_ids[i]]) {
        dirty_[key_ids[i]] = 1;
        dirty_keys_.push_back(key_ids[i]);
      }
    }
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows, PrepareRows(options_.aggregates(), *batch,
                                                         options_.time_index()));
    ARROW_RETURN_NOT_OK(state_->Consume(rows, key_ids));
    return options_.emit() == EmitMode::kOnUpdate ? EmitDirty() : Status::OK();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (options_.emit() == EmitMode::kOnWatermark) ARROW_RETURN_NOT_OK(EmitDirty());
    return output()->EmitWatermark(watermark);
  }

  // State: the keys (Arrow IPC), the aggregation state of every key, and the keys
  // changed since the last emission.
  Result<std::string> SnapshotState(int64_t) override {
    std::string state;
    ARROW_RETURN_NOT_OK(keys_->Serialize(&state));
    ARROW_RETURN_NOT_OK(state_->Serialize(&state));
    StateCodec<int64_t>::Append(static_cast<int64_t>(dirty_keys_.size()), &state);
    for (uint32_t key : dirty_keys_) StateCodec<uint32_t>::Append(key, &state);
    return state;
  }

  Status RestoreState(const std::string& bytes) override {
    std::string_view in = bytes;
    ARROW_RETURN_NOT_OK(keys_->Deserialize(&in));
    ARROW_RETURN_NOT_OK(state_->Deserialize(&in));
    ARROW_ASSIGN_OR_RAISE(int64_t num_dirty, StateCodec<int64_t>::Read(&in));
    dirty_.assign(keys_->size(), 0);
    dirty_keys_.clear();
    for (int64_t i = 0; i < num_dirty; ++i) {
      ARROW_ASSIGN_OR_RAISE(uint32_t key, StateCodec<uint32_t>::Read(&in));
      if (key >= dirty_.size()) return Status::IOError("corrupt running aggregate state");
      dirty_[key] = 1;
      dirty_keys_.push_back(key);
    }
    if (!in.empty()) return Status::IOError("running aggregate state has trailing bytes");
    return Status::OK();
  }

  // Keeps the keys of this subtask's key groups from every snapshot, with their
  // aggregation state and whether they changed since their last emission. The
  // operator keeps no watermark (it emits on every watermark it receives), so there is
  // none to merge.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    const int32_t max_parallelism = context().max_parallelism > 0
                                        ? context().max_parallelism
                                        : kDefaultMaxParallelism;
    for (const std::string& bytes : states) {
      std::string_view in = bytes;
      ARROW_ASSIGN_OR_RAISE(SnapshotKeys old_keys,
                            ReadSnapshotKeys(&in, options_.input_schema(),
                                             options_.key_indices(), max_parallelism));
      ARROW_ASSIGN_OR_RAISE(std::vector<int64_t> new_ids,
                            AddKeysInRange(old_keys, context().key_groups, keys_.get()));
      ARROW_ASSIGN_OR_RAISE(auto old_set, AggregatorSet::Make(options_.aggregates()));
      ARROW_RETURN_NOT_OK(old_set->Deserialize(&in));
      ARROW_RETURN_NOT_OK(MergeRenamedSlots(*old_set, new_ids, state_.get()));
      state_->Resize(keys_->size());
      dirty_.resize(keys_->size(), 0);
      ARROW_ASSIGN_OR_RAISE(int64_t num_dirty, StateCodec<int64_t>::Read(&in));
      for (int64_t i = 0; i < num_dirty; ++i) {
        ARROW_ASSIGN_OR_RAISE(uint32_t old_key, StateCodec<uint32_t>::Read(&in));
        if (old_key >= new_ids.size()) {
          return Status::IOError("corrupt running aggregate state");
        }
        const int64_t key = new_ids[old_key];
        if (key < 0 || dirty_[key]) continue;
        dirty_[key] = 1;
        dirty_keys_.push_back(static_cast<uint32_t>(key));
      }
      if (!in.empty()) {
        return Status::IOError("running aggregate state has trailing bytes");
      }
    }
    return Status::OK();
  }

 private:
  Status EmitDirty() {
    if (dirty_keys_.empty()) return Status::OK();
    std::sort(dirty_keys_.begin(), dirty_keys_.end());
    const int64_t count = static_cast<int64_t>(dirty_keys_.size());
    ARROW_ASSIGN_OR_RAISE(auto columns, keys_->Keys(dirty_keys_.data(), count));
    ARROW_ASSIGN_OR_RAISE(auto values, state_->Finish(dirty_keys_.data(), count));
    for (auto& value : values) columns.push_back(std::move(value));
    for (uint32_t key : dirty_keys_) dirty_[key] = 0;
    dirty_keys_.clear();
    return output()->Collect(
        arrow::RecordBatch::Make(options_.output_schema(), count, std::move(columns)));
  }

  const RunningAggregateOptions& options_;
  std::unique_ptr<KeyTable> keys_;
  std::unique_ptr<AggregatorSet> state_;
  std::vector<uint8_t> dirty_;
  std::vector<uint32_t> dirty_keys_;
};

}  // namespace

Status RegisterRunningAggregate(OperatorRegistry* registry) {
  return registry->AddOperator(
      "running_aggregate",
      [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* typed,
                              CheckedOptionsCast<RunningAggregateOptions>(options));
        return MakeBackendDispatchOperator(
            [typed] { return std::make_unique<RunningAggregateOperator>(*typed); },
            [typed] { return MakeStoredRunningAggregateOperator(*typed); });
      });
}

}  // namespace sabot
