#include "sabot/operators/window/session_window_operator.h"

#include <arrow/api.h>

#include <algorithm>
#include <queue>

#include "sabot/operators/window/keyed_window_operator.h"

namespace sabot {
namespace {

struct Session {
  int64_t start;
  int64_t end;  // exclusive
  uint32_t slot;
  bool fired;
};

// A pending check of one session at `time`; stale entries (the session merged away or
// was extended) are recognised by the slot's generation and re-examined.
struct TimerEntry {
  int64_t time;
  uint32_t key;
  uint32_t slot;
  uint32_t generation;
  bool operator>(const TimerEntry& other) const { return time > other.time; }
};

class SessionWindowOperator : public KeyedWindowOperator {
 public:
  explicit SessionWindowOperator(const WindowAggregateOptions& options)
      : KeyedWindowOperator(options),
        gap_(options.window().gap_ms),
        lateness_(options.config().allowed_lateness_ms) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(KeyedWindowOperator::Open(context));
    ARROW_ASSIGN_OR_RAISE(state_, NewAggregatorSet());
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const int64_t num_rows = batch->num_rows();
    if (num_rows == 0) return Status::OK();
    const arrow::ArrayData& times = *batch->column_data(options_.time_index());
    const int64_t* ts = times.GetValues<int64_t>(1);
    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*batch));
    const uint32_t* key_ids = ids->raw_values();
    if (sessions_.size() < keys_->size()) sessions_.resize(keys_->size());

    late_.assign(num_rows, 0);
    slot_of_row_.resize(num_rows);
    int64_t num_late = 0;
    updated_.clear();
    for (int64_t i = 0; i < num_rows; ++i) {
      if (!times.IsValid(i)) {
        late_[i] = 1;
        ++num_late;
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(int64_t slot, Assign(key_ids[i], ts[i]));
      if (slot < 0) {
        late_[i] = 1;
        ++num_late;
        continue;
      }
      slot_of_row_[i] = static_cast<uint32_t>(slot);
    }
    ARROW_RETURN_NOT_OK(RouteLateRows(batch, late_, num_late));
    // Rows may point at sessions merged later in the batch: follow the forwarding.
    for (int64_t i = 0; i < num_rows; ++i) {
      if (!late_[i]) slot_of_row_[i] = Resolve(slot_of_row_[i]);
    }
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows, PrepareRows(options_.aggregates(), *batch,
                                                         options_.time_index()));
    if (num_late == 0) {
      ARROW_RETURN_NOT_OK(state_->Consume(rows, slot_of_row_.data()));
    } else if (num_late < num_rows) {
      arrow::Int32Builder indices;
      std::vector<uint32_t> slots;
      for (int64_t i = 0; i < num_rows; ++i) {
        if (late_[i]) continue;
        ARROW_RETURN_NOT_OK(indices.Append(static_cast<int32_t>(i)));
        slots.push_back(slot_of_row_[i]);
      }
      ARROW_ASSIGN_OR_RAISE(auto selection, indices.Finish());
      ARROW_ASSIGN_OR_RAISE(PreparedRows kept, TakePreparedRows(rows, *selection));
      ARROW_RETURN_NOT_OK(state_->Consume(kept, slots.data()));
    }
    for (uint32_t slot : pending_free_) FreeSlot(slot);
    pending_free_.clear();
    return EmitUpdates();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    results_.clear();
    std::vector<uint32_t> to_free;
    while (!timers_.empty() && timers_.top().time <= watermark) {
      const TimerEntry entry = timers_.top();
      timers_.pop();
      if (generation_[entry.slot] != entry.generation) continue;
      auto& sessions = sessions_[entry.key];
      auto it = std::find_if(sessions.begin(), sessions.end(),
                             [&](const Session& s) { return s.slot == entry.slot; });
      if (it == sessions.end()) continue;
      ARROW_RETURN_NOT_OK(Examine(entry.key, it, &to_free));
    }
    ARROW_RETURN_NOT_OK(Emit(*state_, results_));
    for (uint32_t slot : to_free) FreeSlot(slot);
    if (live_sessions_ == 0 && keys_->size() > 0) {
      ARROW_RETURN_NOT_OK(keys_->Reset());
      sessions_.clear();
    }
    return output()->EmitWatermark(watermark);
  }

 private:
  // Fires, re-arms or cleans up a session whose timer came due.
  Status Examine(uint32_t key, std::vector<Session>::iterator session,
                 std::vector<uint32_t>* to_free) {
    const __int128 last = static_cast<__int128>(session->end) - 1;
    if (last > watermark_) {
      // Extended since the timer was set: not due yet.
      session->fired = false;
      Arm(key, *session, session->end - 1);
      return Status::OK();
    }
    if (!session->fired) {
      session->fired = true;
      results_.Add(key, session->slot, session->start, session->end);
    }
    if (last + lateness_ <= watermark_) {
      // Results referencing the slot are emitted before it is freed.
      to_free->push_back(session->slot);
      sessions_[key].erase(session);
      return Status::OK();
    }
    Arm(key, *session, ClampTime(last + lateness_));
    return Status::OK();
  }

  void Arm(uint32_t key, const Session& session, int64_t time) {
    timers_.push({time, key, session.slot, generation_[session.slot]});
  }

  // Places a row of `key` at time `t` into a session, merging the sessions it touches;
  // returns the session's slot, or -1 when the row is too late.
  Result<int64_t> Assign(uint32_t key, int64_t t) {
    const int64_t end = ClampTime(static_cast<__int128>(t) + gap_);
    auto& sessions = sessions_[key];
    // Sessions intersecting [t, end] (touching counts, as in Flink).
    Session* target = nullptr;
    int64_t new_start = t;
    int64_t new_end = end;
    for (auto it = sessions.begin(); it != sessions.end();) {
      if (it->start <= end && it->end >= t) {
        new_start = std::min(new_start, it->start);
        new_end = std::max(new_end, it->end);
        if (target == nullptr) {
          target = &*it;
          ++it;
        } else {
          // Merge this session into the target.
          ARROW_RETURN_NOT_OK(state_->Merge(*state_, &it->slot, &target->slot, 1));
          target->fired = target->fired && it->fired;
          forward_[it->slot] = target->slot;
          pending_free_.push_back(it->slot);
          const size_t target_index = target - sessions.data();
          it = sessions.erase(it);
          target = &sessions[target_index];
        }
      } else {
        ++it;
      }
    }
    if (target == nullptr) {
      if (static_cast<__int128>(end) - 1 + lateness_ <= watermark_) return -1;
      Session session{t, end, NewSlot(), false};
      sessions.push_back(session);
      Arm(key, session, end - 1);
      MarkUpdated(key, session.slot, end);
      return session.slot;
    }
    target->start = new_start;
    target->end = new_end;
    MarkUpdated(key, target->slot, new_end);
    return target->slot;
  }

  // A session already fired and still behind the watermark is emitted again after the
  // batch with its new result (allowed lateness).
  void MarkUpdated(uint32_t key, uint32_t slot, int64_t end) {
    if (static_cast<__int128>(end) - 1 <= watermark_) updated_.emplace_back(key, slot);
  }

  Status EmitUpdates() {
    if (updated_.empty()) return Status::OK();
    results_.clear();
    std::sort(updated_.begin(), updated_.end());
    updated_.erase(std::unique(updated_.begin(), updated_.end()), updated_.end());
    for (const auto& [key, stale_slot] : updated_) {
      const uint32_t slot = Resolve(stale_slot);
      for (Session& session : sessions_[key]) {
        if (session.slot != slot || static_cast<__int128>(session.end) - 1 > watermark_)
          continue;
        session.fired = true;
        results_.Add(key, slot, session.start, session.end);
      }
    }
    return EmitDeduplicated();
  }

  // Emits results_ with one row per slot (a session updated twice in one batch).
  Status EmitDeduplicated() {
    WindowResults unique;
    std::vector<std::pair<uint32_t, size_t>> order;
    for (size_t i = 0; i < results_.key_ids.size(); ++i)
      order.emplace_back(results_.slots[i], i);
    std::sort(order.begin(), order.end());
    for (size_t j = 0; j < order.size(); ++j) {
      if (j > 0 && order[j].first == order[j - 1].first) continue;
      const size_t i = order[j].second;
      unique.Add(results_.key_ids[i], results_.slots[i], results_.starts[i],
                 results_.ends[i]);
    }
    return Emit(*state_, unique);
  }

  uint32_t NewSlot() {
    uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<uint32_t>(generation_.size());
      generation_.push_back(0);
      forward_.push_back(slot);
      state_->Resize(slot + 1);
    }
    forward_[slot] = slot;
    ++live_sessions_;
    return slot;
  }

  void FreeSlot(uint32_t slot) {
    state_->Reset(&slot, 1);
    ++generation_[slot];
    forward_[slot] = slot;
    free_slots_.push_back(slot);
    --live_sessions_;
  }

  uint32_t Resolve(uint32_t slot) {
    while (forward_[slot] != slot) slot = forward_[slot];
    return slot;
  }

  const int64_t gap_;
  const int64_t lateness_;
  std::unique_ptr<AggregatorSet> state_;
  std::vector<std::vector<Session>> sessions_;  // by key id, unordered
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>>
      timers_;
  std::vector<uint32_t> generation_;  // by slot
  std::vector<uint32_t> forward_;     // by slot: where a merged-away slot went
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> pending_free_;
  int64_t live_sessions_ = 0;
  WindowResults results_;
  std::vector<std::pair<uint32_t, uint32_t>> updated_;  // (key, slot)
  // Reused per batch.
  std::vector<uint8_t> late_;
  std::vector<uint32_t> slot_of_row_;
};

}  // namespace

std::unique_ptr<Operator> MakeSessionWindowOperator(
    const WindowAggregateOptions& options) {
  return std::make_unique<SessionWindowOperator>(options);
}

}  // namespace sabot
