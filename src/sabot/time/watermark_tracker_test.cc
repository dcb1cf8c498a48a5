#include "sabot/time/watermark_tracker.h"

#include <gtest/gtest.h>

#include <optional>

namespace sabot {
namespace {

std::optional<int64_t> Update(WatermarkTracker* tracker, int channel, int64_t watermark) {
  auto advanced = tracker->Update(channel, watermark);
  EXPECT_TRUE(advanced.ok()) << advanced.status().ToString();
  return advanced.ok() ? *advanced : std::nullopt;
}

WatermarkTracker::StatusChange SetIdle(WatermarkTracker* tracker, int channel,
                                       bool idle) {
  auto change = tracker->SetIdle(channel, idle);
  EXPECT_TRUE(change.ok()) << change.status().ToString();
  return change.ok() ? *change : WatermarkTracker::StatusChange{};
}

WatermarkTracker::StatusChange MarkEnded(WatermarkTracker* tracker, int channel) {
  auto change = tracker->MarkEnded(channel);
  EXPECT_TRUE(change.ok()) << change.status().ToString();
  return change.ok() ? *change : WatermarkTracker::StatusChange{};
}

TEST(WatermarkTrackerTest, CombinedWatermarkIsMinimumOverChannels) {
  WatermarkTracker tracker(2);
  EXPECT_EQ(tracker.current(), kMinWatermark);
  // Channel 1 has no watermark yet: it holds the combined one at the minimum.
  EXPECT_EQ(Update(&tracker, 0, 100), std::nullopt);
  EXPECT_EQ(Update(&tracker, 1, 50), 50);
  EXPECT_EQ(Update(&tracker, 1, 150), 100);
  EXPECT_EQ(Update(&tracker, 0, 120), 120);
  EXPECT_EQ(tracker.current(), 120);
}

TEST(WatermarkTrackerTest, OutOfOrderWatermarksNeverMoveBackwards) {
  WatermarkTracker tracker(2);
  Update(&tracker, 0, 300);
  EXPECT_EQ(Update(&tracker, 1, 200), 200);
  // Behind the channel's own watermark: ignored, for the channel and the combination.
  EXPECT_EQ(Update(&tracker, 1, 100), std::nullopt);
  EXPECT_EQ(tracker.current(), 200);
  EXPECT_EQ(Update(&tracker, 0, 250), std::nullopt);
  // Channel 1 still at 200 after its late 100: 250 is the new minimum once it passes.
  EXPECT_EQ(Update(&tracker, 1, 400), 300);
}

TEST(WatermarkTrackerTest, IsLateComparesWithTheCombinedWatermark) {
  WatermarkTracker tracker(1);
  EXPECT_FALSE(tracker.IsLate(kMinWatermark));
  Update(&tracker, 0, 100);
  EXPECT_TRUE(tracker.IsLate(99));
  EXPECT_FALSE(tracker.IsLate(100));
  EXPECT_FALSE(tracker.IsLate(101));
}

TEST(WatermarkTrackerTest, IdleChannelStopsHoldingBackUntilActiveAgain) {
  WatermarkTracker tracker(2);
  Update(&tracker, 0, 300);
  WatermarkTracker::StatusChange idle = SetIdle(&tracker, 1, true);
  EXPECT_EQ(idle.watermark, 300);
  EXPECT_EQ(idle.idle, std::nullopt);  // channel 0 is still active
  EXPECT_FALSE(tracker.idle());
  // An idle channel's watermark is recorded but does not count while it is idle.
  EXPECT_EQ(Update(&tracker, 1, 200), std::nullopt);
  WatermarkTracker::StatusChange active = SetIdle(&tracker, 1, false);
  EXPECT_EQ(active.watermark, std::nullopt);  // 200 is behind 300: no going back
  EXPECT_EQ(active.idle, std::nullopt);
  EXPECT_EQ(Update(&tracker, 0, 400), std::nullopt);  // held back by channel 1 (200)
  EXPECT_EQ(Update(&tracker, 1, 350), 350);
}

TEST(WatermarkTrackerTest, AllIdleAdvancesToTheMaximumThenReportsIdle) {
  WatermarkTracker tracker(2);
  Update(&tracker, 0, 70);
  Update(&tracker, 1, 40);
  WatermarkTracker::StatusChange first = SetIdle(&tracker, 0, true);
  EXPECT_EQ(first.watermark, std::nullopt);  // channel 1 alone: still 40
  WatermarkTracker::StatusChange all = SetIdle(&tracker, 1, true);
  EXPECT_EQ(all.watermark, 70);
  EXPECT_EQ(all.idle, true);
  EXPECT_TRUE(tracker.idle());
  // While every channel is idle, a watermark alone does not move the combined one; the
  // next status change releases the maximum again. Idleness is reported once.
  EXPECT_EQ(Update(&tracker, 1, 500), std::nullopt);
  WatermarkTracker::StatusChange again = SetIdle(&tracker, 1, true);
  EXPECT_EQ(again.watermark, 500);
  EXPECT_EQ(again.idle, std::nullopt);
  // Channel 0 comes back at 70: active again, and the watermark does not go back.
  WatermarkTracker::StatusChange active = SetIdle(&tracker, 0, false);
  EXPECT_EQ(active.idle, false);
  EXPECT_EQ(active.watermark, std::nullopt);
  EXPECT_FALSE(tracker.idle());
  EXPECT_EQ(tracker.current(), 500);
}

TEST(WatermarkTrackerTest, EndedChannelStopsHoldingBack) {
  WatermarkTracker tracker(2);
  Update(&tracker, 0, 500);
  WatermarkTracker::StatusChange ended = MarkEnded(&tracker, 1);
  EXPECT_EQ(ended.watermark, 500);
  EXPECT_EQ(ended.idle, std::nullopt);
  EXPECT_FALSE(tracker.all_ended());
  // The last channel ending changes nothing: end of input is the caller's to report.
  WatermarkTracker::StatusChange last = MarkEnded(&tracker, 0);
  EXPECT_EQ(last.watermark, std::nullopt);
  EXPECT_EQ(last.idle, std::nullopt);
  EXPECT_TRUE(tracker.all_ended());
  EXPECT_EQ(tracker.current(), 500);
}

TEST(WatermarkTrackerTest, EndedChannelsFinalWatermarkCountsWhenTheRestIsIdle) {
  WatermarkTracker tracker(2);
  Update(&tracker, 0, 900);
  Update(&tracker, 1, 100);
  EXPECT_EQ(tracker.current(), 100);
  EXPECT_EQ(MarkEnded(&tracker, 0).watermark, std::nullopt);  // channel 1 holds 100
  WatermarkTracker::StatusChange idle = SetIdle(&tracker, 1, true);
  EXPECT_EQ(idle.watermark, 900);
  EXPECT_EQ(idle.idle, true);
}

TEST(WatermarkTrackerTest, RejectsBadAndEndedChannels) {
  WatermarkTracker tracker(2);
  EXPECT_TRUE(tracker.Update(2, 1).status().IsInvalid());
  EXPECT_TRUE(tracker.Update(-1, 1).status().IsInvalid());
  EXPECT_TRUE(tracker.SetIdle(5, true).status().IsInvalid());
  MarkEnded(&tracker, 0);
  EXPECT_TRUE(tracker.MarkEnded(0).status().IsInvalid());
  EXPECT_TRUE(tracker.Update(0, 1).status().IsInvalid());
  EXPECT_TRUE(tracker.SetIdle(0, true).status().IsInvalid());
}

TEST(WatermarkTrackerTest, NoChannelsHaveAllEnded) {
  WatermarkTracker tracker(0);
  EXPECT_TRUE(tracker.all_ended());
  EXPECT_EQ(tracker.current(), kMinWatermark);
}

}  // namespace
}  // namespace sabot
