// Restoring the keys of a keyed operator from the snapshot of one subtask when the
// subtask may own other key groups now (the job was restored at another parallelism):
// the keys of the snapshot are routed exactly as KeyBy routes rows, and only the keys of
// this subtask's key groups are added to its key table. Restoring at the same
// parallelism is the case where every key stays.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <arrow/type_fwd.h>

#include "sabot/common/status.h"
#include "sabot/operators/aggregate/key_table.h"
#include "sabot/state/state_key.h"
#include "sabot/types/key_groups.h"

namespace sabot {

class AggregatorSet;

/// The keys of a KeyTable snapshot (KeyTable::Serialize) as rows of `input_schema`:
/// key columns filled, every other column null.
struct SnapshotKeys {
  std::shared_ptr<arrow::RecordBatch> rows;  // one row per old key id
  std::vector<int32_t> key_groups;           // by old key id
};

/// Reads a KeyTable snapshot from the front of `in` and computes each key's key group.
Result<SnapshotKeys> ReadSnapshotKeys(std::string_view* in,
                                      const std::shared_ptr<arrow::Schema>& input_schema,
                                      const std::vector<int>& key_indices,
                                      int32_t max_parallelism);

/// Adds the keys of `snapshot` that belong to `range` to `keys`; returns the new key id
/// of every old key id (-1 for keys of other subtasks). `rows` (if not null) receives
/// the kept keys as input rows together with their new ids, for KeyedStateKeys.
Result<std::vector<int64_t>> AddKeysInRange(
    const SnapshotKeys& snapshot, KeyGroupRange range, KeyTable* keys,
    std::shared_ptr<arrow::RecordBatch>* rows = nullptr,
    std::shared_ptr<arrow::UInt32Array>* row_ids = nullptr);

/// Folds slot k of `from` into slot new_ids[k] of `to` for every k with new_ids[k] >= 0,
/// growing `to` as needed: restores aggregation state whose slots are key ids from a
/// snapshot whose keys AddKeysInRange() renumbered. `from` must not have more slots
/// than `new_ids` has entries.
Status MergeRenamedSlots(const AggregatorSet& from, const std::vector<int64_t>& new_ids,
                         AggregatorSet* to);

/// The state key (key group and canonical bytes, state_key.h) of every key id of a
/// keyed operator, so that per-key state can live in a state backend.
class KeyedStateKeys {
 public:
  static Result<KeyedStateKeys> Make(const arrow::Schema& input_schema,
                                     const std::vector<int>& key_indices,
                                     int32_t max_parallelism);

  /// Records the state keys of ids first seen in `batch` (`ids` from KeyTable::Map);
  /// a KeyTable hands out new ids in row order, so new ids arrive in sequence.
  Status Extend(const arrow::RecordBatch& batch, const uint32_t* ids);

  uint32_t size() const { return static_cast<uint32_t>(key_groups_.size()); }
  StateKey key(uint32_t id) const {
    return {key_groups_[id],
            std::string_view(bytes_.data() + offsets_[id],
                             static_cast<size_t>(offsets_[id + 1] - offsets_[id]))};
  }

 private:
  explicit KeyedStateKeys(KeyEncoder encoder) : encoder_(std::move(encoder)) {}
  KeyEncoder encoder_;
  std::string bytes_;
  std::vector<int64_t> offsets_{0};
  std::vector<int32_t> key_groups_;
};

}  // namespace sabot
