#include "sabot/runtime/checkpoint_coordinator.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <arrow/util/macros.h>

#include "sabot/common/time.h"
#include "sabot/runtime/task.h"

namespace sabot {

Result<std::unique_ptr<CheckpointCoordinator>> CheckpointCoordinator::Make(
    CheckpointConfig config, std::vector<Task*> tasks, int64_t first_id) {
  if (config.interval_ms < 0 || config.timeout_ms <= 0 || config.max_concurrent < 1 ||
      config.min_pause_ms < 0) {
    return Status::Invalid(
        "checkpoint settings need interval >= 0 ms (0: only on demand), timeout > 0 ms, "
        "max concurrent >= 1 and min pause >= 0 ms");
  }
  ARROW_ASSIGN_OR_RAISE(
      CheckpointTracker tracker,
      CheckpointTracker::Make(static_cast<int>(tasks.size()), first_id));
  ARROW_ASSIGN_OR_RAISE(auto storage,
                        CheckpointStorage::Open(config.directory, config.retain));
  // No checkpoint of this directory is in flight before the coordinator starts: files
  // that earlier runs uploaded for checkpoints that never completed can go.
  ARROW_RETURN_NOT_OK(storage->DeleteUnreferencedSharedFiles());
  return std::unique_ptr<CheckpointCoordinator>(new CheckpointCoordinator(
      std::move(config), std::move(tasks), std::move(storage), std::move(tracker)));
}

CheckpointCoordinator::CheckpointCoordinator(CheckpointConfig config,
                                             std::vector<Task*> tasks,
                                             std::unique_ptr<CheckpointStorage> storage,
                                             CheckpointTracker tracker)
    : config_(std::move(config)),
      tasks_(std::move(tasks)),
      storage_(std::move(storage)),
      tracker_(std::move(tracker)) {}

CheckpointCoordinator::~CheckpointCoordinator() { Stop(); }

void CheckpointCoordinator::Start() {
  thread_ = std::thread(&CheckpointCoordinator::Run, this);
}

void CheckpointCoordinator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<int64_t> CheckpointCoordinator::Trigger() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (finished_) {
    return Status::Invalid("cannot checkpoint: a task of the job has already ended");
  }
  if (tracker_.num_pending() >= config_.max_concurrent) {
    return Status::Invalid("cannot checkpoint: ", tracker_.num_pending(),
                           " checkpoint(s) in flight (max concurrent ",
                           config_.max_concurrent, ")");
  }
  const int64_t id = tracker_.Trigger();
  ARROW_RETURN_NOT_OK(StartCheckpoint(id));
  return id;
}

Result<int64_t> CheckpointCoordinator::TriggerSavepoint(const std::string& directory) {
  std::error_code error;
  if (std::filesystem::exists(directory, error) &&
      !std::filesystem::is_empty(directory, error)) {
    return Status::Invalid("savepoint directory '", directory,
                           "' is not empty: give each savepoint a new directory");
  }
  ARROW_ASSIGN_OR_RAISE(auto storage, CheckpointStorage::Open(directory, 1));
  std::unique_lock<std::mutex> lock(mutex_);
  if (finished_) {
    return Status::Invalid(
        "cannot take a savepoint: a task of the job has already ended");
  }
  // A savepoint is not refused for checkpoints in flight: it is on demand.
  const int64_t id = tracker_.Trigger();
  savepoints_.insert(id);
  ARROW_RETURN_NOT_OK(StartCheckpoint(id, std::move(storage)));
  return id;
}

// Called with mutex_ held.
Status CheckpointCoordinator::StartCheckpoint(
    int64_t id, std::unique_ptr<CheckpointStorage> savepoint_storage) {
  CheckpointStorage* storage =
      savepoint_storage ? savepoint_storage.get() : storage_.get();
  auto writer = storage->Begin(id);
  if (!writer.ok()) {
    // The id stays spent: its directory may have been begun.
    ARROW_UNUSED(tracker_.Abandon(id, writer.status().ToString()));
    return writer.status();
  }
  Pending& pending = pending_[id];
  pending.savepoint_storage = std::move(savepoint_storage);
  pending.writer = std::move(writer).ValueUnsafe();
  pending.started_ms = WallClockMillis();
  pending.started_nanos = MonotonicNanos();
  pending.stats.id = id;
  pending.stats.savepoint = pending.savepoint_storage != nullptr;
  // Barriers start at the sources; the other tasks snapshot when they arrive.
  for (Task* task : tasks_) {
    if (!task->reader) continue;
    task->gate()->Post([task, id] { return task->TriggerCheckpoint(id); });
  }
  return Status::OK();
}

void CheckpointCoordinator::Acknowledge(int64_t id, TaskSnapshot snapshot) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    acknowledgements_.emplace_back(id, std::move(snapshot));
  }
  changed_.notify_all();
}

void CheckpointCoordinator::Decline(int64_t id, const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Abandon(id, status.ToString());
  }
  changed_.notify_all();
}

void CheckpointCoordinator::TaskFinished() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    while (!pending_.empty()) {
      Abandon(pending_.begin()->first, "a task ended before the checkpoint completed");
    }
  }
  changed_.notify_all();
}

// Called with mutex_ held.
void CheckpointCoordinator::Abandon(int64_t id, const std::string& reason) {
  Result<bool> abandoned = tracker_.Abandon(id, reason);
  pending_.erase(id);
  if (!abandoned.ok() || !*abandoned) return;  // never triggered, or no longer pending
  failures_.push_back(tracker_.Outcome(id)->message());
  last_end_ms_ = WallClockMillis();
}

void CheckpointCoordinator::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  int64_t next_trigger = WallClockMillis() + config_.interval_ms;
  while (!stopping_) {
    // Acknowledgements: write the task's files (the asynchronous phase), and commit
    // once every task has acknowledged.
    while (!acknowledgements_.empty()) {
      auto [id, snapshot] = std::move(acknowledgements_.front());
      acknowledgements_.pop_front();
      auto it = pending_.find(id);
      if (it == pending_.end()) continue;  // abandoned meanwhile
      Status status;
      CheckpointStats& stats = it->second.stats;
      stats.max_sync_ms = std::max(stats.max_sync_ms, snapshot.sync_nanos / 1e6);
      if (snapshot.barrier_emitted_nanos > 0) {
        stats.max_injection_us =
            std::max(stats.max_injection_us, snapshot.injection_nanos / 1e3);
        stats.max_trigger_to_barrier_us =
            std::max(stats.max_trigger_to_barrier_us,
                     (snapshot.barrier_emitted_nanos - it->second.started_nanos) / 1e3);
      }
      for (const auto& [name, bytes] : snapshot.files) {
        status = it->second.writer->WriteFile(name, bytes);
        if (!status.ok()) break;
        stats.bytes += static_cast<int64_t>(bytes.size());
      }
      stats.shared_files += static_cast<int64_t>(snapshot.shared_files.size());
      for (const SharedStateFile& file : snapshot.shared_files) {
        if (!status.ok()) break;
        status = it->second.writer->AddSharedFile(file);
      }
      if (!status.ok()) {
        Abandon(id, status.ToString());
        continue;
      }
      Result<bool> all_acknowledged = tracker_.Acknowledge(id);
      if (!all_acknowledged.ok()) {
        Abandon(id, all_acknowledged.status().ToString());
        continue;
      }
      if (!*all_acknowledged) continue;
      std::map<std::string, std::string> metadata = config_.metadata;
      if (it->second.savepoint_storage) metadata["sabot.savepoint"] = "true";
      auto completed = it->second.writer->Commit(metadata);
      if (!completed.ok()) {
        Abandon(id, completed.status().ToString());
        continue;
      }
      it->second.stats.duration_ms = (MonotonicNanos() - it->second.started_nanos) / 1e6;
      stats_.push_back(it->second.stats);
      pending_.erase(it);
      // Cannot fail: the checkpoint is pending and every task acknowledged it.
      ARROW_UNUSED(tracker_.Complete(id));
      last_end_ms_ = WallClockMillis();
      for (Task* task : tasks_) {
        task->gate()->Post([task, id] { return task->NotifyCheckpointComplete(id); });
      }
    }
    const int64_t now = WallClockMillis();
    for (auto it = pending_.begin(); it != pending_.end();) {
      const int64_t id = it->first;
      ++it;
      if (now - pending_[id].started_ms >= config_.timeout_ms) {
        Abandon(id, "not complete after " + std::to_string(config_.timeout_ms) + " ms");
      }
    }
    if (config_.interval_ms > 0 && !finished_ && now >= next_trigger &&
        static_cast<int>(pending_.size()) < config_.max_concurrent &&
        now - last_end_ms_ >= config_.min_pause_ms) {
      const int64_t id = tracker_.Trigger();
      Status status = StartCheckpoint(id);
      if (!status.ok()) {
        failures_.push_back("checkpoint " + std::to_string(id) +
                            " could not start: " + status.ToString());
      }
      next_trigger = now + config_.interval_ms;
    }
    changed_.notify_all();
    changed_.wait_for(
        lock, std::chrono::milliseconds(config_.interval_ms > 0
                                            ? std::min<int64_t>(config_.interval_ms, 50)
                                            : 50));
  }
}

Status CheckpointCoordinator::WaitFor(int64_t id, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool done = changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                      [&] { return tracker_.Outcome(id).has_value(); });
  if (!done) return Status::Invalid("checkpoint ", id, " did not finish in time");
  return *tracker_.Outcome(id);
}

std::vector<CheckpointStats> CheckpointCoordinator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

bool CheckpointCoordinator::IsSavepoint(int64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return savepoints_.count(id) > 0;
}

int64_t CheckpointCoordinator::num_completed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tracker_.num_completed();
}

std::vector<std::string> CheckpointCoordinator::failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

}  // namespace sabot
