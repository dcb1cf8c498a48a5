// The "file_sink" operator: subtask i writes <path>/part-<i>.<extension>.
#pragma once

#include <memory>

#include "sabot/common/status.h"
#include "sabot/connectors/file/file_options.h"
#include "sabot/runtime/operator.h"

namespace sabot {

/// Returns a sink operator that opens its part file in Open(), appends every batch in
/// ProcessBatch() and completes the file (footer, flush) in Finish(). Close() after a
/// failure closes the file as it is.
std::unique_ptr<Operator> MakeFileSinkOperator(const FileSinkOptions& options);

}  // namespace sabot
