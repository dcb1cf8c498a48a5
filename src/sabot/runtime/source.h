// The source contract. A source node has one SourceReader per subtask (its split of
// the input); the task calls Next() in a loop on its own thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sabot/common/status.h"
#include "sabot/common/time.h"

namespace arrow {
class RecordBatch;
}  // namespace arrow

namespace sabot {

struct NodeMetrics;

struct SourceContext {
  std::string node_name;
  int subtask = 0;
  int parallelism = 1;
  /// Counters of the source node; readers count rejected records here.
  NodeMetrics* metrics = nullptr;
};

class SourceReader {
 public:
  virtual ~SourceReader() = default;

  /// Opens the split (files, connections). Called once on the task thread.
  virtual Status Open() { return Status::OK(); }

  /// Returns the next batch, or nullptr when a bounded split is exhausted. May block
  /// briefly (rate limits, I/O); the task checks for cancellation between calls.
  virtual Result<std::shared_ptr<arrow::RecordBatch>> Next() = 0;

  /// Releases resources; also called after failure or cancellation.
  virtual Status Close() { return Status::OK(); }

  /// The reader's position (what it has emitted so far) as bytes, for a checkpoint
  /// taken between two Next() calls. Sources that cannot replay do not override it, and
  /// a job with checkpoints then fails with this error.
  virtual Result<std::string> SnapshotPosition() {
    return Status::NotImplemented(
        "this source cannot record its position, so the job cannot be checkpointed");
  }

  /// Continues from a position SnapshotPosition() returned (after Open()).
  virtual Status RestorePosition(const std::string& position) {
    return Status::NotImplemented("this source cannot restore a position");
  }

  /// The checkpoint whose SnapshotPosition() was taken with id `checkpoint_id` is
  /// durable (e.g. Kafka commits the positions to its consumer group for monitoring).
  virtual Status NotifyCheckpointComplete(int64_t checkpoint_id) { return Status::OK(); }

  /// Event time the reader vouches for after its last Next(): sources that track it per
  /// input partition (Kafka) return the minimum over their active partitions. The task
  /// emits it downstream whenever it advances. kMinWatermark: none.
  virtual int64_t CurrentWatermark() const { return kMinWatermark; }

  /// True while every input partition of the reader is idle: its output then stops
  /// holding back the watermark downstream until data arrives again.
  virtual bool IsIdle() const { return false; }
};

}  // namespace sabot
