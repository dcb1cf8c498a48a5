#include "sabot/runtime/job.h"

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <optional>

#include "sabot/common/initialize.h"

namespace sabot {
namespace {

// Manifest metadata key of the job's number of key groups.
constexpr char kMaxParallelismKey[] = "sabot.max_parallelism";

}  // namespace

Job::Job(std::shared_ptr<const LogicalPlan> plan, PhysicalPlan physical)
    : plan_(std::move(plan)), physical_(std::move(physical)) {}

Result<std::shared_ptr<Job>> Job::Start(std::shared_ptr<const LogicalPlan> plan,
                                        JobOptions options) {
  ARROW_RETURN_NOT_OK(Initialize());
  const OperatorRegistry* registry =
      options.registry ? options.registry : OperatorRegistry::Default();
  ARROW_ASSIGN_OR_RAISE(PhysicalPlan physical,
                        BuildPhysicalPlan(*plan, *registry, options.channel_capacity,
                                          options.state_backend));
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
  with_metadata.metadata[kMaxParallelismKey] = std::to_string(plan_->max_parallelism());
  int64_t first_id = 1;
  if (config.restore || !config.restore_from.empty()) {
    const std::string& root =
        config.restore_from.empty() ? config.directory : config.restore_from;
    ARROW_ASSIGN_OR_RAISE(auto storage, CheckpointStorage::Open(root, config.retain));
    ARROW_ASSIGN_OR_RAISE(auto latest, storage->Latest(&skipped_));
    if (latest) {
      ARROW_RETURN_NOT_OK(AssignRestoreFiles(*storage, *latest));
      restored_checkpoint_ = latest->id;
      first_id = latest->id + 1;
    } else if (!config.restore_from.empty()) {
      return Status::Invalid("nothing to restore in '", config.restore_from,
                             "': no complete savepoint or checkpoint there");
    }
  }
  std::vector<Task*> tasks;
  for (auto& task : physical_.tasks) tasks.push_back(task.get());
  ARROW_ASSIGN_OR_RAISE(coordinator_,
                        CheckpointCoordinator::Make(with_metadata, tasks, first_id));
  for (Task* task : tasks) task->coordinator = coordinator_.get();
  return Status::OK();
}

// Same parallelism: each subtask gets its own files. Another parallelism (keyed
// operators only): each subtask gets the state files of every old subtask whose key
// groups overlap its own, and keeps the keys of its key groups (RestoreRescaled).
Status Job::AssignRestoreFiles(CheckpointStorage& storage,
                               const CompletedCheckpoint& checkpoint) {
  auto saved_parallelism = [&](const PlanNode& node) -> Result<int> {
    auto it = checkpoint.metadata.find(node.name);
    if (it == checkpoint.metadata.end()) return node.parallelism;
    int saved = 0;
    const auto [end, error] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), saved);
    if (error != std::errc() || end != it->second.data() + it->second.size() ||
        saved < 1) {
      return Status::IOError("checkpoint ", checkpoint.id, " records parallelism '",
                             it->second, "' for '", node.name, "'");
    }
    return saved;
  };
  auto max_it = checkpoint.metadata.find(kMaxParallelismKey);
  if (max_it != checkpoint.metadata.end() &&
      max_it->second != std::to_string(plan_->max_parallelism())) {
    return Status::Invalid("checkpoint ", checkpoint.id, " was taken with ",
                           max_it->second, " key groups (max parallelism), the job has ",
                           plan_->max_parallelism(),
                           ": the max parallelism of a job cannot change");
  }
  for (auto& task : physical_.tasks) {
    auto read = [&](const std::string& name) -> Result<std::optional<std::string>> {
      if (checkpoint.files.count(name) == 0) return std::optional<std::string>();
      ARROW_ASSIGN_OR_RAISE(std::string bytes, storage.ReadFile(checkpoint, name));
      return std::optional<std::string>(std::move(bytes));
    };
    if (task->source_node) {
      ARROW_ASSIGN_OR_RAISE(int saved, saved_parallelism(*task->source_node));
      if (saved != task->source_node->parallelism) {
        return Status::NotImplemented(
            "checkpoint ", checkpoint.id, " ran source '", task->source_node->name,
            "' at parallelism ", saved, ", the job at ", task->source_node->parallelism,
            ": source positions are per subtask, keep the source's parallelism "
            "(DataStream::SetParallelism) and rescale the operators after it");
      }
      const std::string name =
          Task::PositionFileName(*task->source_node, task->subtask());
      ARROW_ASSIGN_OR_RAISE(auto bytes, read(name));
      if (bytes) task->restore_files.emplace(name, std::move(*bytes));
    }
    for (ChainedOperator& chained : task->chain) {
      chained.context.restore_shared_directory = storage.SharedDirectory();
      const PlanNode& node = *chained.node;
      ARROW_ASSIGN_OR_RAISE(int saved, saved_parallelism(node));
      if (saved == node.parallelism) {
        const std::string name = Task::StateFileName(node, task->subtask());
        ARROW_ASSIGN_OR_RAISE(auto bytes, read(name));
        if (bytes) task->restore_files.emplace(name, std::move(*bytes));
        continue;
      }
      const KeyGroupRange mine = chained.context.key_groups;
      std::vector<std::string>& states = task->rescaled_states[node.id];
      for (int old = 0; old < saved; ++old) {
        const KeyGroupRange theirs =
            KeyGroupRange::ForSubtask(plan_->max_parallelism(), saved, old);
        if (theirs.last < mine.first || theirs.first > mine.last) continue;
        ARROW_ASSIGN_OR_RAISE(auto bytes, read(Task::StateFileName(node, old)));
        if (bytes) states.push_back(std::move(*bytes));
      }
    }
  }
  return Status::OK();
}

Result<int64_t> Job::TriggerSavepoint(const std::string& directory, int64_t timeout_ms) {
  if (!coordinator_) {
    return Status::Invalid(
        "savepoints need checkpointing: EnableCheckpointing (interval 0 takes only "
        "savepoints and checkpoints on demand)");
  }
  ARROW_ASSIGN_OR_RAISE(int64_t id, coordinator_->TriggerSavepoint(directory));
  ARROW_RETURN_NOT_OK(coordinator_->WaitFor(id, timeout_ms));
  return id;
}

Result<int64_t> Job::StopWithSavepoint(const std::string& directory, int64_t timeout_ms) {
  ARROW_ASSIGN_OR_RAISE(int64_t id, TriggerSavepoint(directory, timeout_ms));
  // The coordinator posted "savepoint complete" to every mailbox before the savepoint
  // counted as complete; an action posted now runs after it, so once every task ran
  // one, exactly-once sinks have committed the savepoint's output.
  struct Latch {
    std::mutex mutex;
    std::condition_variable done;
    size_t remaining;
  };
  auto latch = std::make_shared<Latch>();
  latch->remaining = physical_.tasks.size();
  for (auto& task : physical_.tasks) {
    task->gate()->Post([latch] {
      std::lock_guard<std::mutex> lock(latch->mutex);
      if (--latch->remaining == 0) latch->done.notify_all();
      return Status::OK();
    });
  }
  {
    std::unique_lock<std::mutex> lock(latch->mutex);
    if (!latch->done.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                              [&] { return latch->remaining == 0; })) {
      return Status::Invalid("savepoint ", id,
                             " completed but the tasks did not confirm its commit in ",
                             timeout_ms, " ms; the job keeps running");
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_with_savepoint_ = true;
  }
  Cancel();
  ARROW_RETURN_NOT_OK(Wait());
  return id;
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
  if (!status.ok()) Fail(status);
  std::lock_guard<std::mutex> lock(mutex_);
  if (status.ok()) ++num_finished_;
  if (++num_ended_ == physical_.tasks.size()) all_ended_.notify_all();
}

bool Job::WaitFor(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return all_ended_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                             [this] { return num_ended_ == physical_.tasks.size(); });
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
  } else if (cancelled_ && !stopped_with_savepoint_) {
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
