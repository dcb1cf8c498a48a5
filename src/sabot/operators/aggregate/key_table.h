// Dense ids for the keys of a keyed operator: every distinct combination of key column
// values gets the next id (0, 1, 2, ...), so that aggregation state can live in plain
// vectors indexed by key id. A single integer key column uses an open-addressing table
// of int64 values (the common case, several times faster); other keys use Arrow's
// Grouper.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type_fwd.h>

#include "sabot/common/status.h"

namespace arrow::compute {
class Grouper;
}  // namespace arrow::compute

namespace sabot {

class KeyTable {
 public:
  /// `key_indices` are the key columns of the batches given to Map().
  static Result<std::unique_ptr<KeyTable>> Make(const arrow::Schema& schema,
                                                std::vector<int> key_indices);
  ~KeyTable();

  /// Returns the key id of every row of `batch`.
  Result<std::shared_ptr<arrow::UInt32Array>> Map(const arrow::RecordBatch& batch);

  uint32_t size() const;

  /// Returns the key columns for `ids`, in order.
  Result<std::vector<std::shared_ptr<arrow::Array>>> Keys(const uint32_t* ids,
                                                          int64_t count);

  /// Forgets every key; ids restart at 0.
  Status Reset();

  /// Appends every key (in id order) as an Arrow IPC stream to `out` (checkpoints).
  Status Serialize(std::string* out);
  /// Replaces the table with the keys Serialize() wrote; ids are as they were.
  Status Deserialize(std::string_view* in);

  /// Keeps only the keys with live[id] != 0, renumbered densely in their old order;
  /// returns the new id of every old id (-1 for a dropped key).
  Result<std::vector<int64_t>> Compact(const std::vector<uint8_t>& live);

 private:
  KeyTable() = default;
  Status MapIntegers(const arrow::ArrayData& column, uint32_t* ids);
  // Resets the table, then adds `columns`' rows (distinct keys) as ids 0, 1, 2, ...
  Status Load(const std::vector<std::shared_ptr<arrow::Array>>& columns);
  uint32_t NewIntegerId(int64_t value, uint64_t slot);
  void GrowIntegerTable();

  std::vector<int> key_indices_;
  // Single integer key: table of (value, id + 1; 0 = empty) and the value of each id.
  bool integer_key_ = false;
  std::vector<int64_t> table_values_;
  std::vector<uint32_t> table_ids_;
  uint64_t table_mask_ = 0;
  int table_shift_ = 0;
  std::vector<int64_t> values_by_id_;
  std::vector<uint8_t> null_by_id_;
  int64_t null_id_ = -1;
  std::vector<arrow::TypeHolder> key_types_;
  std::unique_ptr<arrow::compute::Grouper> grouper_;
  // Key values by id, refreshed when keys were added since the last Keys().
  std::vector<std::shared_ptr<arrow::Array>> uniques_;
  uint32_t uniques_size_ = 0;
};

}  // namespace sabot
