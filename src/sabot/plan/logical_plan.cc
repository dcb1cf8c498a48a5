#include "sabot/plan/logical_plan.h"

#include <arrow/type.h>

#include <sstream>

#include "sabot/types/key_groups.h"

namespace sabot {

const char* PartitioningName(Partitioning partitioning) {
  switch (partitioning) {
    case Partitioning::kForward:
      return "forward";
    case Partitioning::kHash:
      return "hash";
    case Partitioning::kRebalance:
      return "rebalance";
    case Partitioning::kBroadcast:
      return "broadcast";
  }
  return "unknown";
}

LogicalPlan::LogicalPlan(std::vector<PlanNode> nodes, std::vector<PlanEdge> edges,
                         int32_t max_parallelism)
    : nodes_(std::move(nodes)),
      edges_(std::move(edges)),
      max_parallelism_(max_parallelism),
      inputs_(nodes_.size()),
      outputs_(nodes_.size()) {
  for (size_t i = 0; i < edges_.size(); ++i) {
    inputs_[edges_[i].target].push_back(static_cast<int>(i));
    outputs_[edges_[i].source].push_back(static_cast<int>(i));
  }
}

Result<std::shared_ptr<const LogicalPlan>> LogicalPlan::Make(std::vector<PlanNode> nodes,
                                                             std::vector<PlanEdge> edges,
                                                             int32_t max_parallelism) {
  if (max_parallelism < 1 || max_parallelism > (1 << 15)) {
    return Status::Invalid("max parallelism must be in [1, 32768], got ",
                           max_parallelism);
  }
  const int num_nodes = static_cast<int>(nodes.size());
  bool has_sink = false;
  for (int i = 0; i < num_nodes; ++i) {
    const PlanNode& node = nodes[i];
    if (node.id != i) {
      return Status::Invalid("plan node '", node.name, "' has id ", node.id,
                             " but position ", i);
    }
    if (node.parallelism < 1 || node.parallelism > max_parallelism) {
      return Status::Invalid("node '", node.name, "' has parallelism ", node.parallelism,
                             "; it must be in [1, max parallelism = ", max_parallelism,
                             "]: lower the parallelism or raise the max parallelism");
    }
    if (!node.options || !node.output_schema) {
      return Status::Invalid("node '", node.name, "' lacks options or an output schema");
    }
    has_sink = has_sink || node.role == NodeRole::kSink;
  }
  if (!has_sink) {
    return Status::Invalid(
        "the plan has no sink: add one (Print, Collect, Blackhole or a "
        "file sink) so that results go somewhere");
  }
  std::vector<int> num_inputs(num_nodes, 0), num_outputs(num_nodes, 0);
  for (const PlanEdge& edge : edges) {
    if (edge.source < 0 || edge.target >= num_nodes || edge.source >= edge.target) {
      return Status::Invalid("plan edge ", edge.source, " -> ", edge.target,
                             " is out of range or not in topological order");
    }
    const auto source_schema = nodes[edge.source].OutputSchema(edge.source_port);
    if (!source_schema) {
      return Status::Invalid("plan edge ", edge.source, " -> ", edge.target,
                             " reads output ", edge.source_port, " of '",
                             nodes[edge.source].name, "', which has no such output");
    }
    if (edge.partitioning == Partitioning::kHash) {
      ARROW_RETURN_NOT_OK(ResolveKeyColumns(*source_schema, edge.key_columns).status());
    }
    ++num_inputs[edge.target];
    ++num_outputs[edge.source];
  }
  for (int i = 0; i < num_nodes; ++i) {
    const PlanNode& node = nodes[i];
    if (node.role == NodeRole::kSource && num_inputs[i] > 0) {
      return Status::Invalid("source '", node.name, "' cannot have inputs");
    }
    if (node.role != NodeRole::kSource && num_inputs[i] == 0) {
      return Status::Invalid("node '", node.name, "' has no input");
    }
    if (node.role == NodeRole::kSink && num_outputs[i] > 0) {
      return Status::Invalid("sink '", node.name, "' cannot have outputs");
    }
    if (node.role != NodeRole::kSink && num_outputs[i] == 0) {
      return Status::Invalid(
          "the output of '", node.name,
          "' is not consumed: add a sink (Print, Collect, Blackhole or "
          "a file sink) or remove it");
    }
  }
  return std::shared_ptr<const LogicalPlan>(
      new LogicalPlan(std::move(nodes), std::move(edges), max_parallelism));
}

std::string LogicalPlan::Explain() const {
  std::ostringstream out;
  out << "LogicalPlan (max parallelism " << max_parallelism_ << ")\n";
  for (const PlanNode& node : nodes_) {
    out << "  [" << node.id << "] " << node.name << " p=" << node.parallelism << " "
        << node.options->Describe();
    for (int edge_index : inputs_[node.id]) {
      const PlanEdge& edge = edges_[edge_index];
      out << " <-" << PartitioningName(edge.partitioning);
      if (!edge.key_columns.empty()) {
        out << "(";
        for (size_t k = 0; k < edge.key_columns.size(); ++k) {
          out << (k ? "," : "") << edge.key_columns[k];
        }
        out << ")";
      }
      out << "- [" << edge.source << "]";
      if (edge.source_port > 0) out << " side output " << edge.source_port;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace sabot
