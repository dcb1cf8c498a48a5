#include "sabot/checkpoint/barrier_tracker.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace sabot {
namespace {

bool OnBarrier(BarrierTracker* tracker, int channel, int64_t id) {
  auto aligned = tracker->OnBarrier(channel, id);
  EXPECT_TRUE(aligned.ok()) << aligned.status().ToString();
  return aligned.ok() && *aligned;
}

TEST(BarrierTrackerTest, AlignedOnceEveryChannelDeliveredTheBarrier) {
  BarrierTracker tracker(3);
  EXPECT_EQ(tracker.pending(), std::nullopt);
  EXPECT_FALSE(OnBarrier(&tracker, 1, 4));
  EXPECT_EQ(tracker.pending(), 4);
  EXPECT_TRUE(tracker.IsBlocked(1));
  EXPECT_FALSE(tracker.IsBlocked(0));
  EXPECT_FALSE(OnBarrier(&tracker, 0, 4));
  EXPECT_EQ(tracker.BlockedChannels(), (std::vector<int>{0, 1}));
  EXPECT_TRUE(OnBarrier(&tracker, 2, 4));
  // Aligned: every channel is read again and the next checkpoint may start.
  EXPECT_TRUE(tracker.BlockedChannels().empty());
  EXPECT_EQ(tracker.pending(), std::nullopt);
  EXPECT_FALSE(OnBarrier(&tracker, 2, 5));
  EXPECT_EQ(tracker.pending(), 5);
}

TEST(BarrierTrackerTest, SingleChannelAlignsAtOnce) {
  BarrierTracker tracker(1);
  EXPECT_TRUE(OnBarrier(&tracker, 0, 1));
  EXPECT_TRUE(OnBarrier(&tracker, 0, 2));
}

TEST(BarrierTrackerTest, EndedChannelCountsAsDelivered) {
  BarrierTracker tracker(3);
  ASSERT_TRUE(tracker.MarkEnded(2).ok());
  EXPECT_FALSE(OnBarrier(&tracker, 0, 1));
  EXPECT_TRUE(OnBarrier(&tracker, 1, 1));
  // A channel ending while the others wait completes the alignment and says which.
  EXPECT_FALSE(OnBarrier(&tracker, 0, 2));
  auto aligned = tracker.MarkEnded(1);
  ASSERT_TRUE(aligned.ok());
  EXPECT_EQ(*aligned, 2);
  EXPECT_FALSE(tracker.IsBlocked(0));
}

TEST(BarrierTrackerTest, EndingWithoutPendingBarrierAlignsNothing) {
  BarrierTracker tracker(2);
  auto aligned = tracker.MarkEnded(0);
  ASSERT_TRUE(aligned.ok());
  EXPECT_EQ(*aligned, std::nullopt);
}

TEST(BarrierTrackerTest, BlockedChannelThatEndsCountsOnce) {
  BarrierTracker tracker(3);
  EXPECT_FALSE(OnBarrier(&tracker, 0, 1));
  auto ended = tracker.MarkEnded(0);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, std::nullopt);
  EXPECT_FALSE(OnBarrier(&tracker, 1, 1));
  EXPECT_TRUE(OnBarrier(&tracker, 2, 1));
}

TEST(BarrierTrackerTest, RejectsBarrierOnEndedChannel) {
  BarrierTracker tracker(2);
  ASSERT_TRUE(tracker.MarkEnded(1).ok());
  EXPECT_TRUE(tracker.OnBarrier(1, 1).status().IsInvalid());
  EXPECT_TRUE(tracker.MarkEnded(1).status().IsInvalid());
}

TEST(BarrierTrackerTest, RejectsDuplicateBarrierOnOneChannel) {
  BarrierTracker tracker(2);
  EXPECT_FALSE(OnBarrier(&tracker, 0, 3));
  EXPECT_TRUE(tracker.OnBarrier(0, 3).status().IsInvalid());
  // The rejected duplicate did not count: channel 1 is still awaited.
  EXPECT_EQ(tracker.BlockedChannels(), (std::vector<int>{0}));
  EXPECT_TRUE(OnBarrier(&tracker, 1, 3));
}

TEST(BarrierTrackerTest, RejectsNewerBarrierWhileOneIsPending) {
  BarrierTracker tracker(2);
  EXPECT_FALSE(OnBarrier(&tracker, 0, 3));
  auto newer = tracker.OnBarrier(1, 4);
  ASSERT_TRUE(newer.status().IsInvalid());
  EXPECT_EQ(newer.status().message(), "barrier 4 arrived while aligning barrier 3");
  EXPECT_EQ(tracker.pending(), 3);
}

TEST(BarrierTrackerTest, ResetDropsThePendingAlignment) {
  BarrierTracker tracker(2);
  EXPECT_FALSE(OnBarrier(&tracker, 0, 3));
  tracker.Reset();
  EXPECT_EQ(tracker.pending(), std::nullopt);
  EXPECT_FALSE(tracker.IsBlocked(0));
  EXPECT_FALSE(OnBarrier(&tracker, 1, 4));
  EXPECT_TRUE(OnBarrier(&tracker, 0, 4));
}

TEST(BarrierTrackerTest, RejectsChannelsOutOfRange) {
  BarrierTracker tracker(2);
  EXPECT_TRUE(tracker.OnBarrier(2, 1).status().IsInvalid());
  EXPECT_TRUE(tracker.OnBarrier(-1, 1).status().IsInvalid());
  EXPECT_TRUE(tracker.MarkEnded(7).status().IsInvalid());
}

}  // namespace
}  // namespace sabot
