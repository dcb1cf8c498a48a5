#include "sabot/state/state_key.h"

#include <arrow/api.h>

#include <cstring>
#include <utility>

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

// Checks that column `index` of `schema` exists and has a type the key bytes encode.
Status CheckKeyColumn(const arrow::Schema& schema, int index) {
  if (index < 0 || index >= schema.num_fields()) {
    return Status::IndexError("key column index ", index, " is out of range for ",
                              schema.ToString(/*show_metadata=*/false));
  }
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
  return Status::OK();
}

// Reads a fixed-width value from the front of `in`; false when `in` is too short.
template <typename T>
bool ReadFixed(std::string_view* in, T* value) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(value, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

Status Truncated() { return Status::IOError("the key bytes end inside a value"); }

// Decoders of a valid value into a builder of the column's storage type.
using AppendFn = Status (*)(std::string_view* in, arrow::ArrayBuilder* builder);

template <typename Builder>
Status AppendBinary(std::string_view* in, arrow::ArrayBuilder* builder) {
  uint32_t length;
  if (!ReadFixed(in, &length) || in->size() < length) return Truncated();
  ARROW_RETURN_NOT_OK(
      static_cast<Builder*>(builder)->Append(std::string_view(in->data(), length)));
  in->remove_prefix(length);
  return Status::OK();
}

Status AppendBool(std::string_view* in, arrow::ArrayBuilder* builder) {
  uint8_t value;
  if (!ReadFixed(in, &value)) return Truncated();
  if (value > 1) {
    return Status::IOError("bad boolean byte ", static_cast<int>(value),
                           " (expected 0 or 1)");
  }
  return static_cast<arrow::BooleanBuilder*>(builder)->Append(value == 1);
}

template <typename CType>
Status AppendFixed(std::string_view* in, arrow::ArrayBuilder* builder) {
  CType value;
  if (!ReadFixed(in, &value)) return Truncated();
  using Builder = typename arrow::CTypeTraits<CType>::BuilderType;
  return static_cast<Builder*>(builder)->Append(value);
}

// Builds one key column. Values go into a builder of the column's physical layout
// (binary, large binary, boolean, or the integer of the same width for every other
// fixed-width type), whose result then takes the column's type.
struct ColumnDecoder {
  std::shared_ptr<arrow::DataType> type;
  std::unique_ptr<arrow::ArrayBuilder> storage;
  AppendFn append;

  static Result<ColumnDecoder> Make(const std::shared_ptr<arrow::DataType>& type) {
    switch (type->id()) {
      case arrow::Type::STRING:
      case arrow::Type::BINARY:
        return ColumnDecoder{type, std::make_unique<arrow::BinaryBuilder>(),
                             AppendBinary<arrow::BinaryBuilder>};
      case arrow::Type::LARGE_STRING:
      case arrow::Type::LARGE_BINARY:
        return ColumnDecoder{type, std::make_unique<arrow::LargeBinaryBuilder>(),
                             AppendBinary<arrow::LargeBinaryBuilder>};
      case arrow::Type::BOOL:
        return ColumnDecoder{type, std::make_unique<arrow::BooleanBuilder>(), AppendBool};
      default:
        break;
    }
    switch (arrow::bit_width(type->id())) {
      case 8:
        return ColumnDecoder{type, std::make_unique<arrow::Int8Builder>(),
                             AppendFixed<int8_t>};
      case 16:
        return ColumnDecoder{type, std::make_unique<arrow::Int16Builder>(),
                             AppendFixed<int16_t>};
      case 32:
        return ColumnDecoder{type, std::make_unique<arrow::Int32Builder>(),
                             AppendFixed<int32_t>};
      case 64:
        return ColumnDecoder{type, std::make_unique<arrow::Int64Builder>(),
                             AppendFixed<int64_t>};
      default:
        return Status::TypeError("cannot decode key values of type ", type->ToString());
    }
  }

  // Decodes one value, its null marker first, from the front of `in`.
  Status Decode(std::string_view* in) {
    uint8_t marker;
    if (!ReadFixed(in, &marker)) return Truncated();
    if (marker == 0) return storage->AppendNull();
    if (marker != 1) {
      return Status::IOError("bad null marker ", static_cast<int>(marker),
                             " (expected 0 or 1)");
    }
    return append(in, storage.get());
  }

  Result<std::shared_ptr<arrow::Array>> Finish() {
    ARROW_ASSIGN_OR_RAISE(auto values, storage->Finish());
    auto data = values->data()->Copy();
    data->type = type;
    return arrow::MakeArray(std::move(data));
  }
};

}  // namespace

Result<std::vector<std::shared_ptr<arrow::Array>>> DecodeKeys(
    const arrow::Schema& schema, const std::vector<int>& key_indices,
    const std::vector<std::string_view>& keys) {
  std::vector<ColumnDecoder> decoders;
  for (int index : key_indices) {
    ARROW_RETURN_NOT_OK(CheckKeyColumn(schema, index));
    ARROW_ASSIGN_OR_RAISE(auto decoder, ColumnDecoder::Make(schema.field(index)->type()));
    ARROW_RETURN_NOT_OK(decoder.storage->Reserve(static_cast<int64_t>(keys.size())));
    decoders.push_back(std::move(decoder));
  }
  for (size_t k = 0; k < keys.size(); ++k) {
    std::string_view in = keys[k];
    for (size_t c = 0; c < decoders.size(); ++c) {
      Status status = decoders[c].Decode(&in);
      if (!status.ok()) {
        return status.WithMessage("key ", k, ", column '",
                                  schema.field(key_indices[c])->name(),
                                  "': ", status.message());
      }
    }
    if (!in.empty()) {
      return Status::IOError("key ", k, " has ", in.size(),
                             " trailing bytes after its key columns");
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (size_t c = 0; c < decoders.size(); ++c) {
    ARROW_ASSIGN_OR_RAISE(auto column, decoders[c].Finish());
    // The bytes of string keys were not checked for UTF-8 as they were decoded.
    Status valid = column->ValidateFull();
    if (!valid.ok()) {
      return Status::IOError("key column '", schema.field(key_indices[c])->name(),
                             "' decodes to invalid values: ", valid.message());
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

Result<KeyEncoder> KeyEncoder::Make(const arrow::Schema& schema,
                                    std::vector<int> key_indices,
                                    int32_t max_parallelism) {
  for (int index : key_indices) ARROW_RETURN_NOT_OK(CheckKeyColumn(schema, index));
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
