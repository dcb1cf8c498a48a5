// Clocks and time constants shared by the runtime, sources and benchmarks.
#pragma once

#include <cstdint>
#include <limits>

namespace sabot {

/// Event-time watermark values are int64 milliseconds; these are the bounds.
constexpr int64_t kMinWatermark = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxWatermark = std::numeric_limits<int64_t>::max();

/// Returns milliseconds since the Unix epoch (wall clock).
int64_t WallClockMillis();

/// Returns nanoseconds from a monotonic clock, for durations and rate limiting.
int64_t MonotonicNanos();

/// Returns the CPU seconds (user + system) this process has consumed so far.
double ProcessCpuSeconds();

}  // namespace sabot
