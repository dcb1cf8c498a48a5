#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/operators/window/pane_layout.h"
#include "sabot/operators/window/pane_window_operator.h"
#include "sabot/runtime/operator_backend.h"
#include "sabot/state/state_codec.h"
#include "sabot/state/state_factory.h"
#include "sabot/state/state_key.h"
#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

// Big-endian with the sign bit flipped, so that byte order is numeric order.
void AppendPane(int64_t pane, std::string* out) {
  const uint64_t bits = static_cast<uint64_t>(pane) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((bits >> shift) & 0xff));
  }
}

// Keys of one batch or one firing, with the bytes they point into.
struct KeyList {
  std::vector<StateKey> keys;
  std::vector<std::string> owned;  // backing bytes when the keys are not the batch's
};

// (key, pane) accumulator keys and the bytes they point into.
class EntryKeys {
 public:
  void Clear(size_t expected_bytes) {
    bytes_.clear();
    bytes_.reserve(expected_bytes);
    offsets_.clear();
    groups_.clear();
  }
  void Add(const StateKey& key, int64_t pane) {
    offsets_.push_back(bytes_.size());
    bytes_.append(key.bytes);
    AppendPane(pane, &bytes_);
    groups_.push_back(key.key_group);
  }
  // Valid until the next Add or Clear.
  const std::vector<StateKey>& Finish() {
    keys_.resize(offsets_.size());
    for (size_t i = 0; i < offsets_.size(); ++i) {
      const size_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : bytes_.size();
      keys_[i] = {groups_[i],
                  std::string_view(bytes_).substr(offsets_[i], end - offsets_[i])};
    }
    return keys_;
  }

 private:
  std::string bytes_;
  std::vector<size_t> offsets_;
  std::vector<int32_t> groups_;
  std::vector<StateKey> keys_;
};

// Tumbling and sliding windows whose state lives in the keyed state backend (RocksDB):
// the accumulator of every (key, pane) is one ValueState entry keyed by the key's
// bytes followed by the pane, and every pane has an index of the keys it holds (a
// MapState entry per key of that pane's key group). A batch reads the accumulators it
// touches in one MultiGet, folds its rows in vectorized, and writes them back in one
// batch; a firing window reads the index of its panes one key group at a time, merges
// the keys' pane accumulators and emits. What stays in memory is the set of panes
// with data and one batch or key group at a time, so state is bounded by disk.
class StoredPaneWindowOperator : public OperatorWithBackend<KeyedWindowOperator> {
 public:
  explicit StoredPaneWindowOperator(const WindowAggregateOptions& options)
      : OperatorWithBackend(options),
        layout_(options.window(), options.config().allowed_lateness_ms) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(KeyedWindowOperator::Open(context));
    ARROW_RETURN_NOT_OK(backend_.Open(context));
    ARROW_ASSIGN_OR_RAISE(
        encoder_, KeyEncoder::Make(*options_.input_schema(), options_.key_indices(),
                                   MaxParallelism()));
    ARROW_ASSIGN_OR_RAISE(
        accumulators_,
        MakeValueState<std::string>(backend_.get(), {"window.accumulators", {}}));
    ARROW_ASSIGN_OR_RAISE(pane_keys_, (MakeMapState<int64_t, std::string>(
                                          backend_.get(), {"window.pane_keys", {}})));
    ARROW_ASSIGN_OR_RAISE(work_, NewAggregatorSet());
    ARROW_ASSIGN_OR_RAISE(load_, NewAggregatorSet());
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const int64_t num_rows = batch->num_rows();
    if (num_rows == 0) return Status::OK();
    AssignPanes(layout_, *batch->column_data(options_.time_index()), thresholds_, &rows_);
    ARROW_RETURN_NOT_OK(RouteLateRows(batch, rows_.late, rows_.num_late));
    if (rows_.num_late == num_rows) return Status::OK();

    ARROW_RETURN_NOT_OK(encoder_->Encode(*batch));
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows, PrepareRows(options_.aggregates(), *batch,
                                                         options_.time_index()));
    // The (key, pane) entry bytes of every on-time row, then the batch's distinct
    // entries (views into the finished buffer, so it must not grow meanwhile).
    on_time_rows_.clear();
    row_offsets_.clear();
    row_bytes_.clear();
    for (int64_t i = 0; i < num_rows; ++i) {
      if (rows_.late[i]) continue;
      on_time_rows_.push_back(i);
      row_offsets_.push_back(row_bytes_.size());
      row_bytes_.append(encoder_->key(i).bytes);
      AppendPane(rows_.pane_of_row[i], &row_bytes_);
    }
    row_offsets_.push_back(row_bytes_.size());
    entry_keys_.clear();
    entry_panes_.clear();
    entry_of_row_.resize(on_time_rows_.size());
    entry_of_bytes_.clear();
    for (size_t r = 0; r < on_time_rows_.size(); ++r) {
      const std::string_view bytes =
          std::string_view(row_bytes_)
              .substr(row_offsets_[r], row_offsets_[r + 1] - row_offsets_[r]);
      auto [it, added] =
          entry_of_bytes_.try_emplace(bytes, static_cast<uint32_t>(entry_keys_.size()));
      if (added) {
        const int64_t row = on_time_rows_[r];
        entry_keys_.push_back({encoder_->key(row).key_group, bytes});
        entry_panes_.push_back(rows_.pane_of_row[row]);
      }
      entry_of_row_[r] = it->second;
    }
    ARROW_RETURN_NOT_OK(FoldIntoEntries(rows, num_rows));
    if (rows_.any_update) ARROW_RETURN_NOT_OK(EmitLateUpdates());
    return Status::OK();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    thresholds_ = layout_.ThresholdsAt(watermark_);
    ARROW_RETURN_NOT_OK(layout_.FireDueWindows(
        watermark_, &next_window_,
        [&](int64_t from) -> std::optional<int64_t> {
          auto it = panes_.lower_bound(from);
          if (it == panes_.end()) return std::nullopt;
          return *it;
        },
        [&](int64_t start) { return Fire(start); }));
    ARROW_RETURN_NOT_OK(DropExpiredPanes());
    return output()->EmitWatermark(watermark);
  }

  // Snapshot: version (u8 1) | watermark | next window | next index chunk id | panes
  // with data | backend snapshot (an incremental RocksDB handle in checkpoints, full in
  // savepoints).
  Result<std::string> SnapshotState(int64_t id) override {
    std::string out;
    out.push_back(1);
    StateCodec<int64_t>::Append(watermark_, &out);
    StateCodec<int64_t>::Append(next_window_, &out);
    StateCodec<int64_t>::Append(next_chunk_, &out);
    StateCodec<std::vector<int64_t>>::Append({panes_.begin(), panes_.end()}, &out);
    ARROW_RETURN_NOT_OK(backend_.AppendSnapshot(id, snapshot_for_savepoint(), &out));
    return out;
  }

  // The backend keeps the entries of its key groups from every snapshot. Subtasks
  // aligned the barrier behind the same watermarks, so min() of watermark and next
  // window is the safe merge; panes are a union (a pane without keys here costs one
  // empty index scan when it fires). Old subtasks own disjoint key groups, so their
  // index chunk ids cannot collide; new chunks number from the largest.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    int64_t watermark = kMaxWatermark;
    int64_t next_window = kMaxWatermark;
    for (const std::string& state : states) {
      std::string_view in = state;
      ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(&in));
      if (version != 1) {
        return Status::IOError("window state version ", static_cast<int>(version),
                               " is not supported");
      }
      ARROW_ASSIGN_OR_RAISE(int64_t old_watermark, StateCodec<int64_t>::Read(&in));
      ARROW_ASSIGN_OR_RAISE(int64_t old_next, StateCodec<int64_t>::Read(&in));
      watermark = std::min(watermark, old_watermark);
      next_window = std::min(next_window, old_next);
      ARROW_ASSIGN_OR_RAISE(int64_t next_chunk, StateCodec<int64_t>::Read(&in));
      next_chunk_ = std::max(next_chunk_, next_chunk);
      ARROW_ASSIGN_OR_RAISE(auto panes, StateCodec<std::vector<int64_t>>::Read(&in));
      panes_.insert(panes.begin(), panes.end());
      ARROW_RETURN_NOT_OK(backend_.RestoreSnapshot(&in));
      if (!in.empty()) return Status::IOError("window state has trailing bytes");
    }
    if (states.empty()) return Status::OK();
    watermark_ = watermark;
    next_window_ = next_window;
    thresholds_ = layout_.ThresholdsAt(watermark_);
    return Status::OK();
  }

  // The backend goes with the run: a RocksDB instance locks its directory until
  // closed, and the job object may outlive its tasks.
  Status Close() override {
    accumulators_.reset();
    pane_keys_.reset();
    backend_.Close();
    return Status::OK();
  }

 private:
  static constexpr size_t kFireChunk = 4096;

  int32_t MaxParallelism() const {
    return context().max_parallelism > 0 ? context().max_parallelism
                                         : kDefaultMaxParallelism;
  }

  // Reads the batch's entries, folds the on-time rows in, writes them back; entries
  // that are new are added to their pane's key index.
  Status FoldIntoEntries(const PreparedRows& all_rows, int64_t num_rows) {
    const std::vector<StateKey>& keys = entry_keys_;
    const int64_t count = static_cast<int64_t>(keys.size());
    stored_.assign(count, std::nullopt);
    ARROW_RETURN_NOT_OK(accumulators_->GetBatch(keys.data(), count, stored_.data()));
    work_->Resize(static_cast<uint32_t>(count));
    slots_.resize(count);
    std::iota(slots_.begin(), slots_.end(), 0u);
    work_->Reset(slots_.data(), count);
    new_entries_.clear();
    for (int64_t e = 0; e < count; ++e) {
      if (stored_[e]) {
        ARROW_RETURN_NOT_OK(
            work_->DeserializeSlot(static_cast<uint32_t>(e), *stored_[e]));
      } else {
        panes_.insert(entry_panes_[e]);
        new_entries_.push_back(e);
      }
    }
    ARROW_RETURN_NOT_OK(IndexNewEntries());
    if (static_cast<int64_t>(on_time_rows_.size()) == num_rows) {
      ARROW_RETURN_NOT_OK(work_->Consume(all_rows, entry_of_row_.data()));
    } else {
      arrow::Int64Builder indices;
      ARROW_RETURN_NOT_OK(indices.AppendValues(on_time_rows_));
      ARROW_ASSIGN_OR_RAISE(auto index_array, indices.Finish());
      ARROW_ASSIGN_OR_RAISE(PreparedRows rows, TakePreparedRows(all_rows, *index_array));
      ARROW_RETURN_NOT_OK(work_->Consume(rows, entry_of_row_.data()));
    }
    values_.resize(count);
    for (int64_t e = 0; e < count; ++e) {
      values_[e].clear();
      ARROW_RETURN_NOT_OK(work_->SerializeSlot(static_cast<uint32_t>(e), &values_[e]));
    }
    return accumulators_->UpdateBatch(keys.data(), count, values_.data());
  }

  // Adds the batch's new (key, pane) entries to their panes' key indices: one chunk
  // of packed keys per (key group, pane), all in one write. A chunk per batch rather
  // than an entry per key makes the index cost a few writes per batch (an entry per key
  // was most of the operator's time with many keys).
  Status IndexNewEntries() {
    if (new_entries_.empty()) return Status::OK();
    std::map<std::pair<int32_t, int64_t>, std::string> chunks;
    for (int64_t e : new_entries_) {
      const StateKey& entry = entry_keys_[e];
      StateCodec<std::string>::Append(
          std::string(entry.bytes.substr(0, entry.bytes.size() - sizeof(int64_t))),
          &chunks[{entry.key_group, entry_panes_[e]}]);
    }
    const size_t count = chunks.size();
    std::vector<std::string> panes(count);
    std::vector<StateKey> index_keys(count);
    std::vector<int64_t> ids(count, next_chunk_++);
    std::vector<std::string> packed(count);
    size_t n = 0;
    for (auto& [group_pane, keys] : chunks) {
      AppendPane(group_pane.second, &panes[n]);
      index_keys[n] = {group_pane.first, panes[n]};
      packed[n] = std::move(keys);
      ++n;
    }
    return pane_keys_->PutBatch(index_keys.data(), ids.data(), packed.data(),
                                static_cast<int64_t>(count));
  }

  // The keys of `pane` in key group `group`, appended to `keys`.
  Status ReadPaneKeys(int32_t group, int64_t pane, std::vector<std::string>* keys) {
    pane_bytes_.clear();
    AppendPane(pane, &pane_bytes_);
    ARROW_ASSIGN_OR_RAISE(auto chunks, pane_keys_->Entries({group, pane_bytes_}));
    for (const auto& chunk : chunks) {
      std::string_view in = chunk.second;
      while (!in.empty()) {
        ARROW_ASSIGN_OR_RAISE(std::string key, StateCodec<std::string>::Read(&in));
        keys->push_back(std::move(key));
      }
    }
    return Status::OK();
  }

  // Late rows within allowed lateness changed windows that already fired: emit each
  // such window's new result for the keys that changed (as the in-memory operator).
  Status EmitLateUpdates() {
    std::map<int64_t, std::vector<uint32_t>> entries_of_window;
    for (size_t r = 0; r < on_time_rows_.size(); ++r) {
      const int64_t pane = rows_.pane_of_row[on_time_rows_[r]];
      if (pane >= thresholds_.first_unfired) continue;
      layout_.ForEachUpdatableWindow(pane, watermark_, [&](int64_t start) {
        entries_of_window[start].push_back(entry_of_row_[r]);
      });
    }
    const std::vector<StateKey>& entries = entry_keys_;
    for (auto& [start, list] : entries_of_window) {
      KeyList keys;
      std::unordered_set<std::string_view> seen;
      for (uint32_t e : list) {
        const StateKey& entry = entries[e];
        const std::string_view key_bytes =
            entry.bytes.substr(0, entry.bytes.size() - sizeof(int64_t));
        if (seen.insert(key_bytes).second)
          keys.keys.push_back({entry.key_group, key_bytes});
      }
      ARROW_RETURN_NOT_OK(EmitWindow(start, keys.keys));
    }
    return Status::OK();
  }

  // Panes with data in the window starting at pane `start`.
  std::vector<int64_t> PanesOfWindow(int64_t start) const {
    const __int128 end = static_cast<__int128>(start) + layout_.panes_per_window();
    std::vector<int64_t> panes;
    for (auto it = panes_.lower_bound(start); it != panes_.end() && *it < end; ++it) {
      panes.push_back(*it);
    }
    return panes;
  }

  // Emits the window starting at pane `start`, one key group at a time.
  Status Fire(int64_t start) {
    const std::vector<int64_t> panes = PanesOfWindow(start);
    const KeyGroupRange& range = backend_->range();
    for (int32_t group = range.first; group <= range.last; ++group) {
      KeyList keys;
      for (int64_t pane : panes)
        ARROW_RETURN_NOT_OK(ReadPaneKeys(group, pane, &keys.owned));
      // Sorted keys make the output order deterministic across runs and backends; a
      // key in several panes of the window is emitted once.
      std::sort(keys.owned.begin(), keys.owned.end());
      keys.owned.erase(std::unique(keys.owned.begin(), keys.owned.end()),
                       keys.owned.end());
      for (const std::string& bytes : keys.owned) keys.keys.push_back({group, bytes});
      ARROW_RETURN_NOT_OK(EmitWindow(start, keys.keys));
    }
    return Status::OK();
  }

  // Emits the result of window `start` for `keys`, in chunks: reads each key's pane
  // accumulators, merges them per key and finishes.
  Status EmitWindow(int64_t start, const std::vector<StateKey>& keys) {
    const std::vector<int64_t> panes = PanesOfWindow(start);
    const size_t num_panes = panes.size();
    for (size_t first = 0; first < keys.size(); first += kFireChunk) {
      const size_t count = std::min(kFireChunk, keys.size() - first);
      lookups_.Clear(count * (keys[first].bytes.size() + 16) * num_panes);
      for (size_t k = 0; k < count; ++k) {
        for (int64_t pane : panes) lookups_.Add(keys[first + k], pane);
      }
      const std::vector<StateKey>& lookup_keys = lookups_.Finish();
      const int64_t num_lookups = static_cast<int64_t>(lookup_keys.size());
      stored_.assign(num_lookups, std::nullopt);
      ARROW_RETURN_NOT_OK(
          accumulators_->GetBatch(lookup_keys.data(), num_lookups, stored_.data()));
      load_->Resize(static_cast<uint32_t>(num_lookups));
      work_->Resize(static_cast<uint32_t>(count));
      slots_.resize(count);
      std::iota(slots_.begin(), slots_.end(), 0u);
      work_->Reset(slots_.data(), static_cast<int64_t>(count));
      from_slots_.clear();
      to_slots_.clear();
      for (int64_t l = 0; l < num_lookups; ++l) {
        if (!stored_[l]) continue;
        ARROW_RETURN_NOT_OK(
            load_->DeserializeSlot(static_cast<uint32_t>(l), *stored_[l]));
        from_slots_.push_back(static_cast<uint32_t>(l));
        to_slots_.push_back(static_cast<uint32_t>(l / num_panes));
      }
      ARROW_RETURN_NOT_OK(work_->Merge(*load_, from_slots_.data(), to_slots_.data(),
                                       static_cast<int64_t>(from_slots_.size())));
      results_.clear();
      key_bytes_.clear();
      for (size_t k = 0; k < count; ++k) {
        if (work_->rows(static_cast<uint32_t>(k)) == 0) continue;
        results_.Add(static_cast<uint32_t>(k), static_cast<uint32_t>(k),
                     layout_.Start(start), layout_.End(start));
        key_bytes_.push_back(keys[first + k].bytes);
      }
      if (results_.empty()) continue;
      ARROW_ASSIGN_OR_RAISE(
          auto key_columns,
          DecodeKeys(*options_.input_schema(), options_.key_indices(), key_bytes_));
      ARROW_RETURN_NOT_OK(EmitWithKeys(std::move(key_columns), *work_, results_));
    }
    return Status::OK();
  }

  // Panes whose every window is past allowed lateness go, with their index.
  Status DropExpiredPanes() {
    const KeyGroupRange& range = backend_->range();
    while (!panes_.empty() && *panes_.begin() < thresholds_.first_live &&
           *panes_.begin() < next_window_) {
      const int64_t pane = *panes_.begin();
      pane_bytes_.clear();
      AppendPane(pane, &pane_bytes_);
      for (int32_t group = range.first; group <= range.last; ++group) {
        std::vector<std::string> keys;
        ARROW_RETURN_NOT_OK(ReadPaneKeys(group, pane, &keys));
        if (keys.empty()) continue;
        lookups_.Clear(keys.size() * (keys[0].size() + 16));
        for (const std::string& key : keys) lookups_.Add({group, key}, pane);
        for (const StateKey& key : lookups_.Finish()) {
          ARROW_RETURN_NOT_OK(accumulators_->Clear(key));
        }
        pane_bytes_.clear();
        AppendPane(pane, &pane_bytes_);
        ARROW_RETURN_NOT_OK(pane_keys_->Clear({group, pane_bytes_}));
      }
      panes_.erase(panes_.begin());
    }
    return Status::OK();
  }

  const PaneLayout layout_;
  PaneLayout::Thresholds thresholds_;
  int64_t next_window_ = kMinWatermark;  // first window start not fired yet
  std::set<int64_t> panes_;              // panes with data
  std::optional<KeyEncoder> encoder_;
  std::unique_ptr<ValueState<std::string>> accumulators_;
  // Per (key group, pane): chunks of that pane's keys, one per batch that added keys,
  // under a sequence number unique within the operator.
  std::unique_ptr<MapState<int64_t, std::string>> pane_keys_;
  int64_t next_chunk_ = 0;
  std::unique_ptr<AggregatorSet> work_;
  std::unique_ptr<AggregatorSet> load_;
  // Reused per batch or firing.
  PaneAssignment rows_;
  std::string row_bytes_;
  std::vector<size_t> row_offsets_;
  std::unordered_map<std::string_view, uint32_t> entry_of_bytes_;
  std::vector<StateKey> entry_keys_;
  std::vector<int64_t> entry_panes_;
  std::vector<uint32_t> entry_of_row_;
  std::vector<int64_t> on_time_rows_;
  std::vector<int64_t> new_entries_;
  EntryKeys lookups_;
  std::vector<std::optional<std::string>> stored_;
  std::vector<std::string> values_;
  std::vector<uint32_t> slots_;
  std::vector<uint32_t> from_slots_;
  std::vector<uint32_t> to_slots_;
  std::vector<std::string_view> key_bytes_;
  std::string pane_bytes_;
  WindowResults results_;
};

}  // namespace

std::unique_ptr<Operator> MakeStoredPaneWindowOperator(
    const WindowAggregateOptions& options) {
  return std::make_unique<StoredPaneWindowOperator>(options);
}

}  // namespace sabot
