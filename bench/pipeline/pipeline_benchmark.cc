// Pipeline benchmark: whole jobs through the runtime, printed as JSON.
//   generator → filter → project → blackhole          (parallelism 1 and 2)
//   in-memory batches → filter → project → blackhole  (parallelism 1 and 2), and the
//     same expressions over the same batches in Arrow Acero, the peer

//   parquet files → filter → blackhole                (parallelism 1 and 2)
// "per CPU second" divides rows by the process's user + system CPU seconds, so runs at
// different parallelism compare fairly; wall-clock throughput is reported beside it.
//
// Usage: pipeline_benchmark [rows (default 20000000)] [work dir (default /tmp)]
#include <sabot/sabot.h>

#include "sabot/common/time.h"

#include <arrow/acero/exec_plan.h>
#include <arrow/acero/options.h>
#include <arrow/api.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using sabot::col;

struct Measurement {
  std::string name;
  int parallelism;
  int64_t rows;
  double wall_seconds;
  double cpu_seconds;
};

arrow::Result<Measurement> Measure(const std::string& name, int parallelism,
                                   const sabot::StreamEnvironment& env,
                                   const std::string& source_node) {
  ARROW_ASSIGN_OR_RAISE(sabot::JobResult result, env.Execute());
  return Measurement{name, parallelism, result.Metrics(source_node).rows_out,
                     result.elapsed_seconds, result.cpu_seconds};
}

sabot::Expr Predicate() { return col("amount") > 2500.0 && col("city") != "Paris"; }

std::vector<sabot::Expr> Projection() {
  return {col("account"), (col("amount") * 0.92).As("amount_eur"), col("city"),
          col("_time")};
}

arrow::Result<Measurement> GeneratorPipeline(int64_t rows, int parallelism) {
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  auto source = env.FromGenerator(sabot::TransactionsGenerator(rows));
  source.Filter(Predicate()).Select(Projection()).Blackhole();
  return Measure("generator_filter_project", parallelism, env, source.node_name());
}

// 16 batches of 64 Ki generated transactions, materialized once and replayed.
struct InMemoryInput {
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  int64_t repeat;
};

arrow::Result<InMemoryInput> MaterializeInput(int64_t rows) {
  constexpr int64_t kBatchRows = 64 * 1024;
  constexpr int64_t kBatches = 16;
  sabot::StreamEnvironment prepare;
  sabot::GeneratorConfig config = sabot::TransactionsGenerator(kBatchRows * kBatches);
  config.batch_size = kBatchRows;
  auto generated = prepare.FromGenerator(config);
  auto collected = generated.Collect();
  ARROW_RETURN_NOT_OK(prepare.Execute().status());
  return InMemoryInput{generated.schema(), collected->batches(),
                       std::max<int64_t>(1, rows / (kBatchRows * kBatches))};
}

arrow::Result<Measurement> InMemoryPipeline(const InMemoryInput& input, int parallelism) {
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  auto source = env.FromBatches(input.schema, input.batches, input.repeat);
  source.Filter(Predicate()).Select(Projection()).Blackhole();
  return Measure("batches_filter_project", parallelism, env, source.node_name());
}

// The peer: Arrow Acero running the same expressions over the same batches, single
// threaded (parallelism 1) or on its CPU thread pool (one thread per core).
arrow::Result<Measurement> AceroPipeline(const InMemoryInput& input, int parallelism) {
  namespace ac = arrow::acero;
  std::vector<std::shared_ptr<arrow::RecordBatch>> replayed;
  for (int64_t r = 0; r < input.repeat; ++r) {
    replayed.insert(replayed.end(), input.batches.begin(), input.batches.end());
  }
  ARROW_ASSIGN_OR_RAISE(auto table,
                        arrow::Table::FromRecordBatches(input.schema, replayed));
  std::vector<arrow::compute::Expression> projections;
  std::vector<std::string> names;
  for (const sabot::Expr& expr : Projection()) {
    projections.push_back(expr.arrow_expression());
    names.push_back(expr.OutputName());
  }
  ac::Declaration plan = ac::Declaration::Sequence({
      {"table_source", ac::TableSourceNodeOptions(table, 64 * 1024)},
      {"filter", ac::FilterNodeOptions(Predicate().arrow_expression())},
      {"project", ac::ProjectNodeOptions(projections, names)},
  });
  const int64_t start = sabot::MonotonicNanos();
  const double cpu_start = sabot::ProcessCpuSeconds();
  ARROW_RETURN_NOT_OK(
      ac::DeclarationToStatus(std::move(plan), /*use_threads=*/parallelism > 1));
  return Measurement{"acero_batches_filter_project", parallelism, table->num_rows(),
                     (sabot::MonotonicNanos() - start) / 1e9,
                     sabot::ProcessCpuSeconds() - cpu_start};
}

arrow::Result<Measurement> ParquetPipeline(const std::string& directory,
                                           int parallelism) {
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  sabot::FileSourceConfig config;
  config.format = sabot::FileFormat::kParquet;
  config.path = directory + "/part-*.parquet";
  auto source = env.FromFiles(config);
  source.Filter(Predicate()).Blackhole();
  return Measure("parquet_filter", parallelism, env, source.node_name());
}

arrow::Status WriteParquetInput(int64_t rows, const std::string& directory) {
  sabot::StreamEnvironment env;
  env.SetParallelism(4);  // four files, so both parallelism 1 and 2 split evenly
  env.FromGenerator(sabot::TransactionsGenerator(rows)).WriteParquet(directory);
  return env.Execute().status();
}

arrow::Status Run(int64_t rows, const std::string& work_dir) {
  std::vector<Measurement> results;
  for (int parallelism : {1, 2}) {
    ARROW_ASSIGN_OR_RAISE(auto m, GeneratorPipeline(rows, parallelism));
    results.push_back(m);
  }
  ARROW_ASSIGN_OR_RAISE(InMemoryInput input, MaterializeInput(rows));
  for (int parallelism : {1, 2}) {
    ARROW_ASSIGN_OR_RAISE(auto sabot_run, InMemoryPipeline(input, parallelism));
    results.push_back(sabot_run);
    ARROW_ASSIGN_OR_RAISE(auto acero_run, AceroPipeline(input, parallelism));
    results.push_back(acero_run);
  }
  const std::string parquet_dir =
      work_dir + "/sabot-bench-parquet-" + std::to_string(getpid());
  ARROW_RETURN_NOT_OK(WriteParquetInput(rows, parquet_dir));
  for (int parallelism : {1, 2}) {
    ARROW_ASSIGN_OR_RAISE(auto m, ParquetPipeline(parquet_dir, parallelism));
    results.push_back(m);
  }
  std::filesystem::remove_all(parquet_dir);

  std::printf("{\n  \"benchmark\": \"pipeline\",\n  \"results\": [\n");
  for (size_t i = 0; i < results.size(); ++i) {
    const Measurement& m = results[i];
    std::printf(
        "    {\"name\": \"%s\", \"parallelism\": %d, \"rows\": %lld, \"wall_seconds\": "
        "%.3f, "
        "\"cpu_seconds\": %.3f, \"rows_per_second\": %.0f, \"rows_per_cpu_second\": "
        "%.0f}%s\n",
        m.name.c_str(), m.parallelism, static_cast<long long>(m.rows), m.wall_seconds,
        m.cpu_seconds, m.rows / m.wall_seconds, m.rows / m.cpu_seconds,
        i + 1 < results.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 20'000'000;
  const std::string work_dir = argc > 2 ? argv[2] : "/tmp";
  arrow::Status status = Run(rows, work_dir);
  if (!status.ok()) {
    std::fprintf(stderr, "pipeline benchmark failed: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
