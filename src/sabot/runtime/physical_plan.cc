#include "sabot/runtime/physical_plan.h"

#include <arrow/type.h>

#include <sstream>

#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

bool ChainsWithInput(const LogicalPlan& plan, int node_id) {
  const auto& inputs = plan.InputEdges(node_id);
  if (inputs.size() != 1) return false;
  const PlanEdge& edge = plan.edges()[inputs[0]];
  return edge.partitioning == Partitioning::kForward && edge.source_port == 0 &&
         plan.nodes()[edge.source].parallelism == plan.nodes()[node_id].parallelism &&
         plan.OutputEdges(edge.source).size() == 1;
}

// A forward edge between equal parallelism connects subtask i to subtask i only.
bool IsPointwise(const LogicalPlan& plan, const PlanEdge& edge) {
  return edge.partitioning == Partitioning::kForward &&
         plan.nodes()[edge.source].parallelism == plan.nodes()[edge.target].parallelism;
}

}  // namespace

std::vector<std::vector<int>> ComputeChains(const LogicalPlan& plan) {
  std::vector<std::vector<int>> chains;
  std::vector<int> chain_of(plan.nodes().size(), -1);
  for (const PlanNode& node : plan.nodes()) {
    if (ChainsWithInput(plan, node.id)) {
      int producer = plan.edges()[plan.InputEdges(node.id)[0]].source;
      chain_of[node.id] = chain_of[producer];
      chains[chain_of[node.id]].push_back(node.id);
    } else {
      chain_of[node.id] = static_cast<int>(chains.size());
      chains.push_back({node.id});
    }
  }
  return chains;
}

Result<PhysicalPlan> BuildPhysicalPlan(const LogicalPlan& plan,
                                       const OperatorRegistry& registry,
                                       int channel_capacity,
                                       const StateBackendConfig& state_backend) {
  const auto& nodes = plan.nodes();
  const auto& edges = plan.edges();
  PhysicalPlan physical;
  for (size_t i = 0; i < nodes.size(); ++i) {
    physical.metrics.push_back(std::make_unique<NodeMetrics>());
  }
  const auto chains = ComputeChains(plan);

  // Input gates first, so that exchange writers can point at them. For every head node
  // and input edge, `channel_base[edge]` is the edge's first channel in each consumer
  // gate; a pointwise edge has one channel, others one per producer subtask.
  std::vector<int> channel_base(edges.size(), 0);
  std::vector<std::vector<Task*>> tasks_of_chain(chains.size());
  std::vector<int> chain_of_head(nodes.size(), -1);
  for (size_t c = 0; c < chains.size(); ++c) {
    const PlanNode& head = nodes[chains[c].front()];
    chain_of_head[head.id] = static_cast<int>(c);
    std::vector<int> channel_ports;
    for (int edge_index : plan.InputEdges(head.id)) {
      const PlanEdge& edge = edges[edge_index];
      channel_base[edge_index] = static_cast<int>(channel_ports.size());
      int num_channels = IsPointwise(plan, edge) ? 1 : nodes[edge.source].parallelism;
      channel_ports.insert(channel_ports.end(), num_channels, edge.target_port);
    }
    std::string chain_name;
    for (int id : chains[c])
      chain_name += (chain_name.empty() ? "" : " -> ") + nodes[id].name;
    for (int s = 0; s < head.parallelism; ++s) {
      auto gate = std::make_unique<InputGate>(channel_ports, channel_capacity);
      physical.tasks.push_back(
          std::make_unique<Task>(chain_name, s, head.parallelism, std::move(gate)));
      tasks_of_chain[c].push_back(physical.tasks.back().get());
    }
  }

  for (size_t c = 0; c < chains.size(); ++c) {
    const auto& chain_nodes = chains[c];
    const PlanNode& tail = nodes[chain_nodes.back()];
    for (int s = 0; s < static_cast<int>(tasks_of_chain[c].size()); ++s) {
      Task* task = tasks_of_chain[c][s];
      const int parallelism = static_cast<int>(tasks_of_chain[c].size());

      // Exchange writers of the tail's outgoing edges, by output port.
      std::vector<ExchangeWriter*> writer_ptrs;
      std::vector<std::vector<ExchangeWriter*>> writers_of_port(
          1 + tail.side_output_schemas.size());
      for (int edge_index : plan.OutputEdges(tail.id)) {
        const PlanEdge& edge = edges[edge_index];
        const auto& consumers = tasks_of_chain[chain_of_head[edge.target]];
        std::vector<ChannelTarget> targets;
        Partitioning partitioning = edge.partitioning;
        if (IsPointwise(plan, edge)) {
          targets.push_back({consumers[s]->gate(), channel_base[edge_index]});
        } else {
          if (partitioning == Partitioning::kForward)
            partitioning = Partitioning::kRebalance;
          for (Task* consumer : consumers) {
            targets.push_back({consumer->gate(), channel_base[edge_index] + s});
          }
        }
        std::vector<int> key_indices;
        if (partitioning == Partitioning::kHash) {
          ARROW_ASSIGN_OR_RAISE(
              key_indices,
              ResolveKeyColumns(*tail.OutputSchema(edge.source_port), edge.key_columns));
        }
        task->writers.push_back(std::make_unique<ExchangeWriter>(
            partitioning, std::move(targets), std::move(key_indices),
            plan.max_parallelism(), s));
        writer_ptrs.push_back(task->writers.back().get());
        writers_of_port[edge.source_port].push_back(task->writers.back().get());
      }

      // Operators of the chain (the source node, if any, is not an Operator).
      size_t first_operator = 0;
      const PlanNode& head = nodes[chain_nodes.front()];
      if (head.role == NodeRole::kSource) {
        task->source_node = &head;
        task->source_metrics = physical.metrics[head.id].get();
        SourceContext source_context{head.name, s, parallelism, task->source_metrics};
        ARROW_ASSIGN_OR_RAISE(task->reader,
                              registry.MakeSourceReader(head, source_context));
        first_operator = 1;
      }
      task->chain.resize(chain_nodes.size() - first_operator);
      for (size_t k = first_operator; k < chain_nodes.size(); ++k) {
        const PlanNode& node = nodes[chain_nodes[k]];
        ChainedOperator& chained = task->chain[k - first_operator];
        chained.node = &node;
        chained.metrics = physical.metrics[node.id].get();
        ARROW_ASSIGN_OR_RAISE(chained.op, registry.MakeOperator(node));
        OperatorContext& ctx = chained.context;
        ctx.node_name = node.name;
        ctx.node_id = node.id;
        ctx.subtask = s;
        ctx.parallelism = parallelism;
        ctx.max_parallelism = plan.max_parallelism();
        ctx.key_groups =
            KeyGroupRange::ForSubtask(plan.max_parallelism(), parallelism, s);
        ctx.state_backend = state_backend;
        if (!state_backend.directory.empty()) {
          std::ostringstream directory;
          directory << state_backend.directory << "/node" << node.id << "-" << s;
          ctx.state_backend.directory = directory.str();
        }
        ctx.output_schema = node.output_schema;
        ctx.metrics = chained.metrics;
        for (int edge_index : plan.InputEdges(node.id)) {
          const PlanEdge& edge = edges[edge_index];
          if (static_cast<int>(ctx.input_schemas.size()) <= edge.target_port) {
            ctx.input_schemas.resize(edge.target_port + 1);
          }
          ctx.input_schemas[edge.target_port] =
              nodes[edge.source].OutputSchema(edge.source_port);
        }
      }
      // Wire outputs back to front: each operator emits into the next one's link.
      for (size_t k = 0; k < task->chain.size(); ++k) {
        ChainedOperator& chained = task->chain[k];
        if (k + 1 < task->chain.size()) {
          chained.output =
              std::make_unique<ChainLink>(chained.metrics, &task->chain[k + 1]);
        } else {
          chained.output = std::make_unique<TaskOutput>(chained.node, chained.metrics,
                                                        writers_of_port[0], writer_ptrs);
          // Only a chain's tail has side outputs: their edges never chain.
          for (size_t port = 1; port < writers_of_port.size(); ++port) {
            chained.side_outputs.push_back(std::make_unique<TaskOutput>(
                chained.node, chained.metrics, writers_of_port[port],
                std::vector<ExchangeWriter*>{}));
            chained.context.side_outputs.push_back(chained.side_outputs.back().get());
          }
        }
        chained.context.output = chained.output.get();
        chained.context.processing_time = task->TimerServiceFor(k);
      }
      if (task->reader) {
        if (task->chain.empty()) {
          task->source_output = std::make_unique<TaskOutput>(
              &head, task->source_metrics, writers_of_port[0], writer_ptrs);
        } else {
          task->source_output =
              std::make_unique<ChainLink>(task->source_metrics, &task->chain.front());
        }
      }
    }
  }
  return physical;
}

}  // namespace sabot
