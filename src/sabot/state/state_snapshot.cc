#include "sabot/state/state_snapshot.h"

namespace sabot {

Result<StateSnapshotReader> StateSnapshotReader::Make(std::string_view snapshot,
                                                      StateBackendKind kind) {
  if (snapshot.size() < 6 || snapshot.substr(0, 4) != "SBKS") {
    return Status::IOError("not a keyed state snapshot (bad magic)");
  }
  if (snapshot[4] != 1) {
    return Status::IOError("keyed state snapshot version ", static_cast<int>(snapshot[4]),
                           " is not supported (this build reads version 1)");
  }
  const StateBackendKind taken_by =
      snapshot[5] == 0 ? StateBackendKind::kMemory : StateBackendKind::kRocksDb;
  if (taken_by != kind) {
    return Status::Invalid("the keyed state snapshot was taken by the ",
                           taken_by == StateBackendKind::kMemory ? "memory" : "RocksDB",
                           " backend; restore it with the same state backend");
  }
  return StateSnapshotReader(snapshot.substr(6));
}

Result<bool> StateSnapshotReader::More() {
  if (in_.empty()) return Status::IOError("keyed state snapshot is truncated");
  const char tag = in_.front();
  in_.remove_prefix(1);
  if (tag != 0 && tag != 1) return Status::IOError("keyed state snapshot is corrupt");
  return tag == 1;
}

Result<std::string_view> StateSnapshotReader::Bytes() {
  ARROW_ASSIGN_OR_RAISE(uint32_t length, StateCodec<uint32_t>::Read(&in_));
  if (in_.size() < length) return Status::IOError("keyed state snapshot is truncated");
  std::string_view bytes = in_.substr(0, length);
  in_.remove_prefix(length);
  return bytes;
}

Result<bool> StateSnapshotReader::NextState(std::string_view* name) {
  ARROW_ASSIGN_OR_RAISE(bool more, More());
  if (!more) return false;
  ARROW_ASSIGN_OR_RAISE(*name, Bytes());
  return true;
}

Result<bool> StateSnapshotReader::NextEntry(int32_t* key_group, std::string_view* key,
                                            std::string_view* value) {
  ARROW_ASSIGN_OR_RAISE(bool more, More());
  if (!more) return false;
  ARROW_ASSIGN_OR_RAISE(*key_group, StateCodec<int32_t>::Read(&in_));
  ARROW_ASSIGN_OR_RAISE(*key, Bytes());
  ARROW_ASSIGN_OR_RAISE(*value, Bytes());
  return true;
}

}  // namespace sabot
