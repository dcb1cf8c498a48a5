#include "sabot/runtime/restart.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <sstream>
#include <thread>

#include "sabot/common/time.h"

namespace sabot {

RestartStrategy RestartStrategy::FixedDelay(int max_restarts, int64_t delay_ms) {
  RestartStrategy strategy;
  strategy.kind = Kind::kFixedDelay;
  strategy.max_restarts = max_restarts;
  strategy.delay_ms = delay_ms;
  return strategy;
}

RestartStrategy RestartStrategy::ExponentialBackoff(int max_restarts,
                                                    int64_t initial_delay_ms,
                                                    int64_t max_delay_ms,
                                                    double multiplier) {
  RestartStrategy strategy;
  strategy.kind = Kind::kExponentialBackoff;
  strategy.max_restarts = max_restarts;
  strategy.delay_ms = initial_delay_ms;
  strategy.max_delay_ms = max_delay_ms;
  strategy.multiplier = multiplier;
  return strategy;
}

RestartStrategy RestartStrategy::FailureRate(int max_failures, int64_t interval_ms,
                                             int64_t delay_ms) {
  RestartStrategy strategy;
  strategy.kind = Kind::kFailureRate;
  strategy.max_restarts = max_failures;
  strategy.interval_ms = interval_ms;
  strategy.delay_ms = delay_ms;
  return strategy;
}

std::string RestartStrategy::ToString() const {
  std::ostringstream out;
  switch (kind) {
    case Kind::kNone:
      out << "no restarts";
      break;
    case Kind::kFixedDelay:
      out << "fixed delay (" << max_restarts << " restarts, " << delay_ms << " ms apart)";
      break;
    case Kind::kExponentialBackoff:
      out << "exponential backoff (" << max_restarts << " restarts, " << delay_ms
          << " ms growing ×" << multiplier << " up to " << max_delay_ms << " ms)";
      break;
    case Kind::kFailureRate:
      out << "failure rate (at most " << max_restarts << " failures per " << interval_ms
          << " ms)";
      break;
  }
  return out.str();
}

Result<RunReport> RunWithRestarts(std::shared_ptr<const LogicalPlan> plan,
                                  JobOptions options, RestartStrategy strategy) {
  if (strategy.max_restarts < 0 || strategy.delay_ms < 0 || strategy.multiplier < 1 ||
      (strategy.kind == RestartStrategy::Kind::kFailureRate &&
       strategy.interval_ms <= 0)) {
    return Status::Invalid("restart strategy ", strategy.ToString(),
                           " needs counts and delays >= 0, a multiplier >= 1 and a "
                           "positive failure-rate interval");
  }
  RunReport report;
  std::deque<int64_t> failure_times;  // failure-rate window
  int64_t delay = strategy.delay_ms;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto job, Job::Start(plan, options));
    if (report.restarts > 0)
      report.restored_checkpoints.push_back(job->restored_checkpoint());
    Status status = job->Wait();
    if (status.ok() || status.IsCancelled()) return report;
    report.failures.push_back(status.ToString());
    const int64_t now = WallClockMillis();
    bool allowed = false;
    switch (strategy.kind) {
      case RestartStrategy::Kind::kNone:
        break;
      case RestartStrategy::Kind::kFixedDelay:
      case RestartStrategy::Kind::kExponentialBackoff:
        allowed = report.restarts < strategy.max_restarts;
        break;
      case RestartStrategy::Kind::kFailureRate:
        failure_times.push_back(now);
        while (!failure_times.empty() &&
               now - failure_times.front() > strategy.interval_ms) {
          failure_times.pop_front();
        }
        allowed = static_cast<int>(failure_times.size()) <= strategy.max_restarts;
        break;
    }
    if (!allowed) {
      return status.WithMessage("job failed ", report.failures.size(),
                                " time(s); restart strategy ", strategy.ToString(),
                                " gave up. Last failure: ", status.message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    if (strategy.kind == RestartStrategy::Kind::kExponentialBackoff) {
      delay = std::min<int64_t>(
          strategy.max_delay_ms,
          static_cast<int64_t>(static_cast<double>(delay) * strategy.multiplier));
    }
    ++report.restarts;
    if (!options.checkpoints.directory.empty()) options.checkpoints.restore = true;
  }
}

}  // namespace sabot
