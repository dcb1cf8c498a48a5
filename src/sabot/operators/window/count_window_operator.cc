#include "sabot/operators/window/count_window_operator.h"

#include <arrow/api.h>

#include <arrow/compute/api.h>

#include <algorithm>
#include <deque>
#include <numeric>

#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/processing_time.h"
#include "sabot/time/timer_service.h"
#include "sabot/types/row_selection.h"

namespace sabot {
namespace {

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

 private:
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

  Status OnProcessingTime(int64_t now) override {
    if (event_time_ || now < next_fire_) return Status::OK();
    ARROW_RETURN_NOT_OK(FireKeys(&dirty_keys_));
    // The next firing keeps to the interval grid even after a late callback.
    next_fire_ += ((now - next_fire_) / trigger_.interval_ms + 1) * trigger_.interval_ms;
    context().processing_time->RequestCallback(next_fire_);
    return Status::OK();
  }

 private:
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
