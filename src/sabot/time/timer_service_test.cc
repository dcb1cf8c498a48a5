#include "sabot/time/timer_service.h"

#include <gtest/gtest.h>

#include <vector>

namespace sabot {
namespace {

std::vector<int64_t> FireUpTo(TimerQueue* queue, int64_t time) {
  std::vector<int64_t> fired;
  EXPECT_TRUE(queue
                  ->Advance(time,
                            [&](const Timer& t) {
                              fired.push_back(t.timestamp * 100 + t.key * 10 +
                                              t.name_space);
                              return Status::OK();
                            })
                  .ok());
  return fired;
}

TEST(TimerQueueTest, FiresInTimestampThenKeyThenNamespaceOrder) {
  TimerQueue queue;
  EXPECT_TRUE(queue.Register({5, 2, 0}));
  EXPECT_TRUE(queue.Register({3, 1, 1}));
  EXPECT_TRUE(queue.Register({5, 1, 0}));
  EXPECT_TRUE(queue.Register({3, 1, 0}));
  EXPECT_TRUE(queue.Register({9, 0, 0}));
  EXPECT_EQ(FireUpTo(&queue, 5), (std::vector<int64_t>{310, 311, 510, 520}));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.next_timestamp(), 9);
}

TEST(TimerQueueTest, DeduplicatesAndDeletes) {
  TimerQueue queue;
  EXPECT_TRUE(queue.Register({7, 1, 0}));
  EXPECT_FALSE(queue.Register({7, 1, 0}));
  EXPECT_TRUE(queue.Register({7, 1, 3}));
  EXPECT_TRUE(queue.Delete({7, 1, 3}));
  EXPECT_FALSE(queue.Delete({7, 1, 3}));
  EXPECT_EQ(FireUpTo(&queue, 100), (std::vector<int64_t>{710}));
  EXPECT_TRUE(queue.empty());
}

TEST(TimerQueueTest, TimersRegisteredWhileFiringFireWhenDue) {
  TimerQueue queue;
  queue.Register({1, 0, 0});
  std::vector<int64_t> fired;
  ASSERT_TRUE(queue
                  .Advance(10,
                           [&](const Timer& t) {
                             fired.push_back(t.timestamp);
                             if (t.timestamp < 8) queue.Register({t.timestamp + 3, 0, 0});
                             return Status::OK();
                           })
                  .ok());
  EXPECT_EQ(fired, (std::vector<int64_t>{1, 4, 7, 10}));
}

TEST(TimerQueueTest, SnapshotRestoresTheSameQueue) {
  TimerQueue queue;
  queue.Register({4, 1, 0});
  queue.Register({2, 3, 5});
  TimerQueue restored;
  restored.Restore(queue.Snapshot());
  EXPECT_EQ(FireUpTo(&restored, 10), FireUpTo(&queue, 10));
}

TEST(TimerQueueTest, ErrorStopsFiring) {
  TimerQueue queue;
  queue.Register({1, 0, 0});
  queue.Register({2, 0, 0});
  auto status = queue.Advance(5, [](const Timer&) { return Status::Invalid("boom"); });
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_EQ(queue.size(), 1u);
}

}  // namespace
}  // namespace sabot
