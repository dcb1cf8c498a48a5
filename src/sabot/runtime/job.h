// A running job: the tasks of a physical plan, one thread each. Lifecycle: Start() →
// (Cancel()) → Wait(). The first task error cancels every other task and is what Wait()
// returns, naming the operator, subtask and cause.
//
// Threads: Start, Wait, Cancel and Metrics may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sabot/plan/logical_plan.h"
#include "sabot/runtime/checkpoint_coordinator.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/physical_plan.h"

namespace sabot {

struct JobOptions {
  /// Elements (batches or control elements) a channel buffers before its producer
  /// blocks. Memory in flight per channel is about capacity × batch size.
  int channel_capacity = 4;
  /// Registry of operator and source factories; null means the built-in one.
  const OperatorRegistry* registry = nullptr;
  /// Checkpoints (off unless a directory is set) and restore on start.
  CheckpointConfig checkpoints;
  /// Where keyed operators keep their state (memory by default). For RocksDB,
  /// `directory` is a local working directory that the job owns (one subdirectory per
  /// operator subtask, replaced when the job starts).
  StateBackendConfig state_backend;
};

class Job {
 public:
  /// Instantiates and starts every task. Fails before starting anything if an operator
  /// or source cannot be created.
  static Result<std::shared_ptr<Job>> Start(std::shared_ptr<const LogicalPlan> plan,
                                            JobOptions options = {});

  ~Job();

  /// Blocks until every task has ended; returns OK, the first task error, or Cancelled
  /// after Cancel().
  Status Wait();

  /// Waits up to `timeout_ms` for every task to end. Returns true once all have; Wait()
  /// then returns without blocking.
  bool WaitFor(int64_t timeout_ms);

  /// Asks every task to stop; returns at once.
  void Cancel();

  /// Returns the counters of every node, in node order.
  std::vector<NodeMetricsSnapshot> Metrics() const;

  const LogicalPlan& plan() const { return *plan_; }

  /// The checkpoint coordinator, or null when checkpoints are off.
  CheckpointCoordinator* checkpoints() { return coordinator_.get(); }
  /// Takes a savepoint into `directory` (absent or empty) and waits for it; returns its
  /// id. Restore it with CheckpointConfig::restore_from, at the same or (keyed
  /// operators) another parallelism.
  Result<int64_t> TriggerSavepoint(const std::string& directory,
                                   int64_t timeout_ms = 60'000);
  /// Takes a savepoint, then stops the job; Wait() then returns OK. Exactly-once sinks
  /// have committed the savepoint's output; what the job did after the savepoint's
  /// barrier is not committed and is replayed when the savepoint is restored.
  Result<int64_t> StopWithSavepoint(const std::string& directory,
                                    int64_t timeout_ms = 60'000);

  /// The checkpoint the job restored (0: none), and why newer ones were skipped.
  int64_t restored_checkpoint() const { return restored_checkpoint_; }
  const std::vector<std::string>& skipped_checkpoints() const { return skipped_; }

 private:
  explicit Job(std::shared_ptr<const LogicalPlan> plan, PhysicalPlan physical);
  void RunTask(Task* task);
  void Fail(const Status& status);

  Status PrepareCheckpoints(const CheckpointConfig& config);
  Status AssignRestoreFiles(CheckpointStorage& storage,
                            const CompletedCheckpoint& checkpoint);

  std::shared_ptr<const LogicalPlan> plan_;
  PhysicalPlan physical_;
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  int64_t restored_checkpoint_ = 0;
  std::vector<std::string> skipped_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  Status first_error_;
  bool cancelled_ = false;
  bool stopped_with_savepoint_ = false;
  size_t num_finished_ = 0;  // tasks that ended without error
  size_t num_ended_ = 0;     // tasks that ended, with or without error
  std::condition_variable all_ended_;
  std::mutex wait_mutex_;  // serializes Wait(): one joins, later calls see final_status_
  bool joined_ = false;
  Status final_status_;
};

}  // namespace sabot
