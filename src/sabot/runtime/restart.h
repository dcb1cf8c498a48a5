// Running a job to completion through failures: after a task error the job is started
// again from its newest intact checkpoint, as long as the restart strategy allows
// (Flink's fixed-delay, exponential-backoff and failure-rate strategies). Cancellation
// is not a failure and is never restarted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"
#include "sabot/runtime/job.h"

namespace sabot {

struct RestartStrategy {
  enum class Kind { kNone, kFixedDelay, kExponentialBackoff, kFailureRate };
  Kind kind = Kind::kNone;
  /// kFixedDelay / kExponentialBackoff: restarts allowed in total.
  int max_restarts = 0;
  /// Wait before a restart (the first one, for exponential backoff).
  int64_t delay_ms = 0;
  /// kExponentialBackoff: each wait is the previous × multiplier, at most max_delay_ms.
  double multiplier = 2;
  int64_t max_delay_ms = 0;
  /// kFailureRate: at most max_restarts failures within any interval_ms.
  int64_t interval_ms = 0;

  static RestartStrategy None() { return {}; }
  static RestartStrategy FixedDelay(int max_restarts, int64_t delay_ms);
  static RestartStrategy ExponentialBackoff(int max_restarts, int64_t initial_delay_ms,
                                            int64_t max_delay_ms, double multiplier = 2);
  static RestartStrategy FailureRate(int max_failures, int64_t interval_ms,
                                     int64_t delay_ms);
  std::string ToString() const;
};

struct RunReport {
  int restarts = 0;
  /// The error of every failed attempt, in order.
  std::vector<std::string> failures;
  /// Checkpoint each restart resumed from (0: none existed yet).
  std::vector<int64_t> restored_checkpoints;
};

/// Runs `plan` until it finishes; after a failure, restarts it with
/// options.checkpoints.restore = true while `strategy` allows. Returns the report, or
/// an error naming the strategy that gave up and the last failure. Checkpoints must be
/// configured for restarts to resume rather than start over.
Result<RunReport> RunWithRestarts(std::shared_ptr<const LogicalPlan> plan,
                                  JobOptions options, RestartStrategy strategy);

}  // namespace sabot
