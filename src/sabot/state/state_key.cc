#include "sabot/state/state_key.h"

#include <arrow/api.h>

#include <cstring>

#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

// Appends the encoding of row i of `column` to `out`.
void AppendValue(const arrow::ArrayData& column, int64_t i, std::string* out) {
  if (!column.IsValid(i)) {
    out->push_back('\0');
    return;
  }
  out->push_back('\1');
  const auto id = column.type->id();
  if (id == arrow::Type::STRING || id == arrow::Type::BINARY) {
    const int32_t* offsets = column.GetValues<int32_t>(1);
    const char* data = reinterpret_cast<const char*>(column.buffers[2]->data());
    const uint32_t length = static_cast<uint32_t>(offsets[i + 1] - offsets[i]);
    out->append(reinterpret_cast<const char*>(&length), sizeof(length));
    out->append(data + offsets[i], length);
    return;
  }
  if (id == arrow::Type::LARGE_STRING || id == arrow::Type::LARGE_BINARY) {
    const int64_t* offsets = column.GetValues<int64_t>(1);
    const char* data = reinterpret_cast<const char*>(column.buffers[2]->data());
    const uint32_t length = static_cast<uint32_t>(offsets[i + 1] - offsets[i]);
    out->append(reinterpret_cast<const char*>(&length), sizeof(length));
    out->append(data + offsets[i], length);
    return;
  }
  if (id == arrow::Type::BOOL) {
    out->push_back(arrow::bit_util::GetBit(column.buffers[1]->data(), column.offset + i)
                       ? '\1'
                       : '\0');
    return;
  }
  const int width = arrow::bit_width(id) / 8;
  out->append(reinterpret_cast<const char*>(column.buffers[1]->data()) +
                  (column.offset + i) * width,
              width);
}

}  // namespace

Result<KeyEncoder> KeyEncoder::Make(const arrow::Schema& schema,
                                    std::vector<int> key_indices,
                                    int32_t max_parallelism) {
  for (int index : key_indices) {
    const auto& type = *schema.field(index)->type();
    const auto id = type.id();
    const bool supported = id == arrow::Type::STRING || id == arrow::Type::BINARY ||
                           id == arrow::Type::LARGE_STRING ||
                           id == arrow::Type::LARGE_BINARY || id == arrow::Type::BOOL ||
                           (arrow::is_fixed_width(id) && arrow::bit_width(id) % 8 == 0 &&
                            arrow::bit_width(id) <= 64);
    if (!supported || !IsHashableKeyType(type)) {
      return Status::TypeError("key column '", schema.field(index)->name(), "' of type ",
                               type.ToString(),
                               " cannot key state; use an integer, string or temporal "
                               "column");
    }
  }
  KeyEncoder encoder;
  encoder.key_indices_ = std::move(key_indices);
  encoder.max_parallelism_ = max_parallelism;
  encoder.offsets_ = {0};
  return encoder;
}

Status KeyEncoder::Encode(const arrow::RecordBatch& batch) {
  const int64_t num_rows = batch.num_rows();
  ARROW_RETURN_NOT_OK(HashKeyColumns(batch, key_indices_, &hashes_));
  bytes_.clear();
  offsets_.resize(num_rows + 1);
  key_groups_.resize(num_rows);
  offsets_[0] = 0;
  for (int64_t i = 0; i < num_rows; ++i) {
    for (int index : key_indices_) AppendValue(*batch.column_data(index), i, &bytes_);
    offsets_[i + 1] = static_cast<int64_t>(bytes_.size());
    key_groups_[i] = KeyGroupForHash(hashes_[i], max_parallelism_);
  }
  return Status::OK();
}

}  // namespace sabot
