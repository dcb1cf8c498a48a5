#include "sabot/operators/window/pane_window_operator.h"

#include <arrow/api.h>

#include <algorithm>
#include <map>
#include <optional>

#include "sabot/operators/aggregate/key_redistribution.h"
#include "sabot/operators/aggregate/keyed_aggregates.h"
#include "sabot/operators/window/keyed_window_operator.h"
#include "sabot/operators/window/pane_layout.h"
#include "sabot/state/state_codec.h"

namespace sabot {
namespace {

constexpr int64_t kNoBlock = kMinWatermark;

class PaneWindowOperator : public KeyedWindowOperator {
 public:
  explicit PaneWindowOperator(const WindowAggregateOptions& options)
      : KeyedWindowOperator(options),
        layout_(options.window(), options.config().allowed_lateness_ms),
        panes_per_window_(layout_.panes_per_window()),
        panes_per_slide_(layout_.panes_per_slide()) {}

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    const int64_t num_rows = batch->num_rows();
    if (num_rows == 0) return Status::OK();
    // Pane and fate of every row: on time, late but within allowed lateness (updates
    // fired windows), or too late.
    AssignPanes(layout_, *batch->column_data(options_.time_index()), thresholds_, &rows_);
    ARROW_RETURN_NOT_OK(RouteLateRows(batch, rows_.late, rows_.num_late));
    if (rows_.num_late == num_rows) return Status::OK();

    ARROW_ASSIGN_OR_RAISE(auto ids, keys_->Map(*batch));
    const uint32_t* key_ids = ids->raw_values();
    ARROW_ASSIGN_OR_RAISE(PreparedRows rows, PrepareRows(options_.aggregates(), *batch,
                                                         options_.time_index()));
    if (rows_.single_pane) {
      ARROW_RETURN_NOT_OK(ConsumePane(rows_.pane_of_row[0], rows, key_ids));
    } else {
      ARROW_RETURN_NOT_OK(ConsumeByPane(rows, *ids));
    }
    if (rows_.any_update) ARROW_RETURN_NOT_OK(EmitLateUpdates(key_ids, num_rows));
    return Status::OK();
  }

  Status ProcessWatermark(int64_t watermark) override {
    if (watermark <= watermark_) return Status::OK();
    watermark_ = watermark;
    thresholds_ = layout_.ThresholdsAt(watermark_);
    ARROW_RETURN_NOT_OK(FireWindows());
    ARROW_RETURN_NOT_OK(DropExpiredPanes());
    return output()->EmitWatermark(watermark);
  }

  // State: watermark, next window to fire, the key table, and every open pane. The
  // suffix/prefix caches and the per-key slot cache are rebuilt on demand.
  Result<std::string> SnapshotState(int64_t) override {
    std::string state;
    StateCodec<int64_t>::Append(watermark_, &state);
    StateCodec<int64_t>::Append(next_window_, &state);
    ARROW_RETURN_NOT_OK(keys_->Serialize(&state));
    StateCodec<int64_t>::Append(static_cast<int64_t>(panes_.size()), &state);
    for (const auto& [pane, aggregates] : panes_) {
      StateCodec<int64_t>::Append(pane, &state);
      ARROW_RETURN_NOT_OK(aggregates->Serialize(&state));
    }
    return state;
  }

  Status RestoreState(const std::string& bytes) override {
    std::string_view in = bytes;
    ARROW_ASSIGN_OR_RAISE(watermark_, StateCodec<int64_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(next_window_, StateCodec<int64_t>::Read(&in));
    ARROW_RETURN_NOT_OK(keys_->Deserialize(&in));
    ARROW_ASSIGN_OR_RAISE(int64_t num_panes, StateCodec<int64_t>::Read(&in));
    panes_.clear();
    for (int64_t p = 0; p < num_panes; ++p) {
      ARROW_ASSIGN_OR_RAISE(int64_t pane, StateCodec<int64_t>::Read(&in));
      ARROW_ASSIGN_OR_RAISE(auto aggregates, NewState());
      ARROW_RETURN_NOT_OK(aggregates->Deserialize(&in));
      panes_.emplace(pane, std::move(aggregates));
    }
    if (!in.empty()) return Status::IOError("window state has trailing bytes");
    thresholds_ = layout_.ThresholdsAt(watermark_);
    return Status::OK();
  }

  // Every subtask of a keyed operator aligned the barrier behind the same watermarks,
  // so the snapshots agree on watermark and next window; min() is the safe merge.
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    int64_t watermark = kMaxWatermark;
    int64_t next_window = kMaxWatermark;
    for (const std::string& bytes : states) {
      std::string_view in = bytes;
      ARROW_ASSIGN_OR_RAISE(int64_t old_watermark, StateCodec<int64_t>::Read(&in));
      ARROW_ASSIGN_OR_RAISE(int64_t old_next, StateCodec<int64_t>::Read(&in));
      watermark = std::min(watermark, old_watermark);
      next_window = std::min(next_window, old_next);
      ARROW_ASSIGN_OR_RAISE(SnapshotKeys old_keys,
                            ReadSnapshotKeys(&in, options_.input_schema(),
                                             options_.key_indices(), MaxParallelism()));
      ARROW_ASSIGN_OR_RAISE(std::vector<int64_t> new_ids,
                            AddKeysInRange(old_keys, context().key_groups, keys_.get()));
      ARROW_ASSIGN_OR_RAISE(int64_t num_panes, StateCodec<int64_t>::Read(&in));
      for (int64_t p = 0; p < num_panes; ++p) {
        ARROW_ASSIGN_OR_RAISE(int64_t pane, StateCodec<int64_t>::Read(&in));
        ARROW_ASSIGN_OR_RAISE(auto old_state, NewState());
        ARROW_RETURN_NOT_OK(old_state->Deserialize(&in));
        auto& target = panes_[pane];
        if (!target) {
          ARROW_ASSIGN_OR_RAISE(target, NewState());
        }
        ARROW_RETURN_NOT_OK(target->MergeRenamed(*old_state, new_ids));
        if (target->empty()) panes_.erase(pane);
      }
      if (!in.empty()) return Status::IOError("window state has trailing bytes");
    }
    if (states.empty()) return Status::OK();
    watermark_ = watermark;
    next_window_ = next_window;
    thresholds_ = layout_.ThresholdsAt(watermark_);
    return Status::OK();
  }

 private:
  int32_t MaxParallelism() const {
    return context().max_parallelism > 0 ? context().max_parallelism
                                         : kDefaultMaxParallelism;
  }
  Result<std::unique_ptr<KeyedAggregates>> NewState() {
    return KeyedAggregates::Make(options_.aggregates());
  }

  Result<KeyedAggregates*> Pane(int64_t pane) {
    auto it = panes_.find(pane);
    if (it == panes_.end()) {
      ARROW_ASSIGN_OR_RAISE(auto state, NewState());
      it = panes_.emplace(pane, std::move(state)).first;
      // A new pane inside a cached suffix or prefix invalidates it.
      InvalidateCachesAt(pane);
    }
    return it->second.get();
  }

  Status ConsumePane(int64_t pane, const PreparedRows& rows, const uint32_t* key_ids) {
    ARROW_ASSIGN_OR_RAISE(KeyedAggregates * state, Pane(pane));
    if (pane < thresholds_.first_unfired) InvalidateCachesAt(pane);
    // Most rows of a key land in the pane its previous row did: remember the last
    // (pane, slot) per key and look the pane's hash map up only on a change.
    const uint32_t num_keys = keys_->size();
    if (cached_pane_.size() < num_keys) {
      cached_pane_.resize(num_keys, kNoBlock);
      cached_slot_.resize(num_keys);
    }
    slots_.resize(rows.length);
    for (int64_t i = 0; i < rows.length; ++i) {
      const uint32_t key = key_ids[i];
      if (cached_pane_[key] != pane) {
        cached_pane_[key] = pane;
        cached_slot_[key] = state->SlotOf(key);
      }
      slots_[i] = cached_slot_[key];
    }
    return state->ConsumeSlots(rows, slots_.data());
  }

  // Rows of several panes (out-of-order input, batches longer than a pane, or late rows
  // removed): a counting sort of row indices by pane, then one gather per pane.
  Status ConsumeByPane(const PreparedRows& rows, const arrow::UInt32Array& ids) {
    const int64_t num_rows = rows.length;
    pane_list_.clear();
    slot_of_row_.resize(num_rows);
    int32_t last_slot = -1;
    for (int64_t i = 0; i < num_rows; ++i) {
      if (rows_.late[i]) {
        slot_of_row_[i] = -1;
        continue;
      }
      const int64_t pane = rows_.pane_of_row[i];
      if (last_slot < 0 || pane_list_[last_slot] != pane) {
        auto it = std::find(pane_list_.begin(), pane_list_.end(), pane);
        last_slot = static_cast<int32_t>(it - pane_list_.begin());
        if (it == pane_list_.end()) pane_list_.push_back(pane);
      }
      slot_of_row_[i] = last_slot;
    }
    const size_t num_panes = pane_list_.size();
    std::vector<int64_t> offsets(num_panes + 1, 0);
    for (int64_t i = 0; i < num_rows; ++i) {
      if (slot_of_row_[i] >= 0) ++offsets[slot_of_row_[i] + 1];
    }
    for (size_t p = 0; p < num_panes; ++p) offsets[p + 1] += offsets[p];
    ARROW_ASSIGN_OR_RAISE(auto buffer,
                          arrow::AllocateBuffer(offsets[num_panes] * sizeof(int32_t)));
    auto* indices = reinterpret_cast<int32_t*>(buffer->mutable_data());
    std::vector<int64_t> cursor(offsets.begin(), offsets.end() - 1);
    for (int64_t i = 0; i < num_rows; ++i) {
      if (slot_of_row_[i] >= 0)
        indices[cursor[slot_of_row_[i]]++] = static_cast<int32_t>(i);
    }
    auto all = std::make_shared<arrow::Int32Array>(offsets[num_panes], std::move(buffer));
    for (size_t p = 0; p < num_panes; ++p) {
      auto slice = all->Slice(offsets[p], offsets[p + 1] - offsets[p]);
      ARROW_ASSIGN_OR_RAISE(PreparedRows part, TakePreparedRows(rows, *slice));
      ARROW_ASSIGN_OR_RAISE(auto part_ids, arrow::compute::Take(ids, *slice));
      ARROW_RETURN_NOT_OK(ConsumePane(
          pane_list_[p], part,
          std::static_pointer_cast<arrow::UInt32Array>(part_ids)->raw_values()));
    }
    return Status::OK();
  }

  // Late rows within allowed lateness changed windows that already fired: emit each
  // such window's new result for the keys that changed, as Flink fires a window again
  // on a late element (Sabot coalesces one batch's updates into one row per key).
  Status EmitLateUpdates(const uint32_t* key_ids, int64_t num_rows) {
    std::map<int64_t, std::vector<uint32_t>> keys_of_window;
    for (int64_t i = 0; i < num_rows; ++i) {
      const int64_t pane = rows_.pane_of_row[i];
      if (rows_.late[i] || pane >= thresholds_.first_unfired) continue;
      layout_.ForEachUpdatableWindow(pane, watermark_, [&](int64_t start) {
        keys_of_window[start].push_back(key_ids[i]);
      });
    }
    for (auto& [start, keys] : keys_of_window) {
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      ARROW_ASSIGN_OR_RAISE(auto window, NewState());
      const __int128 end = static_cast<__int128>(start) + panes_per_window_;
      for (auto it = panes_.lower_bound(start); it != panes_.end() && it->first < end;
           ++it) {
        ARROW_RETURN_NOT_OK(window->MergeFrom(*it->second, keys));
      }
      results_.clear();
      CollectResults(*window, start);
      ARROW_RETURN_NOT_OK(Emit(window->set(), results_));
    }
    return Status::OK();
  }

  Status FireWindows() {
    return layout_.FireDueWindows(
        watermark_, &next_window_,
        [&](int64_t from) -> std::optional<int64_t> {
          auto it = panes_.lower_bound(from);
          if (it == panes_.end()) return std::nullopt;
          return it->first;
        },
        [&](int64_t start) { return Fire(start); });
  }

  Status Fire(int64_t start) {
    results_.clear();
    if (panes_per_window_ == 1) {
      auto it = panes_.find(start);
      if (it == panes_.end()) return Status::OK();
      CollectResults(*it->second, start);
      return Emit(it->second->set(), results_);
    }
    const int64_t block = static_cast<int64_t>(FloorDiv(start, panes_per_window_));
    ARROW_RETURN_NOT_OK(ComputeSuffixes(block, start));
    ARROW_RETURN_NOT_OK(ExtendPrefix(
        block + 1, ClampTime(static_cast<__int128>(start) + panes_per_window_ - 1)));
    auto node = suffixes_.extract(start);
    KeyedAggregates& window = *node.mapped();
    ARROW_RETURN_NOT_OK(window.MergeFrom(*prefix_));
    CollectResults(window, start);
    return Emit(window.set(), results_);
  }

  // Every key of a pane or window has at least one row.
  void CollectResults(const KeyedAggregates& state, int64_t start) {
    const auto& keys = state.keys();
    for (uint32_t slot = 0; slot < keys.size(); ++slot) {
      results_.Add(keys[slot], slot, layout_.Start(start), layout_.End(start));
    }
  }

  // Suffix aggregates of block `block` for every window start from `first` to the
  // block's end: suffix(s) = panes [s, end of block).
  Status ComputeSuffixes(int64_t block, int64_t first) {
    if (suffix_block_ == block && suffixes_.count(first) > 0) return Status::OK();
    suffixes_.clear();
    suffix_block_ = block;
    const __int128 block_end = (static_cast<__int128>(block) + 1) * panes_per_window_;
    ARROW_ASSIGN_OR_RAISE(auto running, NewState());
    __int128 upper = block_end;
    __int128 start = FloorDiv(block_end - 1, panes_per_slide_) * panes_per_slide_;
    for (; start >= first; start -= panes_per_slide_) {
      for (auto it = panes_.lower_bound(static_cast<int64_t>(start));
           it != panes_.end() && it->first < upper; ++it) {
        ARROW_RETURN_NOT_OK(running->MergeFrom(*it->second));
      }
      upper = start;
      ARROW_ASSIGN_OR_RAISE(auto copy, NewState());
      ARROW_RETURN_NOT_OK(copy->MergeFrom(*running));
      suffixes_.emplace(static_cast<int64_t>(start), std::move(copy));
    }
    return Status::OK();
  }

  // Running aggregate of block `block` from its first pane through pane `last`.
  Status ExtendPrefix(int64_t block, int64_t last) {
    if (prefix_block_ != block || !prefix_) {
      ARROW_ASSIGN_OR_RAISE(prefix_, NewState());
      prefix_block_ = block;
      prefix_last_ = ClampTime(static_cast<__int128>(block) * panes_per_window_ - 1);
    }
    for (auto it = panes_.upper_bound(prefix_last_);
         it != panes_.end() && it->first <= last; ++it) {
      ARROW_RETURN_NOT_OK(prefix_->MergeFrom(*it->second));
    }
    prefix_last_ = std::max(prefix_last_, last);
    return Status::OK();
  }

  // Rows reaching pane `pane` after a cached aggregate covering it was computed (late
  // rows within allowed lateness) make that cache stale.
  void InvalidateCachesAt(int64_t pane) {
    if (suffix_block_ != kNoBlock &&
        pane < (static_cast<__int128>(suffix_block_) + 1) * panes_per_window_) {
      suffixes_.clear();
      suffix_block_ = kNoBlock;
    }
    if (prefix_block_ != kNoBlock && pane <= prefix_last_) {
      prefix_.reset();
      prefix_block_ = kNoBlock;
    }
  }

  // Panes whose every window is past allowed lateness are dropped; when nothing is
  // left, the key table starts over so that keys seen once do not stay forever.
  Status DropExpiredPanes() {
    while (!panes_.empty() && panes_.begin()->first < thresholds_.first_live &&
           panes_.begin()->first < next_window_) {
      panes_.erase(panes_.begin());
    }
    if (panes_.empty() && keys_->size() > 0) {
      suffixes_.clear();
      suffix_block_ = kNoBlock;
      prefix_.reset();
      prefix_block_ = kNoBlock;
      ARROW_RETURN_NOT_OK(keys_->Reset());
      cached_pane_.clear();
      cached_slot_.clear();
    } else if (keys_->size() >= next_compaction_check_) {
      ARROW_RETURN_NOT_OK(CompactKeys());
    }
    return Status::OK();
  }

  // With panes always open the key table never empties: once it has grown well past
  // the keys the open panes hold, drop the others and renumber, so that memory follows
  // the live keys rather than every key ever seen. Checked at doubling sizes, so the
  // cost is amortized over the keys added.
  Status CompactKeys() {
    std::vector<uint8_t> live(keys_->size(), 0);
    int64_t num_live = 0;
    for (const auto& [pane, state] : panes_) {
      for (uint32_t key : state->keys()) {
        num_live += !live[key];
        live[key] = 1;
      }
    }
    if (num_live * 2 > static_cast<int64_t>(keys_->size())) {
      next_compaction_check_ = keys_->size() * 2;
      return Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(auto new_ids, keys_->Compact(live));
    for (auto& [pane, state] : panes_) state->RemapKeys(new_ids);
    suffixes_.clear();
    suffix_block_ = kNoBlock;
    prefix_.reset();
    prefix_block_ = kNoBlock;
    cached_pane_.clear();
    cached_slot_.clear();
    next_compaction_check_ = std::max<uint32_t>(kFirstCompactionCheck, keys_->size() * 2);
    return Status::OK();
  }

  static constexpr uint32_t kFirstCompactionCheck = 1 << 16;

  const PaneLayout layout_;
  const int64_t panes_per_window_;
  const int64_t panes_per_slide_;
  PaneLayout::Thresholds thresholds_;
  int64_t next_window_ = kMinWatermark;  // first window start not fired yet
  std::map<int64_t, std::unique_ptr<KeyedAggregates>> panes_;
  uint32_t next_compaction_check_ = kFirstCompactionCheck;
  int64_t suffix_block_ = kNoBlock;
  std::map<int64_t, std::unique_ptr<KeyedAggregates>> suffixes_;  // by window start
  int64_t prefix_block_ = kNoBlock;
  int64_t prefix_last_ = 0;
  std::unique_ptr<KeyedAggregates> prefix_;
  WindowResults results_;
  // Per key id: the pane of its last row and its slot there.
  std::vector<int64_t> cached_pane_;
  std::vector<uint32_t> cached_slot_;
  // Reused per batch.
  std::vector<uint32_t> slots_;
  PaneAssignment rows_;
  std::vector<int32_t> slot_of_row_;
  std::vector<int64_t> pane_list_;
};

}  // namespace

std::unique_ptr<Operator> MakePaneWindowOperator(const WindowAggregateOptions& options) {
  return std::make_unique<PaneWindowOperator>(options);
}

}  // namespace sabot
