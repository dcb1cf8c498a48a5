#include "sabot/operators/window/session_window_operator.h"

#include <arrow/api.h>

#include <algorithm>
#include <limits>
#include <queue>

#include "sabot/operators/aggregate/key_redistribution.h"
#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/state/state_codec.h"

namespace sabot {
namespace {

struct Session {
  int64_t start = 0;
  int64_t end = 0;  // exclusive
  uint32_t key = 0;
  bool fired = false;
};

// A pending check of one session at `time`; stale entries (the session merged away or
// was extended) are recognised by the slot's generation and re-examined.
struct TimerEntry {
  int64_t time;
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
    if (slots_of_key_.size() < keys_->size()) slots_of_key_.resize(keys_->size());

    late_.assign(num_rows, 0);
    slot_of_row_.resize(num_rows);
    int64_t num_late = 0;
    updated_.clear();
    for (int64_t i = 0; i < num_rows; ++i) {
      int64_t slot = -1;
      if (times.IsValid(i)) {
        ARROW_ASSIGN_OR_RAISE(slot, Assign(key_ids[i], ts[i]));
      }
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

  // State: the watermark, the key table, every open session (key, bounds, whether it
  // fired, slot) and the aggregation state of all slots. Timers are re-armed on restore.
  Result<std::string> SnapshotState(int64_t) override {
    std::string state;
    StateCodec<int64_t>::Append(watermark_, &state);
    ARROW_RETURN_NOT_OK(keys_->Serialize(&state));
    std::vector<uint32_t> live;
    for (const auto& slots : slots_of_key_)
      live.insert(live.end(), slots.begin(), slots.end());
    StateCodec<int64_t>::Append(static_cast<int64_t>(live.size()), &state);
    for (uint32_t slot : live) {
      const Session& session = sessions_[slot];
      StateCodec<uint32_t>::Append(slot, &state);
      StateCodec<uint32_t>::Append(session.key, &state);
      StateCodec<int64_t>::Append(session.start, &state);
      StateCodec<int64_t>::Append(session.end, &state);
      StateCodec<uint8_t>::Append(session.fired ? 1 : 0, &state);
    }
    StateCodec<int64_t>::Append(static_cast<int64_t>(state_->num_slots()), &state);
    ARROW_RETURN_NOT_OK(state_->Serialize(&state));
    return state;
  }

  Status RestoreState(const std::string& bytes) override {
    std::string_view in = bytes;
    ARROW_ASSIGN_OR_RAISE(watermark_, StateCodec<int64_t>::Read(&in));
    ARROW_RETURN_NOT_OK(keys_->Deserialize(&in));
    ARROW_ASSIGN_OR_RAISE(int64_t num_live, StateCodec<int64_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(LiveSessions live, ReadSessions(&in, num_live));
    ARROW_ASSIGN_OR_RAISE(int64_t num_slots, StateCodec<int64_t>::Read(&in));
    state_->Resize(static_cast<uint32_t>(num_slots));
    ARROW_RETURN_NOT_OK(state_->Deserialize(&in));
    if (!in.empty()) return Status::IOError("session state has trailing bytes");
    sessions_.assign(num_slots, Session{});
    generation_.assign(num_slots, 0);
    forward_.resize(num_slots);
    std::vector<uint8_t> used(num_slots, 0);
    slots_of_key_.assign(keys_->size(), {});
    for (const auto& [slot, session] : live) {
      if (slot >= num_slots || session.key >= keys_->size()) {
        return Status::IOError("corrupt session state");
      }
      sessions_[slot] = session;
      used[slot] = 1;
      slots_of_key_[session.key].push_back(slot);
      Arm(slot, session.fired
                    ? ClampTime(static_cast<__int128>(session.end) - 1 + lateness_)
                    : session.end - 1);
    }
    for (auto& slots : slots_of_key_) {
      std::sort(slots.begin(), slots.end(), [&](uint32_t a, uint32_t b) {
        return sessions_[a].start < sessions_[b].start;
      });
    }
    free_slots_.clear();
    for (uint32_t slot = 0; slot < num_slots; ++slot) {
      forward_[slot] = slot;
      if (!used[slot]) free_slots_.push_back(slot);
    }
    live_sessions_ = num_live;
    return Status::OK();
  }

  // Every subtask of a keyed operator aligned the barrier behind the same watermarks,
  // so the snapshots agree on the watermark; min() is the safe merge. Each kept
  // session gets a new slot, into which its old slot's aggregation state is merged,
  // and its timer is armed as in RestoreState().
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    int64_t watermark = kMaxWatermark;
    const int32_t max_parallelism = context().max_parallelism > 0
                                        ? context().max_parallelism
                                        : kDefaultMaxParallelism;
    for (const std::string& bytes : states) {
      std::string_view in = bytes;
      ARROW_ASSIGN_OR_RAISE(int64_t old_watermark, StateCodec<int64_t>::Read(&in));
      watermark = std::min(watermark, old_watermark);
      ARROW_ASSIGN_OR_RAISE(SnapshotKeys old_keys,
                            ReadSnapshotKeys(&in, options_.input_schema(),
                                             options_.key_indices(), max_parallelism));
      ARROW_ASSIGN_OR_RAISE(std::vector<int64_t> new_ids,
                            AddKeysInRange(old_keys, context().key_groups, keys_.get()));
      ARROW_ASSIGN_OR_RAISE(int64_t num_live, StateCodec<int64_t>::Read(&in));
      ARROW_ASSIGN_OR_RAISE(LiveSessions live, ReadSessions(&in, num_live));
      ARROW_ASSIGN_OR_RAISE(int64_t num_slots, StateCodec<int64_t>::Read(&in));
      if (num_slots < 0 || num_slots > std::numeric_limits<uint32_t>::max()) {
        return Status::IOError("corrupt session state: ", num_slots, " slots");
      }
      ARROW_ASSIGN_OR_RAISE(auto old_set, NewAggregatorSet());
      old_set->Resize(static_cast<uint32_t>(num_slots));
      ARROW_RETURN_NOT_OK(old_set->Deserialize(&in));
      if (!in.empty()) return Status::IOError("session state has trailing bytes");
      if (slots_of_key_.size() < keys_->size()) slots_of_key_.resize(keys_->size());
      for (auto [old_slot, session] : live) {
        if (old_slot >= old_set->num_slots() || session.key >= new_ids.size()) {
          return Status::IOError("corrupt session state");
        }
        if (new_ids[session.key] < 0) continue;
        session.key = static_cast<uint32_t>(new_ids[session.key]);
        const uint32_t slot = NewSlot();
        ARROW_RETURN_NOT_OK(state_->Merge(*old_set, &old_slot, &slot, 1));
        sessions_[slot] = session;
        slots_of_key_[session.key].push_back(slot);
        Arm(slot, session.fired
                      ? ClampTime(static_cast<__int128>(session.end) - 1 + lateness_)
                      : session.end - 1);
      }
    }
    if (states.empty()) return Status::OK();
    for (auto& slots : slots_of_key_) {
      std::sort(slots.begin(), slots.end(), [&](uint32_t a, uint32_t b) {
        return sessions_[a].start < sessions_[b].start;
      });
    }
    watermark_ = watermark;
    return Status::OK();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    results_.clear();
    to_free_.clear();
    while (!timers_.empty() && timers_.top().time <= watermark) {
      const TimerEntry entry = timers_.top();
      timers_.pop();
      if (generation_[entry.slot] == entry.generation) Examine(entry.slot);
    }
    ARROW_RETURN_NOT_OK(Emit(*state_, results_));
    for (uint32_t slot : to_free_) FreeSlot(slot);
    if (live_sessions_ == 0 && keys_->size() > 0) {
      ARROW_RETURN_NOT_OK(keys_->Reset());
      slots_of_key_.clear();
    } else if (keys_->size() >= next_compaction_check_) {
      ARROW_RETURN_NOT_OK(CompactKeys());
    }
    return output()->EmitWatermark(watermark);
  }

  // Keys whose sessions all closed are dropped from the key table once it has grown
  // well past the keys with open sessions (checked at doubling sizes), so memory follows
  // the live keys rather than every key ever seen.
  Status CompactKeys() {
    std::vector<uint8_t> live(keys_->size(), 0);
    int64_t num_live = 0;
    for (size_t key = 0; key < slots_of_key_.size(); ++key) {
      live[key] = !slots_of_key_[key].empty();
      num_live += live[key];
    }
    if (num_live * 2 > static_cast<int64_t>(keys_->size())) {
      next_compaction_check_ = keys_->size() * 2;
      return Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(auto new_ids, keys_->Compact(live));
    std::vector<std::vector<uint32_t>> compacted(keys_->size());
    for (size_t key = 0; key < slots_of_key_.size(); ++key) {
      if (new_ids[key] < 0) continue;
      for (uint32_t slot : slots_of_key_[key]) {
        sessions_[slot].key = static_cast<uint32_t>(new_ids[key]);
      }
      compacted[new_ids[key]] = std::move(slots_of_key_[key]);
    }
    slots_of_key_ = std::move(compacted);
    next_compaction_check_ = std::max<uint32_t>(kFirstCompactionCheck, keys_->size() * 2);
    return Status::OK();
  }

 private:
  // (slot, session) of the open sessions of a snapshot.
  using LiveSessions = std::vector<std::pair<uint32_t, Session>>;

  static Result<LiveSessions> ReadSessions(std::string_view* in, int64_t num_live) {
    LiveSessions live;
    for (int64_t i = 0; i < num_live; ++i) {
      Session session;
      ARROW_ASSIGN_OR_RAISE(uint32_t slot, StateCodec<uint32_t>::Read(in));
      ARROW_ASSIGN_OR_RAISE(session.key, StateCodec<uint32_t>::Read(in));
      ARROW_ASSIGN_OR_RAISE(session.start, StateCodec<int64_t>::Read(in));
      ARROW_ASSIGN_OR_RAISE(session.end, StateCodec<int64_t>::Read(in));
      ARROW_ASSIGN_OR_RAISE(uint8_t fired, StateCodec<uint8_t>::Read(in));
      session.fired = fired != 0;
      live.emplace_back(slot, session);
    }
    return live;
  }

  // Fires, re-arms or cleans up a session whose timer came due.
  void Examine(uint32_t slot) {
    Session& session = sessions_[slot];
    const __int128 last = static_cast<__int128>(session.end) - 1;
    if (last > watermark_) {
      // Extended since the timer was set: not due yet.
      session.fired = false;
      Arm(slot, session.end - 1);
      return;
    }
    if (!session.fired) {
      session.fired = true;
      results_.Add(session.key, slot, session.start, session.end);
    }
    if (last + lateness_ <= watermark_) {
      // Results referencing the slot are emitted before it is freed.
      auto& slots = slots_of_key_[session.key];
      slots.erase(std::lower_bound(
          slots.begin(), slots.end(), session.start,
          [&](uint32_t s, int64_t start) { return sessions_[s].start < start; }));
      to_free_.push_back(slot);
      return;
    }
    Arm(slot, ClampTime(last + lateness_));
  }

  void Arm(uint32_t slot, int64_t time) { timers_.push({time, slot, generation_[slot]}); }

  // Places a row of `key` at time `t` into a session, merging the sessions it touches;
  // returns the session's slot, or -1 when the row is too late. A key's sessions are
  // disjoint and kept sorted by start (so also by end): the ones intersecting
  // [t, t + gap] are a contiguous run found by binary search.
  Result<int64_t> Assign(uint32_t key, int64_t t) {
    const int64_t end = ClampTime(static_cast<__int128>(t) + gap_);
    auto& slots = slots_of_key_[key];
    // First session whose end reaches t (touching counts, as in Flink).
    auto first = std::lower_bound(
        slots.begin(), slots.end(), t,
        [&](uint32_t s, int64_t time) { return sessions_[s].end < time; });
    auto last = first;
    while (last != slots.end() && sessions_[*last].start <= end) ++last;
    if (first == last) {
      if (static_cast<__int128>(end) - 1 + lateness_ <= watermark_) return -1;
      const uint32_t slot = NewSlot();
      sessions_[slot] = {t, end, key, false};
      slots.insert(first, slot);
      Arm(slot, end - 1);
      MarkUpdated(slot);
      return slot;
    }
    const uint32_t target = *first;
    Session& merged = sessions_[target];
    const int64_t old_end = merged.end;
    merged.start = std::min(merged.start, t);
    merged.end = std::max(merged.end, end);
    for (auto it = first + 1; it != last; ++it) {
      const uint32_t other = *it;
      ARROW_RETURN_NOT_OK(state_->Merge(*state_, &other, &target, 1));
      merged.end = std::max(merged.end, sessions_[other].end);
      merged.fired = merged.fired && sessions_[other].fired;
      forward_[other] = target;
      pending_free_.push_back(other);
    }
    slots.erase(first + 1, last);
    // A session extended past the watermark is a new window that has not fired (as
    // Flink's merged window): it fires when the watermark passes its new end. Its
    // earlier timers (e.g. a fired session's cleanup) are made stale, so that one
    // watermark never examines the slot twice.
    if (merged.end != old_end && static_cast<__int128>(merged.end) - 1 > watermark_) {
      merged.fired = false;
      ++generation_[target];
      Arm(target, merged.end - 1);
    }
    MarkUpdated(target);
    return target;
  }

  // A session already fired and still behind the watermark is emitted again after the
  // batch with its new result (allowed lateness).
  void MarkUpdated(uint32_t slot) {
    if (static_cast<__int128>(sessions_[slot].end) - 1 <= watermark_) {
      updated_.push_back(slot);
    }
  }

  Status EmitUpdates() {
    if (updated_.empty()) return Status::OK();
    for (uint32_t& slot : updated_) slot = Resolve(slot);
    std::sort(updated_.begin(), updated_.end());
    updated_.erase(std::unique(updated_.begin(), updated_.end()), updated_.end());
    results_.clear();
    for (uint32_t slot : updated_) {
      Session& session = sessions_[slot];
      if (static_cast<__int128>(session.end) - 1 > watermark_) continue;
      session.fired = true;
      results_.Add(session.key, slot, session.start, session.end);
    }
    return Emit(*state_, results_);
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
      sessions_.emplace_back();
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

  static constexpr uint32_t kFirstCompactionCheck = 1 << 16;

  const int64_t gap_;
  const int64_t lateness_;
  uint32_t next_compaction_check_ = kFirstCompactionCheck;
  std::unique_ptr<AggregatorSet> state_;
  std::vector<Session> sessions_;                    // by slot
  std::vector<std::vector<uint32_t>> slots_of_key_;  // by key id, sorted by start
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>>
      timers_;
  std::vector<uint32_t> generation_;  // by slot
  std::vector<uint32_t> forward_;     // by slot: where a merged-away slot went
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> pending_free_;
  std::vector<uint32_t> to_free_;
  int64_t live_sessions_ = 0;
  WindowResults results_;
  std::vector<uint32_t> updated_;  // slots to emit again after the batch
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
