#include "sabot/checkpoint/checkpoint_tracker.h"

namespace sabot {

Result<CheckpointTracker> CheckpointTracker::Make(int num_tasks, int64_t first_id) {
  if (num_tasks < 0) {
    return Status::Invalid("a checkpoint needs 0 or more tasks, got ", num_tasks);
  }
  if (first_id < 1) {
    return Status::Invalid("checkpoint ids start at 1 or later, got ", first_id);
  }
  return CheckpointTracker(num_tasks, first_id);
}

int64_t CheckpointTracker::Trigger() {
  const int64_t id = next_id_++;
  pending_[id] = 0;
  return id;
}

Status CheckpointTracker::CheckTriggered(int64_t id) const {
  if (id < first_id_ || id >= next_id_) {
    return Status::Invalid("checkpoint ", id, " was never triggered");
  }
  return Status::OK();
}

Result<bool> CheckpointTracker::Acknowledge(int64_t id) {
  ARROW_RETURN_NOT_OK(CheckTriggered(id));
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    if (outcomes_.at(id).ok()) {
      return Status::Invalid("checkpoint ", id, " is already complete");
    }
    return false;
  }
  if (it->second >= num_tasks_) {
    return Status::Invalid("checkpoint ", id, " was already acknowledged by all ",
                           num_tasks_, " task(s)");
  }
  return ++it->second == num_tasks_;
}

Status CheckpointTracker::Complete(int64_t id) {
  ARROW_RETURN_NOT_OK(CheckTriggered(id));
  auto it = pending_.find(id);
  if (it == pending_.end()) return Status::Invalid("checkpoint ", id, " is not pending");
  if (it->second < num_tasks_) {
    return Status::Invalid("checkpoint ", id, " has ", it->second, " of ", num_tasks_,
                           " acknowledgements");
  }
  pending_.erase(it);
  outcomes_[id] = Status::OK();
  ++num_completed_;
  if (!latest_completed_ || id > *latest_completed_) latest_completed_ = id;
  return Status::OK();
}

Result<bool> CheckpointTracker::Abandon(int64_t id, const std::string& reason) {
  ARROW_RETURN_NOT_OK(CheckTriggered(id));
  if (pending_.erase(id) == 0) return false;
  outcomes_[id] = Status::Invalid(std::string("checkpoint ") + std::to_string(id) +
                                  " abandoned: " + reason);
  return true;
}

std::optional<Status> CheckpointTracker::Outcome(int64_t id) const {
  auto it = outcomes_.find(id);
  if (it == outcomes_.end()) return std::nullopt;
  return it->second;
}

std::vector<int64_t> CheckpointTracker::Pending() const {
  std::vector<int64_t> ids;
  for (const auto& [id, acknowledged] : pending_) ids.push_back(id);
  return ids;
}

std::vector<int64_t> CheckpointTracker::Completed() const {
  std::vector<int64_t> ids;
  for (const auto& [id, outcome] : outcomes_) {
    if (outcome.ok()) ids.push_back(id);
  }
  return ids;
}

}  // namespace sabot
