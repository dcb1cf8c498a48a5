// Timers per key and namespace for one time domain: registered for a timestamp,
// de-duplicated (registering the same (timestamp, key, namespace) twice keeps one),
// deletable, and fired in timestamp order (then key, then namespace) once time reaches
// them. The queue is plain data so that checkpoints can snapshot and restore it.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "sabot/common/status.h"

namespace sabot {

enum class TimeDomain { kEventTime, kProcessingTime };

struct Timer {
  int64_t timestamp = 0;
  uint32_t key = 0;  // the operator's key id
  int64_t name_space = 0;

  bool operator<(const Timer& other) const {
    if (timestamp != other.timestamp) return timestamp < other.timestamp;
    if (key != other.key) return key < other.key;
    return name_space < other.name_space;
  }
  bool operator==(const Timer& other) const {
    return timestamp == other.timestamp && key == other.key &&
           name_space == other.name_space;
  }
};

class TimerQueue {
 public:
  /// Returns false if the timer was already registered.
  bool Register(const Timer& timer) { return timers_.insert(timer).second; }
  /// Returns false if there was no such timer.
  bool Delete(const Timer& timer) { return timers_.erase(timer) > 0; }

  /// Fires every timer with timestamp <= `time`, earliest first, calling
  /// `fire(const Timer&)`; timers registered by `fire` that are due fire too.
  template <typename Fire>
  Status Advance(int64_t time, Fire&& fire) {
    while (!timers_.empty() && timers_.begin()->timestamp <= time) {
      const Timer timer = *timers_.begin();
      timers_.erase(timers_.begin());
      ARROW_RETURN_NOT_OK(fire(timer));
    }
    return Status::OK();
  }

  bool empty() const { return timers_.empty(); }
  size_t size() const { return timers_.size(); }
  /// Timestamp of the earliest timer; undefined when empty.
  int64_t next_timestamp() const { return timers_.begin()->timestamp; }
  /// All timers in firing order (for snapshots).
  std::vector<Timer> Snapshot() const { return {timers_.begin(), timers_.end()}; }
  void Restore(const std::vector<Timer>& timers) {
    timers_ = {timers.begin(), timers.end()};
  }

 private:
  std::set<Timer> timers_;
};

}  // namespace sabot
