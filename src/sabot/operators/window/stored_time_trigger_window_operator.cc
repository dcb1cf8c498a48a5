#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sabot/operators/window/count_window_operator.h"
#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/operator_backend.h"
#include "sabot/runtime/processing_time.h"
#include "sabot/state/state_codec.h"
#include "sabot/state/state_factory.h"
#include "sabot/state/state_key.h"
#include "sabot/state/timer_state.h"
#include "sabot/types/key_groups.h"
#include "sabot/types/row_selection.h"

namespace sabot {
namespace {

constexpr uint8_t kStoredTimeTriggerVersion = 1;

// Global windows fired on an event-time or processing-time interval whose state lives
// in the keyed state backend (RocksDB), with the semantics of the in-memory operator
// (TimeTriggerWindowOperator):
// - the entry of a key is a flag byte (1 if the key was updated since it last fired)
//   followed by its accumulator (AggregatorSet::SerializeSlot, with the event-time
//   span of its rows); a purged key has no entry;
// - the trigger's timers are per key in the backend's timer state: event time
//   registers the first multiple of the interval after each row's time, processing
//   time registers the next firing of the interval grid when a key becomes updated.
// A batch reads the entries of its keys in one MultiGet, folds its rows in vectorized
// and writes them back in one batch; a firing pops the due timers a chunk at a time and
// emits the updated keys among them. Only one batch or chunk is in memory at a time.
class StoredTimeTriggerWindowOperator : public OperatorWithBackend<KeyedWindowOperator> {
 public:
  explicit StoredTimeTriggerWindowOperator(const WindowAggregateOptions& options)
      : OperatorWithBackend(options),
        trigger_(options.window().trigger),
        event_time_(trigger_.kind == TriggerKind::kEventTime) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(KeyedWindowOperator::Open(context));
    ARROW_RETURN_NOT_OK(backend_.Open(context));
    const int32_t max_parallelism =
        context.max_parallelism > 0 ? context.max_parallelism : kDefaultMaxParallelism;
    ARROW_ASSIGN_OR_RAISE(
        encoder_, KeyEncoder::Make(*options_.input_schema(), options_.key_indices(),
                                   max_parallelism));
    ARROW_ASSIGN_OR_RAISE(entries_, MakeValueState<std::string>(
                                        backend_.get(), {"global_window.keys", {}}));
    ARROW_ASSIGN_OR_RAISE(timers_,
                          MakeTimerState(backend_.get(), {"global_window.timers", {}}));
    ARROW_ASSIGN_OR_RAISE(work_, NewAggregatorSet(/*track_time_span=*/true));
    if (!event_time_) {
      next_fire_ = context.processing_time->Now() + trigger_.interval_ms;
      context.processing_time->RequestCallback(next_fire_);
    }
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    if (batch->num_rows() == 0) return Status::OK();
    const int time_index = options_.time_index();
    std::shared_ptr<arrow::RecordBatch> rows_batch = batch;
    if (time_index >= 0 && batch->column_data(time_index)->GetNullCount() > 0) {
      ARROW_ASSIGN_OR_RAISE(auto valid,
                            arrow::compute::IsValid(batch->column(time_index)));
      context().metrics->AddRejected(batch->column(time_index)->null_count());
      ARROW_ASSIGN_OR_RAISE(rows_batch, SelectRows(batch, *valid.array()));
    }
    const int64_t num_rows = rows_batch->num_rows();
    if (num_rows == 0) return Status::OK();

    ARROW_RETURN_NOT_OK(encoder_->Encode(*rows_batch));
    keys_of_batch_.clear();
    key_of_bytes_.clear();
    slot_of_row_.resize(num_rows);
    for (int64_t i = 0; i < num_rows; ++i) {
      const StateKey key = encoder_->key(i);
      auto [it, added] = key_of_bytes_.try_emplace(
          key.bytes, static_cast<uint32_t>(keys_of_batch_.size()));
      if (added) keys_of_batch_.push_back(key);
      slot_of_row_[i] = it->second;
    }
    const int64_t num_keys = static_cast<int64_t>(keys_of_batch_.size());
    ARROW_ASSIGN_OR_RAISE(std::vector<uint8_t> updated, Load(keys_of_batch_));
    if (event_time_) {
      // As Flink's ContinuousEventTimeTrigger: a row makes its key due at the first
      // multiple of the interval after the row's event time.
      const int64_t* times = rows_batch->column_data(time_index)->GetValues<int64_t>(1);
      due_.clear();
      for (int64_t i = 0; i < num_rows; ++i) {
        due_.emplace_back(slot_of_row_[i], NextMultiple(times[i]));
      }
      std::sort(due_.begin(), due_.end());
      due_.erase(std::unique(due_.begin(), due_.end()), due_.end());
      for (const auto& [key, time] : due_) {
        ARROW_RETURN_NOT_OK(timers_->Register(keys_of_batch_[key], time));
      }
    } else {
      // Processing time fires every updated key at the next firing.
      for (int64_t k = 0; k < num_keys; ++k) {
        if (!updated[k]) {
          ARROW_RETURN_NOT_OK(timers_->Register(keys_of_batch_[k], next_fire_));
        }
      }
    }
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows,
                          PrepareRows(options_.aggregates(), *rows_batch, time_index));
    ARROW_RETURN_NOT_OK(work_->Consume(rows, slot_of_row_.data()));
    values_.resize(num_keys);
    for (int64_t k = 0; k < num_keys; ++k) {
      values_[k].clear();
      StateCodec<uint8_t>::Append(1, &values_[k]);
      ARROW_RETURN_NOT_OK(work_->SerializeSlot(static_cast<uint32_t>(k), &values_[k]));
    }
    return entries_->UpdateBatch(keys_of_batch_.data(), num_keys, values_.data());
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    if (event_time_) ARROW_RETURN_NOT_OK(FireDue(watermark));
    return output()->EmitWatermark(watermark);
  }

  // At end of input the keys updated since their last firing are emitted, so that no
  // row's contribution is lost (Flink's processing-time triggers do not fire then).
  // Event time fires them with the final watermark.
  Status Finish() override {
    if (event_time_) return Status::OK();
    return FireDue(kMaxWatermark);
  }

  Status OnProcessingTime(int64_t now) override {
    if (event_time_ || now < next_fire_) return Status::OK();
    ARROW_RETURN_NOT_OK(FireDue(now));
    // The next firing keeps to the interval grid even after a late callback.
    next_fire_ += ((now - next_fire_) / trigger_.interval_ms + 1) * trigger_.interval_ms;
    context().processing_time->RequestCallback(next_fire_);
    return Status::OK();
  }

  // Snapshot: version (u8 1) | watermark | backend snapshot (an incremental RocksDB
  // handle in checkpoints, full in savepoints), which holds the entries and timers. The
  // processing-time firing schedule is not kept: it follows the wall clock of the
  // restored job (Open() arms it), and the restored timers are due at its first firing.
  Result<std::string> SnapshotState(int64_t id) override {
    std::string out;
    StateCodec<uint8_t>::Append(kStoredTimeTriggerVersion, &out);
    StateCodec<int64_t>::Append(watermark_, &out);
    ARROW_RETURN_NOT_OK(backend_.AppendSnapshot(id, snapshot_for_savepoint(), &out));
    return out;
  }

  // The backend keeps the entries and timers of its key groups from every snapshot.
  // Subtasks aligned the barrier behind the same watermarks, so min() is the safe
  // merge.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    int64_t watermark = kMaxWatermark;
    for (const std::string& state : states) {
      std::string_view in = state;
      ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(&in));
      if (version != kStoredTimeTriggerVersion) {
        return Status::IOError("global window state version ", static_cast<int>(version),
                               " is not supported");
      }
      ARROW_ASSIGN_OR_RAISE(int64_t old_watermark, StateCodec<int64_t>::Read(&in));
      watermark = std::min(watermark, old_watermark);
      ARROW_RETURN_NOT_OK(backend_.RestoreSnapshot(&in));
      if (!in.empty()) return Status::IOError("global window state has trailing bytes");
    }
    if (!states.empty()) watermark_ = watermark;
    return Status::OK();
  }

  // The backend goes with the run: a RocksDB instance locks its directory until
  // closed, and the job object may outlive its tasks.
  Status Close() override {
    entries_.reset();
    timers_.reset();
    backend_.Close();
    return Status::OK();
  }

 private:
  static constexpr int64_t kFireChunk = 4096;

  int64_t NextMultiple(int64_t time) const {
    return ClampTime((FloorDiv(time, trigger_.interval_ms) + 1) * trigger_.interval_ms);
  }

  // Loads the accumulators of `keys` into slots 0 .. n-1 of work_ (empty if none) and
  // returns whether each key was updated since it last fired.
  Result<std::vector<uint8_t>> Load(const std::vector<StateKey>& keys) {
    const int64_t count = static_cast<int64_t>(keys.size());
    stored_.assign(count, std::nullopt);
    ARROW_RETURN_NOT_OK(entries_->GetBatch(keys.data(), count, stored_.data()));
    work_->Resize(static_cast<uint32_t>(count));
    slots_.resize(count);
    std::iota(slots_.begin(), slots_.end(), 0u);
    work_->Reset(slots_.data(), count);
    std::vector<uint8_t> updated(count, 0);
    for (int64_t k = 0; k < count; ++k) {
      if (!stored_[k]) continue;
      std::string_view in = *stored_[k];
      ARROW_ASSIGN_OR_RAISE(updated[k], StateCodec<uint8_t>::Read(&in));
      ARROW_RETURN_NOT_OK(work_->DeserializeSlot(static_cast<uint32_t>(k), in));
    }
    return updated;
  }

  // Pops the timers due at `time` a chunk at a time and emits the updated keys among
  // them (one batch per chunk); each fired key is written back before the next chunk,
  // so a key with several due timers fires once.
  Status FireDue(int64_t time) {
    while (true) {
      ARROW_ASSIGN_OR_RAISE(std::vector<KeyedTimer> timers,
                            timers_->PopDue(time, kFireChunk));
      if (timers.empty()) return Status::OK();
      // Timers come in timestamp order: the keys in order of their first due timer.
      std::vector<StateKey> keys;
      std::unordered_set<std::string_view> seen;
      for (const KeyedTimer& timer : timers) {
        if (seen.insert(timer.key).second) keys.push_back(timer.state_key());
      }
      ARROW_ASSIGN_OR_RAISE(std::vector<uint8_t> updated, Load(keys));
      results_.clear();
      results_.has_bounds = options_.time_index() >= 0;
      fired_.clear();
      fired_bytes_.clear();
      for (size_t k = 0; k < keys.size(); ++k) {
        if (!updated[k]) continue;
        const auto slot = static_cast<uint32_t>(k);
        results_.Add(slot, slot, results_.has_bounds ? work_->min_time(slot) : 0,
                     results_.has_bounds ? work_->max_time(slot) + 1 : 0);
        fired_.push_back(keys[k]);
        fired_bytes_.push_back(keys[k].bytes);
      }
      if (fired_.empty()) continue;
      ARROW_ASSIGN_OR_RAISE(
          auto key_columns,
          DecodeKeys(*options_.input_schema(), options_.key_indices(), fired_bytes_));
      ARROW_RETURN_NOT_OK(EmitWithKeys(std::move(key_columns), *work_, results_));
      if (trigger_.purge) {
        for (const StateKey& key : fired_) ARROW_RETURN_NOT_OK(entries_->Clear(key));
        continue;
      }
      // Cumulative: the accumulator stays, the key is no longer updated.
      values_.resize(fired_.size());
      for (size_t f = 0; f < fired_.size(); ++f) {
        values_[f].clear();
        StateCodec<uint8_t>::Append(0, &values_[f]);
        ARROW_RETURN_NOT_OK(work_->SerializeSlot(results_.slots[f], &values_[f]));
      }
      ARROW_RETURN_NOT_OK(entries_->UpdateBatch(
          fired_.data(), static_cast<int64_t>(fired_.size()), values_.data()));
    }
  }

  const Trigger trigger_;
  const bool event_time_;
  int64_t next_fire_ = 0;
  std::optional<KeyEncoder> encoder_;
  std::unique_ptr<ValueState<std::string>> entries_;
  std::unique_ptr<TimerState> timers_;
  std::unique_ptr<AggregatorSet> work_;
  // Reused per batch or firing.
  std::vector<StateKey> keys_of_batch_;
  std::unordered_map<std::string_view, uint32_t> key_of_bytes_;
  std::vector<uint32_t> slot_of_row_;
  std::vector<std::pair<uint32_t, int64_t>> due_;  // (key of the batch, due time)
  std::vector<std::optional<std::string>> stored_;
  std::vector<uint32_t> slots_;
  std::vector<std::string> values_;
  std::vector<StateKey> fired_;
  std::vector<std::string_view> fired_bytes_;
  WindowResults results_;
};

}  // namespace

std::unique_ptr<Operator> MakeStoredTimeTriggerWindowOperator(
    const WindowAggregateOptions& options) {
  return std::make_unique<StoredTimeTriggerWindowOperator>(options);
}

}  // namespace sabot
