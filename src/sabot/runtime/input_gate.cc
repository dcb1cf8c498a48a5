#include "sabot/runtime/input_gate.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "sabot/common/time.h"

namespace sabot {

InputGate::InputGate(std::vector<int> channel_ports, int capacity)
    : capacity_(std::max(1, capacity)),
      channels_(channel_ports.size()),
      watermarks_(static_cast<int>(channel_ports.size())),
      barriers_(static_cast<int>(channel_ports.size())) {
  for (size_t c = 0; c < channel_ports.size(); ++c) channels_[c].port = channel_ports[c];
}

namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A pause takes 10-140 cycles depending on the CPU: this spins for at most a few
// microseconds, short enough not to starve the other side when cores are scarce.
constexpr int kSpinIterations = 100;

}  // namespace

bool InputGate::SpinUntilChanged(std::unique_lock<std::mutex>& lock) {
  const uint64_t seen = version_.load(std::memory_order_relaxed);
  lock.unlock();
  for (int i = 0; i < kSpinIterations; ++i) {
    if (version_.load(std::memory_order_acquire) != seen) break;
    CpuRelax();
  }
  lock.lock();
  // Checked again under the lock: a change between the last spin and lock() must not
  // be missed, or the caller would sleep through it.
  return version_.load(std::memory_order_relaxed) != seen;
}

Status InputGate::Push(int channel, StreamElement element) {
  std::unique_lock<std::mutex> lock(mutex_);
  Channel& ch = channels_[channel];
  while (!cancelled_ && static_cast<int>(ch.queue.size()) >= capacity_) {
    if (SpinUntilChanged(lock)) continue;
    ch.producer_waiting = true;
    ch.not_full.wait(lock);
  }
  if (cancelled_) return Status::Cancelled("job cancelled");
  ch.queue.push_back(std::move(element));
  version_.fetch_add(1, std::memory_order_release);
  if (consumer_waiting_) not_empty_.notify_one();
  return Status::OK();
}

void InputGate::Post(std::function<Status()> action) {
  std::lock_guard<std::mutex> lock(mutex_);
  actions_.push_back(std::move(action));
  version_.fetch_add(1, std::memory_order_release);
  if (consumer_waiting_) not_empty_.notify_one();
}

Status InputGate::RunPendingActions() {
  std::deque<std::function<Status()>> actions;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return Status::Cancelled("job cancelled");
    actions.swap(actions_);
  }
  for (auto& action : actions) ARROW_RETURN_NOT_OK(action());
  return Status::OK();
}

void InputGate::Cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
  version_.fetch_add(1, std::memory_order_release);
  not_empty_.notify_all();
  for (auto& ch : channels_) ch.not_full.notify_all();
}

void InputGate::QueueStatusEvents(const WatermarkTracker::StatusChange& change) {
  // Going active precedes the watermark it releases; going idle follows it.
  if (change.idle && !*change.idle) {
    pending_events_.push_back({StreamElement::IdleStatus(false), 0});
  }
  if (change.watermark) {
    pending_events_.push_back({StreamElement::Watermark(*change.watermark), 0});
  }
  if (change.idle && *change.idle) {
    pending_events_.push_back({StreamElement::IdleStatus(true), 0});
  }
}

Result<GateEvent> InputGate::Next(int64_t deadline_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  const int n = num_channels();
  while (true) {
    if (cancelled_) return Status::Cancelled("job cancelled");
    if (!actions_.empty()) {
      auto action = std::move(actions_.front());
      actions_.pop_front();
      lock.unlock();
      ARROW_RETURN_NOT_OK(action());
      lock.lock();
      continue;
    }
    if (!pending_events_.empty()) {
      GateEvent event = std::move(pending_events_.front());
      pending_events_.pop_front();
      return event;
    }
    int found = -1;
    for (int k = 0; k < n; ++k) {
      int c = (next_channel_ + k) % n;
      if (!barriers_.IsBlocked(c) && !channels_[c].queue.empty()) {
        found = c;
        break;
      }
    }
    if (found < 0) {
      if (watermarks_.all_ended()) return GateEvent{StreamElement::EndOfInput(), 0};
      if (deadline_ms != kNoDeadline && WallClockMillis() >= deadline_ms) {
        return GateEvent{StreamElement{}, 0, /*timeout=*/true};
      }
      if (SpinUntilChanged(lock)) continue;
      consumer_waiting_ = true;
      if (deadline_ms == kNoDeadline) {
        not_empty_.wait(lock);
      } else {
        not_empty_.wait_until(lock, std::chrono::system_clock::time_point(
                                        std::chrono::milliseconds(deadline_ms)));
      }
      consumer_waiting_ = false;
      continue;
    }
    next_channel_ = (found + 1) % n;
    Channel& ch = channels_[found];
    StreamElement element = std::move(ch.queue.front());
    ch.queue.pop_front();
    version_.fetch_add(1, std::memory_order_release);
    if (ch.producer_waiting) {
      ch.producer_waiting = false;
      ch.not_full.notify_one();
    }
    switch (element.kind) {
      case StreamElement::Kind::kBatch:
        return GateEvent{std::move(element), ch.port};
      case StreamElement::Kind::kWatermark: {
        ARROW_ASSIGN_OR_RAISE(std::optional<int64_t> advanced,
                              watermarks_.Update(found, element.value));
        if (advanced) return GateEvent{StreamElement::Watermark(*advanced), 0};
        break;
      }
      case StreamElement::Kind::kBarrier: {
        ARROW_ASSIGN_OR_RAISE(bool aligned, barriers_.OnBarrier(found, element.value));
        if (aligned) return GateEvent{StreamElement::Barrier(element.value), 0};
        break;
      }
      case StreamElement::Kind::kIdleStatus: {
        ARROW_ASSIGN_OR_RAISE(WatermarkTracker::StatusChange change,
                              watermarks_.SetIdle(found, element.value != 0));
        QueueStatusEvents(change);
        if (!pending_events_.empty()) {
          GateEvent event = std::move(pending_events_.front());
          pending_events_.pop_front();
          return event;
        }
        break;
      }
      case StreamElement::Kind::kEndOfInput: {
        ARROW_ASSIGN_OR_RAISE(std::optional<int64_t> aligned, barriers_.MarkEnded(found));
        if (aligned) pending_events_.push_back({StreamElement::Barrier(*aligned), 0});
        // The ended channel no longer holds the watermark back.
        ARROW_ASSIGN_OR_RAISE(WatermarkTracker::StatusChange change,
                              watermarks_.MarkEnded(found));
        QueueStatusEvents(change);
        if (!pending_events_.empty()) {
          GateEvent event = std::move(pending_events_.front());
          pending_events_.pop_front();
          return event;
        }
        break;
      }
    }
  }
}

}  // namespace sabot
