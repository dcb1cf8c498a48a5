// End to end: an input that goes quiet stops holding back event time downstream only
// when idleness detection is on.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "sabot/api/stream_environment.h"
#include "sabot/common/time.h"

namespace sabot {
namespace {

using std::chrono::milliseconds;

GeneratorConfig Events(int64_t rows, double rows_per_second) {
  using Kind = GeneratorColumn::Kind;
  GeneratorConfig config;
  config.num_rows = rows;
  config.rows_per_second = rows_per_second;
  config.columns = {
      {.name = "key", .kind = Kind::kUniformInt, .int_min = 0, .int_max = 9},
      {.name = "_time", .kind = Kind::kEventTime, .start_millis = 0, .step_millis = 1}};
  return config;
}

// Returns the milliseconds until the first window result within 1.2 s, or -1. A busy
// source covers 30 s of event time in 1.5 s; a slow one emits a row every 400 ms with
// event times near 0 for about 2 s.
int64_t MillisToFirstWindow(int64_t idle_timeout_ms) {
  StreamEnvironment env;
  auto strategy = WatermarkStrategy::BoundedOutOfOrderness("_time", 0);
  if (idle_timeout_ms > 0) strategy = strategy.WithIdleness(idle_timeout_ms);
  auto fast =
      env.FromGenerator(Events(30'000, 20'000)).AssignTimestampsAndWatermarks(strategy);
  auto slow = env.FromGenerator(Events(5, 2.5)).AssignTimestampsAndWatermarks(strategy);
  auto results = fast.Union({slow})
                     .KeyBy({"key"})
                     .Window(Tumbling(milliseconds(1000)))
                     .Aggregate({Count()})
                     .Collect();
  const int64_t start = WallClockMillis();
  auto job = env.ExecuteAsync();
  EXPECT_TRUE(job.ok()) << job.status().ToString();
  if (!job.ok()) return -1;
  int64_t first = -1;
  while (first < 0 && WallClockMillis() - start < 1200) {
    if (results->num_rows() > 0) first = WallClockMillis() - start;
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE((*job)->Wait().ok());
  return first;
}

TEST(WatermarkIdlenessTest, IdleInputStopsHoldingBackWindows) {
  // Without idleness the slow source's event time (near 0) holds every window until
  // it ends after ~2 s.
  EXPECT_EQ(MillisToFirstWindow(0), -1);
  // With a 50 ms idle timeout the slow source is idle between its rows and the fast
  // source's watermark fires windows right away.
  const int64_t first = MillisToFirstWindow(50);
  EXPECT_GE(first, 0);
  EXPECT_LT(first, 1000);
}

}  // namespace
}  // namespace sabot
