// Timers kept in the keyed state backend, like Flink's timer service on RocksDB:
// (timestamp, key, namespace) entries ordered by timestamp and partitioned by key group
// like all keyed state, so they are snapshotted, restored and redistributed with it.
// The memory backend keeps an ordered set per key group; RocksDB keeps a column family
// whose keys sort by key group, then timestamp, with the earliest timestamp of each key
// group cached in memory so that "what is due" costs no disk read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/state/keyed_state.h"
#include "sabot/state/state_key.h"

namespace sabot {

class KeyedStateBackend;

struct KeyedTimer {
  int64_t timestamp = 0;
  int32_t key_group = 0;
  std::string key;  // StateKey bytes
  int64_t name_space = 0;

  StateKey state_key() const { return {key_group, key}; }
};

class TimerState {
 public:
  virtual ~TimerState() = default;

  /// Registers a timer; registering the same (timestamp, key, namespace) twice keeps one.
  virtual Status Register(const StateKey& key, int64_t timestamp,
                          int64_t name_space = 0) = 0;
  /// Deletes a timer; deleting one that does not exist is a no-op.
  virtual Status Delete(const StateKey& key, int64_t timestamp,
                        int64_t name_space = 0) = 0;

  /// Removes and returns up to `limit` timers with timestamp <= `time`, in timestamp
  /// order (ties: key group, key bytes (shorter first), namespace). Call again until it
  /// returns none: timers registered meanwhile that are due are returned by later calls.
  virtual Result<std::vector<KeyedTimer>> PopDue(int64_t time, int64_t limit) = 0;

  /// The earliest timestamp of any timer, or nullopt when there are none.
  virtual Result<std::optional<int64_t>> NextTimestamp() = 0;
};

/// The timer state named `descriptor.name` (TTL must be unset) on `backend`. Create it
/// in Open(), before the backend restores a snapshot, like every other state.
Result<std::unique_ptr<TimerState>> MakeTimerState(KeyedStateBackend* backend,
                                                   const StateDescriptor& descriptor);

}  // namespace sabot
