// A task is one thread running one chain of operators for one subtask: either a source
// reader followed by chained operators, or an input gate followed by chained
// operators. Its loop is the mailbox loop: run posted actions, take the next element,
// push it through the chain. Built by BuildTasks() (physical_plan.h); internal to the
// runtime.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "sabot/plan/logical_plan.h"
#include "sabot/runtime/checkpoint_coordinator.h"
#include "sabot/runtime/exchange.h"
#include "sabot/runtime/input_gate.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/runtime/operator.h"
#include "sabot/runtime/processing_time.h"
#include "sabot/runtime/source.h"

namespace sabot {

struct ChainedOperator {
  const PlanNode* node = nullptr;
  std::unique_ptr<Operator> op;
  OperatorContext context;
  NodeMetrics* metrics = nullptr;
  /// Where `op` emits: a link to the next chained operator or the task's outputs.
  std::unique_ptr<Collector> output;
  /// The chain tail's side outputs (ports 1, 2, ...).
  std::vector<std::unique_ptr<Collector>> side_outputs;
};

class Task {
 public:
  Task(std::string name, int subtask, int parallelism, std::unique_ptr<InputGate> gate);
  ~Task();

  /// Runs the task to completion on the calling thread; always closes what it opened.
  /// `on_failure` is called with the error before closing, so that the job can cancel
  /// the other tasks without waiting for this one's cleanup.
  Status Run(const std::function<void(const Status&)>& on_failure);

  /// The task's inbox: data channels (none for a source task) and the mailbox.
  InputGate* gate() { return gate_.get(); }
  /// The processing-time service of chained operator `index`.
  ProcessingTimeService* TimerServiceFor(size_t index);

  /// Source tasks, from the mailbox: record the reader's position and the chain's
  /// state for checkpoint `id`, hand them to the coordinator, emit the barrier.
  Status TriggerCheckpoint(int64_t id);
  /// From the mailbox: checkpoint `id` is complete.
  Status NotifyCheckpointComplete(int64_t id);
  const std::string& name() const { return name_; }
  int subtask() const { return subtask_; }

  /// Configuration, set once by BuildTasks() before Run().
  const PlanNode* source_node = nullptr;
  NodeMetrics* source_metrics = nullptr;
  std::unique_ptr<SourceReader> reader;
  std::unique_ptr<Collector> source_output;
  std::vector<ChainedOperator> chain;
  std::vector<std::unique_ptr<ExchangeWriter>> writers;
  /// Set by the job when checkpoints are on.
  CheckpointCoordinator* coordinator = nullptr;
  /// Snapshot files of a restored checkpoint that belong to this task, by file name.
  std::map<std::string, std::string> restore_files;
  /// State files to redistribute, by node id: the job was restored at another
  /// parallelism (Operator::RestoreRescaled).
  std::map<int, std::vector<std::string>> rescaled_states;

  /// Checkpoint file names of a node's subtask state and of a source's position.
  static std::string StateFileName(const PlanNode& node, int subtask);
  static std::string PositionFileName(const PlanNode& node, int subtask);

 private:
  Status RunSource();
  Status RunGate();
  Status OpenChain();
  Status FinishChain();
  Status CloseAll();
  Status Annotate(const Status& status, const PlanNode* node) const;
  // Snapshots the chain (and the reader's position) for checkpoint `id`.
  Result<TaskSnapshot> SnapshotChain(int64_t id);
  // Hands a snapshot (or the failure to take it) to the coordinator.
  void Acknowledge(int64_t id, Result<TaskSnapshot> snapshot);
  // Restores the chain and the reader from restore_files.
  Status RestoreChain();
  // Emits the reader's watermark when it advanced and its idle status when it changed.
  Status ForwardSourceEventTime();
  // Delivers processing-time callbacks that are due.
  Status FireTimers();
  int64_t NextTimer() const;

  class OperatorTimers;
  // Requested callbacks: (time, chained operator index), earliest first.
  using TimerEntry = std::pair<int64_t, size_t>;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>>
      timers_;
  std::vector<std::unique_ptr<OperatorTimers>> timer_services_;

  std::string name_;
  int subtask_;
  int parallelism_;
  std::unique_ptr<InputGate> gate_;
  // What ForwardSourceEventTime() emitted last.
  int64_t source_watermark_ = kMinWatermark;
  bool source_idle_ = false;
};

/// Passes a chained operator's output to the next operator in the chain.
class ChainLink : public Collector {
 public:
  ChainLink(NodeMetrics* from, ChainedOperator* to) : from_(from), to_(to) {}
  Status Collect(std::shared_ptr<arrow::RecordBatch> batch) override;
  Status EmitWatermark(int64_t watermark) override;
  Status EmitIdleStatus(bool idle) override;

 private:
  NodeMetrics* from_;
  ChainedOperator* to_;
};

/// Passes the chain tail's output to the task's exchange writers (none for a sink).
/// Batches go to the writers of one output port; watermarks and idleness go to
/// `control_writers` (all of the task's writers for the main output, none for a side
/// output).
class TaskOutput : public Collector {
 public:
  TaskOutput(const PlanNode* node, NodeMetrics* from,
             std::vector<ExchangeWriter*> writers,
             std::vector<ExchangeWriter*> control_writers)
      : node_(node),
        from_(from),
        writers_(std::move(writers)),
        control_writers_(std::move(control_writers)) {}
  Status Collect(std::shared_ptr<arrow::RecordBatch> batch) override;
  Status EmitWatermark(int64_t watermark) override;
  Status EmitIdleStatus(bool idle) override;

 private:
  const PlanNode* node_;
  NodeMetrics* from_;
  std::vector<ExchangeWriter*> writers_;
  std::vector<ExchangeWriter*> control_writers_;
};

}  // namespace sabot
