#include <arrow/api.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/operators/window/session_window_operator.h"
#include "sabot/runtime/operator_backend.h"
#include "sabot/state/state_codec.h"
#include "sabot/state/state_factory.h"
#include "sabot/state/state_key.h"
#include "sabot/state/timer_state.h"
#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

// One session of a key while a batch or a firing works on it.
struct Session {
  int64_t start = 0;
  int64_t end = 0;  // exclusive
  bool fired = false;
  // The accumulator is in slot `slot` of the working AggregatorSet once a row or a
  // firing needed it (-1: not yet), else still the stored bytes.
  int64_t slot = -1;
  std::string_view stored;
};

// A session's pending timer as it was when its key was read.
struct StoredTimer {
  int64_t start;  // the timer's namespace
  int64_t time;
};

// A key's value: its sessions sorted by start, each as start (i64) | end (i64) |
// fired (u8) | accumulator (u32 length + AggregatorSet::SerializeSlot() bytes).
// The accumulators stay views into `in`.
Status ParseSessions(std::string_view in, std::vector<Session>* sessions) {
  while (!in.empty()) {
    Session session;
    ARROW_ASSIGN_OR_RAISE(session.start, StateCodec<int64_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(session.end, StateCodec<int64_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(uint8_t fired, StateCodec<uint8_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(uint32_t length, StateCodec<uint32_t>::Read(&in));
    if (in.size() < length) return Status::IOError("session state is truncated");
    session.fired = fired != 0;
    session.stored = in.substr(0, length);
    in.remove_prefix(length);
    sessions->push_back(session);
  }
  return Status::OK();
}

// Session windows whose state lives in the keyed state backend (RocksDB), as Flink
// keeps them: every key's sessions with their accumulators are one ValueState entry,
// and every session has one timer in a TimerState (namespace = its start): at its last
// millisecond until it fired, then at the end of its allowed lateness. A batch reads
// its keys' sessions in one MultiGet, places its rows (merging sessions as the
// in-memory operator does), folds them in vectorized and writes the keys back in one
// batch; a watermark pops the due timers in chunks and reads, fires or cleans up their
// keys' sessions. Only one batch or chunk is in memory, so state is bounded by disk.
class StoredSessionWindowOperator : public OperatorWithBackend<KeyedWindowOperator> {
 public:
  explicit StoredSessionWindowOperator(const WindowAggregateOptions& options)
      : OperatorWithBackend(options),
        gap_(options.window().gap_ms),
        lateness_(options.config().allowed_lateness_ms) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(KeyedWindowOperator::Open(context));
    ARROW_RETURN_NOT_OK(backend_.Open(context));
    ARROW_ASSIGN_OR_RAISE(
        encoder_, KeyEncoder::Make(*options_.input_schema(), options_.key_indices(),
                                   MaxParallelism()));
    ARROW_ASSIGN_OR_RAISE(
        sessions_, MakeValueState<std::string>(backend_.get(), {"window.sessions", {}}));
    ARROW_ASSIGN_OR_RAISE(timers_,
                          MakeTimerState(backend_.get(), {"window.session_timers", {}}));
    ARROW_ASSIGN_OR_RAISE(work_, NewAggregatorSet());
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const int64_t num_rows = batch->num_rows();
    if (num_rows == 0) return Status::OK();
    const arrow::ArrayData& times = *batch->column_data(options_.time_index());
    const int64_t* ts = times.GetValues<int64_t>(1);
    ARROW_RETURN_NOT_OK(encoder_->Encode(*batch));
    // The distinct keys of the rows with event time, then their sessions.
    ClearKeys();
    key_of_row_.resize(num_rows);
    for (int64_t i = 0; i < num_rows; ++i) {
      if (times.IsValid(i)) key_of_row_[i] = AddKey(encoder_->key(i));
    }
    ARROW_RETURN_NOT_OK(ReadSessions(/*remember_timers=*/true));

    late_.assign(num_rows, 0);
    slot_of_row_.resize(num_rows);
    int64_t num_late = 0;
    for (int64_t i = 0; i < num_rows; ++i) {
      int64_t slot = -1;
      if (times.IsValid(i)) {
        ARROW_ASSIGN_OR_RAISE(slot, Assign(key_of_row_[i], ts[i]));
      }
      if (slot < 0) {
        late_[i] = 1;
        ++num_late;
        continue;
      }
      slot_of_row_[i] = static_cast<uint32_t>(slot);
    }
    ARROW_RETURN_NOT_OK(RouteLateRows(batch, late_, num_late));
    if (num_late == num_rows) return Status::OK();
    // Rows may point at sessions merged later in the batch: follow the forwarding.
    for (int64_t i = 0; i < num_rows; ++i) {
      if (!late_[i]) slot_of_row_[i] = Resolve(slot_of_row_[i]);
    }
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows, PrepareRows(options_.aggregates(), *batch,
                                                         options_.time_index()));
    if (num_late == 0) {
      ARROW_RETURN_NOT_OK(work_->Consume(rows, slot_of_row_.data()));
    } else {
      arrow::Int32Builder indices;
      kept_slots_.clear();
      for (int64_t i = 0; i < num_rows; ++i) {
        if (late_[i]) continue;
        ARROW_RETURN_NOT_OK(indices.Append(static_cast<int32_t>(i)));
        kept_slots_.push_back(slot_of_row_[i]);
      }
      ARROW_ASSIGN_OR_RAISE(auto selection, indices.Finish());
      ARROW_ASSIGN_OR_RAISE(PreparedRows kept, TakePreparedRows(rows, *selection));
      ARROW_RETURN_NOT_OK(work_->Consume(kept, kept_slots_.data()));
    }
    return FinishBatch();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(std::vector<KeyedTimer> due,
                            timers_->PopDue(watermark_, kFireChunk));
      if (due.empty()) break;
      ARROW_RETURN_NOT_OK(FireTimers(due));
    }
    return output()->EmitWatermark(watermark);
  }

  // Snapshot: version (u8 1) | watermark | backend snapshot (sessions and timers; an
  // incremental RocksDB handle in checkpoints, full in savepoints).
  Result<std::string> SnapshotState(int64_t id) override {
    std::string out;
    out.push_back(1);
    StateCodec<int64_t>::Append(watermark_, &out);
    ARROW_RETURN_NOT_OK(backend_.AppendSnapshot(id, snapshot_for_savepoint(), &out));
    return out;
  }

  // The backend keeps the sessions and timers of its key groups from every snapshot.
  // Subtasks aligned the barrier behind the same watermarks, so min() is the safe merge.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    int64_t watermark = kMaxWatermark;
    for (const std::string& state : states) {
      std::string_view in = state;
      ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(&in));
      if (version != 1) {
        return Status::IOError("session window state version ", static_cast<int>(version),
                               " is not supported");
      }
      ARROW_ASSIGN_OR_RAISE(int64_t old_watermark, StateCodec<int64_t>::Read(&in));
      watermark = std::min(watermark, old_watermark);
      ARROW_RETURN_NOT_OK(backend_.RestoreSnapshot(&in));
      if (!in.empty()) return Status::IOError("session window state has trailing bytes");
    }
    if (!states.empty()) watermark_ = watermark;
    return Status::OK();
  }

  // The backend goes with the run: a RocksDB instance locks its directory until
  // closed, and the job object may outlive its tasks.
  Status Close() override {
    sessions_.reset();
    timers_.reset();
    backend_.Close();
    return Status::OK();
  }

 private:
  static constexpr int64_t kFireChunk = 4096;

  int32_t MaxParallelism() const {
    return context().max_parallelism > 0 ? context().max_parallelism
                                         : kDefaultMaxParallelism;
  }

  // When a session's timer is due: its last millisecond until it fired, then the end
  // of its allowed lateness (when it is cleaned up).
  int64_t TimerTime(const Session& session) const {
    return session.fired ? ClampTime(static_cast<__int128>(session.end) - 1 + lateness_)
                         : session.end - 1;
  }

  void ClearKeys() {
    keys_of_work_.clear();
    index_of_key_.clear();
    next_slot_ = 0;
    forward_.clear();
  }

  // Index of `key` among the keys of the current batch or chunk (the bytes must stay
  // valid until ClearKeys()).
  uint32_t AddKey(const StateKey& key) {
    auto [it, added] =
        index_of_key_.try_emplace(key.bytes, static_cast<uint32_t>(keys_of_work_.size()));
    if (added) keys_of_work_.push_back(key);
    return it->second;
  }

  // Reads the sessions of every key added, in one GetBatch; with `remember_timers`
  // also each session's timer, so that the changes can be applied afterwards.
  Status ReadSessions(bool remember_timers) {
    const int64_t count = static_cast<int64_t>(keys_of_work_.size());
    stored_.assign(count, std::nullopt);
    ARROW_RETURN_NOT_OK(sessions_->GetBatch(keys_of_work_.data(), count, stored_.data()));
    if (sessions_of_key_.size() < static_cast<size_t>(count)) {
      sessions_of_key_.resize(count);
    }
    changed_.assign(count, 0);
    old_timers_.clear();
    timer_offsets_.clear();
    for (int64_t k = 0; k < count; ++k) {
      std::vector<Session>& sessions = sessions_of_key_[k];
      sessions.clear();
      if (stored_[k]) ARROW_RETURN_NOT_OK(ParseSessions(*stored_[k], &sessions));
      if (!remember_timers) continue;
      timer_offsets_.push_back(old_timers_.size());
      for (const Session& session : sessions) {
        old_timers_.push_back({session.start, TimerTime(session)});
      }
    }
    if (remember_timers) timer_offsets_.push_back(old_timers_.size());
    return Status::OK();
  }

  uint32_t NewSlot() {
    const uint32_t slot = next_slot_++;
    if (slot >= work_->num_slots()) work_->Resize(std::max(slot + 1, 2 * slot));
    forward_.push_back(slot);
    return slot;
  }

  // Puts a stored session's accumulator into a slot.
  Status Load(Session* session) {
    if (session->slot >= 0) return Status::OK();
    const uint32_t slot = NewSlot();
    ARROW_RETURN_NOT_OK(work_->DeserializeSlot(slot, session->stored));
    session->slot = slot;
    return Status::OK();
  }

  uint32_t Resolve(uint32_t slot) const {
    while (forward_[slot] != slot) slot = forward_[slot];
    return slot;
  }

  // Places a row of key `k` at time `t` into a session, merging the sessions it
  // touches; returns the session's slot, or -1 when the row is too late. As in the
  // in-memory operator: a key's sessions are disjoint and sorted by start (so also by
  // end), and the ones intersecting [t, t + gap] are a contiguous run.
  Result<int64_t> Assign(uint32_t k, int64_t t) {
    const int64_t end = ClampTime(static_cast<__int128>(t) + gap_);
    std::vector<Session>& sessions = sessions_of_key_[k];
    // First session whose end reaches t (touching counts, as in Flink).
    auto first = std::lower_bound(
        sessions.begin(), sessions.end(), t,
        [](const Session& session, int64_t time) { return session.end < time; });
    auto last = first;
    while (last != sessions.end() && last->start <= end) ++last;
    if (first == last) {
      if (static_cast<__int128>(end) - 1 + lateness_ <= watermark_) return -1;
      const uint32_t slot = NewSlot();
      work_->Reset(&slot, 1);
      sessions.insert(first, Session{t, end, false, slot, {}});
      changed_[k] = 1;
      return slot;
    }
    ARROW_RETURN_NOT_OK(Load(&*first));
    Session& merged = *first;
    const uint32_t target = static_cast<uint32_t>(merged.slot);
    merged.start = std::min(merged.start, t);
    merged.end = std::max(merged.end, end);
    for (auto it = first + 1; it != last; ++it) {
      ARROW_RETURN_NOT_OK(Load(&*it));
      const uint32_t other = static_cast<uint32_t>(it->slot);
      ARROW_RETURN_NOT_OK(work_->Merge(*work_, &other, &target, 1));
      merged.end = std::max(merged.end, it->end);
      forward_[other] = target;
    }
    sessions.erase(first + 1, last);
    changed_[k] = 1;
    return target;
  }

  // After a batch's rows are folded in: a session they touched that is behind the
  // watermark is emitted at once (allowed lateness; a merged session fires again, as
  // in Flink), one ahead of it fires when the watermark reaches its new end. Then the
  // changed keys' timers and sessions are written back.
  Status FinishBatch() {
    results_.clear();
    key_bytes_.clear();
    write_keys_.clear();
    size_t num_values = 0;
    for (size_t k = 0; k < keys_of_work_.size(); ++k) {
      if (!changed_[k]) continue;
      for (Session& session : sessions_of_key_[k]) {
        if (session.slot < 0) continue;
        session.fired = static_cast<__int128>(session.end) - 1 <= watermark_;
        if (!session.fired) continue;
        results_.Add(0, static_cast<uint32_t>(session.slot), session.start, session.end);
        key_bytes_.push_back(keys_of_work_[k].bytes);
      }
      ARROW_RETURN_NOT_OK(UpdateTimers(k));
      if (values_.size() <= num_values) values_.resize(num_values + 1);
      ARROW_RETURN_NOT_OK(AppendSessions(sessions_of_key_[k], &values_[num_values]));
      write_keys_.push_back(keys_of_work_[k]);
      ++num_values;
    }
    ARROW_RETURN_NOT_OK(EmitResults());
    return sessions_->UpdateBatch(
        write_keys_.data(), static_cast<int64_t>(write_keys_.size()), values_.data());
  }

  // Replaces the timers key `k` had when read by the ones its sessions need now (both
  // lists are sorted by start, which is unique among a key's sessions).
  Status UpdateTimers(size_t k) {
    const StateKey& key = keys_of_work_[k];
    const std::vector<Session>& sessions = sessions_of_key_[k];
    size_t old = timer_offsets_[k];
    const size_t old_end = timer_offsets_[k + 1];
    size_t s = 0;
    while (old < old_end || s < sessions.size()) {
      if (s == sessions.size() ||
          (old < old_end && old_timers_[old].start < sessions[s].start)) {
        ARROW_RETURN_NOT_OK(
            timers_->Delete(key, old_timers_[old].time, old_timers_[old].start));
        ++old;
      } else if (old == old_end || sessions[s].start < old_timers_[old].start) {
        ARROW_RETURN_NOT_OK(
            timers_->Register(key, TimerTime(sessions[s]), sessions[s].start));
        ++s;
      } else {
        const int64_t time = TimerTime(sessions[s]);
        if (time != old_timers_[old].time) {
          ARROW_RETURN_NOT_OK(
              timers_->Delete(key, old_timers_[old].time, old_timers_[old].start));
          ARROW_RETURN_NOT_OK(timers_->Register(key, time, sessions[s].start));
        }
        ++old;
        ++s;
      }
    }
    return Status::OK();
  }

  // Encodes a key's sessions (the format ParseSessions() reads) into `out`.
  Status AppendSessions(const std::vector<Session>& sessions, std::string* out) const {
    out->clear();
    for (const Session& session : sessions) {
      StateCodec<int64_t>::Append(session.start, out);
      StateCodec<int64_t>::Append(session.end, out);
      StateCodec<uint8_t>::Append(session.fired ? 1 : 0, out);
      const size_t length_at = out->size();
      out->append(sizeof(uint32_t), '\0');
      if (session.slot >= 0) {
        ARROW_RETURN_NOT_OK(
            work_->SerializeSlot(static_cast<uint32_t>(session.slot), out));
      } else {
        out->append(session.stored);
      }
      const uint32_t length =
          static_cast<uint32_t>(out->size() - length_at - sizeof(uint32_t));
      std::memcpy(out->data() + length_at, &length, sizeof(length));
    }
    return Status::OK();
  }

  // Fires or cleans up the sessions of due timers (timestamp order).
  Status FireTimers(const std::vector<KeyedTimer>& due) {
    ClearKeys();
    key_of_timer_.resize(due.size());
    for (size_t i = 0; i < due.size(); ++i) {
      key_of_timer_[i] = AddKey(due[i].state_key());
    }
    ARROW_RETURN_NOT_OK(ReadSessions(/*remember_timers=*/false));
    results_.clear();
    key_bytes_.clear();
    for (size_t i = 0; i < due.size(); ++i) {
      const KeyedTimer& timer = due[i];
      const uint32_t k = key_of_timer_[i];
      std::vector<Session>& sessions = sessions_of_key_[k];
      auto it = std::lower_bound(
          sessions.begin(), sessions.end(), timer.name_space,
          [](const Session& session, int64_t start) { return session.start < start; });
      // Every session has exactly its one timer (UpdateTimers()), so a timer without
      // its session means the two states disagree.
      if (it == sessions.end() || it->start != timer.name_space ||
          TimerTime(*it) != timer.timestamp) {
        return Status::IOError("session window state is inconsistent: timer at ",
                               timer.timestamp, " for a session starting at ",
                               timer.name_space, " that has no such timer");
      }
      changed_[k] = 1;
      if (!it->fired) {
        ARROW_RETURN_NOT_OK(Load(&*it));
        it->fired = true;
        results_.Add(0, static_cast<uint32_t>(it->slot), it->start, it->end);
        key_bytes_.push_back(keys_of_work_[k].bytes);
      }
      const __int128 cleanup = static_cast<__int128>(it->end) - 1 + lateness_;
      if (cleanup <= watermark_) {
        sessions.erase(it);
      } else {
        ARROW_RETURN_NOT_OK(
            timers_->Register(timer.state_key(), ClampTime(cleanup), it->start));
      }
    }
    ARROW_RETURN_NOT_OK(EmitResults());
    write_keys_.clear();
    size_t num_values = 0;
    for (size_t k = 0; k < keys_of_work_.size(); ++k) {
      if (!changed_[k]) continue;
      if (sessions_of_key_[k].empty()) {
        ARROW_RETURN_NOT_OK(sessions_->Clear(keys_of_work_[k]));
        continue;
      }
      if (values_.size() <= num_values) values_.resize(num_values + 1);
      ARROW_RETURN_NOT_OK(AppendSessions(sessions_of_key_[k], &values_[num_values]));
      write_keys_.push_back(keys_of_work_[k]);
      ++num_values;
    }
    return sessions_->UpdateBatch(
        write_keys_.data(), static_cast<int64_t>(write_keys_.size()), values_.data());
  }

  Status EmitResults() {
    if (results_.empty()) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(
        auto key_columns,
        DecodeKeys(*options_.input_schema(), options_.key_indices(), key_bytes_));
    return EmitWithKeys(std::move(key_columns), *work_, results_);
  }

  const int64_t gap_;
  const int64_t lateness_;
  std::optional<KeyEncoder> encoder_;
  std::unique_ptr<ValueState<std::string>> sessions_;
  std::unique_ptr<TimerState> timers_;
  std::unique_ptr<AggregatorSet>
      work_;  // accumulators of the batch's or chunk's sessions
  // Reused per batch or chunk of timers.
  std::vector<StateKey> keys_of_work_;
  std::unordered_map<std::string_view, uint32_t> index_of_key_;
  std::vector<std::optional<std::string>> stored_;  // the keys' values, as read
  std::vector<std::vector<Session>> sessions_of_key_;
  std::vector<uint8_t> changed_;  // by key
  std::vector<StoredTimer> old_timers_;
  std::vector<size_t> timer_offsets_;  // by key: its range of old_timers_
  uint32_t next_slot_ = 0;
  std::vector<uint32_t> forward_;  // by slot: where a merged-away session's slot went
  std::vector<uint32_t> key_of_row_;
  std::vector<uint32_t> key_of_timer_;
  std::vector<uint8_t> late_;
  std::vector<uint32_t> slot_of_row_;
  std::vector<uint32_t> kept_slots_;
  WindowResults results_;
  std::vector<std::string_view> key_bytes_;  // by result
  std::vector<StateKey> write_keys_;
  std::vector<std::string> values_;
};

}  // namespace

std::unique_ptr<Operator> MakeStoredSessionWindowOperator(
    const WindowAggregateOptions& options) {
  return std::make_unique<StoredSessionWindowOperator>(options);
}

}  // namespace sabot
