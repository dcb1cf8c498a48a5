#include "sabot/time/watermark_strategy.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <sstream>

#include "sabot/common/time.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

// Records what an operator emits, in order: "b<rows>" per batch, "w<value>" per
// watermark.
class Recorder : public Collector {
 public:
  // Built with ostringstream: GCC 12 warns falsely on `"b" + std::to_string(...)`.
  Status Collect(std::shared_ptr<arrow::RecordBatch> batch) override {
    std::ostringstream event;
    event << "b" << batch->num_rows();
    events.push_back(event.str());
    return Status::OK();
  }
  Status EmitWatermark(int64_t watermark) override {
    std::ostringstream event;
    event << "w";
    if (watermark == kMaxWatermark) {
      event << "MAX";
    } else {
      event << watermark;
    }
    events.push_back(event.str());
    return Status::OK();
  }
  std::vector<std::string> events;
};

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema({arrow::field("t", arrow::int64())});
}

std::unique_ptr<Operator> MakeAssigner(WatermarkStrategy strategy, Recorder* recorder) {
  PlanNode node;
  node.name = "assigner";
  node.options =
      WatermarkAssignerOptions::Make(std::move(strategy), Schema()).ValueOrDie();
  auto op = OperatorRegistry::Default()->MakeOperator(node).ValueOrDie();
  OperatorContext context;
  context.output = recorder;
  EXPECT_TRUE(op->Open(context).ok());
  return op;
}

TEST(WatermarkAssignerTest, BoundedOutOfOrdernessTrailsMaxTimestampAndNeverGoesBack) {
  Recorder recorder;
  auto op = MakeAssigner(WatermarkStrategy::BoundedOutOfOrderness("t", 100), &recorder);
  ASSERT_TRUE(op->ProcessBatch(
                    0, testing::BatchFromJson(Schema(), R"([{"t": 1000}, {"t": 900}])"))
                  .ok());
  ASSERT_TRUE(
      op->ProcessBatch(0, testing::BatchFromJson(Schema(), R"([{"t": 950}])")).ok());
  ASSERT_TRUE(op->ProcessBatch(
                    0, testing::BatchFromJson(Schema(), R"([{"t": null}, {"t": 1500}])"))
                  .ok());
  EXPECT_EQ(recorder.events,
            (std::vector<std::string>{"b2", "w899", "b1", "b2", "w1399"}));
}

TEST(WatermarkAssignerTest, UpstreamWatermarksAreReplacedExceptEndOfInput) {
  Recorder recorder;
  auto op = MakeAssigner(WatermarkStrategy::Monotonic("t"), &recorder);
  ASSERT_TRUE(op->ProcessWatermark(5000).ok());
  ASSERT_TRUE(
      op->ProcessBatch(0, testing::BatchFromJson(Schema(), R"([{"t": 10}])")).ok());
  ASSERT_TRUE(op->ProcessWatermark(kMaxWatermark).ok());
  EXPECT_EQ(recorder.events, (std::vector<std::string>{"b1", "w9", "wMAX"}));
}

TEST(WatermarkAssignerTest, TimestampsNearTheMinimumDoNotWrapAround) {
  Recorder recorder;
  auto op = MakeAssigner(WatermarkStrategy::BoundedOutOfOrderness("t", 1000), &recorder);
  auto column = arrow::Int64Builder();
  ASSERT_TRUE(column.Append(kMinWatermark + 5).ok());
  auto batch = arrow::RecordBatch::Make(Schema(), 1, {column.Finish().ValueOrDie()});
  ASSERT_TRUE(op->ProcessBatch(0, batch).ok());
  EXPECT_EQ(recorder.events, (std::vector<std::string>{"b1"}));
}

}  // namespace
}  // namespace sabot
