#include "sabot/runtime/task.h"

#include <arrow/record_batch.h>

#include "sabot/common/time.h"
#include "sabot/runtime/operator_error.h"

namespace sabot {

Status ChainLink::Collect(std::shared_ptr<arrow::RecordBatch> batch) {
  from_->AddOut(batch->num_rows());
  to_->metrics->AddIn(batch->num_rows());
  const OperatorContext& ctx = to_->context;
  return AnnotateOperatorError(to_->op->ProcessBatch(0, std::move(batch)), ctx.node_name,
                               ctx.subtask, ctx.parallelism);
}

Status ChainLink::EmitWatermark(int64_t watermark) {
  const OperatorContext& ctx = to_->context;
  return AnnotateOperatorError(to_->op->ProcessWatermark(watermark), ctx.node_name,
                               ctx.subtask, ctx.parallelism);
}

Status ChainLink::EmitIdleStatus(bool idle) {
  const OperatorContext& ctx = to_->context;
  return AnnotateOperatorError(to_->op->ProcessIdleStatus(idle), ctx.node_name,
                               ctx.subtask, ctx.parallelism);
}

Status TaskOutput::Collect(std::shared_ptr<arrow::RecordBatch> batch) {
  if (writers_.empty()) {
    if (node_->role != NodeRole::kSink) {
      from_->AddOut(batch->num_rows());
      return Status::OK();  // an output port nobody reads (e.g. unused late data)
    }
    return Status::Invalid("sink '", node_->name,
                           "' emitted output; sinks have no outputs");
  }
  from_->AddOut(batch->num_rows());
  for (size_t i = 0; i + 1 < writers_.size(); ++i) {
    ARROW_RETURN_NOT_OK(writers_[i]->Collect(batch));
  }
  return writers_.back()->Collect(std::move(batch));
}

Status TaskOutput::EmitWatermark(int64_t watermark) {
  for (ExchangeWriter* writer : control_writers_) {
    ARROW_RETURN_NOT_OK(writer->EmitWatermark(watermark));
  }
  return Status::OK();
}

Status TaskOutput::EmitIdleStatus(bool idle) {
  for (ExchangeWriter* writer : control_writers_) {
    ARROW_RETURN_NOT_OK(writer->EmitIdleStatus(idle));
  }
  return Status::OK();
}

class Task::OperatorTimers : public ProcessingTimeService {
 public:
  OperatorTimers(Task* task, size_t index) : task_(task), index_(index) {}
  int64_t Now() const override { return WallClockMillis(); }
  void RequestCallback(int64_t time_ms) override {
    task_->timers_.emplace(time_ms, index_);
  }

 private:
  Task* task_;
  size_t index_;
};

Task::~Task() = default;

ProcessingTimeService* Task::TimerServiceFor(size_t index) {
  while (timer_services_.size() <= index) {
    timer_services_.push_back(
        std::make_unique<OperatorTimers>(this, timer_services_.size()));
  }
  return timer_services_[index].get();
}

int64_t Task::NextTimer() const {
  return timers_.empty() ? InputGate::kNoDeadline : timers_.top().first;
}

Status Task::FireTimers() {
  if (timers_.empty()) return Status::OK();
  const int64_t now = WallClockMillis();
  while (!timers_.empty() && timers_.top().first <= now) {
    const size_t index = timers_.top().second;
    timers_.pop();
    ChainedOperator& chained = chain[index];
    ARROW_RETURN_NOT_OK(Annotate(chained.op->OnProcessingTime(now), chained.node));
  }
  return Status::OK();
}

Task::Task(std::string name, int subtask, int parallelism,
           std::unique_ptr<InputGate> gate)
    : name_(std::move(name)),
      subtask_(subtask),
      parallelism_(parallelism),
      gate_(std::move(gate)) {}

Status Task::Annotate(const Status& status, const PlanNode* node) const {
  return AnnotateOperatorError(status, node->name, subtask_, parallelism_);
}

Status Task::Run(const std::function<void(const Status&)>& on_failure) {
  Status status = reader ? RunSource() : RunGate();
  if (coordinator != nullptr) coordinator->TaskFinished();
  if (!status.ok()) on_failure(status);
  Status closed = CloseAll();
  return status.ok() ? closed : status;
}

Status Task::OpenChain() {
  for (ChainedOperator& chained : chain) {
    ARROW_RETURN_NOT_OK(Annotate(chained.op->Open(chained.context), chained.node));
  }
  return Status::OK();
}

Status Task::FinishChain() {
  for (ChainedOperator& chained : chain) {
    ARROW_RETURN_NOT_OK(Annotate(chained.op->Finish(), chained.node));
  }
  for (auto& writer : writers) ARROW_RETURN_NOT_OK(writer->EmitEndOfInput());
  return Status::OK();
}

Status Task::CloseAll() {
  Status first;
  for (ChainedOperator& chained : chain) {
    Status st = Annotate(chained.op->Close(), chained.node);
    if (first.ok()) first = st;
  }
  if (reader) {
    Status st = Annotate(reader->Close(), source_node);
    if (first.ok()) first = st;
  }
  return first;
}

std::string Task::StateFileName(const PlanNode& node, int subtask) {
  return node.name + "-" + std::to_string(subtask) + ".state";
}

std::string Task::PositionFileName(const PlanNode& node, int subtask) {
  return node.name + "-" + std::to_string(subtask) + ".position";
}

Result<TaskSnapshot> Task::SnapshotChain(int64_t id) {
  const int64_t start = MonotonicNanos();
  TaskSnapshot snapshot;
  if (reader) {
    auto position = reader->SnapshotPosition();
    ARROW_RETURN_NOT_OK(Annotate(position.status(), source_node));
    snapshot.files.emplace_back(PositionFileName(*source_node, subtask_),
                                std::move(*position));
  }
  const bool savepoint = coordinator->IsSavepoint(id);
  for (ChainedOperator& chained : chain) {
    chained.op->set_snapshot_for_savepoint(savepoint);
    auto state = chained.op->SnapshotState(id);
    ARROW_RETURN_NOT_OK(Annotate(state.status(), chained.node));
    if (!state->empty()) {
      snapshot.files.emplace_back(StateFileName(*chained.node, subtask_),
                                  std::move(*state));
    }
    for (SharedStateFile& file : chained.op->TakeSharedFiles()) {
      snapshot.shared_files.push_back(std::move(file));
    }
  }
  snapshot.sync_nanos = MonotonicNanos() - start;
  return snapshot;
}

void Task::Acknowledge(int64_t id, Result<TaskSnapshot> snapshot) {
  if (snapshot.ok()) {
    coordinator->Acknowledge(id, std::move(*snapshot));
  } else {
    coordinator->Decline(id, snapshot.status());
  }
}

Status Task::TriggerCheckpoint(int64_t id) {
  const int64_t start = MonotonicNanos();
  Result<TaskSnapshot> snapshot = SnapshotChain(id);
  for (auto& writer : writers) ARROW_RETURN_NOT_OK(writer->EmitBarrier(id));
  if (snapshot.ok()) {
    snapshot->barrier_emitted_nanos = MonotonicNanos();
    snapshot->injection_nanos = snapshot->barrier_emitted_nanos - start;
  }
  Acknowledge(id, std::move(snapshot));
  return Status::OK();
}

Status Task::NotifyCheckpointComplete(int64_t id) {
  if (reader) {
    ARROW_RETURN_NOT_OK(Annotate(reader->NotifyCheckpointComplete(id), source_node));
  }
  for (ChainedOperator& chained : chain) {
    ARROW_RETURN_NOT_OK(Annotate(chained.op->NotifyCheckpointComplete(id), chained.node));
  }
  return Status::OK();
}

Status Task::RestoreChain() {
  if (restore_files.empty() && rescaled_states.empty()) return Status::OK();
  if (reader) {
    auto it = restore_files.find(PositionFileName(*source_node, subtask_));
    if (it != restore_files.end()) {
      ARROW_RETURN_NOT_OK(Annotate(reader->RestorePosition(it->second), source_node));
    }
  }
  for (ChainedOperator& chained : chain) {
    auto it = restore_files.find(StateFileName(*chained.node, subtask_));
    if (it != restore_files.end()) {
      ARROW_RETURN_NOT_OK(Annotate(chained.op->RestoreState(it->second), chained.node));
    }
    auto rescaled = rescaled_states.find(chained.node->id);
    if (rescaled != rescaled_states.end() && !rescaled->second.empty()) {
      ARROW_RETURN_NOT_OK(
          Annotate(chained.op->RestoreRescaled(rescaled->second), chained.node));
    }
  }
  restore_files.clear();
  rescaled_states.clear();
  return Status::OK();
}

Status Task::RunSource() {
  ARROW_RETURN_NOT_OK(Annotate(reader->Open(), source_node));
  ARROW_RETURN_NOT_OK(OpenChain());
  ARROW_RETURN_NOT_OK(RestoreChain());
  while (true) {
    ARROW_RETURN_NOT_OK(gate_->RunPendingActions());
    auto next = reader->Next();
    ARROW_RETURN_NOT_OK(Annotate(next.status(), source_node));
    std::shared_ptr<arrow::RecordBatch> batch = std::move(next).ValueOrDie();
    ARROW_RETURN_NOT_OK(FireTimers());
    if (!batch) break;
    // Errors of chained operators are already annotated; what is left (the exchange
    // right after the source) belongs to the source.
    if (batch->num_rows() > 0) {
      ARROW_RETURN_NOT_OK(
          Annotate(source_output->Collect(std::move(batch)), source_node));
    }
    ARROW_RETURN_NOT_OK(Annotate(ForwardSourceEventTime(), source_node));
  }
  // End of a bounded input: event time is complete, as in Flink.
  ARROW_RETURN_NOT_OK(Annotate(source_output->EmitWatermark(kMaxWatermark), source_node));
  return FinishChain();
}

Status Task::ForwardSourceEventTime() {
  // The watermark goes first: a reader that turns idle has advanced it for the last
  // time before it stops holding back downstream.
  const int64_t watermark = reader->CurrentWatermark();
  if (watermark > source_watermark_) {
    source_watermark_ = watermark;
    ARROW_RETURN_NOT_OK(source_output->EmitWatermark(watermark));
  }
  const bool idle = reader->IsIdle();
  if (idle != source_idle_) {
    source_idle_ = idle;
    ARROW_RETURN_NOT_OK(source_output->EmitIdleStatus(idle));
  }
  return Status::OK();
}

Status Task::RunGate() {
  ARROW_RETURN_NOT_OK(OpenChain());
  ARROW_RETURN_NOT_OK(RestoreChain());
  ChainedOperator& head = chain.front();
  while (true) {
    ARROW_ASSIGN_OR_RAISE(GateEvent event, gate_->Next(NextTimer()));
    ARROW_RETURN_NOT_OK(FireTimers());
    if (event.timeout) continue;
    StreamElement& element = event.element;
    switch (element.kind) {
      case StreamElement::Kind::kBatch:
        head.metrics->AddIn(element.batch->num_rows());
        ARROW_RETURN_NOT_OK(Annotate(
            head.op->ProcessBatch(event.port, std::move(element.batch)), head.node));
        break;
      case StreamElement::Kind::kWatermark:
        ARROW_RETURN_NOT_OK(
            Annotate(head.op->ProcessWatermark(element.value), head.node));
        break;
      case StreamElement::Kind::kIdleStatus:
        ARROW_RETURN_NOT_OK(
            Annotate(head.op->ProcessIdleStatus(element.value != 0), head.node));
        break;
      case StreamElement::Kind::kBarrier:
        // Aligned: every input delivered the barrier, so the chain's state reflects
        // exactly the records before it.
        if (coordinator != nullptr)
          Acknowledge(element.value, SnapshotChain(element.value));
        for (auto& writer : writers)
          ARROW_RETURN_NOT_OK(writer->EmitBarrier(element.value));
        break;
      case StreamElement::Kind::kEndOfInput:
        return FinishChain();
    }
  }
}

}  // namespace sabot
