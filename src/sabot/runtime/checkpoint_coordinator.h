// The checkpoint coordinator (Chandy–Lamport with aligned barriers, as in Flink):
// every interval it asks each source task, through its mailbox, to record its position
// and its chain's state and to emit barrier n downstream; every other task snapshots its
// chain when barrier n has arrived on all its inputs (InputGate aligns them) and
// forwards it. Tasks hand their snapshot bytes to the coordinator and go on at once;
// the coordinator's own thread writes them to storage (the asynchronous part) and, when
// every task has acknowledged, commits the manifest and tells every task that the
// checkpoint is complete. Ids and the pending / complete / abandoned bookkeeping are a
// CheckpointTracker's; this class adds storage, timing and the threads.
//
// Threads: Acknowledge() and TaskFinished() are called from task threads; the rest from
// the job's owner.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sabot/checkpoint/checkpoint_storage.h"
#include "sabot/checkpoint/checkpoint_tracker.h"
#include "sabot/common/status.h"

namespace sabot {

class Task;

struct CheckpointConfig {
  /// Storage root; empty disables checkpoints.
  std::string directory;
  /// Time between the start of two checkpoints.
  int64_t interval_ms = 1000;
  /// A checkpoint not complete after this long is abandoned.
  int64_t timeout_ms = 60'000;
  /// Checkpoints in flight at once.
  int max_concurrent = 1;
  /// Least time between the end of one checkpoint and the start of the next.
  int64_t min_pause_ms = 0;
  /// Complete checkpoints kept on disk.
  int retain = 3;
  /// Restore the newest intact checkpoint of `directory` when the job starts.
  bool restore = false;
  /// Restore this savepoint (a directory TriggerSavepoint wrote) or the newest intact
  /// checkpoint under this checkpoint directory instead; the job may run keyed
  /// operators at another parallelism than the one saved (sources keep theirs).
  std::string restore_from;
  /// Facts recorded in every checkpoint's manifest (the job's parallelism per node).
  std::map<std::string, std::string> metadata;
};

/// The snapshot of one task for one checkpoint: files (name, bytes) and the shared
/// files its state refers to (incremental RocksDB state), which the coordinator copies.
struct TaskSnapshot {
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<SharedStateFile> shared_files;
  /// Time the task spent taking its snapshot (the synchronous phase).
  int64_t sync_nanos = 0;
  /// Source tasks: when the barrier left (MonotonicNanos), and how long the task took
  /// from the trigger in its mailbox to emitting the barrier (snapshot included).
  int64_t barrier_emitted_nanos = 0;
  int64_t injection_nanos = 0;
};

/// What one completed checkpoint cost.
struct CheckpointStats {
  int64_t id = 0;
  bool savepoint = false;
  /// Trigger to manifest committed.
  double duration_ms = 0;
  /// Bytes of snapshot files written, and of shared files referenced.
  int64_t bytes = 0;
  int64_t shared_files = 0;
  /// Longest synchronous snapshot of any task.
  double max_sync_ms = 0;
  /// Longest source injection (mailbox action to barrier emitted), and longest time
  /// from the trigger being posted to a source's barrier leaving it.
  double max_injection_us = 0;
  double max_trigger_to_barrier_us = 0;
};

class CheckpointCoordinator {
 public:
  /// `first_id` continues the numbering after a restored checkpoint.
  static Result<std::unique_ptr<CheckpointCoordinator>> Make(CheckpointConfig config,
                                                             std::vector<Task*> tasks,
                                                             int64_t first_id);
  ~CheckpointCoordinator();

  /// Starts periodic checkpoints (interval_ms > 0).
  void Start();
  /// Stops triggering and waits for the coordinator thread.
  void Stop();

  /// Starts a checkpoint now (if none is in flight beyond max_concurrent); returns its
  /// id.
  Result<int64_t> Trigger();
  /// Starts a savepoint: a checkpoint written to its own `directory` (absent or empty),
  /// self-contained and never removed by retention. Returns its id.
  Result<int64_t> TriggerSavepoint(const std::string& directory);
  /// Waits until checkpoint `id` completed (OK) or was abandoned (the reason).
  Status WaitFor(int64_t id, int64_t timeout_ms);

  /// A task's snapshot for checkpoint `id`.
  void Acknowledge(int64_t id, TaskSnapshot snapshot);
  /// A task failed to snapshot: the checkpoint is abandoned with `status`.
  void Decline(int64_t id, const Status& status);
  /// A task has ended: checkpoints in flight and later ones can no longer complete.
  void TaskFinished();

  /// Whether checkpoint `id` is a savepoint (its state must be self-contained).
  bool IsSavepoint(int64_t id) const;

  int64_t num_completed() const;
  /// Statistics of completed checkpoints, oldest first.
  std::vector<CheckpointStats> stats() const;
  /// Reasons of abandoned checkpoints, oldest first.
  std::vector<std::string> failures() const;

 private:
  struct Pending {
    std::unique_ptr<CheckpointStorage> savepoint_storage;  // savepoints only
    std::unique_ptr<CheckpointWriter> writer;
    int64_t started_ms = 0;
    int64_t started_nanos = 0;
    CheckpointStats stats;
  };
  CheckpointCoordinator(CheckpointConfig config, std::vector<Task*> tasks,
                        std::unique_ptr<CheckpointStorage> storage,
                        CheckpointTracker tracker);
  void Run();
  Status StartCheckpoint(int64_t id,
                         std::unique_ptr<CheckpointStorage> savepoint_storage = nullptr);
  void Abandon(int64_t id, const std::string& reason);

  const CheckpointConfig config_;
  const std::vector<Task*> tasks_;
  std::unique_ptr<CheckpointStorage> storage_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::thread thread_;
  bool stopping_ = false;
  bool finished_ = false;  // a task ended
  CheckpointTracker tracker_;
  int64_t last_end_ms_ = 0;
  std::map<int64_t, Pending> pending_;  // the tracker's pending checkpoints
  std::set<int64_t> savepoints_;
  std::deque<std::pair<int64_t, TaskSnapshot>> acknowledgements_;
  std::vector<std::string> failures_;
  std::vector<CheckpointStats> stats_;
};

}  // namespace sabot
