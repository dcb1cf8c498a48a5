#include "sabot/checkpoint/checkpoint_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace sabot {
namespace {

CheckpointTracker MakeTracker(int num_tasks, int64_t first_id = 1) {
  auto tracker = CheckpointTracker::Make(num_tasks, first_id);
  EXPECT_TRUE(tracker.ok()) << tracker.status().ToString();
  return std::move(tracker).ValueOrDie();
}

TEST(CheckpointTrackerTest, IdsCountUpFromTheFirst) {
  CheckpointTracker tracker = MakeTracker(2);
  EXPECT_EQ(tracker.Trigger(), 1);
  EXPECT_EQ(tracker.Trigger(), 2);
  EXPECT_EQ(tracker.Trigger(), 3);
  EXPECT_EQ(tracker.Pending(), (std::vector<int64_t>{1, 2, 3}));
  CheckpointTracker restored = MakeTracker(2, 8);
  EXPECT_EQ(restored.Trigger(), 8);
}

TEST(CheckpointTrackerTest, CompleteOnceEveryTaskAcknowledged) {
  CheckpointTracker tracker = MakeTracker(2);
  const int64_t id = tracker.Trigger();
  EXPECT_TRUE(tracker.IsPending(id));
  EXPECT_TRUE(tracker.Complete(id).IsInvalid());  // nobody acknowledged yet
  auto first = tracker.Acknowledge(id);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(*first);
  EXPECT_EQ(tracker.Outcome(id), std::nullopt);
  auto second = tracker.Acknowledge(id);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(*second);
  EXPECT_TRUE(tracker.Acknowledge(id).status().IsInvalid());  // one too many
  ASSERT_TRUE(tracker.Complete(id).ok());
  EXPECT_FALSE(tracker.IsPending(id));
  ASSERT_TRUE(tracker.Outcome(id).has_value());
  EXPECT_TRUE(tracker.Outcome(id)->ok());
  EXPECT_EQ(tracker.num_completed(), 1);
  EXPECT_EQ(tracker.latest_completed(), id);
  EXPECT_EQ(tracker.Completed(), (std::vector<int64_t>{id}));
  EXPECT_TRUE(tracker.Acknowledge(id).status().IsInvalid());
  EXPECT_TRUE(tracker.Complete(id).IsInvalid());
}

TEST(CheckpointTrackerTest, AbandonedCheckpointIgnoresLateAcknowledgements) {
  CheckpointTracker tracker = MakeTracker(2);
  const int64_t first = tracker.Trigger();
  const int64_t second = tracker.Trigger();
  auto abandoned = tracker.Abandon(first, "task 1 failed");
  ASSERT_TRUE(abandoned.ok());
  EXPECT_TRUE(*abandoned);
  ASSERT_TRUE(tracker.Outcome(first).has_value());
  EXPECT_EQ(tracker.Outcome(first)->message(), "checkpoint 1 abandoned: task 1 failed");
  auto late = tracker.Acknowledge(first);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(*late);
  auto again = tracker.Abandon(first, "twice");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(tracker.Outcome(first)->message(), "checkpoint 1 abandoned: task 1 failed");
  // Later checkpoints go on; the latest completed skips the abandoned one.
  ASSERT_TRUE(tracker.Acknowledge(second).ok());
  ASSERT_TRUE(tracker.Acknowledge(second).ok());
  ASSERT_TRUE(tracker.Complete(second).ok());
  EXPECT_EQ(tracker.latest_completed(), second);
  EXPECT_EQ(tracker.num_completed(), 1);
  EXPECT_TRUE(tracker.Pending().empty());
}

TEST(CheckpointTrackerTest, RejectsUnknownIdsAndBadSettings) {
  CheckpointTracker tracker = MakeTracker(1, 5);
  EXPECT_TRUE(tracker.Acknowledge(5).status().IsInvalid());  // not triggered yet
  EXPECT_TRUE(tracker.Abandon(1, "no").status().IsInvalid());
  EXPECT_EQ(tracker.Trigger(), 5);
  EXPECT_TRUE(tracker.Acknowledge(4).status().IsInvalid());
  EXPECT_TRUE(tracker.Acknowledge(6).status().IsInvalid());
  EXPECT_TRUE(CheckpointTracker::Make(-1, 1).status().IsInvalid());
  EXPECT_TRUE(CheckpointTracker::Make(1, 0).status().IsInvalid());
}

TEST(CheckpointTrackerTest, NoTasksMeansNothingToAcknowledge) {
  CheckpointTracker tracker = MakeTracker(0);
  const int64_t id = tracker.Trigger();
  EXPECT_TRUE(tracker.Acknowledge(id).status().IsInvalid());
  ASSERT_TRUE(tracker.Complete(id).ok());
  EXPECT_EQ(tracker.latest_completed(), id);
}

}  // namespace
}  // namespace sabot
