#include "sabot/runtime/operator_backend.h"

#include "sabot/state/state_codec.h"

namespace sabot {

Status OperatorBackend::Open(const OperatorContext& context) {
  ARROW_ASSIGN_OR_RAISE(backend_, OpenKeyedStateBackend(context));
  return Status::OK();
}

Status OperatorBackend::AppendSnapshot(int64_t checkpoint_id, bool savepoint,
                                       std::string* out) {
  std::string snapshot;
  if (savepoint) {
    ARROW_RETURN_NOT_OK(backend_->Snapshot(&snapshot));
  } else {
    ARROW_RETURN_NOT_OK(
        backend_->SnapshotForCheckpoint(checkpoint_id, &snapshot, &shared_files_));
  }
  StateCodec<std::string>::Append(snapshot, out);
  return Status::OK();
}

Status OperatorBackend::RestoreSnapshot(std::string_view* in) {
  ARROW_ASSIGN_OR_RAISE(std::string snapshot, StateCodec<std::string>::Read(in));
  return backend_->Restore(snapshot);
}

}  // namespace sabot
