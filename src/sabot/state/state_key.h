// The key of keyed state: the key group a row's key belongs to (the unit of
// redistribution when parallelism changes) and the canonical bytes of its key columns.
//
// Key bytes, per key column in order: one byte 0 (null) or 1 (valid), then for a valid
// value its little-endian fixed-width representation (integers, floats, booleans as one
// byte, temporal types as their integer) or, for strings and binaries, a little-endian
// uint32 length followed by the bytes. The format is stable: checkpoints store it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type_fwd.h>

#include "sabot/common/status.h"

namespace sabot {

struct StateKey {
  int32_t key_group = 0;
  std::string_view bytes;
};

/// Encodes the keys of a batch's rows; the same key routes to the same key group as
/// the hash exchange (KeyBy) sends it to.
class KeyEncoder {
 public:
  /// `key_indices` are the key columns of the batches given to Encode().
  static Result<KeyEncoder> Make(const arrow::Schema& schema,
                                 std::vector<int> key_indices, int32_t max_parallelism);

  /// Encodes every row of `batch`; the keys stay valid until the next call.
  Status Encode(const arrow::RecordBatch& batch);

  int64_t num_rows() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  StateKey key(int64_t row) const {
    return {key_groups_[row],
            std::string_view(bytes_.data() + offsets_[row],
                             static_cast<size_t>(offsets_[row + 1] - offsets_[row]))};
  }

 private:
  KeyEncoder() = default;
  std::vector<int> key_indices_;
  int32_t max_parallelism_ = 0;
  std::string bytes_;
  std::vector<int64_t> offsets_;
  std::vector<int32_t> key_groups_;
  std::vector<uint64_t> hashes_;
};

/// Decodes key bytes (KeyEncoder's encoding) back into the key columns: one array per
/// key column, with the column's type from `schema`, one row per entry of `keys`.
/// Truncated keys, trailing bytes, bad null or boolean markers and invalid UTF-8 give
/// an IOError that names the key and column.
Result<std::vector<std::shared_ptr<arrow::Array>>> DecodeKeys(
    const arrow::Schema& schema, const std::vector<int>& key_indices,
    const std::vector<std::string_view>& keys);

}  // namespace sabot
