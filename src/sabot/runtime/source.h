// The source contract. A source node has one SourceReader per subtask (its split of
// the input); the task calls Next() in a loop on its own thread.
#pragma once

#include <memory>
#include <string>

#include "sabot/common/status.h"

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
};

}  // namespace sabot
