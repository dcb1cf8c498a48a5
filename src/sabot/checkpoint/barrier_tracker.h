// Barrier alignment for aligned checkpoints (Chandy–Lamport, as Flink): a task with
// several input channels takes its snapshot for checkpoint n once barrier n arrived on
// every channel. A channel that delivered the barrier is blocked until then, so that no
// record after the barrier reaches the state before the snapshot; an ended channel
// counts as delivered. Plain bookkeeping without threads or locks: the InputGate calls
// it under its mutex, and Python users call it directly (sb.BarrierTracker).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sabot/common/status.h"

namespace sabot {

class BarrierTracker {
 public:
  explicit BarrierTracker(int num_channels);

  /// Barrier `checkpoint_id` arrived on `channel`, which is blocked from now on.
  /// Returns true when that completed the alignment: every channel delivered it or
  /// ended; every channel is unblocked again. Invalid for a channel out of range, ended
  /// or already blocked (a blocked channel is not read, so a second barrier on it is a
  /// protocol error), and for a barrier other than the pending one (checkpoints are
  /// aligned one at a time: a newer barrier cannot overtake a pending one on any
  /// channel).
  Result<bool> OnBarrier(int channel, int64_t checkpoint_id);

  /// `channel` has no more input: it no longer holds an alignment back (a blocked
  /// channel that ends still counts once). Returns the id of the checkpoint whose
  /// alignment that completed, if any. Invalid for a channel out of range or already
  /// ended.
  Result<std::optional<int64_t>> MarkEnded(int channel);

  /// Drops the pending alignment (an abandoned checkpoint) and unblocks every channel.
  void Reset();

  /// The checkpoint being aligned, if any.
  std::optional<int64_t> pending() const { return pending_; }
  bool IsBlocked(int channel) const { return channels_[channel] == State::kBlocked; }
  /// The channels that delivered the pending barrier, ascending.
  std::vector<int> BlockedChannels() const;
  int num_channels() const { return static_cast<int>(channels_.size()); }

 private:
  enum class State : uint8_t { kOpen, kBlocked, kEnded };

  Status CheckChannel(int channel) const;
  // Completes the alignment if every channel delivered the pending barrier or ended.
  bool CompleteIfAligned();

  std::vector<State> channels_;
  int num_blocked_ = 0;
  int num_ended_ = 0;
  std::optional<int64_t> pending_;
};

}  // namespace sabot
