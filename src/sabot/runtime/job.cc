#include "sabot/runtime/job.h"

#include "sabot/common/initialize.h"

namespace sabot {

Job::Job(std::shared_ptr<const LogicalPlan> plan, PhysicalPlan physical)
    : plan_(std::move(plan)), physical_(std::move(physical)) {}

Result<std::shared_ptr<Job>> Job::Start(std::shared_ptr<const LogicalPlan> plan,
                                        JobOptions options) {
  ARROW_RETURN_NOT_OK(Initialize());
  const OperatorRegistry* registry =
      options.registry ? options.registry : OperatorRegistry::Default();
  ARROW_ASSIGN_OR_RAISE(PhysicalPlan physical,
                        BuildPhysicalPlan(*plan, *registry, options.channel_capacity));
  std::shared_ptr<Job> job(new Job(std::move(plan), std::move(physical)));
  if (!options.checkpoints.directory.empty()) {
    ARROW_RETURN_NOT_OK(job->PrepareCheckpoints(options.checkpoints));
  }
  for (auto& task : job->physical_.tasks) {
    job->threads_.emplace_back(&Job::RunTask, job.get(), task.get());
  }
  if (job->coordinator_) job->coordinator_->Start();
  return job;
}

Status Job::PrepareCheckpoints(const CheckpointConfig& config) {
  CheckpointConfig with_metadata = config;
  for (const PlanNode& node : plan_->nodes()) {
    with_metadata.metadata[node.name] = std::to_string(node.parallelism);
  }
  int64_t first_id = 1;
  if (config.restore) {
    ARROW_ASSIGN_OR_RAISE(auto storage,
                          CheckpointStorage::Open(config.directory, config.retain));
    ARROW_ASSIGN_OR_RAISE(auto latest, storage->Latest(&skipped_));
    if (latest) {
      for (const PlanNode& node : plan_->nodes()) {
        auto it = latest->metadata.find(node.name);
        if (it != latest->metadata.end() &&
            it->second != std::to_string(node.parallelism)) {
          return Status::NotImplemented(
              "checkpoint ", latest->id, " ran '", node.name, "' at parallelism ",
              it->second, ", the job now at ", node.parallelism,
              ": restore at the same parallelism (rescaling comes with savepoints)");
        }
      }
      for (auto& task : physical_.tasks) {
        std::vector<std::string> names;
        if (task->source_node) {
          names.push_back(Task::PositionFileName(*task->source_node, task->subtask()));
        }
        for (const ChainedOperator& chained : task->chain) {
          names.push_back(Task::StateFileName(*chained.node, task->subtask()));
        }
        for (const std::string& name : names) {
          if (latest->files.count(name) == 0) continue;
          ARROW_ASSIGN_OR_RAISE(std::string bytes, storage->ReadFile(*latest, name));
          task->restore_files.emplace(name, std::move(bytes));
        }
      }
      restored_checkpoint_ = latest->id;
      first_id = latest->id + 1;
    }
  }
  std::vector<Task*> tasks;
  for (auto& task : physical_.tasks) tasks.push_back(task.get());
  ARROW_ASSIGN_OR_RAISE(coordinator_,
                        CheckpointCoordinator::Make(with_metadata, tasks, first_id));
  for (Task* task : tasks) task->coordinator = coordinator_.get();
  return Status::OK();
}

Job::~Job() {
  Cancel();
  (void)Wait();
}

void Job::RunTask(Task* task) {
  Status status;
  // A C++ exception must not leave a task thread: it would end the process.
  try {
    status = task->Run([this](const Status& error) { Fail(error); });
  } catch (const std::exception& e) {
    status = Status::UnknownError("task '", task->name(), "' threw: ", e.what());
  } catch (...) {
    status =
        Status::UnknownError("task '", task->name(), "' threw a non-standard exception");
  }
  if (!status.ok()) {
    Fail(status);
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ++num_finished_;
}

void Job::Fail(const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Cancelled is the echo of an earlier failure or of Cancel(); keep the cause.
    if (!first_error_.ok() || (status.IsCancelled() && cancelled_)) return;
    if (!status.IsCancelled()) first_error_ = status;
    cancelled_ = true;
  }
  for (auto& task : physical_.tasks) task->gate()->Cancel();
}

void Job::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A job whose tasks all finished has succeeded; a late Cancel() does not change it.
    if (cancelled_ || num_finished_ == physical_.tasks.size()) return;
    cancelled_ = true;
  }
  for (auto& task : physical_.tasks) task->gate()->Cancel();
}

Status Job::Wait() {
  std::lock_guard<std::mutex> wait_lock(wait_mutex_);
  if (joined_) return final_status_;
  for (auto& thread : threads_) thread.join();
  if (coordinator_) coordinator_->Stop();
  std::lock_guard<std::mutex> lock(mutex_);
  joined_ = true;
  if (!first_error_.ok()) {
    final_status_ = first_error_;
  } else if (cancelled_) {
    final_status_ = Status::Cancelled("job cancelled");
  }
  return final_status_;
}

std::vector<NodeMetricsSnapshot> Job::Metrics() const {
  std::vector<NodeMetricsSnapshot> snapshots;
  for (const PlanNode& node : plan_->nodes()) {
    const NodeMetrics& m = *physical_.metrics[node.id];
    snapshots.push_back(
        {node.name, m.rows_in.load(), m.rows_out.load(), m.rows_rejected.load()});
  }
  return snapshots;
}

}  // namespace sabot
