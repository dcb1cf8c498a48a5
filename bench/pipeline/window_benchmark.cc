// Window benchmark: generator → watermarks → KeyBy(key) → window → count/sum/max →
// blackhole, for tumbling, sliding and session windows with 1 K and 1 M distinct keys at
// parallelism 1 and 2, printed as JSON. The generator alone (→ blackhole) is measured
// too, so the windowing cost per row can be read off. Rows per CPU second = rows /
// process user+system CPU seconds.
//
// tumbling_10s_checkpointed takes a checkpoint every 100 ms (windows' panes and the
// generator positions written to a temp directory), to read off the checkpoint cost.
//
// The peer: the same tumbling aggregation as a batch GROUP BY (key, 10 s bucket) in
// Arrow Acero over the same rows materialized in memory, next to Sabot's streaming
// window over those batches (batches_tumbling_10s vs acero_tumbling_10s).
//
// Events: 100 per millisecond of event time (100 K/s), up to 1 s out of order, keys
// uniform. Session gap: half the mean time between two events of a key.
//
// With the RocksDB backend, tumbling and sliding windows keep every (key, pane)
// accumulator in RocksDB; the peak resident memory of the process is printed, so that
// runs on the two backends with many keys show what stays in memory.
//
// Usage: window_benchmark [rows (default 20000000)] [name filter (substring)]
//                         [backend: memory (default) | rocksdb] [keys (default 1K and
//                         1M)]
#include <arrow/acero/exec_plan.h>
#include <arrow/acero/options.h>
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <sabot/common/time.h>
#include <sabot/sabot.h>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using std::chrono::milliseconds;

constexpr int64_t kRowsPerMilli = 100;

struct Case {
  std::string name;
  sabot::WindowSpec window;
};

struct Measurement {
  std::string name;
  int64_t keys;
  int parallelism;
  int64_t rows;
  int64_t results;
  double wall_seconds;
  double cpu_seconds;
  int64_t checkpoints = 0;
};

// Checkpoint interval of the "_checkpointed" cases.
constexpr int64_t kCheckpointIntervalMs = 100;

sabot::GeneratorConfig Events(int64_t rows, int64_t keys) {
  using Kind = sabot::GeneratorColumn::Kind;
  sabot::GeneratorConfig config;
  config.num_rows = rows;
  config.columns = {
      {.name = "key", .kind = Kind::kUniformInt, .int_min = 0, .int_max = keys - 1},
      {.name = "price", .kind = Kind::kUniformDouble, .double_min = 1, .double_max = 100},
      {.name = "_time",
       .kind = Kind::kEventTime,
       .start_millis = 0,
       .step_millis = 1,
       .max_delay_millis = 1000,
       .rows_per_step = kRowsPerMilli}};
  return config;
}

arrow::Result<Measurement> Run(const std::string& name, int64_t rows, int64_t keys,
                               int parallelism, const sabot::WindowSpec* window,
                               bool checkpointed, sabot::StateBackendKind backend) {
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  const std::string scratch =
      (std::filesystem::temp_directory_path() /
       ("sabot-window-benchmark-" + std::to_string(sabot::MonotonicNanos())))
          .string();
  const std::string checkpoints = scratch + "/checkpoints";
  env.SetStateBackend({.kind = backend, .directory = scratch + "/state"});
  if (checkpointed) {
    sabot::CheckpointConfig config;
    config.directory = checkpoints;
    config.interval_ms = kCheckpointIntervalMs;
    config.retain = 1;
    env.EnableCheckpointing(config);
  }
  auto source = env.FromGenerator(Events(rows, keys));
  std::string window_node;
  if (window != nullptr) {
    auto windowed =
        source
            .AssignTimestampsAndWatermarks(
                sabot::WatermarkStrategy::BoundedOutOfOrderness("_time", 1000))
            .KeyBy({"key"})
            .Window(*window)
            .Aggregate({sabot::Count(), sabot::Sum("price"), sabot::Max("price")});
    windowed.Blackhole();
    window_node = windowed.node_name();
  } else {
    source.Blackhole();
  }
  ARROW_ASSIGN_OR_RAISE(sabot::JobResult result, env.Execute());
  std::filesystem::remove_all(scratch);
  return Measurement{name,
                     keys,
                     parallelism,
                     result.Metrics(source.node_name()).rows_out,
                     window_node.empty() ? 0 : result.Metrics(window_node).rows_out,
                     result.elapsed_seconds,
                     result.cpu_seconds,
                     result.checkpoints_completed};
}

struct Materialized {
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
};

arrow::Result<Materialized> Materialize(int64_t rows, int64_t keys) {
  sabot::StreamEnvironment env;
  sabot::GeneratorConfig config = Events(rows, keys);
  config.batch_size = 64 * 1024;
  auto source = env.FromGenerator(config);
  auto collected = source.Collect();
  ARROW_RETURN_NOT_OK(env.Execute().status());
  return Materialized{source.schema(), collected->batches()};
}

arrow::Result<Measurement> SabotOnBatches(const Materialized& input, int64_t keys,
                                          int parallelism) {
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  auto source = env.FromBatches(input.schema, input.batches);
  auto windowed =
      source
          .AssignTimestampsAndWatermarks(
              sabot::WatermarkStrategy::BoundedOutOfOrderness("_time", 1000))
          .KeyBy({"key"})
          .Window(sabot::Tumbling(milliseconds(10'000)))
          .Aggregate({sabot::Count(), sabot::Sum("price"), sabot::Max("price")});
  windowed.Blackhole();
  ARROW_ASSIGN_OR_RAISE(sabot::JobResult result, env.Execute());
  return Measurement{"batches_tumbling_10s",
                     keys,
                     parallelism,
                     result.Metrics(source.node_name()).rows_out,
                     result.Metrics(windowed.node_name()).rows_out,
                     result.elapsed_seconds,
                     result.cpu_seconds};
}

// GROUP BY key, floor(_time / 10 s) with count, sum and max in Acero: single threaded
// at parallelism 1, on its CPU thread pool otherwise.
arrow::Result<Measurement> AceroOnBatches(const Materialized& input, int64_t keys,
                                          int parallelism) {
  namespace ac = arrow::acero;
  namespace cp = arrow::compute;
  ARROW_ASSIGN_OR_RAISE(auto table,
                        arrow::Table::FromRecordBatches(input.schema, input.batches));
  // Event times start at -1 s (the generator's delay): shift them by one window to stay
  // positive, so that integer division is floor division.
  cp::Expression bucket = cp::call(
      "divide", {cp::call("add", {cp::field_ref("_time"), cp::literal(int64_t{10'000})}),
                 cp::literal(int64_t{10'000})});
  ac::Declaration plan = ac::Declaration::Sequence({
      {"table_source", ac::TableSourceNodeOptions(table, 64 * 1024)},
      {"project",
       ac::ProjectNodeOptions({cp::field_ref("key"), bucket, cp::field_ref("price")},
                              {"key", "bucket", "price"})},
      {"aggregate",
       ac::AggregateNodeOptions(
           {{"hash_count_all", nullptr, std::vector<arrow::FieldRef>{}, "count"},
            {"hash_sum", nullptr, "price", "sum_price"},
            {"hash_max", nullptr, "price", "max_price"}},
           {"key", "bucket"})},
  });
  const int64_t start = sabot::MonotonicNanos();
  const double cpu_start = sabot::ProcessCpuSeconds();
  ARROW_ASSIGN_OR_RAISE(
      auto result,
      ac::DeclarationToTable(std::move(plan), /*use_threads=*/parallelism > 1));
  return Measurement{"acero_tumbling_10s",
                     keys,
                     parallelism,
                     table->num_rows(),
                     result->num_rows(),
                     (sabot::MonotonicNanos() - start) / 1e9,
                     sabot::ProcessCpuSeconds() - cpu_start};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 20'000'000;
  const std::string filter = argc > 2 ? argv[2] : "";
  const std::string backend_name = argc > 3 ? argv[3] : "memory";
  if (backend_name != "memory" && backend_name != "rocksdb") {
    std::fprintf(stderr, "backend must be memory or rocksdb, got '%s'\n",
                 backend_name.c_str());
    return 2;
  }
  const auto backend = backend_name == "rocksdb" ? sabot::StateBackendKind::kRocksDb
                                                 : sabot::StateBackendKind::kMemory;
  std::vector<int64_t> key_counts = {1000, 1'000'000};
  if (argc > 4) key_counts = {std::atoll(argv[4])};
  std::vector<Measurement> results;
  for (int64_t keys : key_counts) {
    // Mean time between two events of one key, in ms.
    const int64_t key_interval = std::max<int64_t>(1, keys / kRowsPerMilli);
    std::vector<Case> cases = {
        {"generator_only", {}},
        {"tumbling_10s", sabot::Tumbling(milliseconds(10'000))},
        {"tumbling_10s_checkpointed", sabot::Tumbling(milliseconds(10'000))},
        {"sliding_10s_1s", sabot::Sliding(milliseconds(10'000), milliseconds(1'000))},
        {"session", sabot::Session(milliseconds(std::max<int64_t>(1, key_interval / 2)))},
    };
    // 1-hour windows over 1 M keys would emit every key every second (10 result rows
    // per input row); they are measured on 1 K keys.
    if (keys == 1000) {
      cases.push_back({"sliding_1h_1s",
                       sabot::Sliding(milliseconds(3'600'000), milliseconds(1'000))});
    }
    const bool peer = filter.empty() ||
                      std::string("acero_tumbling_10s").find(filter) != std::string::npos;
    arrow::Result<Materialized> input =
        peer ? Materialize(rows, keys) : arrow::Result<Materialized>(Materialized{});
    if (!input.ok()) {
      std::fprintf(stderr, "materializing input failed: %s\n",
                   input.status().ToString().c_str());
      return 1;
    }
    for (int parallelism : {1, 2}) {
      if (peer) {
        for (auto run : {&SabotOnBatches, &AceroOnBatches}) {
          auto m = run(*input, keys, parallelism);
          if (!m.ok()) {
            std::fprintf(stderr, "window benchmark failed: %s\n",
                         m.status().ToString().c_str());
            return 1;
          }
          results.push_back(*m);
        }
      }
      for (const Case& c : cases) {
        if (!filter.empty() && c.name.find(filter) == std::string::npos) continue;
        const bool window = c.name != "generator_only";
        const bool checkpointed = c.name.find("checkpointed") != std::string::npos;
        auto m = Run(c.name, rows, keys, parallelism, window ? &c.window : nullptr,
                     checkpointed, backend);
        if (!m.ok()) {
          std::fprintf(stderr, "window benchmark %s failed: %s\n", c.name.c_str(),
                       m.status().ToString().c_str());
          return 1;
        }
        results.push_back(*m);
      }
    }
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "{\n  \"benchmark\": \"window\",\n  \"backend\": \"%s\",\n"
      "  \"max_rss_mb\": %.0f,\n  \"results\": [\n",
      backend_name.c_str(), usage.ru_maxrss / 1024.0);
  for (size_t i = 0; i < results.size(); ++i) {
    const Measurement& m = results[i];
    std::printf(
        "    {\"name\": \"%s\", \"keys\": %lld, \"parallelism\": %d, \"rows\": %lld, "
        "\"results\": %lld, \"wall_seconds\": %.3f, \"cpu_seconds\": %.3f, "
        "\"rows_per_second\": %.0f, \"rows_per_cpu_second\": %.0f, "
        "\"checkpoints\": %lld}%s\n",
        m.name.c_str(), static_cast<long long>(m.keys), m.parallelism,
        static_cast<long long>(m.rows), static_cast<long long>(m.results), m.wall_seconds,
        m.cpu_seconds, m.rows / m.wall_seconds, m.rows / m.cpu_seconds,
        static_cast<long long>(m.checkpoints), i + 1 < results.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
  return 0;
}
