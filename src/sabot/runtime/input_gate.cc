#include "sabot/runtime/input_gate.h"

#include <algorithm>
#include <chrono>

#include "sabot/common/time.h"

namespace sabot {

InputGate::InputGate(std::vector<int> channel_ports, int capacity)
    : capacity_(std::max(1, capacity)),
      channels_(channel_ports.size()),
      current_watermark_(kMinWatermark) {
  for (size_t c = 0; c < channel_ports.size(); ++c) {
    channels_[c].port = channel_ports[c];
    channels_[c].watermark = kMinWatermark;
  }
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

int64_t InputGate::MinChannelWatermark() const {
  int64_t min = kMaxWatermark;
  bool any_active = false;
  for (const auto& ch : channels_) {
    if (!ch.ended && !ch.idle) {
      min = std::min(min, ch.watermark);
      any_active = true;
    }
  }
  return any_active ? min : current_watermark_;
}

void InputGate::OnChannelStatusChange() {
  bool any_open = false;
  bool any_active = false;
  for (const auto& ch : channels_) {
    any_open |= !ch.ended;
    any_active |= !ch.ended && !ch.idle;
  }
  if (!any_open) return;  // end of input is reported by Next() itself
  if (!any_active) {
    // As Flink: once no open channel is active, event time advances to the largest
    // watermark any channel reached (an ended channel's is the final one), so that
    // results do not wait for inputs that may never send again.
    int64_t max = current_watermark_;
    for (const auto& ch : channels_) max = std::max(max, ch.watermark);
    if (max > current_watermark_) {
      current_watermark_ = max;
      pending_events_.push_back({StreamElement::Watermark(max), 0});
    }
    if (!idle_) {
      idle_ = true;
      pending_events_.push_back({StreamElement::IdleStatus(true), 0});
    }
    return;
  }
  if (idle_) {
    idle_ = false;
    pending_events_.push_back({StreamElement::IdleStatus(false), 0});
  }
  const int64_t merged = MinChannelWatermark();
  if (merged > current_watermark_) {
    current_watermark_ = merged;
    pending_events_.push_back({StreamElement::Watermark(merged), 0});
  }
}

bool InputGate::BarrierAligned() const {
  return pending_barrier_ >= 0 && num_blocked_ + num_ended_ == num_channels();
}

void InputGate::UnblockChannels() {
  for (auto& ch : channels_) ch.blocked = false;
  num_blocked_ = 0;
  pending_barrier_ = -1;
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
      if (!channels_[c].blocked && !channels_[c].queue.empty()) {
        found = c;
        break;
      }
    }
    if (found < 0) {
      if (num_ended_ == n) return GateEvent{StreamElement::EndOfInput(), 0};
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
        ch.watermark = std::max(ch.watermark, element.value);
        int64_t merged = MinChannelWatermark();
        if (merged > current_watermark_) {
          current_watermark_ = merged;
          return GateEvent{StreamElement::Watermark(merged), 0};
        }
        break;
      }
      case StreamElement::Kind::kBarrier: {
        if (pending_barrier_ >= 0 && element.value != pending_barrier_) {
          return Status::Invalid("barrier ", element.value,
                                 " arrived while aligning barrier ", pending_barrier_);
        }
        pending_barrier_ = element.value;
        ch.blocked = true;
        ++num_blocked_;
        if (BarrierAligned()) {
          int64_t id = pending_barrier_;
          UnblockChannels();
          return GateEvent{StreamElement::Barrier(id), 0};
        }
        break;
      }
      case StreamElement::Kind::kIdleStatus: {
        ch.idle = element.value != 0;
        OnChannelStatusChange();
        if (!pending_events_.empty()) {
          GateEvent event = std::move(pending_events_.front());
          pending_events_.pop_front();
          return event;
        }
        break;
      }
      case StreamElement::Kind::kEndOfInput: {
        ch.ended = true;
        ++num_ended_;
        if (BarrierAligned()) {
          pending_events_.push_back({StreamElement::Barrier(pending_barrier_), 0});
          UnblockChannels();
        }
        // The ended channel no longer holds the watermark back.
        OnChannelStatusChange();
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
