// The snapshot format of a keyed state backend: every live entry of every state, tagged
// with its key group, so that a snapshot taken by one subtask can be restored by any
// subtask whose key groups overlap (rescaling reads the old subtasks' snapshots and keeps
// the entries of its own key groups).
//
// Layout (integers little-endian; "bytes" is a uint32 length and the bytes):
//   "SBKS" | version (u8, 1) | backend kind (u8: 0 memory, 1 RocksDB)
//   per state:   u8 1 | name (bytes) | entries | u8 0
//   end:         u8 0
//   entry:       u8 1 | key group (i32) | key (bytes) | value (bytes)
// Memory backend: key = the StateKey bytes, value = last-touched time (i64) and the
// StateCodec encoding of the value. RocksDB: key and value as stored (rocksdb_backend.h).
// The value encodings differ, so a snapshot restores into the backend kind that took it.
// Timer states (timer_state.h), in both backends: one entry per timer, key = the timer
// key (timer_state_internal.h: key group, timestamp, key, namespace; big-endian, sign
// bits flipped), value empty. They are states like the others, so Restore() keeps the
// timers of the backend's key groups.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sabot/common/status.h"
#include "sabot/state/state_backend.h"
#include "sabot/state/state_codec.h"

namespace sabot {

class StateSnapshotWriter {
 public:
  StateSnapshotWriter(StateBackendKind kind, std::string* out) : out_(out) {
    out_->append("SBKS");
    out_->push_back(1);
    out_->push_back(kind == StateBackendKind::kMemory ? 0 : 1);
  }
  void BeginState(std::string_view name) {
    out_->push_back(1);
    AppendBytes(name);
  }
  void Entry(int32_t key_group, std::string_view key, std::string_view value) {
    out_->push_back(1);
    StateCodec<int32_t>::Append(key_group, out_);
    AppendBytes(key);
    AppendBytes(value);
  }
  void EndState() { out_->push_back(0); }
  void End() { out_->push_back(0); }

 private:
  void AppendBytes(std::string_view bytes) {
    StateCodec<uint32_t>::Append(static_cast<uint32_t>(bytes.size()), out_);
    out_->append(bytes);
  }
  std::string* out_;
};

class StateSnapshotReader {
 public:
  /// Checks the header: the magic, the version and that `kind` took the snapshot.
  static Result<StateSnapshotReader> Make(std::string_view snapshot,
                                          StateBackendKind kind);
  /// The next state's name, or false at the end.
  Result<bool> NextState(std::string_view* name);
  /// The state's next entry, or false at its end.
  Result<bool> NextEntry(int32_t* key_group, std::string_view* key,
                         std::string_view* value);

 private:
  explicit StateSnapshotReader(std::string_view in) : in_(in) {}
  Result<bool> More();
  Result<std::string_view> Bytes();
  std::string_view in_;
};

}  // namespace sabot
