// Errors raised inside an operator are reported with the operator's name and subtask,
// exactly once even when they travel back through a chain of operators.
#pragma once

#include <string>

#include "sabot/common/status.h"

namespace sabot {

/// Returns `status` prefixed with "operator 'NAME' (subtask I/P) failed: ", unless it is
/// OK, Cancelled, or already annotated.
Status AnnotateOperatorError(const Status& status, const std::string& node_name,
                             int subtask, int parallelism);

}  // namespace sabot
