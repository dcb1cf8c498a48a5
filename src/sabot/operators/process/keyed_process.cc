#include "sabot/operators/process/keyed_process.h"

#include <arrow/api.h>

#include <algorithm>
#include <limits>
#include <tuple>
#include <utility>

#include "sabot/common/time.h"
#include "sabot/operators/aggregate/key_redistribution.h"
#include "sabot/operators/aggregate/key_table.h"
#include "sabot/runtime/operator.h"
#include "sabot/runtime/operator_backend.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/runtime/processing_time.h"
#include "sabot/state/state_codec.h"
#include "sabot/state/timer_state.h"
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

// Timers fired per PopDue() call: bounds the memory of a large backlog of due timers.
constexpr int64_t kTimerChunk = 1024;

class KeyedProcessOperator : public OperatorWithBackend<Operator>,
                             public KeyedProcessContext {
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
    ARROW_RETURN_NOT_OK(backend_.Open(context));
    event_timers_.domain = TimeDomain::kEventTime;
    ARROW_ASSIGN_OR_RAISE(event_timers_.state,
                          MakeTimerState(backend_.get(), {"process.event_timers"}));
    processing_timers_.domain = TimeDomain::kProcessingTime;
    ARROW_ASSIGN_OR_RAISE(processing_timers_.state,
                          MakeTimerState(backend_.get(), {"process.processing_timers"}));
    function_ = options_.factory()();
    if (!function_) return Status::Invalid("the Process factory returned no function");
    ARROW_RETURN_NOT_OK(function_->Open(*this));
    return TakeTimerError();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*batch));
    ARROW_RETURN_NOT_OK(state_keys_->Extend(*batch, ids->raw_values()));
    ARROW_RETURN_NOT_OK(function_->ProcessBatch(batch, ids->raw_values(), *this));
    ARROW_RETURN_NOT_OK(TakeTimerError());
    return RequestProcessingTimeCallback();
  }

  // Snapshot: version (u8 2) | watermark (i64) | key table | keyed state backend
  // snapshot. The timers are timer states of the backend, keyed by state key.
  Result<std::string> SnapshotState(int64_t id) override {
    std::string out;
    out.push_back(2);
    StateCodec<int64_t>::Append(watermark_, &out);
    ARROW_RETURN_NOT_OK(keys_->Serialize(&out));
    ARROW_RETURN_NOT_OK(backend_.AppendSnapshot(id, snapshot_for_savepoint(), &out));
    return out;
  }

  // Each snapshot's keys of this subtask's key groups get ids here; the backend keeps
  // the entries and timers of its key groups.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    int64_t watermark = kMaxWatermark;
    for (const std::string& state : states) {
      std::string_view in = state;
      ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(&in));
      if (version != 2) {
        return Status::IOError("keyed process state version ", static_cast<int>(version),
                               " is not supported (this build reads version 2)");
      }
      ARROW_ASSIGN_OR_RAISE(int64_t old_watermark, StateCodec<int64_t>::Read(&in));
      watermark = std::min(watermark, old_watermark);
      ARROW_ASSIGN_OR_RAISE(SnapshotKeys old_keys,
                            ReadSnapshotKeys(&in, options_.input_schema(),
                                             options_.key_indices(), MaxParallelism()));
      std::shared_ptr<arrow::RecordBatch> rows;
      std::shared_ptr<arrow::UInt32Array> row_ids;
      ARROW_RETURN_NOT_OK(
          AddKeysInRange(old_keys, context().key_groups, keys_.get(), &rows, &row_ids));
      ARROW_RETURN_NOT_OK(state_keys_->Extend(*rows, row_ids->raw_values()));
      ARROW_RETURN_NOT_OK(backend_.RestoreSnapshot(&in));
    }
    if (!states.empty()) watermark_ = watermark;
    return RequestProcessingTimeCallback();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    ARROW_RETURN_NOT_OK(Advance(&event_timers_, watermark));
    ARROW_RETURN_NOT_OK(RequestProcessingTimeCallback());
    return output()->EmitWatermark(watermark);
  }

  Status OnProcessingTime(int64_t now) override {
    requested_ = kMaxWatermark;
    ARROW_RETURN_NOT_OK(Advance(&processing_timers_, now));
    return RequestProcessingTimeCallback();
  }

  Status Finish() override {
    ARROW_RETURN_NOT_OK(function_->Finish(*this));
    return TakeTimerError();
  }

  // The backend goes with the run: a RocksDB instance holds a lock on its directory
  // until it is closed, and the job object may outlive its tasks.
  Status Close() override {
    function_.reset();
    event_timers_.state.reset();
    processing_timers_.state.reset();
    backend_.Close();
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
    RegisterTimer(&event_timers_, {timestamp, key, name_space});
  }
  void DeleteEventTimeTimer(uint32_t key, int64_t timestamp,
                            int64_t name_space) override {
    DeleteTimer(&event_timers_, {timestamp, key, name_space});
  }
  void RegisterProcessingTimeTimer(uint32_t key, int64_t timestamp,
                                   int64_t name_space) override {
    RegisterTimer(&processing_timers_, {timestamp, key, name_space});
  }
  void DeleteProcessingTimeTimer(uint32_t key, int64_t timestamp,
                                 int64_t name_space) override {
    DeleteTimer(&processing_timers_, {timestamp, key, name_space});
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

  // A timer popped from its TimerState for firing, not fired yet.
  struct PendingTimer {
    Timer timer;
    bool deleted = false;
  };

  // The timers of one time domain: a TimerState of the backend, keyed by state key.
  // Advance() pops them a chunk at a time into `pending`; registrations and deletions
  // while they fire (from OnTimer) see the pending timers too, so that firing in chunks
  // fires exactly what firing one timer at a time would.
  struct DomainTimers {
    TimeDomain domain = TimeDomain::kEventTime;
    std::unique_ptr<TimerState> state;
    // Sorted latest first in the TimerState's order: the next to fire is at the back.
    std::vector<PendingTimer> pending;
    // While firing, the earliest timestamp registered since the pending timers were
    // popped: the state may hold timers earlier than the next pending one from there.
    int64_t registered_from = std::numeric_limits<int64_t>::max();
  };

  // Fires every timer of `timers` with timestamp <= `time` in timestamp order,
  // including those that OnTimer registers and that are due.
  Status Advance(DomainTimers* timers, int64_t time) {
    std::vector<PendingTimer>& pending = timers->pending;
    while (true) {
      if (pending.empty()) {
        timers->registered_from = std::numeric_limits<int64_t>::max();
        ARROW_RETURN_NOT_OK(PopPending(timers, time));
        if (pending.empty()) return Status::OK();
      } else if (timers->registered_from < pending.back().timer.timestamp) {
        // OnTimer registered timers that come before the next pending one.
        const int64_t next = pending.back().timer.timestamp;
        ARROW_ASSIGN_OR_RAISE(int64_t popped, PopPending(timers, next - 1));
        // A full chunk may have left timers from its latest timestamp on.
        timers->registered_from = popped < kTimerChunk
                                      ? std::numeric_limits<int64_t>::max()
                                      : pending[pending.size() - popped].timer.timestamp;
      }
      const PendingTimer next = pending.back();
      pending.pop_back();
      if (next.deleted) continue;
      ARROW_RETURN_NOT_OK(function_->OnTimer(timers->domain, next.timer, *this));
      ARROW_RETURN_NOT_OK(TakeTimerError());
    }
  }

  // Pops up to kTimerChunk timers due at `time` onto the back of the pending timers,
  // which they all precede; returns how many.
  Result<int64_t> PopPending(DomainTimers* timers, int64_t time) {
    ARROW_ASSIGN_OR_RAISE(std::vector<KeyedTimer> due,
                          timers->state->PopDue(time, kTimerChunk));
    if (due.empty()) return 0;
    ARROW_ASSIGN_OR_RAISE(std::vector<uint32_t> ids, KeyIds(due));
    for (size_t i = due.size(); i-- > 0;) {
      timers->pending.push_back({{due[i].timestamp, ids[i], due[i].name_space}, false});
    }
    return static_cast<int64_t>(due.size());
  }

  // The key ids of the timers' keys: their bytes decoded into key columns and mapped by
  // the key table, like input rows (keys restored from a snapshot are in the table
  // already; the mapping also covers keys it does not hold).
  Result<std::vector<uint32_t>> KeyIds(const std::vector<KeyedTimer>& timers) {
    const auto& schema = options_.input_schema();
    const int64_t count = static_cast<int64_t>(timers.size());
    std::vector<std::string_view> bytes;
    bytes.reserve(timers.size());
    for (const KeyedTimer& timer : timers) bytes.emplace_back(timer.key);
    ARROW_ASSIGN_OR_RAISE(auto key_columns,
                          DecodeKeys(*schema, options_.key_indices(), bytes));
    std::vector<std::shared_ptr<arrow::Array>> columns(schema->num_fields());
    for (size_t k = 0; k < key_columns.size(); ++k) {
      columns[options_.key_indices()[k]] = std::move(key_columns[k]);
    }
    for (int i = 0; i < schema->num_fields(); ++i) {
      if (columns[i]) continue;
      ARROW_ASSIGN_OR_RAISE(columns[i],
                            arrow::MakeArrayOfNull(schema->field(i)->type(), count));
    }
    auto rows = arrow::RecordBatch::Make(schema, count, std::move(columns));
    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*rows));
    ARROW_RETURN_NOT_OK(state_keys_->Extend(*rows, ids->raw_values()));
    std::vector<uint32_t> result(ids->raw_values(), ids->raw_values() + count);
    for (int64_t i = 0; i < count; ++i) {
      if (state_keys_->key(result[i]).key_group != timers[i].key_group) {
        return Status::IOError("a timer of key group ", timers[i].key_group,
                               " names a key of key group ",
                               state_keys_->key(result[i]).key_group);
      }
    }
    return result;
  }

  // The TimerState order (timestamp, key group, key length, key bytes, namespace).
  auto Order(const Timer& timer) const {
    const StateKey key = state_keys_->key(timer.key);
    return std::make_tuple(timer.timestamp, key.key_group, key.bytes.size(), key.bytes,
                           timer.name_space);
  }

  // The pending timer equal to `timer`, or null.
  PendingTimer* FindPending(DomainTimers* timers, const Timer& timer) {
    std::vector<PendingTimer>& pending = timers->pending;
    if (pending.empty()) return nullptr;
    const auto order = Order(timer);
    auto it = std::lower_bound(
        pending.begin(), pending.end(), order,
        [&](const PendingTimer& a, const auto& b) { return Order(a.timer) > b; });
    return it != pending.end() && it->timer == timer ? &*it : nullptr;
  }

  void RegisterTimer(DomainTimers* timers, const Timer& timer) {
    if (!timer_error_.ok() || !CheckKeyId(timer.key)) return;
    if (PendingTimer* pending = FindPending(timers, timer)) {
      pending->deleted = false;
      return;
    }
    timer_error_ = timers->state->Register(state_keys_->key(timer.key), timer.timestamp,
                                           timer.name_space);
    if (!timers->pending.empty()) {
      timers->registered_from = std::min(timers->registered_from, timer.timestamp);
    }
  }

  void DeleteTimer(DomainTimers* timers, const Timer& timer) {
    if (!timer_error_.ok() || !CheckKeyId(timer.key)) return;
    if (PendingTimer* pending = FindPending(timers, timer)) {
      pending->deleted = true;
      return;
    }
    timer_error_ = timers->state->Delete(state_keys_->key(timer.key), timer.timestamp,
                                         timer.name_space);
  }

  bool CheckKeyId(uint32_t key) {
    if (key < state_keys_->size()) return true;
    timer_error_ = Status::Invalid("timer for key id ", key, ", but there are only ",
                                   state_keys_->size(), " keys");
    return false;
  }

  // The error of a timer call since the last check (the context's timer calls return
  // nothing, so their errors surface when the function returns).
  Status TakeTimerError() { return std::exchange(timer_error_, Status::OK()); }

  // One pending callback, for the earliest processing-time timer.
  Status RequestProcessingTimeCallback() {
    ARROW_ASSIGN_OR_RAISE(std::optional<int64_t> next,
                          processing_timers_.state->NextTimestamp());
    if (next && *next < requested_) {
      requested_ = *next;
      context().processing_time->RequestCallback(*next);
    }
    return Status::OK();
  }

  const KeyedProcessOptions& options_;
  std::unique_ptr<KeyTable> keys_;
  std::unique_ptr<KeyedStateKeys> state_keys_;
  std::unique_ptr<KeyedProcessFunction> function_;
  // After backend_: destroyed before it.
  DomainTimers event_timers_;
  DomainTimers processing_timers_;
  Status timer_error_;  // of a timer call, returned after the function returns
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
