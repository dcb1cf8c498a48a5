// Sabot reports errors with Arrow's Status/Result so that engine code and the Arrow
// calls it makes compose with ARROW_RETURN_NOT_OK / ARROW_ASSIGN_OR_RAISE.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

namespace sabot {

using arrow::Result;
using arrow::Status;

}  // namespace sabot
