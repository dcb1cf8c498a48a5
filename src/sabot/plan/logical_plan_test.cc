#include "sabot/plan/logical_plan.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

namespace sabot {
namespace {

class NamedOptions : public NodeOptions {
 public:
  explicit NamedOptions(std::string kind) : kind_(std::move(kind)) {}
  std::string kind() const override { return kind_; }

 private:
  std::string kind_;
};

PlanNode Node(int id, NodeRole role, int parallelism = 1) {
  static const char* kKinds[] = {"source", "operator", "sink"};
  PlanNode node;
  node.id = id;
  node.role = role;
  node.name = std::string(kKinds[static_cast<int>(role)]) + "#" + std::to_string(id);
  node.parallelism = parallelism;
  node.output_schema = arrow::schema({arrow::field("k", arrow::int64())});
  node.options = std::make_shared<NamedOptions>(kKinds[static_cast<int>(role)]);
  return node;
}

TEST(LogicalPlanTest, ValidPlanIndexesEdgesAndExplains) {
  auto plan = LogicalPlan::Make(
      {Node(0, NodeRole::kSource), Node(1, NodeRole::kOperator, 2),
       Node(2, NodeRole::kSink, 2)},
      {{0, 1, 0, Partitioning::kHash, {"k"}}, {1, 2, 0, Partitioning::kForward, {}}},
      128);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ((*plan)->InputEdges(1), std::vector<int>{0});
  EXPECT_EQ((*plan)->OutputEdges(1), std::vector<int>{1});
  const std::string text = (*plan)->Explain();
  EXPECT_NE(text.find("operator#1 p=2 operator <-hash(k)- [0]"), std::string::npos)
      << text;
}

TEST(LogicalPlanTest, RejectsPlanWithoutSink) {
  auto plan =
      LogicalPlan::Make({Node(0, NodeRole::kSource), Node(1, NodeRole::kOperator)},
                        {{0, 1, 0, Partitioning::kForward, {}}}, 128);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("no sink"), std::string::npos);
}

TEST(LogicalPlanTest, RejectsUnconsumedOperator) {
  auto plan = LogicalPlan::Make(
      {Node(0, NodeRole::kSource), Node(1, NodeRole::kOperator),
       Node(2, NodeRole::kSink)},
      {{0, 1, 0, Partitioning::kForward, {}}, {0, 2, 0, Partitioning::kForward, {}}},
      128);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("'operator#1' is not consumed"),
            std::string::npos)
      << plan.status().message();
}

TEST(LogicalPlanTest, RejectsParallelismAboveMaxParallelism) {
  auto plan = LogicalPlan::Make({Node(0, NodeRole::kSource, 8), Node(1, NodeRole::kSink)},
                                {{0, 1, 0, Partitioning::kRebalance, {}}}, 4);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("max parallelism = 4"), std::string::npos);
}

TEST(LogicalPlanTest, RejectsUnknownHashKey) {
  auto plan = LogicalPlan::Make({Node(0, NodeRole::kSource), Node(1, NodeRole::kSink)},
                                {{0, 1, 0, Partitioning::kHash, {"missing"}}}, 128);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("'missing'"), std::string::npos);
}

TEST(LogicalPlanTest, RejectsEdgesAgainstTopologicalOrder) {
  auto plan = LogicalPlan::Make({Node(0, NodeRole::kSource), Node(1, NodeRole::kSink)},
                                {{1, 0, 0, Partitioning::kForward, {}}}, 128);
  EXPECT_FALSE(plan.ok());
}

}  // namespace
}  // namespace sabot
