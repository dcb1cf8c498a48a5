// Pipelines over real files, checked against DuckDB running the same query over the
// same files. The input files are written by DuckDB, so Sabot's readers are checked
// too; every case runs at parallelism 1 and 4.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include "sabot/api/stream_environment.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

using testing::CheckSameRows;
using testing::QueryDuckDb;

constexpr int kFilesPerFormat = 3;

class DuckDbReferenceTest : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    directory_ = new testing::TempDirectory();
    // Three files per format; nulls in `note`, quotes and commas in `memo`.
    const std::string rows =
        "SELECT i AS id, (i * 7919) % 1000 AS account,"
        " round(((i * 104729) % 500000) / 100.0, 2) AS amount,"
        " ['Paris', 'Berlin', 'Lisbon', 'Tokyo'][i % 4 + 1] AS city,"
        " CASE WHEN i % 13 = 0 THEN NULL ELSE 'note ' || i END AS note,"
        " 'memo \"' || (i % 5) || '\", part ' || (i % 3) AS memo,"
        " 1767225600000 + i AS _time FROM range(60000) t(i)";
    std::ostringstream statements;  // one DuckDB process writes all inputs
    for (int k = 0; k < kFilesPerFormat; ++k) {
      const std::string base = directory_->Child("tx-" + std::to_string(k));
      for (const char* format : {"parquet", "csv", "jsonl"}) {
        statements << "COPY (" << rows << " WHERE i % 3 = " << k << ") TO '" << base
                   << "." << format << "' (FORMAT "
                   << (std::string(format) == "jsonl" ? "json" : format)
                   << (std::string(format) == "csv" ? ", HEADER true" : "") << "); ";
      }
    }
    auto result = QueryDuckDb(statements.str());
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  }

  static void TearDownTestSuite() { delete directory_; }

  static std::string Glob(const char* extension) {
    return directory_->Child(std::string("tx-*.") + extension);
  }

  static FileSourceConfig Files(FileFormat format, const char* extension) {
    FileSourceConfig config;
    config.format = format;
    config.path = Glob(extension);
    config.batch_size = 4096;
    return config;
  }

  static void ExpectSameAsDuckDb(const StreamEnvironment& env,
                                 const std::shared_ptr<CollectedBatches>& collected,
                                 const std::string& sql) {
    auto result = env.Execute();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    auto actual = collected->ToTable();
    ASSERT_TRUE(actual.ok());
    auto expected = QueryDuckDb(sql);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    ASSERT_GT((*expected)->num_rows(), 0) << "the query should select something";
    Status same = CheckSameRows(*expected, *actual);
    EXPECT_TRUE(same.ok()) << same.ToString();
  }

  static testing::TempDirectory* directory_;
};

testing::TempDirectory* DuckDbReferenceTest::directory_ = nullptr;

TEST_P(DuckDbReferenceTest, ParquetFilterAndArithmeticProjection) {
  StreamEnvironment env;
  env.SetParallelism(GetParam());
  auto collected = env.FromFiles(Files(FileFormat::kParquet, "parquet"))
                       .Filter(col("amount") > 2500.0 && col("city") != "Paris")
                       .Select({col("account"), (col("amount") * 0.92).As("amount_eur"),
                                Upper(col("city")).As("city"), col("_time")})
                       .Collect();
  ExpectSameAsDuckDb(
      env, collected,
      "SELECT account, amount * 0.92, upper(city), _time FROM read_parquet('" +
          Glob("parquet") + "') WHERE amount > 2500 AND city <> 'Paris'");
}

TEST_P(DuckDbReferenceTest, CsvNullsQuotesAndStringFunctions) {
  StreamEnvironment env;
  env.SetParallelism(GetParam());
  auto collected = env.FromFiles(Files(FileFormat::kCsv, "csv"))
                       .Filter(IsNull(col("note")) || Contains(col("memo"), "\"3\""))
                       .Select({col("id"), col("note"), col("memo"),
                                Length(col("memo")).As("memo_length")})
                       .Collect();
  ExpectSameAsDuckDb(
      env, collected,
      "SELECT id, note, memo, length(memo) FROM read_csv('" + Glob("csv") +
          "', header = true) WHERE note IS NULL OR contains(memo, '\"3\"')");
}

TEST_P(DuckDbReferenceTest, JsonLinesComparisonAndCast) {
  StreamEnvironment env;
  env.SetParallelism(GetParam());
  auto collected =
      env.FromFiles(Files(FileFormat::kJsonLines, "jsonl"))
          .Filter(col("account") < 100 && !(col("city") == "Tokyo"))
          .Select(
              {col("id"), (col("account") + 1).As("next_account"),
               Cast(Call("floor", {col("amount")}), arrow::int64()).As("whole_amount"),
               col("city")})
          .Collect();
  ExpectSameAsDuckDb(
      env, collected,
      "SELECT id, account + 1, CAST(floor(amount) AS BIGINT), city FROM read_json('" +
          Glob("jsonl") +
          "', format = 'newline_delimited') WHERE account < 100 AND NOT (city = "
          "'Tokyo')");
}

TEST_P(DuckDbReferenceTest, KeyedRebalancedAndUnionedStreams) {
  StreamEnvironment env;
  env.SetParallelism(GetParam());
  auto parquet = env.FromFiles(Files(FileFormat::kParquet, "parquet"))
                     .Select({col("id"), col("account"), col("amount")});
  auto csv = env.FromFiles(Files(FileFormat::kCsv, "csv"))
                 .Select({col("id"), col("account"), col("amount")});
  auto collected = parquet.Union({csv})
                       .KeyBy({"account"})
                       .Filter(col("amount") < 1000.0)
                       .Rebalance()
                       .Select({col("account"), (col("amount") - 10.0).As("net")})
                       .Collect();
  ExpectSameAsDuckDb(env, collected,
                     "SELECT account, amount - 10 FROM (SELECT * FROM read_parquet('" +
                         Glob("parquet") + "') UNION ALL SELECT * FROM read_csv('" +
                         Glob("csv") + "', header = true)) WHERE amount < 1000");
}

INSTANTIATE_TEST_SUITE_P(Parallelism, DuckDbReferenceTest, ::testing::Values(1, 4),
                         ::testing::PrintToStringParamName());

}  // namespace
}  // namespace sabot
