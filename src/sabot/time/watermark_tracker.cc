#include "sabot/time/watermark_tracker.h"

#include <algorithm>

namespace sabot {

WatermarkTracker::WatermarkTracker(int num_channels)
    : channels_(static_cast<size_t>(std::max(0, num_channels))) {}

Status WatermarkTracker::CheckOpen(int channel) const {
  if (channel < 0 || channel >= num_channels()) {
    return Status::Invalid("channel ", channel, " out of range: there are ",
                           num_channels(), " channel(s)");
  }
  if (channels_[channel].ended) {
    return Status::Invalid("channel ", channel, " has ended");
  }
  return Status::OK();
}

int64_t WatermarkTracker::MinActiveWatermark() const {
  int64_t min = kMaxWatermark;
  bool any_active = false;
  for (const auto& ch : channels_) {
    if (!ch.ended && !ch.idle) {
      min = std::min(min, ch.watermark);
      any_active = true;
    }
  }
  return any_active ? min : current_;
}

Result<std::optional<int64_t>> WatermarkTracker::Update(int channel, int64_t watermark) {
  ARROW_RETURN_NOT_OK(CheckOpen(channel));
  Channel& ch = channels_[channel];
  ch.watermark = std::max(ch.watermark, watermark);
  const int64_t merged = MinActiveWatermark();
  if (merged <= current_) return std::nullopt;
  current_ = merged;
  return merged;
}

Result<WatermarkTracker::StatusChange> WatermarkTracker::SetIdle(int channel, bool idle) {
  ARROW_RETURN_NOT_OK(CheckOpen(channel));
  channels_[channel].idle = idle;
  return OnStatusChange();
}

Result<WatermarkTracker::StatusChange> WatermarkTracker::MarkEnded(int channel) {
  ARROW_RETURN_NOT_OK(CheckOpen(channel));
  channels_[channel].ended = true;
  ++num_ended_;
  return OnStatusChange();
}

WatermarkTracker::StatusChange WatermarkTracker::OnStatusChange() {
  StatusChange change;
  bool any_active = false;
  for (const auto& ch : channels_) any_active |= !ch.ended && !ch.idle;
  if (all_ended()) return change;
  if (!any_active) {
    // Every open channel is idle: event time advances to the largest watermark any
    // channel reached (an ended channel's is its final one).
    int64_t max = current_;
    for (const auto& ch : channels_) max = std::max(max, ch.watermark);
    if (max > current_) change.watermark = current_ = max;
    if (!idle_) change.idle = idle_ = true;
    return change;
  }
  if (idle_) change.idle = idle_ = false;
  const int64_t merged = MinActiveWatermark();
  if (merged > current_) change.watermark = current_ = merged;
  return change;
}

}  // namespace sabot
