// The operator contract. One operator instance exists per plan node per subtask; all of
// its methods are called from its task's thread only, so operators need no locking.
// Operators receive whole record batches and emit whole batches to their Collector.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sabot/checkpoint/checkpoint_storage.h"
#include "sabot/common/status.h"
#include "sabot/state/state_backend.h"
#include "sabot/types/key_groups.h"

namespace arrow {
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot {

struct NodeMetrics;
class ProcessingTimeService;

/// Where an operator sends its output: the next operator of its chain, or the exchange
/// to downstream tasks. Called only from the owning task's thread.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual Status Collect(std::shared_ptr<arrow::RecordBatch> batch) = 0;
  virtual Status EmitWatermark(int64_t watermark) = 0;
  /// The output stops (idle = true) or resumes carrying data: an idle input does not
  /// hold back the watermark downstream. Collectors outside the runtime may ignore it.
  virtual Status EmitIdleStatus(bool idle) { return Status::OK(); }
};

/// What an operator instance knows about its place in the job.
struct OperatorContext {
  std::string node_name;
  int node_id = 0;
  int subtask = 0;
  int parallelism = 1;
  int32_t max_parallelism = 0;
  /// Schemas of the node's inputs, by port.
  std::vector<std::shared_ptr<arrow::Schema>> input_schemas;
  std::shared_ptr<arrow::Schema> output_schema;
  /// Never null; a sink's collector rejects output.
  Collector* output = nullptr;
  /// Side outputs by index (output port - 1), e.g. late data of a window.
  std::vector<Collector*> side_outputs;
  /// Never null in a job.
  ProcessingTimeService* processing_time = nullptr;
  /// Counters of the node, shared by its subtasks; operators count dropped rows (late
  /// events, rejected records) in rows_rejected. Never null in a job.
  NodeMetrics* metrics = nullptr;
  /// The key groups this subtask owns: keyed operators keep state for these only.
  KeyGroupRange key_groups;
  /// The job's keyed state backend; for RocksDB, `directory` is this subtask's own
  /// working directory. Keyed operators open it with OpenKeyedStateBackend().
  StateBackendConfig state_backend;
  /// The shared directory of the checkpoint storage the job restores from (empty if
  /// none): incremental state snapshots refer to files there.
  std::string restore_shared_directory;
};

/// Opens the keyed state backend of an operator subtask (its key groups, the job's
/// backend). A RocksDB working directory left behind by an earlier run of the job is
/// deleted first: state comes back from checkpoints, never from a working directory.
Result<std::unique_ptr<KeyedStateBackend>> OpenKeyedStateBackend(
    const OperatorContext& context);

class Operator {
 public:
  virtual ~Operator() = default;

  /// Prepares resources (open files, bind state). Called once before any input.
  virtual Status Open(const OperatorContext& context) {
    context_ = context;
    return Status::OK();
  }

  /// Processes one batch that arrived on input `port`.
  virtual Status ProcessBatch(int port, std::shared_ptr<arrow::RecordBatch> batch) = 0;

  /// Event time has advanced to `watermark` on all inputs. The default forwards it.
  virtual Status ProcessWatermark(int64_t watermark) {
    return output()->EmitWatermark(watermark);
  }

  /// All inputs became idle (true) or one became active again (false). The default
  /// forwards it.
  virtual Status ProcessIdleStatus(bool idle) { return output()->EmitIdleStatus(idle); }

  /// Processing time reached a time requested with ProcessingTimeService.
  virtual Status OnProcessingTime(int64_t now_ms) { return Status::OK(); }

  /// Checkpoint `checkpoint_id`'s barrier has passed this operator: returns its state
  /// as bytes (empty for stateless operators). Called on the task thread; keep it short
  /// (copy, do not upload: the coordinator writes the bytes).
  virtual Result<std::string> SnapshotState(int64_t checkpoint_id) {
    return std::string();
  }

  /// Files the last SnapshotState() refers to instead of containing them (incremental
  /// state): the coordinator copies each into the checkpoint storage's shared
  /// directory, unless a checkpoint already did.
  virtual std::vector<SharedStateFile> TakeSharedFiles() { return {}; }

  /// Set by the task before SnapshotState(): a savepoint's state must be
  /// self-contained, without references to shared files of earlier checkpoints.
  void set_snapshot_for_savepoint(bool savepoint) { snapshot_for_savepoint_ = savepoint; }

  /// Restores the state a SnapshotState() returned, after Open() and before any input.
  virtual Status RestoreState(const std::string& state) { return Status::OK(); }

  /// Restores after a change of parallelism: `states` are the snapshots of the old
  /// subtasks whose key groups overlap this subtask's (context().key_groups); a keyed
  /// operator keeps what belongs to its key groups. Operators whose state cannot be
  /// split by key keep the default, which refuses.
  virtual Status RestoreRescaled(const std::vector<std::string>& states) {
    return Status::NotImplemented(
        "this operator's state cannot be redistributed: restore it at the parallelism "
        "it was saved with");
  }

  /// Checkpoint `checkpoint_id` is durable in every task (two-phase-commit sinks commit
  /// what they pre-committed for it).
  virtual Status NotifyCheckpointComplete(int64_t checkpoint_id) { return Status::OK(); }

  /// All inputs have ended: emit what is buffered, flush files. Output is still open.
  virtual Status Finish() { return Status::OK(); }

  /// Releases resources. Called once, also after a failure or cancellation, so it must
  /// tolerate a partially opened operator.
  virtual Status Close() { return Status::OK(); }

 protected:
  Collector* output() const { return context_.output; }
  const OperatorContext& context() const { return context_; }
  bool snapshot_for_savepoint() const { return snapshot_for_savepoint_; }

 private:
  OperatorContext context_;
  bool snapshot_for_savepoint_ = false;
};

}  // namespace sabot
