// Aggregation state for the keys that actually occur in one pane or window: a key id
// gets a local slot when its first row arrives (open-addressing hash map), so that the
// state of a pane costs memory and merge time proportional to its keys, not to all
// keys the operator has seen.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/operators/aggregate/aggregator_set.h"

namespace sabot {

class KeyedAggregates {
 public:
  static Result<std::unique_ptr<KeyedAggregates>> Make(
      const std::vector<ResolvedAggregate>& aggregates);

  /// Folds row i of `rows` into the slot of key `key_ids[i]`.
  Status Consume(const PreparedRows& rows, const uint32_t* key_ids);
  /// Folds row i of `rows` into `slots[i]` (from SlotOf()).
  Status ConsumeSlots(const PreparedRows& rows, const uint32_t* slots);
  /// The local slot of `key`, created if new.
  uint32_t SlotOf(uint32_t key);

  /// Folds every key of `other` into this state.
  Status MergeFrom(const KeyedAggregates& other);
  /// Folds the given keys of `other` (those it has) into this state.
  Status MergeFrom(const KeyedAggregates& other, const std::vector<uint32_t>& keys);

  /// Key id of each local slot, in slot order.
  const std::vector<uint32_t>& keys() const { return keys_; }
  const AggregatorSet& set() const { return *set_; }
  /// Local slot of `key`, or -1.
  int64_t Find(uint32_t key) const;

  /// Folds every key k of `other` with new_ids[k] >= 0 into this state as key
  /// new_ids[k] (restoring a snapshot whose keys were renumbered).
  Status MergeRenamed(const KeyedAggregates& other, const std::vector<int64_t>& new_ids);
  bool empty() const { return keys_.empty(); }

  /// Appends / restores the keys and their aggregation state (checkpoints).
  Status Serialize(std::string* out) const;
  Status Deserialize(std::string_view* in);

  /// Renames every key k to new_ids[k] (after KeyTable::Compact; all keys here must
  /// have survived). Slots and their state stay as they are.
  void RemapKeys(const std::vector<int64_t>& new_ids);

 private:
  KeyedAggregates() = default;
  void Grow();

  std::unique_ptr<AggregatorSet> set_;
  std::vector<uint32_t> keys_;
  // Open addressing, linear probing; entries pack (key + 1) << 32 | slot, 0 is empty.
  std::vector<uint64_t> table_;
  uint64_t mask_ = 0;
  // Reused per call.
  std::vector<uint32_t> slots_;
  std::vector<uint32_t> from_slots_;
};

}  // namespace sabot
