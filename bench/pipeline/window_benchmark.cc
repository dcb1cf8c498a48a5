// Window benchmark: generator → watermarks → KeyBy(key) → tumbling 10 s window →
// count/sum/max → blackhole, for 1 K and 1 M distinct keys at parallelism 1 and 2,
// printed as JSON. Also the generator alone (→ blackhole), so the window's own cost per
// row can be read off. Rows per CPU second = rows / process user+system CPU seconds.
//
// Usage: window_benchmark [rows (default 20000000)]
#include <sabot/sabot.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using std::chrono::milliseconds;

struct Measurement {
  std::string name;
  int64_t keys;
  int parallelism;
  int64_t rows;
  double wall_seconds;
  double cpu_seconds;
};

// Events of `keys` distinct int64 keys, one per millisecond, up to 1 s out of order.
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
       .max_delay_millis = 1000}};
  return config;
}

arrow::Result<Measurement> Run(const std::string& name, int64_t rows, int64_t keys,
                               int parallelism, bool window) {
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  auto source = env.FromGenerator(Events(rows, keys));
  if (window) {
    source
        .AssignTimestampsAndWatermarks(
            sabot::WatermarkStrategy::BoundedOutOfOrderness("_time", 1000))
        .KeyBy({"key"})
        .Window(sabot::Tumbling(milliseconds(10'000)))
        .Aggregate({sabot::Count(), sabot::Sum("price"), sabot::Max("price")})
        .Blackhole();
  } else {
    source.Blackhole();
  }
  ARROW_ASSIGN_OR_RAISE(sabot::JobResult result, env.Execute());
  return Measurement{name,
                     keys,
                     parallelism,
                     result.Metrics(source.node_name()).rows_out,
                     result.elapsed_seconds,
                     result.cpu_seconds};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 20'000'000;
  std::vector<Measurement> results;
  for (int64_t keys : {int64_t{1000}, int64_t{1'000'000}}) {
    for (int parallelism : {1, 2}) {
      for (bool window : {false, true}) {
        auto m = Run(window ? "tumbling_count_sum_max" : "generator_only", rows, keys,
                     parallelism, window);
        if (!m.ok()) {
          std::fprintf(stderr, "window benchmark failed: %s\n",
                       m.status().ToString().c_str());
          return 1;
        }
        results.push_back(*m);
      }
    }
  }
  std::printf("{\n  \"benchmark\": \"window\",\n  \"results\": [\n");
  for (size_t i = 0; i < results.size(); ++i) {
    const Measurement& m = results[i];
    std::printf(
        "    {\"name\": \"%s\", \"keys\": %lld, \"parallelism\": %d, \"rows\": %lld, "
        "\"wall_seconds\": %.3f, \"cpu_seconds\": %.3f, \"rows_per_second\": %.0f, "
        "\"rows_per_cpu_second\": %.0f}%s\n",
        m.name.c_str(), static_cast<long long>(m.keys), m.parallelism,
        static_cast<long long>(m.rows), m.wall_seconds, m.cpu_seconds,
        m.rows / m.wall_seconds, m.rows / m.cpu_seconds,
        i + 1 < results.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
  return 0;
}
