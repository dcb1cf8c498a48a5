#include "sabot/checkpoint/barrier_tracker.h"

#include <algorithm>

namespace sabot {

BarrierTracker::BarrierTracker(int num_channels)
    : channels_(static_cast<size_t>(std::max(0, num_channels)), State::kOpen) {}

Status BarrierTracker::CheckChannel(int channel) const {
  if (channel < 0 || channel >= num_channels()) {
    return Status::Invalid("channel ", channel, " out of range: there are ",
                           num_channels(), " channel(s)");
  }
  if (channels_[channel] == State::kEnded) {
    return Status::Invalid("channel ", channel, " has ended");
  }
  return Status::OK();
}

Result<bool> BarrierTracker::OnBarrier(int channel, int64_t checkpoint_id) {
  ARROW_RETURN_NOT_OK(CheckChannel(channel));
  if (pending_ && checkpoint_id != *pending_) {
    return Status::Invalid("barrier ", checkpoint_id, " arrived while aligning barrier ",
                           *pending_);
  }
  if (channels_[channel] == State::kBlocked) {
    return Status::Invalid("channel ", channel, " already delivered barrier ",
                           checkpoint_id);
  }
  pending_ = checkpoint_id;
  channels_[channel] = State::kBlocked;
  ++num_blocked_;
  return CompleteIfAligned();
}

Result<std::optional<int64_t>> BarrierTracker::MarkEnded(int channel) {
  ARROW_RETURN_NOT_OK(CheckChannel(channel));
  if (channels_[channel] == State::kBlocked) --num_blocked_;
  channels_[channel] = State::kEnded;
  ++num_ended_;
  const std::optional<int64_t> pending = pending_;
  if (!CompleteIfAligned()) return std::nullopt;
  return pending;
}

bool BarrierTracker::CompleteIfAligned() {
  if (!pending_ || num_blocked_ + num_ended_ < num_channels()) return false;
  Reset();
  return true;
}

void BarrierTracker::Reset() {
  for (State& state : channels_) {
    if (state == State::kBlocked) state = State::kOpen;
  }
  num_blocked_ = 0;
  pending_.reset();
}

std::vector<int> BarrierTracker::BlockedChannels() const {
  std::vector<int> blocked;
  for (int c = 0; c < num_channels(); ++c) {
    if (channels_[c] == State::kBlocked) blocked.push_back(c);
  }
  return blocked;
}

}  // namespace sabot
