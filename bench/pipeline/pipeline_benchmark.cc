// Pipeline benchmark: whole jobs through the runtime, printed as JSON.
//   generator → filter → project → blackhole          (parallelism 1 and 2)
//   in-memory batches → filter → project → blackhole  (parallelism 1 and 2)
//   parquet files → filter → blackhole                (parallelism 1 and 2)
// "per CPU second" divides rows by the process's user + system CPU seconds, so runs at
// different parallelism compare fairly; wall-clock throughput is reported beside it.
//
// Usage: pipeline_benchmark [rows (default 20000000)] [work dir (default /tmp)]
#include <sabot/sabot.h>

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
  return {col("account"), (col("amount") * 0.92).As("amount_eur"), col("city"), col("_time")};
}

arrow::Result<Measurement> GeneratorPipeline(int64_t rows, int parallelism) {
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  auto source = env.FromGenerator(sabot::TransactionsGenerator(rows));
  source.Filter(Predicate()).Select(Projection()).Blackhole();
  return Measure("generator_filter_project", parallelism, env, source.node_name());
}

arrow::Result<Measurement> InMemoryPipeline(int64_t rows, int parallelism) {
  // Materialize 16 batches of 64Ki rows once, then replay them.
  constexpr int64_t kBatchRows = 64 * 1024;
  constexpr int64_t kBatches = 16;
  sabot::StreamEnvironment prepare;
  auto generated = prepare.FromGenerator(sabot::TransactionsGenerator(kBatchRows * kBatches));
  auto collected = generated.Collect();
  ARROW_RETURN_NOT_OK(prepare.Execute().status());
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  auto source = env.FromBatches(generated.schema(), collected->batches(),
                                std::max<int64_t>(1, rows / (kBatchRows * kBatches)));
  source.Filter(Predicate()).Select(Projection()).Blackhole();
  return Measure("batches_filter_project", parallelism, env, source.node_name());
}

arrow::Result<Measurement> ParquetPipeline(const std::string& directory, int parallelism) {
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
  for (int parallelism : {1, 2}) {
    ARROW_ASSIGN_OR_RAISE(auto m, InMemoryPipeline(rows, parallelism));
    results.push_back(m);
  }
  const std::string parquet_dir = work_dir + "/sabot-bench-parquet-" + std::to_string(getpid());
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
        "    {\"name\": \"%s\", \"parallelism\": %d, \"rows\": %lld, \"wall_seconds\": %.3f, "
        "\"cpu_seconds\": %.3f, \"rows_per_second\": %.0f, \"rows_per_cpu_second\": %.0f}%s\n",
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
