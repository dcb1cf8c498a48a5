// The keyed state backend of one operator subtask with the checkpoint plumbing every
// operator keeping its state there shares: an incremental handle in checkpoints (whose
// new files the coordinator copies), every entry in savepoints, restoring the entries
// of this subtask's key groups, and releasing local files once a checkpoint is durable.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/runtime/operator.h"

namespace sabot {

class OperatorBackend {
 public:
  /// Opens the subtask's backend (OpenKeyedStateBackend()).
  Status Open(const OperatorContext& context);

  KeyedStateBackend* get() const { return backend_.get(); }
  KeyedStateBackend* operator->() const { return backend_.get(); }

  /// Appends the backend's snapshot, length-prefixed: self-contained for a savepoint,
  /// an incremental handle for a checkpoint (its files go to TakeSharedFiles()).
  Status AppendSnapshot(int64_t checkpoint_id, bool savepoint, std::string* out);
  /// Reads a snapshot AppendSnapshot() wrote from the front of `in` and restores the
  /// entries of this subtask's key groups (create every state first).
  Status RestoreSnapshot(std::string_view* in);

  std::vector<SharedStateFile> TakeSharedFiles() { return std::move(shared_files_); }
  void NotifyCheckpointComplete(int64_t checkpoint_id) {
    backend_->NotifyCheckpointComplete(checkpoint_id);
  }

  /// Closes the backend; states created on it must be released first. A RocksDB
  /// instance locks its directory until closed, and the job may outlive its tasks.
  void Close() { backend_.reset(); }

 private:
  std::unique_ptr<KeyedStateBackend> backend_;
  std::vector<SharedStateFile> shared_files_;  // of the last snapshot
};

/// An operator (Base: Operator or a subclass) whose state lives in `backend_`: the
/// checkpoint overrides that only forward to it. Its state restores through
/// RestoreRescaled(), since the backend keeps the entries of this subtask's key groups
/// whether one snapshot or several come back.
template <typename Base>
class OperatorWithBackend : public Base {
 public:
  using Base::Base;

  std::vector<SharedStateFile> TakeSharedFiles() override {
    return backend_.TakeSharedFiles();
  }

  Status NotifyCheckpointComplete(int64_t checkpoint_id) override {
    backend_.NotifyCheckpointComplete(checkpoint_id);
    return Status::OK();
  }

  Status RestoreState(const std::string& state) override {
    return this->RestoreRescaled({state});
  }

 protected:
  OperatorBackend backend_;
};

}  // namespace sabot
