// Operators whose state layout depends on the job's state backend. With the memory
// backend, windows and aggregations keep their state in operator-local structures
// tuned for speed (dense key ids, vectorized per-pane aggregates); with RocksDB they
// keep every (key, window) accumulator in the backend, so state is bounded by disk,
// not memory. The choice is made at Open(), when the job's backend is known.
#pragma once

#include <functional>
#include <memory>

#include "sabot/runtime/operator.h"

namespace sabot {

using OperatorMaker = std::function<std::unique_ptr<Operator>()>;

/// An operator that becomes `in_memory()` on the memory backend and `in_backend()` on
/// RocksDB. Snapshots carry the layout, so restoring one with the other backend fails
/// with an error saying which backend to use.
std::unique_ptr<Operator> MakeBackendDispatchOperator(OperatorMaker in_memory,
                                                      OperatorMaker in_backend);

}  // namespace sabot
