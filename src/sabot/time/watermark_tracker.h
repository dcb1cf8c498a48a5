// The combined event time of several inputs (the channels of a task's input gate, or
// the partitions of a source): watermark = minimum over the channels that have neither
// ended nor gone idle, never going backwards; when every open channel is idle, the
// largest watermark any channel reached (as Flink, so that results do not wait for
// inputs that may never send again). Plain bookkeeping without threads or locks: the
// InputGate calls it under its mutex, and Python users call it directly
// (sb.WatermarkTracker).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/common/time.h"

namespace sabot {

class WatermarkTracker {
 public:
  /// What a change of a channel's idleness or its end released: a watermark that
  /// advanced and a change of the combined idleness (every open channel idle). When the
  /// inputs go idle, the watermark advanced before they did; when they become active
  /// again, they did so before the watermark advanced: report them in that order.
  struct StatusChange {
    std::optional<int64_t> watermark;
    std::optional<bool> idle;
  };

  /// Every channel starts active at kMinWatermark.
  explicit WatermarkTracker(int num_channels);

  /// Records that event time reached `watermark` on `channel` (a lower value than the
  /// channel's last one is ignored: a channel's watermark never goes back either).
  /// Returns the combined watermark if it advanced. An idle channel stays idle: its
  /// watermark counts once it is active again. Invalid for an ended channel.
  Result<std::optional<int64_t>> Update(int channel, int64_t watermark);

  /// Marks `channel` idle (it no longer holds the combined watermark back) or active
  /// again. Invalid for an ended channel.
  Result<StatusChange> SetIdle(int channel, bool idle);

  /// Marks `channel` ended: its watermark is final and no longer holds the others back.
  /// Once every channel ended nothing changes any more (end of input is the caller's
  /// to report). Invalid if the channel had already ended.
  Result<StatusChange> MarkEnded(int channel);

  /// The combined watermark; kMinWatermark until every active channel has one.
  int64_t current() const { return current_; }
  /// Whether an event at `timestamp` is behind the combined watermark.
  bool IsLate(int64_t timestamp) const { return timestamp < current_; }
  /// Whether every open channel is idle (and at least one is open).
  bool idle() const { return idle_; }
  bool all_ended() const { return num_ended_ == num_channels(); }

  int num_channels() const { return static_cast<int>(channels_.size()); }

 private:
  struct Channel {
    int64_t watermark = kMinWatermark;
    bool idle = false;
    bool ended = false;
  };

  // Invalid unless `channel` is a channel that has not ended.
  Status CheckOpen(int channel) const;
  // The minimum watermark over open, active channels (the current watermark when
  // there is none).
  int64_t MinActiveWatermark() const;
  StatusChange OnStatusChange();

  std::vector<Channel> channels_;
  int num_ended_ = 0;
  int64_t current_ = kMinWatermark;
  bool idle_ = false;
};

}  // namespace sabot
