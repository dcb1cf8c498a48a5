// Counters per plan node, summed over its subtasks. Updated once per batch (relaxed
// atomics), read by Job::Metrics() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace sabot {

struct NodeMetrics {
  std::atomic<int64_t> rows_in{0};
  std::atomic<int64_t> rows_out{0};
  /// Input records a source skipped under a skip policy (see the connector).
  std::atomic<int64_t> rows_rejected{0};

  void AddIn(int64_t rows) { rows_in.fetch_add(rows, std::memory_order_relaxed); }
  void AddOut(int64_t rows) { rows_out.fetch_add(rows, std::memory_order_relaxed); }
  void AddRejected(int64_t rows) {
    rows_rejected.fetch_add(rows, std::memory_order_relaxed);
  }
};

/// A point-in-time copy of one node's counters.
struct NodeMetricsSnapshot {
  std::string node_name;
  int64_t rows_in = 0;
  int64_t rows_out = 0;
  int64_t rows_rejected = 0;
};

}  // namespace sabot
