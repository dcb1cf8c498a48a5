// Durable checkpoint storage in a local directory. A checkpoint is a directory of files
// (one per operator subtask snapshot, named by the caller) and a manifest written last,
// by an atomic rename, that lists every file with its size and xxh64 checksum:
//
//   <root>/chk-<id>/<file>...
//   <root>/chk-<id>/_MANIFEST      "sabot-checkpoint 1", "id <id>",
//                                  "meta <key> <value>"..., "file <name> <size>
//                                  <hex>"..., "shared <name> <size>"...
//   <root>/shared/<name>           files of incremental state (RocksDB SST files), copied
//                                  once and referenced by every checkpoint that needs
//                                  them; deleted when no retained checkpoint does.
//
// A checkpoint without a manifest is incomplete (a crash during the snapshot); one
// whose manifest or files do not check out is corrupt. Both are skipped on recovery with
// the reason, never loaded. Completing a checkpoint deletes all but the newest `retain`
// complete ones.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sabot/common/status.h"

namespace sabot {

/// A file a snapshot refers to instead of containing it (incremental state): copied into
/// <root>/shared/<name> by the first checkpoint that needs it. Names must be unique
/// for their content (a file of that name is never rewritten).
struct SharedStateFile {
  std::string name;
  std::string local_path;
};

struct CompletedCheckpoint {
  int64_t id = 0;
  std::string directory;
  /// Shared files the checkpoint refers to, with their sizes.
  std::map<std::string, int64_t> shared_files;
  struct File {
    int64_t size = 0;
    uint64_t checksum = 0;  // xxh64
  };
  std::map<std::string, File> files;
  /// Small key/value facts recorded with the checkpoint (e.g. the job's parallelism).
  std::map<std::string, std::string> metadata;
};

class CheckpointWriter {
 public:
  /// Writes one file of the checkpoint (durably: written, then fsync'ed). Names are
  /// [A-Za-z0-9._#-]+ and not "_MANIFEST".
  Status WriteFile(const std::string& name, const std::string& bytes);
  /// Refers to a shared file, copying `file.local_path` into <root>/shared/ (temp file,
  /// fsync, rename) unless a file of that name and size is already there.
  Status AddSharedFile(const SharedStateFile& file);
  /// Writes the manifest (temp file, fsync, rename), which makes the checkpoint
  /// complete, then applies retention.
  Result<CompletedCheckpoint> Commit(std::map<std::string, std::string> metadata = {});

 private:
  friend class CheckpointStorage;
  CheckpointWriter(class CheckpointStorage* storage, int64_t id, std::string directory)
      : storage_(storage), id_(id), directory_(std::move(directory)) {}
  class CheckpointStorage* storage_;
  int64_t id_;
  std::string directory_;
  std::map<std::string, std::pair<int64_t, uint64_t>> files_;  // size, checksum
  std::map<std::string, int64_t> shared_;                      // name, size
};

class CheckpointStorage {
 public:
  /// Opens (creating) the storage root; `retain` >= 1 complete checkpoints are kept.
  static Result<std::unique_ptr<CheckpointStorage>> Open(std::string root, int retain);

  /// Starts checkpoint `id` (a fresh directory; an incomplete leftover is replaced).
  Result<std::unique_ptr<CheckpointWriter>> Begin(int64_t id);

  /// The newest complete checkpoint whose files all match their sizes and checksums,
  /// or nullopt. Each newer checkpoint that was skipped adds its reason to `skipped`.
  Result<std::optional<CompletedCheckpoint>> Latest(std::vector<std::string>* skipped);

  /// All complete checkpoints (manifest present and sizes matching), oldest first.
  Result<std::vector<CompletedCheckpoint>> List(std::vector<std::string>* skipped);

  /// Reads a file of a completed checkpoint, checking its size and checksum.
  Result<std::string> ReadFile(const CompletedCheckpoint& checkpoint,
                               const std::string& name);

  const std::string& root() const { return root_; }
  /// Deletes shared files that no complete checkpoint refers to (left by checkpoints
  /// that never completed). Only safe while no checkpoint is in progress: the
  /// coordinator calls it when a job starts.
  Status DeleteUnreferencedSharedFiles();
  /// Where shared files live: <root>/shared.
  std::string SharedDirectory() const { return root_ + "/shared"; }

 private:
  friend class CheckpointWriter;
  CheckpointStorage(std::string root, int retain)
      : root_(std::move(root)), retain_(retain) {}
  std::string DirectoryOf(int64_t id) const;
  Result<std::vector<int64_t>> Ids() const;
  Result<CompletedCheckpoint> Load(int64_t id, bool verify_checksums);
  Status ApplyRetention();

  std::string root_;
  int retain_;
};

}  // namespace sabot
