#include "sabot/state/heap_backend.h"

namespace sabot {

Result<int64_t> HeapBackend::CleanupExpired(int64_t budget) {
  const int64_t now = Now();
  int64_t removed = 0;
  for (auto& [name, table] : tables_) removed += table->CleanupExpired(now, budget);
  return removed;
}

Status HeapBackend::Snapshot(std::string* out) {
  StateSnapshotWriter writer(kind(), out);
  const int64_t now = Now();
  for (const auto& [name, table] : tables_) {
    writer.BeginState(name);
    table->Snapshot(now, &writer);
    writer.EndState();
  }
  writer.End();
  return Status::OK();
}

Status HeapBackend::Restore(std::string_view snapshot) {
  ARROW_ASSIGN_OR_RAISE(auto reader, StateSnapshotReader::Make(snapshot, kind()));
  std::string_view name;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool more, reader.NextState(&name));
    if (!more) return Status::OK();
    auto it = tables_.find(std::string(name));
    if (it == tables_.end()) {
      return Status::Invalid("the snapshot holds state '", name,
                             "', which the operator did not create before restoring");
    }
    int32_t key_group;
    std::string_view key, value;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(bool entry, reader.NextEntry(&key_group, &key, &value));
      if (!entry) break;
      if (!range().Contains(key_group)) continue;
      ARROW_RETURN_NOT_OK(it->second->RestoreEntry(key_group, key, value));
    }
  }
}

}  // namespace sabot
