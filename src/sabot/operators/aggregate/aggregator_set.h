// The aggregation state of one pane, window set or table: every aggregate of an
// operator plus a hidden row count per slot (a slot with no rows emits nothing) and,
// optionally, the event-time span of the slot's rows.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type_fwd.h>

#include "sabot/common/status.h"
#include "sabot/operators/aggregate/aggregate_spec.h"
#include "sabot/operators/aggregate/grouped_aggregator.h"

namespace sabot {

/// A batch prepared once for all aggregates: each aggregate's input column in its
/// consumed type, and the event times.
struct PreparedRows {
  std::vector<std::shared_ptr<arrow::ArrayData>> inputs;  // per aggregate; null: count(*)
  std::shared_ptr<arrow::ArrayData> time_data;            // null without event time
  int64_t length = 0;

  const int64_t* times() const;
};

/// Converts the aggregate inputs of `batch` (`time_index` < 0: no event time).
Result<PreparedRows> PrepareRows(const std::vector<ResolvedAggregate>& aggregates,
                                 const arrow::RecordBatch& batch, int time_index);

/// Returns the rows of `rows` at `indices`, in order.
Result<PreparedRows> TakePreparedRows(const PreparedRows& rows,
                                      const arrow::Array& indices);

class AggregatorSet {
 public:
  static Result<std::unique_ptr<AggregatorSet>> Make(
      const std::vector<ResolvedAggregate>& aggregates, bool track_time_span = false);

  /// Grows to at least `num_slots` slots.
  void Resize(uint32_t num_slots);
  uint32_t num_slots() const { return static_cast<uint32_t>(rows_.size()); }

  /// Folds row i of `rows` into slot `slots[i]`.
  Status Consume(const PreparedRows& rows, const uint32_t* slots);
  /// Folds slot from_slots[i] of `from` into to_slots[i] of this set.
  Status Merge(const AggregatorSet& from, const uint32_t* from_slots,
               const uint32_t* to_slots, int64_t count);
  void Reset(const uint32_t* slots, int64_t count);

  /// Number of rows folded into `slot`.
  int64_t rows(uint32_t slot) const { return rows_[slot]; }
  const std::vector<int64_t>& rows() const { return rows_; }
  /// Smallest and largest event time in `slot` (track_time_span only).
  int64_t min_time(uint32_t slot) const { return min_time_[slot]; }
  int64_t max_time(uint32_t slot) const { return max_time_[slot]; }

  /// Appends / restores the state of every slot (checkpoints).
  Status Serialize(std::string* out) const;
  Status Deserialize(std::string_view* in);

  /// Appends the state of `slot`: its row count, time span (when tracked) and every
  /// aggregate's state (GroupedAggregator::SerializeSlot()), so that an operator can
  /// store each slot as its own value in a state backend.
  Status SerializeSlot(uint32_t slot, std::string* out) const;
  /// Replaces the state of `slot` (which must exist) with one SerializeSlot() of a set
  /// with the same aggregates wrote; the whole of `in` must be consumed. Truncated,
  /// corrupt or trailing bytes give an IOError and leave the slot empty.
  Status DeserializeSlot(uint32_t slot, std::string_view in);

  /// One result column per aggregate for `slots`, in the declared output types.
  Result<std::vector<std::shared_ptr<arrow::Array>>> Finish(const uint32_t* slots,
                                                            int64_t count) const;

 private:
  AggregatorSet() = default;
  /// Prefixes the message of an error from aggregate `a` with the aggregate's name.
  Status NameAggregate(size_t a, const Status& status) const;
  /// IndexError unless `slot` exists.
  Status CheckSlot(uint32_t slot) const;
  std::vector<std::shared_ptr<arrow::Field>> output_fields_;
  std::vector<std::unique_ptr<GroupedAggregator>> aggregators_;
  std::vector<int64_t> rows_;
  bool track_time_span_ = false;
  std::vector<int64_t> min_time_;
  std::vector<int64_t> max_time_;
};

}  // namespace sabot
