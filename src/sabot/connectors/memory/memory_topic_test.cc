#include "sabot/connectors/memory/memory_topic.h"

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <gtest/gtest.h>

#include <thread>

namespace sabot {
namespace {

std::vector<MemoryMessage> Messages(int count, int first) {
  std::vector<MemoryMessage> messages;
  for (int i = 0; i < count; ++i) {
    MemoryMessage message;
    if (i % 2 == 0) message.key = std::string("k") + std::to_string(first + i);
    message.value = std::string("v") + std::to_string(first + i);
    message.timestamp_ms = 1000 + first + i;
    messages.push_back(std::move(message));
  }
  return messages;
}

TEST(MemoryTopicTest, AppendsAndReadsByOffsetPerPartition) {
  auto topic = *MemoryTopic::Make("orders", 2);
  EXPECT_EQ(*topic->Append(0, Messages(3, 0)), 0);
  EXPECT_EQ(*topic->Append(0, Messages(2, 3)), 3);
  EXPECT_EQ(*topic->Append(1, Messages(1, 100)), 0);
  EXPECT_EQ(*topic->EndOffset(0), 5);
  EXPECT_EQ(*topic->EndOffset(1), 1);

  auto batch = *topic->Read(0, 1, 3);
  ASSERT_TRUE(batch->ValidateFull().ok());
  ASSERT_EQ(batch->num_rows(), 3);
  auto values = std::static_pointer_cast<arrow::BinaryArray>(batch->column(1));
  auto keys = std::static_pointer_cast<arrow::BinaryArray>(batch->column(0));
  auto offsets = std::static_pointer_cast<arrow::Int64Array>(batch->column(2));
  EXPECT_EQ(values->GetView(0), "v1");
  EXPECT_EQ(values->GetView(2), "v3");
  EXPECT_TRUE(keys->IsNull(0));
  EXPECT_EQ(keys->GetView(1), "k2");
  EXPECT_EQ(offsets->Value(2), 3);
  EXPECT_EQ((*topic->Read(0, 5, 10))->num_rows(), 0);
  EXPECT_EQ((*topic->Read(0, 4, 10))->num_rows(), 1);
}

TEST(MemoryTopicTest, ErrorsNameTopicPartitionAndOffset) {
  EXPECT_TRUE(MemoryTopic::Make("t", 0).status().IsInvalid());
  auto topic = *MemoryTopic::Make("orders", 2);
  auto status = topic->Read(2, 0, 1).status();
  EXPECT_NE(status.message().find("'orders' has partitions 0 to 1, not 2"),
            std::string::npos);
  status = topic->Read(0, 3, 1).status();
  EXPECT_NE(status.message().find("offset 3"), std::string::npos);
}

TEST(MemoryTopicTest, WaitReturnsWhenDataArrivesOrOnWake) {
  auto topic = *MemoryTopic::Make("t", 2);
  EXPECT_FALSE(topic->WaitForData({0, 1}, {0, 0}, 10));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(topic->Append(1, Messages(1, 0)).ok());
  });
  EXPECT_TRUE(topic->WaitForData({0, 1}, {0, 0}, 10'000));
  writer.join();
  EXPECT_FALSE(topic->WaitForData({1}, {1}, 0));
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    topic->Wake();
  });
  EXPECT_FALSE(topic->WaitForData({1}, {1}, 10'000));
  waker.join();
}

}  // namespace
}  // namespace sabot
