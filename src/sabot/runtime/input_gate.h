// The inbox of one task: a bounded channel per upstream producer subtask plus the
// task's mailbox of actions. Producers block in Push() while their channel is full, so a
// slow consumer back-pressures its producers. The consumer reads in Next(), which merges
// channels fairly and turns per-channel control elements into task-level events:
// watermark = minimum over channels that have neither ended nor gone idle (and never
// backwards; when every open channel is idle, the maximum any channel reached), idle
// once every open channel is idle (both kept by a WatermarkTracker), a barrier once it
// arrived on every channel (channels that delivered it are not read until then:
// aligned checkpoints, kept by a BarrierTracker), end of input once every channel
// ended.
//
// Threads: any number of producer threads (one per channel) call Push(); one consumer
// thread calls Next()/RunPendingActions(); any thread may Post() or Cancel().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "sabot/checkpoint/barrier_tracker.h"
#include "sabot/common/status.h"
#include "sabot/runtime/stream_element.h"
#include "sabot/time/watermark_tracker.h"

namespace sabot {

/// An element as the consuming task sees it: control elements are already merged over
/// channels; `port` is the operator input a batch arrived on.
struct GateEvent {
  StreamElement element;
  int port = 0;
  /// Next() returned because its deadline passed; `element` is meaningless.
  bool timeout = false;
};

class InputGate {
 public:
  /// `channel_ports[c]` is the operator input port that channel c feeds; `capacity` is
  /// the number of elements a channel buffers before its producer blocks.
  InputGate(std::vector<int> channel_ports, int capacity);

  /// Enqueues an element on `channel`; blocks while the channel is full. Returns
  /// Cancelled once the gate is cancelled.
  Status Push(int channel, StreamElement element);

  /// Returns the next event for the task, running posted actions first. Blocks until
  /// one is available or the wall clock reaches `deadline_ms` (then the event has
  /// `timeout` set). Returns Cancelled once the gate is cancelled, or the error of a
  /// failed action.
  Result<GateEvent> Next(int64_t deadline_ms = kNoDeadline);

  static constexpr int64_t kNoDeadline = INT64_MAX;

  /// Queues an action to run on the consumer thread (checkpoint triggers, timers).
  void Post(std::function<Status()> action);

  /// Runs queued actions without waiting for data: the mailbox step of a source task.
  /// Returns Cancelled once the gate is cancelled.
  Status RunPendingActions();

  /// Wakes every blocked producer and the consumer; they return Cancelled.
  void Cancel();

  int num_channels() const { return static_cast<int>(channels_.size()); }

 private:
  struct Channel {
    std::deque<StreamElement> queue;
    int port = 0;
    bool producer_waiting = false;
    std::condition_variable not_full;
  };

  // Queues the events of a change of channel idleness or a channel's end: idle /
  // active status and a watermark that the change released, in the order the task
  // must see them.
  void QueueStatusEvents(const WatermarkTracker::StatusChange& change);
  // Spins briefly, lock released, until the gate changes; returns true if it did. A
  // hand-off between two running threads then costs no futex wake-up: on a busy
  // pipeline the other side usually acts within a microsecond.
  bool SpinUntilChanged(std::unique_lock<std::mutex>& lock);

  const int capacity_;
  std::vector<Channel> channels_;
  std::mutex mutex_;
  // Incremented under mutex_ by every change a waiter may be waiting for; read
  // without the lock while spinning.
  std::atomic<uint64_t> version_{0};
  std::condition_variable not_empty_;
  bool consumer_waiting_ = false;
  bool cancelled_ = false;
  std::deque<std::function<Status()>> actions_;
  int next_channel_ = 0;
  WatermarkTracker watermarks_;
  BarrierTracker barriers_;
  // Events derived from one element beyond the first (an end of input that completes a
  // barrier alignment and also advances the watermark), returned by the next Next().
  std::deque<GateEvent> pending_events_;
};

}  // namespace sabot
