// The exactly-once (two-phase-commit) mode of the "file_sink" operator, chosen by
// FileSinkConfig::exactly_once. README.md, "Exactly-once mode", describes the files and
// what a crash at each phase leaves behind.
#pragma once

#include <memory>

#include "sabot/connectors/file/file_options.h"
#include "sabot/runtime/operator.h"

namespace sabot {

/// Returns the exactly-once file sink operator. Subtask i writes rows to the hidden
/// <path>/.part-<i>-<seq>.<extension>.inprogress (opened on the first batch after a
/// roll). SnapshotState() pre-commits: it completes that file (footer, flush, fsync)
/// and records it as pending for the checkpoint; NotifyCheckpointComplete() commits the
/// pending files of checkpoints up to its id by renaming them to
/// <path>/part-<i>-<seq>.<extension>. RestoreState() commits what the state lists as
/// pending and removes this subtask's output past the checkpoint. Finish() commits
/// everything; Close() after a failure commits nothing.
///
/// State (SnapshotState / RestoreState), version 1, little-endian:
///   4 bytes  magic "SBFS"
///   1 byte   version = 1
///   int32    subtask
///   int64    next seq: the seq of the next in-progress file
///   uint32   number of pending files N
///   N x (int64 checkpoint id, int64 seq), in increasing seq
std::unique_ptr<Operator> MakeTransactionalFileSinkOperator(
    const FileSinkOptions& options);

}  // namespace sabot
