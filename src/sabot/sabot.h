// The umbrella header of Sabot's public C++ API.
#pragma once

#include "sabot/api/stream_environment.h"        // IWYU pragma: export
#include "sabot/common/initialize.h"             // IWYU pragma: export
#include "sabot/connectors/collect_sink.h"       // IWYU pragma: export
#include "sabot/connectors/file/file_options.h"  // IWYU pragma: export
#include "sabot/connectors/generator_source.h"   // IWYU pragma: export
#include "sabot/expr/expression.h"               // IWYU pragma: export
#include "sabot/runtime/job.h"                   // IWYU pragma: export
#include "sabot/runtime/restart.h"               // IWYU pragma: export
#include "sabot/state/state_factory.h"           // IWYU pragma: export
