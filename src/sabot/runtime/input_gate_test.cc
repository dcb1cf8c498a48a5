#include "sabot/runtime/input_gate.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "sabot/common/time.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::RecordBatch> Rows(int64_t n) {
  arrow::Int64Builder builder;
  for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(builder.Append(i).ok());
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("x", arrow::int64())}), n,
                                  {builder.Finish().ValueOrDie()});
}

GateEvent NextEvent(InputGate* gate) {
  auto event = gate->Next();
  EXPECT_TRUE(event.ok()) << event.status().ToString();
  return event.ok() ? *event : GateEvent{};
}

TEST(InputGateTest, ReadsChannelsRoundRobinAndReportsPorts) {
  InputGate gate({0, 1}, 8);
  ASSERT_TRUE(gate.Push(0, StreamElement::Batch(Rows(1))).ok());
  ASSERT_TRUE(gate.Push(0, StreamElement::Batch(Rows(2))).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::Batch(Rows(3))).ok());
  EXPECT_EQ(NextEvent(&gate).port, 0);
  EXPECT_EQ(NextEvent(&gate).port, 1);  // fair: channel 1 before channel 0's second batch
  GateEvent third = NextEvent(&gate);
  EXPECT_EQ(third.port, 0);
  EXPECT_EQ(third.element.batch->num_rows(), 2);
}

TEST(InputGateTest, WatermarkIsMinimumOverChannelsAndNeverGoesBack) {
  InputGate gate({0, 0}, 8);
  ASSERT_TRUE(gate.Push(0, StreamElement::Watermark(100)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::Watermark(50)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::Watermark(150)).ok());
  ASSERT_TRUE(gate.Push(0, StreamElement::Watermark(120)).ok());
  ASSERT_TRUE(gate.Push(0, StreamElement::Batch(Rows(1))).ok());
  // Round robin reads 100 (channel 1 still at -inf: no event), 50 (min 50), 120 (min
  // still 50: no event), 150 (min 120).
  GateEvent first = NextEvent(&gate);
  ASSERT_EQ(first.element.kind, StreamElement::Kind::kWatermark);
  EXPECT_EQ(first.element.value, 50);
  GateEvent second = NextEvent(&gate);
  ASSERT_EQ(second.element.kind, StreamElement::Kind::kWatermark);
  EXPECT_EQ(second.element.value, 120);
  ASSERT_TRUE(gate.Push(1, StreamElement::Watermark(110)).ok());  // behind: ignored
  EXPECT_EQ(NextEvent(&gate).element.kind, StreamElement::Kind::kBatch);
}

TEST(InputGateTest, EndedChannelStopsHoldingBackWatermarkThenEndOfInput) {
  InputGate gate({0, 0}, 8);
  ASSERT_TRUE(gate.Push(0, StreamElement::Watermark(500)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::EndOfInput()).ok());
  // 500 alone does not advance (channel 1 is at -inf); once channel 1 ends it does.
  GateEvent watermark = NextEvent(&gate);
  ASSERT_EQ(watermark.element.kind, StreamElement::Kind::kWatermark);
  EXPECT_EQ(watermark.element.value, 500);
  ASSERT_TRUE(gate.Push(0, StreamElement::EndOfInput()).ok());
  EXPECT_EQ(NextEvent(&gate).element.kind, StreamElement::Kind::kEndOfInput);
}

TEST(InputGateTest, IdleChannelStopsHoldingBackWatermarkUntilActiveAgain) {
  InputGate gate({0, 0}, 8);
  ASSERT_TRUE(gate.Push(0, StreamElement::Watermark(300)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::IdleStatus(true)).ok());
  // Channel 1 (still at -inf) goes idle: the watermark follows channel 0 alone.
  GateEvent released = NextEvent(&gate);
  ASSERT_EQ(released.element.kind, StreamElement::Kind::kWatermark);
  EXPECT_EQ(released.element.value, 300);
  // Channel 1 resumes behind the gate's watermark: it holds the watermark again, which
  // does not go back. Round robin reads 250 (no advance), active, 400 (held back by
  // channel 1), 200 (behind: nothing), 350 (the new minimum).
  ASSERT_TRUE(gate.Push(0, StreamElement::Watermark(250)).ok());
  ASSERT_TRUE(gate.Push(0, StreamElement::Watermark(400)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::IdleStatus(false)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::Watermark(200)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::Watermark(350)).ok());
  GateEvent next = NextEvent(&gate);
  ASSERT_EQ(next.element.kind, StreamElement::Kind::kWatermark);
  EXPECT_EQ(next.element.value, 350);
}

TEST(InputGateTest, GateIsIdleOnlyWhenEveryOpenChannelIs) {
  InputGate gate({0, 0}, 8);
  ASSERT_TRUE(gate.Push(0, StreamElement::Watermark(70)).ok());
  ASSERT_TRUE(gate.Push(0, StreamElement::IdleStatus(true)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::Watermark(40)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::IdleStatus(true)).ok());
  // 70 and 40 give 40; channel 0 idle leaves 40; all idle: the maximum, 70, as Flink.
  EXPECT_EQ(NextEvent(&gate).element.value, 40);
  GateEvent flushed = NextEvent(&gate);
  ASSERT_EQ(flushed.element.kind, StreamElement::Kind::kWatermark);
  EXPECT_EQ(flushed.element.value, 70);
  GateEvent idle = NextEvent(&gate);
  ASSERT_EQ(idle.element.kind, StreamElement::Kind::kIdleStatus);
  EXPECT_EQ(idle.element.value, 1);
  ASSERT_TRUE(gate.Push(0, StreamElement::IdleStatus(false)).ok());
  GateEvent active = NextEvent(&gate);
  ASSERT_EQ(active.element.kind, StreamElement::Kind::kIdleStatus);
  EXPECT_EQ(active.element.value, 0);
}

TEST(InputGateTest, NextReturnsAtItsDeadline) {
  InputGate gate({0}, 8);
  const int64_t start = WallClockMillis();
  auto event = gate.Next(start + 30);
  ASSERT_TRUE(event.ok());
  EXPECT_TRUE(event->timeout);
  EXPECT_GE(WallClockMillis(), start + 30);
}

TEST(InputGateTest, BarrierIsEmittedOnceAlignedAndBlocksChannelsUntilThen) {
  InputGate gate({0, 0}, 8);
  ASSERT_TRUE(gate.Push(0, StreamElement::Barrier(7)).ok());
  ASSERT_TRUE(gate.Push(0, StreamElement::Batch(Rows(1))).ok());  // after the barrier
  ASSERT_TRUE(gate.Push(1, StreamElement::Batch(Rows(2))).ok());  // before the barrier
  ASSERT_TRUE(gate.Push(1, StreamElement::Barrier(7)).ok());
  GateEvent first = NextEvent(&gate);
  ASSERT_EQ(first.element.kind, StreamElement::Kind::kBatch);
  EXPECT_EQ(first.element.batch->num_rows(), 2);  // channel 0 is blocked
  GateEvent second = NextEvent(&gate);
  ASSERT_EQ(second.element.kind, StreamElement::Kind::kBarrier);
  EXPECT_EQ(second.element.value, 7);
  GateEvent third = NextEvent(&gate);
  ASSERT_EQ(third.element.kind, StreamElement::Kind::kBatch);
  EXPECT_EQ(third.element.batch->num_rows(), 1);
}

TEST(InputGateTest, EndOfInputCompletingAlignmentAlsoReleasesTheWatermark) {
  InputGate gate({0, 0}, 8);
  ASSERT_TRUE(gate.Push(0, StreamElement::Watermark(300)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::Watermark(100)).ok());
  ASSERT_TRUE(gate.Push(0, StreamElement::Barrier(1)).ok());
  ASSERT_TRUE(gate.Push(1, StreamElement::EndOfInput()).ok());
  GateEvent first = NextEvent(&gate);  // min(300, 100)
  ASSERT_EQ(first.element.kind, StreamElement::Kind::kWatermark);
  EXPECT_EQ(first.element.value, 100);
  GateEvent barrier = NextEvent(&gate);  // channel 1 ended: aligned
  ASSERT_EQ(barrier.element.kind, StreamElement::Kind::kBarrier);
  GateEvent watermark = NextEvent(&gate);  // and channel 0 alone now says 300
  ASSERT_EQ(watermark.element.kind, StreamElement::Kind::kWatermark);
  EXPECT_EQ(watermark.element.value, 300);
}

TEST(InputGateTest, FullChannelBlocksProducerUntilConsumerTakes) {
  InputGate gate({0}, 2);
  ASSERT_TRUE(gate.Push(0, StreamElement::Batch(Rows(1))).ok());
  ASSERT_TRUE(gate.Push(0, StreamElement::Batch(Rows(1))).ok());
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(gate.Push(0, StreamElement::Batch(Rows(1))).ok());
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(pushed.load());
  NextEvent(&gate);
  producer.join();
  EXPECT_TRUE(pushed.load());
}

TEST(InputGateTest, CancelWakesBlockedProducerAndConsumer) {
  InputGate gate({0}, 1);
  ASSERT_TRUE(gate.Push(0, StreamElement::Batch(Rows(1))).ok());
  Status producer_status, consumer_status;
  InputGate empty({0}, 1);
  std::thread producer(
      [&] { producer_status = gate.Push(0, StreamElement::Batch(Rows(1))); });
  std::thread consumer([&] { consumer_status = empty.Next().status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  gate.Cancel();
  empty.Cancel();
  producer.join();
  consumer.join();
  EXPECT_TRUE(producer_status.IsCancelled());
  EXPECT_TRUE(consumer_status.IsCancelled());
}

TEST(InputGateTest, PostedActionsRunOnConsumerThreadBeforeData) {
  InputGate gate({0}, 4);
  std::thread::id ran_on;
  ASSERT_TRUE(gate.Push(0, StreamElement::Batch(Rows(1))).ok());
  std::thread poster([&] {
    gate.Post([&] {
      ran_on = std::this_thread::get_id();
      return Status::OK();
    });
  });
  poster.join();
  NextEvent(&gate);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  gate.Post([] { return Status::IOError("action failed"); });
  EXPECT_TRUE(gate.RunPendingActions().IsIOError());
}

}  // namespace
}  // namespace sabot
