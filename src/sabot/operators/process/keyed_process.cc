#include "sabot/operators/process/keyed_process.h"

#include <arrow/api.h>

#include "sabot/common/time.h"
#include "sabot/operators/aggregate/key_redistribution.h"
#include "sabot/operators/aggregate/key_table.h"
#include "sabot/runtime/operator.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/runtime/processing_time.h"
#include "sabot/state/state_codec.h"
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
    ARROW_ASSIGN_OR_RAISE(auto state_keys,
                          KeyedStateKeys::Make(*options_.input_schema(),
                                               options_.key_indices(), MaxParallelism()));
    state_keys_ = std::make_unique<KeyedStateKeys>(std::move(state_keys));
    ARROW_ASSIGN_OR_RAISE(backend_, OpenKeyedStateBackend(context));
    function_ = options_.factory()();
    if (!function_) return Status::Invalid("the Process factory returned no function");
    return function_->Open(*this);
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*batch));
    ARROW_RETURN_NOT_OK(state_keys_->Extend(*batch, ids->raw_values()));
    ARROW_RETURN_NOT_OK(function_->ProcessBatch(batch, ids->raw_values(), *this));
    return RequestProcessingTimeCallback();
  }

  // Snapshot: version (u8 1) | watermark (i64) | key table | event-time timers |
  // processing-time timers | keyed state backend snapshot. Timers name keys by id, so
  // the key table travels with them.
  Result<std::string> SnapshotState(int64_t id) override {
    std::string out;
    out.push_back(1);
    StateCodec<int64_t>::Append(watermark_, &out);
    ARROW_RETURN_NOT_OK(keys_->Serialize(&out));
    AppendTimers(event_timers_, &out);
    AppendTimers(processing_timers_, &out);
    std::string backend;
    if (snapshot_for_savepoint()) {
      ARROW_RETURN_NOT_OK(backend_->Snapshot(&backend));
    } else {
      ARROW_RETURN_NOT_OK(backend_->SnapshotForCheckpoint(id, &backend, &shared_files_));
    }
    StateCodec<std::string>::Append(backend, &out);
    return out;
  }

  std::vector<SharedStateFile> TakeSharedFiles() override {
    return std::move(shared_files_);
  }

  Status NotifyCheckpointComplete(int64_t id) override {
    backend_->NotifyCheckpointComplete(id);
    return Status::OK();
  }

  Status RestoreState(const std::string& state) override {
    return RestoreRescaled({state});
  }

  // Each snapshot's keys of this subtask's key groups get ids here; their timers follow
  // them and the backend keeps the entries of its key groups.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    int64_t watermark = kMaxWatermark;
    for (const std::string& state : states) {
      std::string_view in = state;
      ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(&in));
      if (version != 1) {
        return Status::IOError("keyed process state version ", static_cast<int>(version),
                               " is not supported");
      }
      ARROW_ASSIGN_OR_RAISE(int64_t old_watermark, StateCodec<int64_t>::Read(&in));
      watermark = std::min(watermark, old_watermark);
      ARROW_ASSIGN_OR_RAISE(SnapshotKeys old_keys,
                            ReadSnapshotKeys(&in, options_.input_schema(),
                                             options_.key_indices(), MaxParallelism()));
      std::shared_ptr<arrow::RecordBatch> rows;
      std::shared_ptr<arrow::UInt32Array> row_ids;
      ARROW_ASSIGN_OR_RAISE(
          std::vector<int64_t> new_id,
          AddKeysInRange(old_keys, context().key_groups, keys_.get(), &rows, &row_ids));
      ARROW_RETURN_NOT_OK(state_keys_->Extend(*rows, row_ids->raw_values()));
      ARROW_RETURN_NOT_OK(ReadTimers(&in, new_id, &event_timers_));
      ARROW_RETURN_NOT_OK(ReadTimers(&in, new_id, &processing_timers_));
      ARROW_ASSIGN_OR_RAISE(std::string backend, StateCodec<std::string>::Read(&in));
      ARROW_RETURN_NOT_OK(backend_->Restore(backend));
    }
    if (!states.empty()) watermark_ = watermark;
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

  // The backend goes with the run: a RocksDB instance holds a lock on its directory
  // until it is closed, and the job object may outlive its tasks.
  Status Close() override {
    function_.reset();
    backend_.reset();
    return Status::OK();
  }

  // KeyedProcessContext
  int64_t watermark() const override { return watermark_; }
  int64_t processing_time() const override { return WallClockMillis(); }
  uint32_t num_keys() const override { return keys_->size(); }
  KeyedStateBackend* state_backend() override { return backend_.get(); }
  StateKey state_key(uint32_t key) const override { return state_keys_->key(key); }
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
  int32_t MaxParallelism() const {
    return context().max_parallelism > 0 ? context().max_parallelism
                                         : kDefaultMaxParallelism;
  }

  static void AppendTimers(const TimerQueue& timers, std::string* out) {
    const std::vector<Timer> all = timers.Snapshot();
    StateCodec<uint32_t>::Append(static_cast<uint32_t>(all.size()), out);
    for (const Timer& timer : all) {
      StateCodec<int64_t>::Append(timer.timestamp, out);
      StateCodec<uint32_t>::Append(timer.key, out);
      StateCodec<int64_t>::Append(timer.name_space, out);
    }
  }

  // Registers the timers of kept keys under their new ids.
  static Status ReadTimers(std::string_view* in, const std::vector<int64_t>& new_id,
                           TimerQueue* timers) {
    ARROW_ASSIGN_OR_RAISE(uint32_t count, StateCodec<uint32_t>::Read(in));
    for (uint32_t i = 0; i < count; ++i) {
      Timer timer;
      ARROW_ASSIGN_OR_RAISE(timer.timestamp, StateCodec<int64_t>::Read(in));
      ARROW_ASSIGN_OR_RAISE(timer.key, StateCodec<uint32_t>::Read(in));
      ARROW_ASSIGN_OR_RAISE(timer.name_space, StateCodec<int64_t>::Read(in));
      if (timer.key >= new_id.size()) {
        return Status::IOError("keyed process state names an unknown key");
      }
      if (new_id[timer.key] < 0) continue;
      timer.key = static_cast<uint32_t>(new_id[timer.key]);
      timers->Register(timer);
    }
    return Status::OK();
  }

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
  std::unique_ptr<KeyedStateKeys> state_keys_;
  std::unique_ptr<KeyedStateBackend> backend_;
  std::vector<SharedStateFile> shared_files_;  // of the last snapshot
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
