#include "sabot/types/row_selection.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <cstring>

namespace sabot {
namespace {

// Returns `num_bits` (<= 64) bits of an LSB-first bitmap starting at `bit_offset`,
// reading only the bytes that hold them.
inline uint64_t LoadBits(const uint8_t* bitmap, int64_t bit_offset, int64_t num_bits) {
  const int shift = static_cast<int>(bit_offset & 7);
  const int64_t num_bytes = (shift + num_bits + 7) >> 3;  // at most 9
  unsigned __int128 raw = 0;
  std::memcpy(&raw, bitmap + (bit_offset >> 3), static_cast<size_t>(num_bytes));
  uint64_t word = static_cast<uint64_t>(raw >> shift);
  return num_bits < 64 ? word & ((uint64_t{1} << num_bits) - 1) : word;
}

// Writes the positions of set bits of (mask AND validity) to `indices`; returns how many.
int64_t MaskToIndices(const arrow::ArrayData& mask, int32_t* indices) {
  const int64_t length = mask.length;
  const uint8_t* values = mask.buffers[1]->data();
  const uint8_t* validity =
      mask.GetNullCount() > 0 && mask.buffers[0] ? mask.buffers[0]->data() : nullptr;
  int64_t count = 0;
  for (int64_t base = 0; base < length; base += 64) {
    const int64_t bits = std::min<int64_t>(64, length - base);
    uint64_t word = LoadBits(values, mask.offset + base, bits);
    if (validity != nullptr) {
      word &= LoadBits(validity, mask.offset + base, bits);
    }
    while (word != 0) {
      indices[count++] = static_cast<int32_t>(base + __builtin_ctzll(word));
      word &= word - 1;
    }
  }
  return count;
}

template <typename T>
Result<std::shared_ptr<arrow::ArrayData>> GatherFixed(const arrow::ArrayData& column,
                                                      const int32_t* indices,
                                                      int64_t count) {
  ARROW_ASSIGN_OR_RAISE(auto buffer, arrow::AllocateBuffer(count * sizeof(T)));
  const T* in = column.GetValues<T>(1);
  T* out = reinterpret_cast<T*>(buffer->mutable_data());
  for (int64_t i = 0; i < count; ++i) out[i] = in[indices[i]];
  return arrow::ArrayData::Make(column.type, count, {nullptr, std::move(buffer)}, 0);
}

Result<std::shared_ptr<arrow::ArrayData>> GatherStrings(const arrow::ArrayData& column,
                                                        const int32_t* indices,
                                                        int64_t count) {
  const int32_t* offsets = column.GetValues<int32_t>(1);
  const uint8_t* bytes = column.buffers[2] ? column.buffers[2]->data() : nullptr;
  ARROW_ASSIGN_OR_RAISE(auto out_offsets,
                        arrow::AllocateBuffer((count + 1) * sizeof(int32_t)));
  auto* new_offsets = reinterpret_cast<int32_t*>(out_offsets->mutable_data());
  int64_t total = 0;
  for (int64_t i = 0; i < count; ++i) {
    new_offsets[i] = static_cast<int32_t>(total);
    total += offsets[indices[i] + 1] - offsets[indices[i]];
  }
  if (total > std::numeric_limits<int32_t>::max()) {
    return Status::CapacityError("selected strings exceed 2 GiB");
  }
  new_offsets[count] = static_cast<int32_t>(total);
  // Short strings are copied as one 16-byte block (the output has 16 bytes of slack;
  // the input only where its buffer has room), which beats a variable-size memcpy.
  constexpr int64_t kBlock = 16;
  ARROW_ASSIGN_OR_RAISE(auto out_bytes, arrow::AllocateResizableBuffer(total + kBlock));
  uint8_t* out = out_bytes->mutable_data();
  const int64_t input_capacity = column.buffers[2] ? column.buffers[2]->capacity() : 0;
  for (int64_t i = 0; i < count; ++i) {
    const int32_t begin = offsets[indices[i]];
    const int32_t length = offsets[indices[i] + 1] - begin;
    if (length <= kBlock && begin + kBlock <= input_capacity) {
      std::memcpy(out + new_offsets[i], bytes + begin, kBlock);
    } else if (length > 0) {
      std::memcpy(out + new_offsets[i], bytes + begin, length);
    }
  }
  ARROW_RETURN_NOT_OK(out_bytes->Resize(total, /*shrink_to_fit=*/false));
  return arrow::ArrayData::Make(
      column.type, count, {nullptr, std::move(out_offsets), std::move(out_bytes)}, 0);
}

Result<std::shared_ptr<arrow::ArrayData>> Gather(
    const std::shared_ptr<arrow::ArrayData>& column,
    const std::shared_ptr<arrow::Array>& indices) {
  const int32_t* raw = indices->data()->GetValues<int32_t>(1);
  const int64_t count = indices->length();
  if (column->GetNullCount() == 0) {
    switch (column->type->id()) {
      case arrow::Type::INT8:
      case arrow::Type::UINT8:
        return GatherFixed<uint8_t>(*column, raw, count);
      case arrow::Type::INT16:
      case arrow::Type::UINT16:
        return GatherFixed<uint16_t>(*column, raw, count);
      case arrow::Type::INT32:
      case arrow::Type::UINT32:
      case arrow::Type::FLOAT:
      case arrow::Type::DATE32:
      case arrow::Type::TIME32:
        return GatherFixed<uint32_t>(*column, raw, count);
      case arrow::Type::INT64:
      case arrow::Type::UINT64:
      case arrow::Type::DOUBLE:
      case arrow::Type::DATE64:
      case arrow::Type::TIME64:
      case arrow::Type::TIMESTAMP:
      case arrow::Type::DURATION:
        return GatherFixed<uint64_t>(*column, raw, count);
      case arrow::Type::STRING:
      case arrow::Type::BINARY:
        return GatherStrings(*column, raw, count);
      default:
        break;
    }
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, arrow::compute::Take(arrow::Datum(column),
                                                                 arrow::Datum(indices)));
  return taken.array();
}

}  // namespace

Result<std::shared_ptr<arrow::RecordBatch>> SelectRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, const arrow::ArrayData& mask) {
  if (mask.length != batch->num_rows() || mask.type->id() != arrow::Type::BOOL) {
    return Status::Invalid("selection mask must be boolean with ", batch->num_rows(),
                           " rows, got ", mask.type->ToString(), " with ", mask.length);
  }
  ARROW_ASSIGN_OR_RAISE(auto index_buffer,
                        arrow::AllocateBuffer(batch->num_rows() * sizeof(int32_t)));
  const int64_t count =
      MaskToIndices(mask, reinterpret_cast<int32_t*>(index_buffer->mutable_data()));
  return TakeRows(batch,
                  std::make_shared<arrow::Int32Array>(count, std::move(index_buffer)));
}

Result<std::shared_ptr<arrow::RecordBatch>> TakeRows(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Int32Array>& indices) {
  std::vector<std::shared_ptr<arrow::ArrayData>> columns;
  columns.reserve(batch->num_columns());
  for (int c = 0; c < batch->num_columns(); ++c) {
    ARROW_ASSIGN_OR_RAISE(auto column, Gather(batch->column_data(c), indices));
    columns.push_back(std::move(column));
  }
  return arrow::RecordBatch::Make(batch->schema(), indices->length(), std::move(columns));
}

}  // namespace sabot
