// Processing time (wall-clock milliseconds) for operators: the current time and
// callbacks at a requested time, delivered on the operator's task thread between
// elements (Operator::OnProcessingTime). A callback may come late when the task is
// busy, never early.
#pragma once

#include <cstdint>

namespace sabot {

class ProcessingTimeService {
 public:
  virtual ~ProcessingTimeService() = default;
  /// Wall-clock milliseconds since the Unix epoch.
  virtual int64_t Now() const = 0;
  /// Asks for one OnProcessingTime() call at or after `time_ms`.
  virtual void RequestCallback(int64_t time_ms) = 0;
};

}  // namespace sabot
