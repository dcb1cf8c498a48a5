// The life of checkpoints, without storage or threads: ids 1, 2, 3, ... (or onwards
// from a restored checkpoint); each is pending from its trigger until every task
// acknowledged it and the caller committed it (complete), or until it is abandoned (a
// task declined, ended or timed out, or a write failed). CheckpointCoordinator keeps
// one under its mutex next to the storage writers; Python users drive one directly
// (sb.Coordinator).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sabot/common/status.h"

namespace sabot {

class CheckpointTracker {
 public:
  /// Each checkpoint needs `num_tasks` (>= 0) acknowledgements; ids start at
  /// `first_id` (>= 1).
  static Result<CheckpointTracker> Make(int num_tasks, int64_t first_id);

  /// Starts the next checkpoint and returns its id: one more than the previous one.
  int64_t Trigger();

  /// Records one task's acknowledgement of checkpoint `id`. Returns true when it was
  /// the last one needed: the caller then commits the checkpoint and calls Complete()
  /// or Abandon(). An acknowledgement of a checkpoint already abandoned is ignored
  /// (false): a task may finish its snapshot after another one declined. Invalid for an
  /// id never triggered, or once every task acknowledged.
  Result<bool> Acknowledge(int64_t id);

  /// Marks pending checkpoint `id`, acknowledged by every task, complete. Invalid
  /// otherwise.
  Status Complete(int64_t id);

  /// Abandons checkpoint `id` for `reason`. Returns false if it was no longer pending
  /// (complete or abandoned already). Invalid for an id never triggered.
  Result<bool> Abandon(int64_t id, const std::string& reason);

  /// OK once checkpoint `id` completed, Invalid ("checkpoint <id> abandoned: <reason>")
  /// once abandoned; none while pending or never triggered.
  std::optional<Status> Outcome(int64_t id) const;

  bool IsPending(int64_t id) const { return pending_.count(id) > 0; }
  /// Pending checkpoints, ascending.
  std::vector<int64_t> Pending() const;
  int num_pending() const { return static_cast<int>(pending_.size()); }
  /// Completed checkpoints, ascending.
  std::vector<int64_t> Completed() const;
  int64_t num_completed() const { return num_completed_; }
  std::optional<int64_t> latest_completed() const { return latest_completed_; }
  int num_tasks() const { return num_tasks_; }

 private:
  CheckpointTracker(int num_tasks, int64_t first_id)
      : num_tasks_(num_tasks), first_id_(first_id), next_id_(first_id) {}

  // Invalid unless `id` was triggered.
  Status CheckTriggered(int64_t id) const;

  int num_tasks_;
  int64_t first_id_;
  int64_t next_id_;
  std::map<int64_t, int> pending_;  // id -> acknowledgements so far
  std::map<int64_t, Status> outcomes_;
  int64_t num_completed_ = 0;
  std::optional<int64_t> latest_completed_;
};

}  // namespace sabot
