// Window benchmark: generator → watermarks → KeyBy(key) → window → count/sum/max →
// blackhole, for tumbling, sliding and session windows with 1 K and 1 M distinct keys at
// parallelism 1 and 2, printed as JSON. The generator alone (→ blackhole) is measured
// too, so the windowing cost per row can be read off. Rows per CPU second = rows /
// process user+system CPU seconds.
//
// Events: 100 per millisecond of event time (100 K/s), up to 1 s out of order, keys
// uniform. Session gap: half the mean time between two events of a key.
//
// Usage: window_benchmark [rows (default 20000000)] [name filter (substring)]
#include <sabot/sabot.h>

#include <cstdio>
#include <cstdlib>
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
};

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
                               int parallelism, const sabot::WindowSpec* window) {
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
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
  return Measurement{name,
                     keys,
                     parallelism,
                     result.Metrics(source.node_name()).rows_out,
                     window_node.empty() ? 0 : result.Metrics(window_node).rows_out,
                     result.elapsed_seconds,
                     result.cpu_seconds};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 20'000'000;
  const std::string filter = argc > 2 ? argv[2] : "";
  std::vector<Measurement> results;
  for (int64_t keys : {int64_t{1000}, int64_t{1'000'000}}) {
    // Mean time between two events of one key, in ms.
    const int64_t key_interval = std::max<int64_t>(1, keys / kRowsPerMilli);
    std::vector<Case> cases = {
        {"generator_only", {}},
        {"tumbling_10s", sabot::Tumbling(milliseconds(10'000))},
        {"sliding_10s_1s", sabot::Sliding(milliseconds(10'000), milliseconds(1'000))},
        {"session", sabot::Session(milliseconds(std::max<int64_t>(1, key_interval / 2)))},
    };
    // 1-hour windows over 1 M keys would emit every key every second (10 result rows
    // per input row); they are measured on 1 K keys.
    if (keys == 1000) {
      cases.push_back({"sliding_1h_1s",
                       sabot::Sliding(milliseconds(3'600'000), milliseconds(1'000))});
    }
    for (int parallelism : {1, 2}) {
      for (const Case& c : cases) {
        if (!filter.empty() && c.name.find(filter) == std::string::npos) continue;
        const bool window = c.name != "generator_only";
        auto m = Run(c.name, rows, keys, parallelism, window ? &c.window : nullptr);
        if (!m.ok()) {
          std::fprintf(stderr, "window benchmark %s failed: %s\n", c.name.c_str(),
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
        "\"results\": %lld, \"wall_seconds\": %.3f, \"cpu_seconds\": %.3f, "
        "\"rows_per_second\": %.0f, \"rows_per_cpu_second\": %.0f}%s\n",
        m.name.c_str(), static_cast<long long>(m.keys), m.parallelism,
        static_cast<long long>(m.rows), static_cast<long long>(m.results), m.wall_seconds,
        m.cpu_seconds, m.rows / m.wall_seconds, m.rows / m.cpu_seconds,
        i + 1 < results.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
  return 0;
}
