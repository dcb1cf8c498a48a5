// Keyed state backends: where the state of one operator subtask lives. The memory
// backend keeps typed values in hash maps per key group (fast, bounded by RAM); the
// RocksDB backend keeps encoded values on local disk (bounded by disk; one column family
// per state, key-group-prefixed keys). Both cover the key groups a subtask owns, and the
// same state code runs on either (state_factory.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/checkpoint/checkpoint_storage.h"
#include "sabot/common/status.h"
#include "sabot/state/keyed_state.h"
#include "sabot/types/key_groups.h"

namespace sabot {

enum class StateBackendKind { kMemory, kRocksDb };

struct StateBackendConfig {
  StateBackendKind kind = StateBackendKind::kMemory;
  /// RocksDB: directory of this subtask's instance (created; must be empty or absent).
  std::string directory;
  /// RocksDB: LRU block cache and per-column-family write buffer sizes.
  int64_t block_cache_bytes = int64_t{64} << 20;
  int64_t write_buffer_bytes = int64_t{32} << 20;
  /// RocksDB: checkpoints refer to the instance's SST files, copying only those that
  /// are new since the previous checkpoint (savepoints are always full copies).
  bool incremental_checkpoints = true;
  /// RocksDB: memory of the write-back cache of each ValueState without TTL (decoded
  /// values, about 80 bytes per entry plus string contents; dirty entries are written
  /// in one batch when the cache is full, which then empties it, and before every
  /// snapshot). 0 turns the cache off.
  int64_t value_cache_bytes = int64_t{32} << 20;
};

class KeyedStateBackend {
 public:
  static Result<std::unique_ptr<KeyedStateBackend>> Make(const StateBackendConfig& config,
                                                         int32_t max_parallelism,
                                                         KeyGroupRange range);
  virtual ~KeyedStateBackend() = default;

  virtual StateBackendKind kind() const = 0;
  int32_t max_parallelism() const { return max_parallelism_; }
  const KeyGroupRange& range() const { return range_; }

  /// The clock TTL is measured with (wall-clock ms); tests substitute their own.
  void SetClock(std::function<int64_t()> clock) { clock_ = std::move(clock); }
  int64_t Now() const { return clock_(); }

  /// A background cleanup step: removes expired entries, at most about `budget` of them
  /// (memory) or by compacting the column families of states with TTL (RocksDB, whose
  /// compaction filter drops expired entries). Returns the number removed, if known.
  virtual Result<int64_t> CleanupExpired(int64_t budget) = 0;

  /// Appends a snapshot of every state's live entries (state_snapshot.h).
  virtual Status Snapshot(std::string* out) = 0;
  /// Adds the entries of a snapshot that belong to this backend's key groups. States
  /// must have been created (Make*State) first. Restoring the snapshots of several
  /// subtasks merges them: that is how state is redistributed when parallelism changes.
  virtual Status Restore(std::string_view snapshot) = 0;

  /// The snapshot of a checkpoint. An incremental RocksDB backend writes a handle that
  /// refers to its SST files (appended to `shared_files`, each named uniquely, for the
  /// checkpoint storage to copy once) instead of every entry; otherwise Snapshot().
  virtual Status SnapshotForCheckpoint(int64_t checkpoint_id, std::string* out,
                                       std::vector<SharedStateFile>* shared_files) {
    return Snapshot(out);
  }
  /// Checkpoint `checkpoint_id` is durable: local files kept for it may go.
  virtual void NotifyCheckpointComplete(int64_t checkpoint_id) {}
  /// Where Restore() finds the shared files incremental handles refer to.
  void set_shared_directory(std::string directory) {
    shared_directory_ = std::move(directory);
  }
  const std::string& shared_directory() const { return shared_directory_; }

  /// An error naming the key group when `key` is outside this backend's range.
  Status CheckKeyGroup(const StateKey& key) const;

 protected:
  KeyedStateBackend(int32_t max_parallelism, KeyGroupRange range);

 private:
  std::string shared_directory_;
  int32_t max_parallelism_;
  KeyGroupRange range_;
  std::function<int64_t()> clock_;
};

}  // namespace sabot
