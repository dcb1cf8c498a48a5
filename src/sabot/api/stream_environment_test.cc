#include "sabot/api/stream_environment.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

namespace sabot {
namespace {

TEST(StreamEnvironmentTest, UnknownColumnFailsAtPlanTimeNamingMethodNodeAndColumns) {
  StreamEnvironment env;
  env.FromGenerator(TransactionsGenerator(10)).Filter(col("amt") > 1000).Print();
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  const std::string message = plan.status().message();
  EXPECT_NE(message.find("Filter after 'generator#0'"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown column"), std::string::npos) << message;
  EXPECT_NE(message.find("amount: double"), std::string::npos) << message;
}

TEST(StreamEnvironmentTest, FirstErrorWinsAndLaterCallsAreHarmless) {
  StreamEnvironment env;
  auto stream = env.FromGenerator(TransactionsGenerator(10));
  stream.KeyBy({"acount"}).Select({col("nope")}).Filter(col("also_nope")).Blackhole();
  auto result = env.Execute();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("KeyBy"), std::string::npos);
  EXPECT_NE(result.status().message().find("'acount'"), std::string::npos);
}

TEST(StreamEnvironmentTest, UnhashableKeyTypeFailsAtPlanTime) {
  StreamEnvironment env;
  auto schema = arrow::schema({arrow::field("h", arrow::float16())});
  env.FromBatches(schema, {}).KeyBy({"h"}).Select({col("h")}).Blackhole();
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.status().IsTypeError()) << plan.status().ToString();
  EXPECT_NE(plan.status().message().find("key column 'h' has type halffloat"),
            std::string::npos)
      << plan.status().message();
}

TEST(StreamEnvironmentTest, MissingInputFileFailsAtPlanTime) {
  StreamEnvironment env;
  FileSourceConfig config;
  config.format = FileFormat::kCsv;
  config.path = "/nonexistent/sabot/input-*.csv";
  env.FromFiles(config).Print();
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("FromFiles"), std::string::npos);
  EXPECT_NE(plan.status().message().find("/nonexistent/sabot/input-*.csv"),
            std::string::npos);
}

TEST(StreamEnvironmentTest, PlanWithoutSinkIsRejected) {
  StreamEnvironment env;
  env.FromGenerator(TransactionsGenerator(10)).Filter(col("amount") > 1.0);
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("has no sink"), std::string::npos);
}

TEST(StreamEnvironmentTest, DuplicateNodeNamesAreRejected) {
  StreamEnvironment env;
  auto source = env.FromGenerator(TransactionsGenerator(10));
  source.Filter(col("amount") > 1.0).Name("x").Blackhole();
  source.Filter(col("amount") > 2.0).Name("x").Blackhole();
  auto plan = env.BuildPlan();
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("'x'"), std::string::npos);
}

TEST(StreamEnvironmentTest, ExecuteReportsCountsPerNode) {
  StreamEnvironment env;
  auto source = env.FromGenerator(TransactionsGenerator(10'000));
  auto filtered = source.Filter(col("amount") >= 2500.5);
  auto sink = filtered.Blackhole();
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->Metrics(source.node_name()).rows_out, 10'000);
  EXPECT_EQ(result->Metrics(filtered.node_name()).rows_in, 10'000);
  EXPECT_EQ(result->Metrics(sink).rows_in,
            result->Metrics(filtered.node_name()).rows_out);
  EXPECT_GT(result->Metrics(sink).rows_in, 3000);
  EXPECT_LT(result->Metrics(sink).rows_in, 7000);
}

}  // namespace
}  // namespace sabot
