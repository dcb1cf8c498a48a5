// What every window operator shares: key ids, the current watermark, routing of rows
// that are too late, and building result batches. Internal to operators/window.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sabot/common/time.h"
#include "sabot/operators/aggregate/aggregator_set.h"
#include "sabot/operators/aggregate/key_table.h"
#include "sabot/operators/window/window_aggregate.h"
#include "sabot/runtime/operator.h"

namespace sabot {

/// Result rows to emit: one per (key id, slot of an AggregatorSet, window bounds).
struct WindowResults {
  std::vector<uint32_t> key_ids;
  std::vector<uint32_t> slots;
  std::vector<int64_t> starts;
  std::vector<int64_t> ends;
  /// Count and global windows without event time have no bounds (null).
  bool has_bounds = true;

  void Add(uint32_t key, uint32_t slot, int64_t start, int64_t end) {
    key_ids.push_back(key);
    slots.push_back(slot);
    starts.push_back(start);
    ends.push_back(end);
  }
  bool empty() const { return slots.empty(); }
  void clear() {
    key_ids.clear();
    slots.clear();
    starts.clear();
    ends.clear();
  }
};

class KeyedWindowOperator : public Operator {
 public:
  explicit KeyedWindowOperator(const WindowAggregateOptions& options);
  Status Open(const OperatorContext& context) override;

 protected:
  /// A new, empty aggregation state with this operator's aggregates.
  Result<std::unique_ptr<AggregatorSet>> NewAggregatorSet(bool track_time_span = false);

  /// Sends rows flagged in `late` (1 = too late) to the late-data side output, or
  /// counts them as rejected when there is none.
  Status RouteLateRows(const std::shared_ptr<arrow::RecordBatch>& batch,
                       const std::vector<uint8_t>& late, int64_t num_late);

  /// Emits `results`, whose slots index `set`, as one batch.
  Status Emit(const AggregatorSet& set, const WindowResults& results);
  /// Emits `results` with the given key columns (one row per result) instead of
  /// looking the key ids up in the key table.
  Status EmitWithKeys(std::vector<std::shared_ptr<arrow::Array>> key_columns,
                      const AggregatorSet& set, const WindowResults& results);

  const WindowAggregateOptions& options_;
  std::unique_ptr<KeyTable> keys_;
  int64_t watermark_ = kMinWatermark;
};

/// Floor division (rounds toward negative infinity) in 128 bits, so that window
/// arithmetic near the int64 bounds neither overflows nor rounds the wrong way.
inline __int128 FloorDiv(__int128 a, __int128 b) {
  __int128 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
inline __int128 CeilDiv(__int128 a, __int128 b) { return -FloorDiv(-a, b); }

/// Clamps a 128-bit time to the int64 range.
inline int64_t ClampTime(__int128 t) {
  if (t < kMinWatermark) return kMinWatermark;
  if (t > kMaxWatermark) return kMaxWatermark;
  return static_cast<int64_t>(t);
}

}  // namespace sabot
