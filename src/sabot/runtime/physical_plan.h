// Translates a LogicalPlan into tasks: forward edges between nodes of equal parallelism
// (where the producer has a single consumer and the consumer a single input) are
// chained into one task; every other edge becomes an exchange over bounded channels.
#pragma once

#include <memory>
#include <vector>

#include "sabot/plan/logical_plan.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/runtime/task.h"

namespace sabot {

/// Returns the chains of a plan: each is a list of node ids, head first.
std::vector<std::vector<int>> ComputeChains(const LogicalPlan& plan);

struct PhysicalPlan {
  /// One per plan node, indexed by node id.
  std::vector<std::unique_ptr<NodeMetrics>> metrics;
  std::vector<std::unique_ptr<Task>> tasks;
};

/// Instantiates operators, readers, gates and exchange writers for every subtask.
/// `channel_capacity` is the number of elements a channel buffers. Keyed operators keep
/// state in `state_backend`; a RocksDB directory is the root of one working directory
/// per operator subtask (node<id>-<subtask>).
Result<PhysicalPlan> BuildPhysicalPlan(const LogicalPlan& plan,
                                       const OperatorRegistry& registry,
                                       int channel_capacity,
                                       const StateBackendConfig& state_backend = {});

}  // namespace sabot
