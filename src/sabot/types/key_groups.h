// Keys → key groups → subtasks. All keyed routing and (later) keyed state is
// partitioned by key group, so state can be redistributed when parallelism changes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"

namespace arrow {
class DataType;
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot {

/// Default number of key groups, as in Flink (upper bound of any operator's parallelism).
constexpr int32_t kDefaultMaxParallelism = 128;

/// Computes a 64-bit hash of each row over the key columns (by index) and writes it to
/// `hashes` (resized to the number of rows). Hashing is column at a time; the result is
/// stable across processes and platforms (xxh3 for bytes, a fixed mixer for integers),
/// so savepoints taken on one machine route the same way on another.
Status HashKeyColumns(const arrow::RecordBatch& batch,
                      const std::vector<int>& key_indices, std::vector<uint64_t>* hashes);

/// Returns the key group of a key hash, in [0, max_parallelism): the high half of
/// hash × max_parallelism (multiply-shift range reduction: uniform like a modulo, but a
/// multiplication instead of a 64-bit division on the per-row path).
inline int32_t KeyGroupForHash(uint64_t hash, int32_t max_parallelism) {
  return static_cast<int32_t>(
      (static_cast<unsigned __int128>(hash) * static_cast<uint64_t>(max_parallelism)) >>
      64);
}

/// Returns the subtask that owns a key group: contiguous key-group ranges per subtask,
/// the assignment Flink uses, so rescaling moves whole ranges.
inline int32_t SubtaskForKeyGroup(int32_t key_group, int32_t max_parallelism,
                                  int32_t parallelism) {
  return static_cast<int32_t>(static_cast<int64_t>(key_group) * parallelism /
                              max_parallelism);
}

/// Key groups [first, last] owned by a subtask.
struct KeyGroupRange {
  int32_t first = 0;
  int32_t last = 0;
  bool Contains(int32_t key_group) const {
    return key_group >= first && key_group <= last;
  }
  int32_t size() const { return last - first + 1; }
  /// The range Flink assigns to `subtask` of `parallelism` (the inverse of
  /// SubtaskForKeyGroup).
  static KeyGroupRange ForSubtask(int32_t max_parallelism, int32_t parallelism,
                                  int32_t subtask);
};

/// Returns true when HashKeyColumns supports columns of `type`.
bool IsHashableKeyType(const arrow::DataType& type);

/// Resolves key column names against a schema; the error names the missing column
/// and lists the available ones, or the column whose type cannot be hashed.
Result<std::vector<int>> ResolveKeyColumns(const arrow::Schema& schema,
                                           const std::vector<std::string>& key_columns);

}  // namespace sabot
