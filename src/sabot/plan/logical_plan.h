// The immutable logical plan: sources, operators and sinks (nodes) connected by edges
// that say how records move between parallel instances (forward, hash of key columns,
// rebalance, broadcast). The plan knows nothing about runtime operators: each node
// carries NodeOptions whose kind() names the factory that the runtime's registry uses to
// instantiate it (see runtime/operator_registry.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"

namespace arrow {
class Schema;
}  // namespace arrow

namespace sabot {

/// Configuration of one plan node. Subclasses are plain option structs, defined next to
/// the operator or connector that executes them; they are immutable once in a plan.
class NodeOptions {
 public:
  virtual ~NodeOptions() = default;
  /// Returns the registry name of the operator or connector that executes the node.
  virtual std::string kind() const = 0;
  /// Returns a one-line description for LogicalPlan::Explain().
  virtual std::string Describe() const { return kind(); }
};

enum class NodeRole { kSource, kOperator, kSink };

struct PlanNode {
  int id = 0;
  /// Unique, human-readable name used in errors and metrics, e.g. "filter#2".
  std::string name;
  NodeRole role = NodeRole::kOperator;
  int parallelism = 1;
  /// Schema of the batches this node emits (sinks: the schema they receive).
  std::shared_ptr<arrow::Schema> output_schema;
  /// Schemas of side outputs 1, 2, ... (e.g. the late rows of a window).
  std::vector<std::shared_ptr<arrow::Schema>> side_output_schemas;
  std::shared_ptr<const NodeOptions> options;

  /// Schema of output `port` (0: the main output); null if there is no such port.
  std::shared_ptr<arrow::Schema> OutputSchema(int port) const {
    if (port == 0) return output_schema;
    if (port < 0 || port > static_cast<int>(side_output_schemas.size())) return nullptr;
    return side_output_schemas[port - 1];
  }
};

/// How records of a source node's subtasks reach the target node's subtasks.
enum class Partitioning {
  /// Subtask i to subtask i (chained into one task when parallelism is equal). Between
  /// nodes of different parallelism the runtime uses rebalance, as Flink does for its
  /// default partitioner.
  kForward,
  /// Rows by hash(key columns) → key group → owning subtask.
  kHash,
  /// Whole batches round-robin over the target subtasks.
  kRebalance,
  /// Every batch to every target subtask.
  kBroadcast,
};

const char* PartitioningName(Partitioning partitioning);

struct PlanEdge {
  int source = 0;
  int target = 0;
  /// Which input of the target this edge feeds (0 for single-input operators; union
  /// numbers its inputs 0..n-1).
  int target_port = 0;
  Partitioning partitioning = Partitioning::kForward;
  /// Key columns of a hash edge.
  std::vector<std::string> key_columns;
  /// Which output of the source node feeds this edge (0: main, >= 1: side outputs).
  int source_port = 0;
};

class LogicalPlan {
 public:
  /// Validates and freezes a plan. Node ids must equal their index and edges must point
  /// from lower to higher ids (the builder appends in topological order).
  static Result<std::shared_ptr<const LogicalPlan>> Make(std::vector<PlanNode> nodes,
                                                         std::vector<PlanEdge> edges,
                                                         int32_t max_parallelism);

  const std::vector<PlanNode>& nodes() const { return nodes_; }
  const std::vector<PlanEdge>& edges() const { return edges_; }
  int32_t max_parallelism() const { return max_parallelism_; }

  /// Returns the indices into edges() of the edges entering / leaving a node.
  const std::vector<int>& InputEdges(int node_id) const { return inputs_[node_id]; }
  const std::vector<int>& OutputEdges(int node_id) const { return outputs_[node_id]; }

  /// Returns a multi-line, human-readable description of nodes and edges.
  std::string Explain() const;

 private:
  LogicalPlan(std::vector<PlanNode> nodes, std::vector<PlanEdge> edges,
              int32_t max_parallelism);

  std::vector<PlanNode> nodes_;
  std::vector<PlanEdge> edges_;
  int32_t max_parallelism_;
  std::vector<std::vector<int>> inputs_;
  std::vector<std::vector<int>> outputs_;
};

}  // namespace sabot
