#include "sabot/operators/window/count_window_operator.h"

#include <arrow/api.h>

#include <arrow/compute/api.h>

#include <algorithm>
#include <deque>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/operators/aggregate/key_redistribution.h"
#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/processing_time.h"
#include "sabot/state/state_codec.h"
#include "sabot/time/timer_service.h"
#include "sabot/types/row_selection.h"

namespace sabot {
namespace {

constexpr uint8_t kCountWindowStateVersion = 1;
constexpr uint8_t kTimeTriggerStateVersion = 1;

Status CheckVersion(std::string_view* in, uint8_t expected, const char* what) {
  ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(in));
  if (version != expected) {
    return Status::IOError(what, " state has version ", static_cast<int>(version),
                           ", this build reads version ", static_cast<int>(expected));
  }
  return Status::OK();
}

int32_t MaxParallelism(const OperatorContext& context) {
  return context.max_parallelism > 0 ? context.max_parallelism : kDefaultMaxParallelism;
}

// Rows of a key are cut into panes of gcd(size, slide) rows. A pane that fills up is a
// completion event; events are replayed in row order after the whole batch has been
// folded in (panes are disjoint, so folding order does not matter).
class CountWindowOperator : public KeyedWindowOperator {
 public:
  explicit CountWindowOperator(const WindowAggregateOptions& options)
      : KeyedWindowOperator(options) {
    const WindowSpec& window = options.window();
    if (window.kind == WindowKind::kCount) {
      size_ = window.count;
      slide_ = window.count_slide > 0 ? window.count_slide : window.count;
      cumulative_ = false;
    } else {
      size_ = slide_ = window.trigger.count;
      cumulative_ = !window.trigger.purge;
    }
    pane_rows_ = std::gcd(size_, slide_);
    panes_per_window_ = size_ / pane_rows_;
  }

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(KeyedWindowOperator::Open(context));
    ARROW_ASSIGN_OR_RAISE(state_, NewAggregatorSet(/*track_time_span=*/true));
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const int64_t num_rows = batch->num_rows();
    if (num_rows == 0) return Status::OK();
    const int time_index = options_.time_index();
    late_.assign(num_rows, 0);
    int64_t num_rejected = 0;
    if (time_index >= 0) {
      const arrow::ArrayData& times = *batch->column_data(time_index);
      if (times.GetNullCount() > 0) {
        for (int64_t i = 0; i < num_rows; ++i) {
          late_[i] = !times.IsValid(i);
          num_rejected += late_[i];
        }
      }
    }
    // Rows without event time cannot be placed on the time axis of the results.
    if (num_rejected > 0) context().metrics->AddRejected(num_rejected);
    if (num_rejected == num_rows) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*batch));
    const uint32_t* key_ids = ids->raw_values();
    if (keys_state_.size() < keys_->size()) keys_state_.resize(keys_->size());

    slot_of_row_.clear();
    events_.clear();
    arrow::Int32Builder kept;
    for (int64_t i = 0; i < num_rows; ++i) {
      if (late_[i]) continue;
      if (num_rejected > 0) ARROW_RETURN_NOT_OK(kept.Append(static_cast<int32_t>(i)));
      KeyState& key = keys_state_[key_ids[i]];
      if (!key.has_pane) {
        key.pane = NewSlot();
        key.has_pane = true;
      }
      slot_of_row_.push_back(key.pane);
      ++key.rows;
      if (key.rows % pane_rows_ == 0) {
        events_.push_back({key_ids[i], key.pane, key.rows});
        key.has_pane = false;
      }
    }
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows,
                          PrepareRows(options_.aggregates(), *batch, time_index));
    if (num_rejected > 0) {
      ARROW_ASSIGN_OR_RAISE(auto selection, kept.Finish());
      ARROW_ASSIGN_OR_RAISE(rows, TakePreparedRows(rows, *selection));
    }
    ARROW_RETURN_NOT_OK(state_->Consume(rows, slot_of_row_.data()));
    return ReplayEvents();
  }

  // State, version 1, little-endian (StateCodec):
  //   uint8    version = 1
  //   bytes    the key table (KeyTable::Serialize: Arrow IPC stream of the keys)
  //   int64    number of key states N (key ids 0 .. N-1)
  //   N x      int64 rows of the key so far; uint8 flags (1: open pane, 2: cumulative
  //            slot); uint32 open pane slot if flag 1; uint32 cumulative slot if flag
  //            2; uint32 number of completed panes M of the sliding window, oldest
  //            first; M x uint32 slot
  //   bytes    the aggregation state of every slot (AggregatorSet::Serialize, with
  //            the event-time span of each slot)
  // Slots that no key refers to are free. Count windows do not depend on event time,
  // so no watermark is kept.
  Result<std::string> SnapshotState(int64_t) override {
    std::string state;
    StateCodec<uint8_t>::Append(kCountWindowStateVersion, &state);
    ARROW_RETURN_NOT_OK(keys_->Serialize(&state));
    StateCodec<int64_t>::Append(static_cast<int64_t>(keys_state_.size()), &state);
    for (const KeyState& key : keys_state_) {
      StateCodec<int64_t>::Append(key.rows, &state);
      StateCodec<uint8_t>::Append(
          static_cast<uint8_t>((key.has_pane ? kHasPane : 0) |
                               (key.has_cumulative ? kHasCumulative : 0)),
          &state);
      if (key.has_pane) StateCodec<uint32_t>::Append(key.pane, &state);
      if (key.has_cumulative) StateCodec<uint32_t>::Append(key.cumulative, &state);
      StateCodec<uint32_t>::Append(static_cast<uint32_t>(key.panes.size()), &state);
      for (uint32_t pane : key.panes) StateCodec<uint32_t>::Append(pane, &state);
    }
    ARROW_RETURN_NOT_OK(state_->Serialize(&state));
    return state;
  }

  Status RestoreState(const std::string& bytes) override {
    std::string_view in = bytes;
    ARROW_RETURN_NOT_OK(CheckVersion(&in, kCountWindowStateVersion, "count window"));
    ARROW_RETURN_NOT_OK(keys_->Deserialize(&in));
    ARROW_ASSIGN_OR_RAISE(std::vector<KeyState> keys_state, ReadKeyStates(&in));
    ARROW_RETURN_NOT_OK(state_->Deserialize(&in));
    if (!in.empty()) return Status::IOError("count window state has trailing bytes");
    if (keys_state.size() > keys_->size()) {
      return Status::IOError("count window state has ", keys_state.size(),
                             " key states for ", keys_->size(), " keys");
    }
    std::vector<uint8_t> used(state_->num_slots(), 0);
    for (const KeyState& key : keys_state) {
      for (uint32_t slot : SlotsOf(key)) {
        if (slot >= used.size() || used[slot]) {
          return Status::IOError("corrupt count window state: slot ", slot);
        }
        used[slot] = 1;
      }
    }
    keys_state_ = std::move(keys_state);
    free_slots_.clear();
    for (uint32_t slot = 0; slot < used.size(); ++slot) {
      if (used[slot]) continue;
      FreeSlot(slot);
    }
    return Status::OK();
  }

  // Each key's state lives in exactly one old subtask's snapshot: the kept keys get
  // new ids and new slots here, into which their old slots are merged.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    std::vector<uint8_t> restored;
    for (const std::string& bytes : states) {
      std::string_view in = bytes;
      ARROW_RETURN_NOT_OK(CheckVersion(&in, kCountWindowStateVersion, "count window"));
      ARROW_ASSIGN_OR_RAISE(
          SnapshotKeys old_keys,
          ReadSnapshotKeys(&in, options_.input_schema(), options_.key_indices(),
                           MaxParallelism(context())));
      ARROW_ASSIGN_OR_RAISE(std::vector<int64_t> new_ids,
                            AddKeysInRange(old_keys, context().key_groups, keys_.get()));
      ARROW_ASSIGN_OR_RAISE(std::vector<KeyState> old_states, ReadKeyStates(&in));
      ARROW_ASSIGN_OR_RAISE(auto old_set, NewAggregatorSet(/*track_time_span=*/true));
      ARROW_RETURN_NOT_OK(old_set->Deserialize(&in));
      if (!in.empty()) return Status::IOError("count window state has trailing bytes");
      if (old_states.size() > new_ids.size()) {
        return Status::IOError("count window state has ", old_states.size(),
                               " key states for ", new_ids.size(), " keys");
      }
      if (keys_state_.size() < keys_->size()) keys_state_.resize(keys_->size());
      restored.resize(keys_->size(), 0);
      for (size_t old_id = 0; old_id < old_states.size(); ++old_id) {
        if (new_ids[old_id] < 0) continue;
        const auto id = static_cast<uint32_t>(new_ids[old_id]);
        if (restored[id]) {
          return Status::IOError("count window snapshots disagree: a key is in two");
        }
        restored[id] = 1;
        const KeyState& old = old_states[old_id];
        KeyState& key = keys_state_[id];
        key.rows = old.rows;
        key.has_pane = old.has_pane;
        key.has_cumulative = old.has_cumulative;
        if (old.has_pane) {
          ARROW_ASSIGN_OR_RAISE(key.pane, CopySlot(*old_set, old.pane));
        }
        if (old.has_cumulative) {
          ARROW_ASSIGN_OR_RAISE(key.cumulative, CopySlot(*old_set, old.cumulative));
        }
        key.panes.clear();
        for (uint32_t pane : old.panes) {
          ARROW_ASSIGN_OR_RAISE(uint32_t slot, CopySlot(*old_set, pane));
          key.panes.push_back(slot);
        }
      }
    }
    return Status::OK();
  }

 private:
  static constexpr uint8_t kHasPane = 1;
  static constexpr uint8_t kHasCumulative = 2;

  struct KeyState {
    uint32_t pane = 0;
    bool has_pane = false;
    int64_t rows = 0;
    std::deque<uint32_t> panes;  // completed panes of the current sliding window
    uint32_t cumulative = 0;
    bool has_cumulative = false;
  };
  struct Event {
    uint32_t key;
    uint32_t pane;
    int64_t rows;  // the key's row count when the pane filled up
  };

  Result<std::vector<KeyState>> ReadKeyStates(std::string_view* in) {
    ARROW_ASSIGN_OR_RAISE(int64_t num_keys, StateCodec<int64_t>::Read(in));
    if (num_keys < 0) return Status::IOError("corrupt count window state");
    std::vector<KeyState> keys_state;
    for (int64_t id = 0; id < num_keys; ++id) {
      KeyState key;
      ARROW_ASSIGN_OR_RAISE(key.rows, StateCodec<int64_t>::Read(in));
      ARROW_ASSIGN_OR_RAISE(uint8_t flags, StateCodec<uint8_t>::Read(in));
      key.has_pane = (flags & kHasPane) != 0;
      key.has_cumulative = (flags & kHasCumulative) != 0;
      if (key.has_pane) {
        ARROW_ASSIGN_OR_RAISE(key.pane, StateCodec<uint32_t>::Read(in));
      }
      if (key.has_cumulative) {
        ARROW_ASSIGN_OR_RAISE(key.cumulative, StateCodec<uint32_t>::Read(in));
      }
      ARROW_ASSIGN_OR_RAISE(uint32_t num_panes, StateCodec<uint32_t>::Read(in));
      for (uint32_t p = 0; p < num_panes; ++p) {
        ARROW_ASSIGN_OR_RAISE(uint32_t pane, StateCodec<uint32_t>::Read(in));
        key.panes.push_back(pane);
      }
      keys_state.push_back(std::move(key));
    }
    return keys_state;
  }

  // The slots a key's state occupies.
  static std::vector<uint32_t> SlotsOf(const KeyState& key) {
    std::vector<uint32_t> slots(key.panes.begin(), key.panes.end());
    if (key.has_pane) slots.push_back(key.pane);
    if (key.has_cumulative) slots.push_back(key.cumulative);
    return slots;
  }

  // A new slot holding slot `from` of `old_set`.
  Result<uint32_t> CopySlot(const AggregatorSet& old_set, uint32_t from) {
    if (from >= old_set.num_slots()) {
      return Status::IOError("corrupt count window state: slot ", from);
    }
    const uint32_t slot = NewSlot();
    ARROW_RETURN_NOT_OK(state_->Merge(old_set, &from, &slot, 1));
    return slot;
  }

  Status ReplayEvents() {
    results_.clear();
    to_free_.clear();
    results_.has_bounds = options_.time_index() >= 0;
    for (const Event& event : events_) {
      KeyState& key = keys_state_[event.key];
      if (cumulative_) {
        if (!key.has_cumulative) {
          key.cumulative = NewSlot();
          key.has_cumulative = true;
        }
        ARROW_RETURN_NOT_OK(state_->Merge(*state_, &event.pane, &key.cumulative, 1));
        to_free_.push_back(event.pane);
        ARROW_RETURN_NOT_OK(AddSnapshot(event.key, key.cumulative));
        continue;
      }
      if (panes_per_window_ == 1) {
        // Tumbling: the pane is the window.
        AddResult(event.key, event.pane);
        to_free_.push_back(event.pane);
        continue;
      }
      key.panes.push_back(event.pane);
      if (static_cast<int64_t>(key.panes.size()) > panes_per_window_) {
        to_free_.push_back(key.panes.front());
        key.panes.pop_front();
      }
      if (event.rows % slide_ != 0) continue;
      // Sliding: the last `size` rows (fewer at the start), merged into a fresh slot.
      const uint32_t window = NewSlot();
      for (uint32_t pane : key.panes) {
        ARROW_RETURN_NOT_OK(state_->Merge(*state_, &pane, &window, 1));
      }
      AddResult(event.key, window);
      to_free_.push_back(window);
    }
    ARROW_RETURN_NOT_OK(Emit(*state_, results_));
    for (uint32_t slot : to_free_) FreeSlot(slot);
    return Status::OK();
  }

  // A cumulative result is copied so that later rows of the batch do not change it.
  Status AddSnapshot(uint32_t key, uint32_t slot) {
    const uint32_t copy = NewSlot();
    ARROW_RETURN_NOT_OK(state_->Merge(*state_, &slot, &copy, 1));
    AddResult(key, copy);
    to_free_.push_back(copy);
    return Status::OK();
  }

  void AddResult(uint32_t key, uint32_t slot) {
    const bool bounds = results_.has_bounds;
    results_.Add(key, slot, bounds ? state_->min_time(slot) : 0,
                 bounds ? state_->max_time(slot) + 1 : 0);
  }

  uint32_t NewSlot() {
    if (!free_slots_.empty()) {
      const uint32_t slot = free_slots_.back();
      free_slots_.pop_back();
      return slot;
    }
    const uint32_t slot = state_->num_slots();
    state_->Resize(slot + 1);
    return slot;
  }

  void FreeSlot(uint32_t slot) {
    state_->Reset(&slot, 1);
    free_slots_.push_back(slot);
  }

  int64_t size_ = 0;
  int64_t slide_ = 0;
  int64_t pane_rows_ = 0;
  int64_t panes_per_window_ = 0;
  bool cumulative_ = false;
  std::unique_ptr<AggregatorSet> state_;
  std::vector<KeyState> keys_state_;
  std::vector<uint32_t> free_slots_;
  WindowResults results_;
  std::vector<uint32_t> to_free_;
  // Reused per batch.
  std::vector<uint8_t> late_;
  std::vector<uint32_t> slot_of_row_;
  std::vector<Event> events_;
};

// A global window per key fired on an event-time or processing-time interval: keys
// updated since the last firing are emitted, and cleared when purging.
class TimeTriggerWindowOperator : public KeyedWindowOperator {
 public:
  explicit TimeTriggerWindowOperator(const WindowAggregateOptions& options)
      : KeyedWindowOperator(options),
        trigger_(options.window().trigger),
        event_time_(trigger_.kind == TriggerKind::kEventTime) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(KeyedWindowOperator::Open(context));
    ARROW_ASSIGN_OR_RAISE(state_, NewAggregatorSet(/*track_time_span=*/true));
    if (!event_time_) {
      next_fire_ = context.processing_time->Now() + trigger_.interval_ms;
      context.processing_time->RequestCallback(next_fire_);
    }
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const int64_t num_rows = batch->num_rows();
    if (num_rows == 0) return Status::OK();
    const int time_index = options_.time_index();
    std::shared_ptr<arrow::RecordBatch> rows_batch = batch;
    if (time_index >= 0 && batch->column_data(time_index)->GetNullCount() > 0) {
      ARROW_ASSIGN_OR_RAISE(auto valid,
                            arrow::compute::IsValid(batch->column(time_index)));
      context().metrics->AddRejected(batch->column(time_index)->null_count());
      ARROW_ASSIGN_OR_RAISE(rows_batch, SelectRows(batch, *valid.array()));
    }
    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*rows_batch));
    state_->Resize(keys_->size());
    if (dirty_.size() < keys_->size()) dirty_.resize(keys_->size(), 0);
    const uint32_t* key_ids = ids->raw_values();
    const int64_t* times =
        event_time_ ? rows_batch->column_data(time_index)->GetValues<int64_t>(1)
                    : nullptr;
    for (int64_t i = 0; i < rows_batch->num_rows(); ++i) {
      // Processing time fires every updated key; event time fires keys as they come
      // due.
      if (!dirty_[key_ids[i]]) {
        dirty_[key_ids[i]] = 1;
        if (!event_time_) dirty_keys_.push_back(key_ids[i]);
      }
      // As Flink's ContinuousEventTimeTrigger: a row makes its key due at the first
      // multiple of the interval after the row's event time.
      if (event_time_) due_.Register({NextMultiple(times[i]), key_ids[i], 0});
    }
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows,
                          PrepareRows(options_.aggregates(), *rows_batch, time_index));
    return state_->Consume(rows, key_ids);
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    if (event_time_) {
      due_keys_.clear();
      ARROW_RETURN_NOT_OK(due_.Advance(watermark, [&](const Timer& timer) {
        if (dirty_[timer.key]) due_keys_.push_back(timer.key);
        return Status::OK();
      }));
      ARROW_RETURN_NOT_OK(FireKeys(&due_keys_));
    }
    return output()->EmitWatermark(watermark);
  }

  // At end of input the keys updated since their last firing are emitted, so that no
  // row's contribution is lost (Flink's processing-time triggers do not fire then).
  Status Finish() override { return FireKeys(&dirty_keys_); }

  // State, version 1, little-endian (StateCodec):
  //   uint8    version = 1
  //   int64    watermark
  //   bytes    the key table (KeyTable::Serialize: Arrow IPC stream of the keys)
  //   bytes    the aggregation state, slot = key id (AggregatorSet::Serialize, with
  //            the event-time span of each key's rows)
  //   int64    number of keys N, then N x uint8: 1 if the key was updated since it
  //            last fired
  //   int64    number of event-time timers T, then T x (int64 time, uint32 key id),
  //            in firing order
  // The processing-time firing schedule is not kept: it follows the wall clock of the
  // restored job (Open() arms it), and the updated keys fire at its first firing.
  Result<std::string> SnapshotState(int64_t) override {
    std::string state;
    StateCodec<uint8_t>::Append(kTimeTriggerStateVersion, &state);
    StateCodec<int64_t>::Append(watermark_, &state);
    ARROW_RETURN_NOT_OK(keys_->Serialize(&state));
    ARROW_RETURN_NOT_OK(state_->Serialize(&state));
    StateCodec<int64_t>::Append(static_cast<int64_t>(dirty_.size()), &state);
    state.append(reinterpret_cast<const char*>(dirty_.data()), dirty_.size());
    const std::vector<Timer> timers = due_.Snapshot();
    StateCodec<int64_t>::Append(static_cast<int64_t>(timers.size()), &state);
    for (const Timer& timer : timers) {
      StateCodec<int64_t>::Append(timer.timestamp, &state);
      StateCodec<uint32_t>::Append(timer.key, &state);
    }
    return state;
  }

  Status RestoreState(const std::string& bytes) override {
    std::string_view in = bytes;
    ARROW_RETURN_NOT_OK(CheckVersion(&in, kTimeTriggerStateVersion, "global window"));
    ARROW_ASSIGN_OR_RAISE(watermark_, StateCodec<int64_t>::Read(&in));
    ARROW_RETURN_NOT_OK(keys_->Deserialize(&in));
    ARROW_RETURN_NOT_OK(state_->Deserialize(&in));
    ARROW_ASSIGN_OR_RAISE(dirty_, ReadDirty(&in));
    ARROW_ASSIGN_OR_RAISE(std::vector<Timer> timers, ReadTimers(&in));
    if (!in.empty()) return Status::IOError("global window state has trailing bytes");
    if (dirty_.size() > keys_->size() || state_->num_slots() > keys_->size()) {
      return Status::IOError("corrupt global window state: ", keys_->size(), " keys, ",
                             dirty_.size(), " flags, ", state_->num_slots(), " slots");
    }
    state_->Resize(keys_->size());
    dirty_.resize(keys_->size(), 0);
    for (const Timer& timer : timers) {
      if (timer.key >= keys_->size()) {
        return Status::IOError("corrupt global window state: timer of key ", timer.key);
      }
    }
    due_.Restore(timers);
    RebuildDirtyKeys();
    return Status::OK();
  }

  // Every subtask of a keyed operator aligned the barrier behind the same watermarks,
  // so the snapshots agree on the watermark; min() is the safe merge. Each key's
  // aggregate, flag and timers come from the one old subtask that had the key.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    int64_t watermark = kMaxWatermark;
    std::vector<Timer> timers = due_.Snapshot();
    for (const std::string& bytes : states) {
      std::string_view in = bytes;
      ARROW_RETURN_NOT_OK(CheckVersion(&in, kTimeTriggerStateVersion, "global window"));
      ARROW_ASSIGN_OR_RAISE(int64_t old_watermark, StateCodec<int64_t>::Read(&in));
      watermark = std::min(watermark, old_watermark);
      ARROW_ASSIGN_OR_RAISE(
          SnapshotKeys old_keys,
          ReadSnapshotKeys(&in, options_.input_schema(), options_.key_indices(),
                           MaxParallelism(context())));
      ARROW_ASSIGN_OR_RAISE(std::vector<int64_t> new_ids,
                            AddKeysInRange(old_keys, context().key_groups, keys_.get()));
      ARROW_ASSIGN_OR_RAISE(auto old_set, NewAggregatorSet(/*track_time_span=*/true));
      ARROW_RETURN_NOT_OK(old_set->Deserialize(&in));
      ARROW_ASSIGN_OR_RAISE(std::vector<uint8_t> old_dirty, ReadDirty(&in));
      ARROW_ASSIGN_OR_RAISE(std::vector<Timer> old_timers, ReadTimers(&in));
      if (!in.empty()) return Status::IOError("global window state has trailing bytes");
      if (old_dirty.size() > new_ids.size()) {
        return Status::IOError("corrupt global window state: ", new_ids.size(), " keys, ",
                               old_dirty.size(), " flags");
      }
      ARROW_RETURN_NOT_OK(MergeRenamedSlots(*old_set, new_ids, state_.get()));
      state_->Resize(keys_->size());
      dirty_.resize(keys_->size(), 0);
      for (size_t old_id = 0; old_id < old_dirty.size(); ++old_id) {
        if (new_ids[old_id] >= 0 && old_dirty[old_id]) dirty_[new_ids[old_id]] = 1;
      }
      for (Timer timer : old_timers) {
        if (timer.key >= new_ids.size()) {
          return Status::IOError("corrupt global window state: timer of key ", timer.key);
        }
        if (new_ids[timer.key] < 0) continue;
        timer.key = static_cast<uint32_t>(new_ids[timer.key]);
        timers.push_back(timer);
      }
    }
    if (states.empty()) return Status::OK();
    watermark_ = watermark;
    due_.Restore(timers);
    RebuildDirtyKeys();
    return Status::OK();
  }

  Status OnProcessingTime(int64_t now) override {
    if (event_time_ || now < next_fire_) return Status::OK();
    ARROW_RETURN_NOT_OK(FireKeys(&dirty_keys_));
    // The next firing keeps to the interval grid even after a late callback.
    next_fire_ += ((now - next_fire_) / trigger_.interval_ms + 1) * trigger_.interval_ms;
    context().processing_time->RequestCallback(next_fire_);
    return Status::OK();
  }

 private:
  static Result<std::vector<uint8_t>> ReadDirty(std::string_view* in) {
    ARROW_ASSIGN_OR_RAISE(int64_t num_keys, StateCodec<int64_t>::Read(in));
    if (num_keys < 0 || in->size() < static_cast<size_t>(num_keys)) {
      return Status::IOError("global window state is truncated");
    }
    std::vector<uint8_t> dirty(in->begin(), in->begin() + num_keys);
    in->remove_prefix(static_cast<size_t>(num_keys));
    return dirty;
  }

  static Result<std::vector<Timer>> ReadTimers(std::string_view* in) {
    ARROW_ASSIGN_OR_RAISE(int64_t num_timers, StateCodec<int64_t>::Read(in));
    if (num_timers < 0) return Status::IOError("corrupt global window state");
    std::vector<Timer> timers;
    for (int64_t t = 0; t < num_timers; ++t) {
      Timer timer;
      ARROW_ASSIGN_OR_RAISE(timer.timestamp, StateCodec<int64_t>::Read(in));
      ARROW_ASSIGN_OR_RAISE(timer.key, StateCodec<uint32_t>::Read(in));
      timers.push_back(timer);
    }
    return timers;
  }

  // Processing time fires the keys listed here; event time fires keys by timer.
  void RebuildDirtyKeys() {
    dirty_keys_.clear();
    if (event_time_) return;
    for (uint32_t key = 0; key < dirty_.size(); ++key) {
      if (dirty_[key]) dirty_keys_.push_back(key);
    }
  }

  int64_t NextMultiple(int64_t time) const {
    return ClampTime((FloorDiv(time, trigger_.interval_ms) + 1) * trigger_.interval_ms);
  }

  // Emits the updated keys among `keys` (cleared), in key id order.
  Status FireKeys(std::vector<uint32_t>* keys) {
    std::sort(keys->begin(), keys->end());
    keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
    results_.clear();
    results_.has_bounds = options_.time_index() >= 0;
    fired_.clear();
    for (uint32_t key : *keys) {
      if (!dirty_[key]) continue;
      dirty_[key] = 0;
      fired_.push_back(key);
      results_.Add(key, key, results_.has_bounds ? state_->min_time(key) : 0,
                   results_.has_bounds ? state_->max_time(key) + 1 : 0);
    }
    keys->clear();
    if (fired_.empty()) return Status::OK();
    ARROW_RETURN_NOT_OK(Emit(*state_, results_));
    if (trigger_.purge) state_->Reset(fired_.data(), static_cast<int64_t>(fired_.size()));
    // Keys still listed as dirty but already fired are skipped when they come up.
    return Status::OK();
  }

  const Trigger trigger_;
  const bool event_time_;
  // Event time: when each updated key is due.
  TimerQueue due_;
  std::vector<uint32_t> due_keys_;
  std::vector<uint32_t> fired_;
  int64_t next_fire_ = 0;
  std::unique_ptr<AggregatorSet> state_;
  std::vector<uint8_t> dirty_;
  std::vector<uint32_t> dirty_keys_;
  WindowResults results_;
};

}  // namespace

std::unique_ptr<Operator> MakeCountWindowOperator(const WindowAggregateOptions& options) {
  return std::make_unique<CountWindowOperator>(options);
}

std::unique_ptr<Operator> MakeTimeTriggerWindowOperator(
    const WindowAggregateOptions& options) {
  return std::make_unique<TimeTriggerWindowOperator>(options);
}

}  // namespace sabot
