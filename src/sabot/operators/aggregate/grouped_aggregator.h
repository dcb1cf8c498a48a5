// The state of one aggregate for many groups at once, updated a batch at a time. Slots
// are dense indices chosen by the operator (a key id, or a session's slot); the built-in
// aggregates implement this interface and so can user-defined ones (UserAggregate()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sabot/common/status.h"

namespace arrow {
class Array;
struct ArrayData;
}  // namespace arrow

namespace sabot {

/// The rows of one Consume() call.
struct AggregateInput {
  /// The aggregate's input column in its consumed type; null for count(*).
  const arrow::ArrayData* values = nullptr;
  /// Event time of each row in milliseconds, or null when the stream has none.
  const int64_t* times = nullptr;
  int64_t length = 0;
};

class GroupedAggregator {
 public:
  virtual ~GroupedAggregator() = default;

  /// Grows (never shrinks) to `num_slots` slots; new slots are empty.
  virtual void Resize(uint32_t num_slots) = 0;

  /// Folds row i of `input` into slot `slots[i]`.
  virtual Status Consume(const AggregateInput& input, const uint32_t* slots) = 0;

  /// Folds slot `from_slots[i]` of `from` (an aggregator made by the same factory,
  /// possibly this one) into slot `to_slots[i]`, for i < count, in order.
  virtual Status Merge(const GroupedAggregator& from, const uint32_t* from_slots,
                       const uint32_t* to_slots, int64_t count) = 0;

  /// Empties the given slots.
  virtual void Reset(const uint32_t* slots, int64_t count) = 0;

  /// Returns the result of each given slot, in order, leaving the state unchanged.
  virtual Result<std::shared_ptr<arrow::Array>> Finish(const uint32_t* slots,
                                                       int64_t count) const = 0;

  /// Appends the state of every slot to `out` (checkpoints; a binary format of the
  /// aggregator's choosing). Aggregators that do not override it cannot be checkpointed.
  virtual Status Serialize(std::string* out) const {
    return Status::NotImplemented("this aggregate cannot be checkpointed");
  }
  /// Replaces the state with one Serialize() wrote, consuming it from the front of `in`.
  virtual Status Deserialize(std::string_view* in) {
    return Status::NotImplemented("this aggregate cannot be restored");
  }

  /// Appends the state of one slot to `out`, in a self-delimiting binary encoding of
  /// the aggregator's choosing. Operators that keep each (key, window) accumulator as
  /// its own value in a state backend store these; the built-in aggregates implement
  /// it, user-defined ones (UserAggregate()) must override both SerializeSlot() and
  /// DeserializeSlot() to be usable there.
  virtual Status SerializeSlot(uint32_t slot, std::string* out) const {
    return Status::NotImplemented(
        "this aggregate cannot be stored per key in a state backend");
  }
  /// Replaces the state of `slot` with one SerializeSlot() wrote (possibly by another
  /// aggregator made by the same factory), consuming it from the front of `in`.
  /// Truncated or corrupt input gives an IOError; the slot's state is then unspecified.
  virtual Status DeserializeSlot(uint32_t slot, std::string_view* in) {
    return Status::NotImplemented(
        "this aggregate cannot be stored per key in a state backend");
  }
};

}  // namespace sabot
