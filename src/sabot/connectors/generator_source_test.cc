#include "sabot/connectors/generator_source.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include "sabot/api/stream_environment.h"
#include "sabot/common/time.h"
#include "sabot/runtime/operator_registry.h"
#include "sabot/runtime/source.h"
#include "sabot/state/state_codec.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::Table> Generate(GeneratorConfig config, int parallelism) {
  StreamEnvironment env;
  env.SetParallelism(parallelism);
  auto collected = env.FromGenerator(std::move(config)).Collect();
  auto result = env.Execute();
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return collected->ToTable().ValueOrDie();
}

TEST(GeneratorSourceTest, SameRowsAtAnyParallelism) {
  GeneratorConfig config = TransactionsGenerator(100'003);
  config.batch_size = 4096;
  auto one = Generate(config, 1);
  auto three = Generate(config, 3);
  ASSERT_EQ(one->num_rows(), 100'003);
  Status same = testing::CheckSameRows(one, three);
  EXPECT_TRUE(same.ok()) << same.ToString();
}

TEST(GeneratorSourceTest, ValuesStayWithinConfiguredRanges) {
  auto table = Generate(TransactionsGenerator(50'000), 1);
  auto min_max = [&](const std::string& column) {
    auto result = arrow::compute::MinMax(table->GetColumnByName(column)).ValueOrDie();
    return result.scalar_as<arrow::StructScalar>().value;
  };
  auto amount = min_max("amount");
  EXPECT_GE(std::static_pointer_cast<arrow::DoubleScalar>(amount[0])->value, 1.0);
  EXPECT_LT(std::static_pointer_cast<arrow::DoubleScalar>(amount[1])->value, 5000.0);
  auto account = min_max("account");
  EXPECT_GE(std::static_pointer_cast<arrow::Int64Scalar>(account[0])->value, 0);
  EXPECT_LE(std::static_pointer_cast<arrow::Int64Scalar>(account[1])->value, 99'999);
  // Event time lags the row's slot by at most the configured 2 s delay.
  auto ids = table->GetColumnByName("transaction_id");
  auto times = table->GetColumnByName("_time");
  const int64_t start = 1'767'225'600'000;
  for (int chunk = 0; chunk < ids->num_chunks(); ++chunk) {
    auto id = std::static_pointer_cast<arrow::Int64Array>(ids->chunk(chunk));
    auto time = std::static_pointer_cast<arrow::Int64Array>(times->chunk(chunk));
    for (int64_t i = 0; i < id->length(); ++i) {
      const int64_t slot = start + id->Value(i);
      ASSERT_LE(time->Value(i), slot);
      ASSERT_GE(time->Value(i), slot - 2000);
    }
  }
}

TEST(GeneratorSourceTest, RateLimitSpreadsRowsOverTime) {
  GeneratorConfig config = TransactionsGenerator(3'000);
  config.rows_per_second = 10'000;
  const int64_t start = MonotonicNanos();
  auto table = Generate(config, 2);
  const double seconds = (MonotonicNanos() - start) / 1e9;
  EXPECT_EQ(table->num_rows(), 3'000);
  EXPECT_GE(seconds, 0.2);  // 3,000 rows at 10,000 rows/s cannot finish sooner
}

// After a restore the rate limit counts from the restored position: a generator resumed
// at row 100,000 of a 1,000 rows/s stream emits at once, not after 100 s.
TEST(GeneratorSourceTest, RestoredRateLimitCountsFromTheRestore) {
  GeneratorConfig config = TransactionsGenerator(10'000'000);
  config.rows_per_second = 1'000;
  config.batch_size = 100;
  PlanNode node;
  node.name = "generator";
  node.options = GeneratorOptions::Make(config).ValueOrDie();
  SourceContext context{"generator", 0, 1, nullptr};
  auto reader = OperatorRegistry::Default()->MakeSourceReader(node, context).ValueOrDie();
  ASSERT_TRUE(reader->Open().ok());
  std::string position;  // next batch, rows emitted, subtask, parallelism, batch size
  for (int64_t value :
       {int64_t{1000}, int64_t{100'000}, int64_t{0}, int64_t{1}, int64_t{100}}) {
    StateCodec<int64_t>::Append(value, &position);
  }
  ASSERT_TRUE(reader->RestorePosition(position).ok());
  std::shared_ptr<arrow::RecordBatch> batch;
  for (int attempt = 0; attempt < 40 && (!batch || batch->num_rows() == 0); ++attempt) {
    batch = reader->Next().ValueOrDie();  // empty while throttled (<= 50 ms each)
  }
  ASSERT_TRUE(batch && batch->num_rows() > 0);
  auto ids = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
  EXPECT_EQ(ids->Value(0), 100'000);
  ASSERT_TRUE(reader->Close().ok());
}

TEST(GeneratorSourceTest, InvalidConfigurationSaysWhatIsWrong) {
  GeneratorConfig config;
  config.columns = {{.name = "x", .kind = GeneratorColumn::Kind::kChoice}};
  auto options = GeneratorOptions::Make(config);
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("'x' has no choices"), std::string::npos);
}

}  // namespace
}  // namespace sabot
