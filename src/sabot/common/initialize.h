#pragma once

#include "sabot/common/status.h"

namespace sabot {

/// Registers Arrow's compute kernels (arrow::compute::Initialize) once per process.
/// Called by StreamEnvironment, expression binding and Job::Start; safe to call often.
Status Initialize();

}  // namespace sabot
