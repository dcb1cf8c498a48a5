#include <arrow/api.h>

#include <cstring>
#include <deque>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sabot/operators/window/count_window_operator.h"
#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/operator_backend.h"
#include "sabot/state/state_codec.h"
#include "sabot/state/state_factory.h"
#include "sabot/state/state_key.h"
#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

constexpr uint8_t kStoredCountWindowVersion = 1;

// A length-prefixed (uint32) byte string from the front of `in`, as
// StateCodec<std::string> writes it, without copying.
Result<std::string_view> ReadBytes(std::string_view* in) {
  ARROW_ASSIGN_OR_RAISE(uint32_t length, StateCodec<uint32_t>::Read(in));
  if (in->size() < length) return Status::IOError("count window state is truncated");
  const std::string_view bytes = in->substr(0, length);
  in->remove_prefix(length);
  return bytes;
}

// Count windows and global windows with a count trigger whose state lives in the keyed
// state backend (RocksDB): each key's rows so far and the accumulators of its current
// panes are one ValueState entry. A batch groups its rows by key, reads the entries of
// its keys in one MultiGet into slots of an AggregatorSet, folds its rows in
// vectorized, replays the pane completions in row order exactly as the in-memory
// operator (CountWindowOperator) does, and writes the entries back in one batch. Only
// one batch's keys are in memory at a time.
//
// Entry of a key, little-endian (StateCodec):
//   int64    rows of the key so far
//   uint8    flags (1: open pane, 2: cumulative slot)
//   bytes    the open pane if flag 1, then the cumulative slot if flag 2
//   uint32   number of completed panes M of the sliding window, then M x bytes, oldest
//            first
// where bytes is a uint32 length followed by AggregatorSet::SerializeSlot (with the
// event-time span of the slot's rows).
class StoredCountWindowOperator : public OperatorWithBackend<KeyedWindowOperator> {
 public:
  explicit StoredCountWindowOperator(const WindowAggregateOptions& options)
      : OperatorWithBackend(options) {
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
    ARROW_RETURN_NOT_OK(backend_.Open(context));
    const int32_t max_parallelism =
        context.max_parallelism > 0 ? context.max_parallelism : kDefaultMaxParallelism;
    ARROW_ASSIGN_OR_RAISE(
        encoder_, KeyEncoder::Make(*options_.input_schema(), options_.key_indices(),
                                   max_parallelism));
    ARROW_ASSIGN_OR_RAISE(
        entries_, MakeValueState<std::string>(backend_.get(), {"count_window.keys", {}}));
    ARROW_ASSIGN_OR_RAISE(work_, NewAggregatorSet(/*track_time_span=*/true));
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

    // The batch's keys (batch-local ids in order of first row) and their entries.
    ARROW_RETURN_NOT_OK(encoder_->Encode(*batch));
    batch_keys_.clear();
    key_of_bytes_.clear();
    key_of_row_.resize(num_rows);
    for (int64_t i = 0; i < num_rows; ++i) {
      if (late_[i]) continue;
      const StateKey key = encoder_->key(i);
      auto [it, added] =
          key_of_bytes_.try_emplace(key.bytes, static_cast<uint32_t>(batch_keys_.size()));
      if (added) batch_keys_.push_back(key);
      key_of_row_[i] = it->second;
    }
    const int64_t num_keys = static_cast<int64_t>(batch_keys_.size());
    stored_.assign(num_keys, std::nullopt);
    ARROW_RETURN_NOT_OK(entries_->GetBatch(batch_keys_.data(), num_keys, stored_.data()));
    keys_state_.assign(num_keys, KeyState{});
    for (int64_t k = 0; k < num_keys; ++k) {
      if (stored_[k]) ARROW_RETURN_NOT_OK(LoadKey(*stored_[k], &keys_state_[k]));
    }

    // As CountWindowOperator: rows go to their key's open pane; a pane that fills up
    // is a completion event, replayed in row order once the batch is folded in.
    slot_of_row_.clear();
    events_.clear();
    arrow::Int32Builder kept;
    for (int64_t i = 0; i < num_rows; ++i) {
      if (late_[i]) continue;
      if (num_rejected > 0) ARROW_RETURN_NOT_OK(kept.Append(static_cast<int32_t>(i)));
      KeyState& key = keys_state_[key_of_row_[i]];
      if (!key.has_pane) {
        key.pane = NewSlot();
        key.has_pane = true;
      }
      slot_of_row_.push_back(key.pane);
      ++key.rows;
      if (key.rows % pane_rows_ == 0) {
        events_.push_back({key_of_row_[i], key.pane, key.rows});
        key.has_pane = false;
      }
    }
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows,
                          PrepareRows(options_.aggregates(), *batch, time_index));
    if (num_rejected > 0) {
      ARROW_ASSIGN_OR_RAISE(auto selection, kept.Finish());
      ARROW_ASSIGN_OR_RAISE(rows, TakePreparedRows(rows, *selection));
    }
    ARROW_RETURN_NOT_OK(work_->Consume(rows, slot_of_row_.data()));
    ARROW_RETURN_NOT_OK(ReplayEvents());

    values_.resize(num_keys);
    for (int64_t k = 0; k < num_keys; ++k) {
      values_[k].clear();
      ARROW_RETURN_NOT_OK(StoreKey(keys_state_[k], &values_[k]));
    }
    return entries_->UpdateBatch(batch_keys_.data(), num_keys, values_.data());
  }

  // Snapshot: version (u8 1) | backend snapshot (an incremental RocksDB handle in
  // checkpoints, full in savepoints). Count windows do not depend on event time, so no
  // watermark is kept.
  Result<std::string> SnapshotState(int64_t id) override {
    std::string out;
    StateCodec<uint8_t>::Append(kStoredCountWindowVersion, &out);
    ARROW_RETURN_NOT_OK(backend_.AppendSnapshot(id, snapshot_for_savepoint(), &out));
    return out;
  }

  // The backend keeps the entries of its key groups from every snapshot.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    for (const std::string& state : states) {
      std::string_view in = state;
      ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(&in));
      if (version != kStoredCountWindowVersion) {
        return Status::IOError("count window state version ", static_cast<int>(version),
                               " is not supported");
      }
      ARROW_RETURN_NOT_OK(backend_.RestoreSnapshot(&in));
      if (!in.empty()) return Status::IOError("count window state has trailing bytes");
    }
    return Status::OK();
  }

  // The backend goes with the run: a RocksDB instance locks its directory until
  // closed, and the job object may outlive its tasks.
  Status Close() override {
    entries_.reset();
    backend_.Close();
    return Status::OK();
  }

 private:
  static constexpr uint8_t kHasPane = 1;
  static constexpr uint8_t kHasCumulative = 2;

  // A key of the batch, its slots in work_ while the batch is processed.
  struct KeyState {
    uint32_t pane = 0;
    bool has_pane = false;
    int64_t rows = 0;
    std::deque<uint32_t> panes;  // completed panes of the current sliding window
    uint32_t cumulative = 0;
    bool has_cumulative = false;
  };
  struct Event {
    uint32_t key;  // batch-local key id
    uint32_t pane;
    int64_t rows;  // the key's row count when the pane filled up
  };

  Status LoadKey(std::string_view in, KeyState* key) {
    ARROW_ASSIGN_OR_RAISE(key->rows, StateCodec<int64_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(uint8_t flags, StateCodec<uint8_t>::Read(&in));
    if (flags & kHasPane) {
      ARROW_ASSIGN_OR_RAISE(key->pane, LoadSlot(&in));
      key->has_pane = true;
    }
    if (flags & kHasCumulative) {
      ARROW_ASSIGN_OR_RAISE(key->cumulative, LoadSlot(&in));
      key->has_cumulative = true;
    }
    ARROW_ASSIGN_OR_RAISE(uint32_t num_panes, StateCodec<uint32_t>::Read(&in));
    for (uint32_t p = 0; p < num_panes; ++p) {
      ARROW_ASSIGN_OR_RAISE(uint32_t pane, LoadSlot(&in));
      key->panes.push_back(pane);
    }
    if (!in.empty()) return Status::IOError("count window state has trailing bytes");
    return Status::OK();
  }

  Result<uint32_t> LoadSlot(std::string_view* in) {
    ARROW_ASSIGN_OR_RAISE(std::string_view bytes, ReadBytes(in));
    const uint32_t slot = NewSlot();
    ARROW_RETURN_NOT_OK(work_->DeserializeSlot(slot, bytes));
    return slot;
  }

  // Writes the entry of `key` and frees its slots.
  Status StoreKey(const KeyState& key, std::string* out) {
    StateCodec<int64_t>::Append(key.rows, out);
    StateCodec<uint8_t>::Append(
        static_cast<uint8_t>((key.has_pane ? kHasPane : 0) |
                             (key.has_cumulative ? kHasCumulative : 0)),
        out);
    if (key.has_pane) ARROW_RETURN_NOT_OK(StoreSlot(key.pane, out));
    if (key.has_cumulative) ARROW_RETURN_NOT_OK(StoreSlot(key.cumulative, out));
    StateCodec<uint32_t>::Append(static_cast<uint32_t>(key.panes.size()), out);
    for (uint32_t pane : key.panes) ARROW_RETURN_NOT_OK(StoreSlot(pane, out));
    return Status::OK();
  }

  // Appends `slot` as bytes (length first, patched in to save a copy) and frees it.
  Status StoreSlot(uint32_t slot, std::string* out) {
    const size_t at = out->size();
    StateCodec<uint32_t>::Append(0, out);
    ARROW_RETURN_NOT_OK(work_->SerializeSlot(slot, out));
    const auto length = static_cast<uint32_t>(out->size() - at - sizeof(uint32_t));
    std::memcpy(out->data() + at, &length, sizeof(length));
    FreeSlot(slot);
    return Status::OK();
  }

  // CountWindowOperator::ReplayEvents on the batch's keys.
  Status ReplayEvents() {
    results_.clear();
    result_keys_.clear();
    to_free_.clear();
    results_.has_bounds = options_.time_index() >= 0;
    for (const Event& event : events_) {
      KeyState& key = keys_state_[event.key];
      if (cumulative_) {
        if (!key.has_cumulative) {
          key.cumulative = NewSlot();
          key.has_cumulative = true;
        }
        ARROW_RETURN_NOT_OK(work_->Merge(*work_, &event.pane, &key.cumulative, 1));
        to_free_.push_back(event.pane);
        // A copy, so that later rows of the batch do not change the result.
        const uint32_t copy = NewSlot();
        ARROW_RETURN_NOT_OK(work_->Merge(*work_, &key.cumulative, &copy, 1));
        AddResult(event.key, copy);
        to_free_.push_back(copy);
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
        ARROW_RETURN_NOT_OK(work_->Merge(*work_, &pane, &window, 1));
      }
      AddResult(event.key, window);
      to_free_.push_back(window);
    }
    if (!results_.empty()) {
      ARROW_ASSIGN_OR_RAISE(
          auto key_columns,
          DecodeKeys(*options_.input_schema(), options_.key_indices(), result_keys_));
      ARROW_RETURN_NOT_OK(EmitWithKeys(std::move(key_columns), *work_, results_));
    }
    for (uint32_t slot : to_free_) FreeSlot(slot);
    return Status::OK();
  }

  void AddResult(uint32_t key, uint32_t slot) {
    const bool bounds = results_.has_bounds;
    results_.Add(key, slot, bounds ? work_->min_time(slot) : 0,
                 bounds ? work_->max_time(slot) + 1 : 0);
    result_keys_.push_back(batch_keys_[key].bytes);
  }

  // Slots of work_ are taken while a batch is processed and all free between batches.
  uint32_t NewSlot() {
    if (!free_slots_.empty()) {
      const uint32_t slot = free_slots_.back();
      free_slots_.pop_back();
      return slot;
    }
    const uint32_t slot = work_->num_slots();
    work_->Resize(slot + 1);
    return slot;
  }

  void FreeSlot(uint32_t slot) {
    work_->Reset(&slot, 1);
    free_slots_.push_back(slot);
  }

  int64_t size_ = 0;
  int64_t slide_ = 0;
  int64_t pane_rows_ = 0;
  int64_t panes_per_window_ = 0;
  bool cumulative_ = false;
  std::optional<KeyEncoder> encoder_;
  std::unique_ptr<ValueState<std::string>> entries_;
  std::unique_ptr<AggregatorSet> work_;
  std::vector<uint32_t> free_slots_;
  // Reused per batch.
  std::vector<uint8_t> late_;
  std::vector<StateKey> batch_keys_;
  std::unordered_map<std::string_view, uint32_t> key_of_bytes_;
  std::vector<uint32_t> key_of_row_;
  std::vector<std::optional<std::string>> stored_;
  std::vector<KeyState> keys_state_;
  std::vector<std::string> values_;
  std::vector<uint32_t> slot_of_row_;
  std::vector<Event> events_;
  WindowResults results_;
  std::vector<std::string_view> result_keys_;
  std::vector<uint32_t> to_free_;
};

}  // namespace

std::unique_ptr<Operator> MakeStoredCountWindowOperator(
    const WindowAggregateOptions& options) {
  return std::make_unique<StoredCountWindowOperator>(options);
}

}  // namespace sabot
