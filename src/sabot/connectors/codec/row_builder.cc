#include "sabot/connectors/codec/row_builder.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include <arrow/array/builder_base.h>
#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/utf8.h>

namespace sabot {
namespace {

// Keeps the up-front reservation modest when a source is configured with huge batches;
// builders still grow to the full batch size.
constexpr int64_t kMaxReservedRows = 64 * 1024;

std::optional<CodecColumnKind> KindOf(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL:
      return CodecColumnKind::kBool;
    case arrow::Type::INT8:
      return CodecColumnKind::kInt8;
    case arrow::Type::INT16:
      return CodecColumnKind::kInt16;
    case arrow::Type::INT32:
      return CodecColumnKind::kInt32;
    case arrow::Type::INT64:
      return CodecColumnKind::kInt64;
    case arrow::Type::UINT8:
      return CodecColumnKind::kUInt8;
    case arrow::Type::UINT16:
      return CodecColumnKind::kUInt16;
    case arrow::Type::UINT32:
      return CodecColumnKind::kUInt32;
    case arrow::Type::UINT64:
      return CodecColumnKind::kUInt64;
    case arrow::Type::FLOAT:
      return CodecColumnKind::kFloat;
    case arrow::Type::DOUBLE:
      return CodecColumnKind::kDouble;
    case arrow::Type::STRING:
      return CodecColumnKind::kString;
    case arrow::Type::LARGE_STRING:
      return CodecColumnKind::kLargeString;
    case arrow::Type::BINARY:
      return CodecColumnKind::kBinary;
    case arrow::Type::LARGE_BINARY:
      return CodecColumnKind::kLargeBinary;
    case arrow::Type::TIMESTAMP:
      return CodecColumnKind::kTimestamp;
    case arrow::Type::DATE32:
      return CodecColumnKind::kDate32;
    default:
      return std::nullopt;
  }
}

template <typename T>
bool StoreSigned(int64_t value, int64_t* out) {
  if (value < std::numeric_limits<T>::min() || value > std::numeric_limits<T>::max()) {
    return false;
  }
  *out = value;
  return true;
}

template <typename T>
bool StoreUnsigned(uint64_t value, uint64_t* out) {
  if (value > std::numeric_limits<T>::max()) return false;
  *out = value;
  return true;
}

// Appends to a fixed-width builder with room (see RowBuilder::Reserve). The typed
// UnsafeAppendNull also advances the values; ArrayBuilder's would not.
template <typename BuilderType, typename Value>
void AppendTo(arrow::ArrayBuilder* builder, bool valid, Value value) {
  auto* typed = static_cast<BuilderType*>(builder);
  if (valid) {
    typed->UnsafeAppend(value);
  } else {
    typed->UnsafeAppendNull();
  }
}

// Variable-width values check the capacity of their data buffer.
template <typename BuilderType>
Status AppendBytesTo(arrow::ArrayBuilder* builder, bool valid, std::string_view bytes) {
  auto* typed = static_cast<BuilderType*>(builder);
  return valid ? typed->Append(bytes) : typed->AppendNull();
}

}  // namespace

std::vector<int64_t> TimestampUnitsPerSecond(const arrow::Schema& schema) {
  std::vector<int64_t> units;
  for (const auto& field : schema.fields()) {
    if (field->type()->id() != arrow::Type::TIMESTAMP) {
      units.push_back(0);
      continue;
    }
    switch (static_cast<const arrow::TimestampType&>(*field->type()).unit()) {
      case arrow::TimeUnit::SECOND:
        units.push_back(1);
        break;
      case arrow::TimeUnit::MILLI:
        units.push_back(1000);
        break;
      case arrow::TimeUnit::MICRO:
        units.push_back(1000000);
        break;
      case arrow::TimeUnit::NANO:
        units.push_back(1000000000);
        break;
    }
  }
  return units;
}

Result<CodecColumnKind> CodecColumnKindOf(const arrow::Field& field,
                                          std::string_view codec) {
  std::optional<CodecColumnKind> kind = KindOf(*field.type());
  if (!kind) {
    return Status::NotImplemented(
        "the ", codec, " codec does not support field '", field.name(), "' of type ",
        field.type()->ToString(),
        "; supported types: bool, int8 to int64, uint8 to uint64, float, double, "
        "string, large_string, binary, large_binary, timestamp, date32");
  }
  return *kind;
}

RowBuilder::RowBuilder(std::shared_ptr<arrow::Schema> schema,
                       std::vector<CodecColumnKind> kinds,
                       std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders,
                       int64_t reserve_rows)
    : schema_(std::move(schema)),
      kinds_(std::move(kinds)),
      builders_(std::move(builders)),
      cells_(kinds_.size()),
      reserve_rows_(reserve_rows) {}

RowBuilder::~RowBuilder() = default;

Result<std::unique_ptr<RowBuilder>> RowBuilder::Make(
    std::shared_ptr<arrow::Schema> schema, int64_t batch_size, std::string_view codec) {
  arrow::util::InitializeUTF8();
  std::vector<CodecColumnKind> kinds;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders;
  for (const auto& field : schema->fields()) {
    ARROW_ASSIGN_OR_RAISE(CodecColumnKind kind, CodecColumnKindOf(*field, codec));
    kinds.push_back(kind);
    ARROW_ASSIGN_OR_RAISE(auto builder, arrow::MakeBuilder(field->type()));
    builders.push_back(std::move(builder));
  }
  std::unique_ptr<RowBuilder> row_builder(
      new RowBuilder(std::move(schema), std::move(kinds), std::move(builders),
                     std::clamp<int64_t>(batch_size, 1, kMaxReservedRows)));
  ARROW_RETURN_NOT_OK(row_builder->Reserve(row_builder->reserve_rows_));
  return row_builder;
}

Status RowBuilder::Reserve(int64_t num_rows) {
  for (auto& builder : builders_) ARROW_RETURN_NOT_OK(builder->Reserve(num_rows));
  reserved_rows_ = num_rows_ + num_rows;
  return Status::OK();
}

void RowBuilder::BeginRow() {
  for (Cell& cell : cells_) cell.valid = false;
}

void RowBuilder::StageNull(int field) { cells_[field].valid = false; }

bool RowBuilder::StageInt64(int field, int64_t value) {
  Cell& cell = cells_[field];
  bool stored = false;
  switch (kinds_[field]) {
    case CodecColumnKind::kInt8:
      stored = StoreSigned<int8_t>(value, &cell.integer);
      break;
    case CodecColumnKind::kInt16:
      stored = StoreSigned<int16_t>(value, &cell.integer);
      break;
    case CodecColumnKind::kInt32:
    case CodecColumnKind::kDate32:
      stored = StoreSigned<int32_t>(value, &cell.integer);
      break;
    case CodecColumnKind::kInt64:
    case CodecColumnKind::kTimestamp:
      cell.integer = value;
      stored = true;
      break;
    case CodecColumnKind::kUInt8:
    case CodecColumnKind::kUInt16:
    case CodecColumnKind::kUInt32:
    case CodecColumnKind::kUInt64:
      return value >= 0 && StageUInt64(field, static_cast<uint64_t>(value));
    case CodecColumnKind::kFloat:
    case CodecColumnKind::kDouble:
      cell.real = static_cast<double>(value);
      stored = true;
      break;
    default:
      break;
  }
  cell.valid = cell.valid || stored;
  return stored;
}

bool RowBuilder::StageUInt64(int field, uint64_t value) {
  Cell& cell = cells_[field];
  bool stored = false;
  switch (kinds_[field]) {
    case CodecColumnKind::kUInt8:
      stored = StoreUnsigned<uint8_t>(value, &cell.unsigned_integer);
      break;
    case CodecColumnKind::kUInt16:
      stored = StoreUnsigned<uint16_t>(value, &cell.unsigned_integer);
      break;
    case CodecColumnKind::kUInt32:
      stored = StoreUnsigned<uint32_t>(value, &cell.unsigned_integer);
      break;
    case CodecColumnKind::kUInt64:
      cell.unsigned_integer = value;
      stored = true;
      break;
    case CodecColumnKind::kFloat:
    case CodecColumnKind::kDouble:
      cell.real = static_cast<double>(value);
      stored = true;
      break;
    default:
      return value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
             StageInt64(field, static_cast<int64_t>(value));
  }
  cell.valid = cell.valid || stored;
  return stored;
}

bool RowBuilder::StageDouble(int field, double value) {
  if (kinds_[field] != CodecColumnKind::kFloat &&
      kinds_[field] != CodecColumnKind::kDouble) {
    return false;
  }
  cells_[field].real = value;
  cells_[field].valid = true;
  return true;
}

bool RowBuilder::StageBool(int field, bool value) {
  if (kinds_[field] != CodecColumnKind::kBool) return false;
  cells_[field].integer = value ? 1 : 0;
  cells_[field].valid = true;
  return true;
}

bool RowBuilder::StageBytes(int field, std::string_view bytes) {
  switch (kinds_[field]) {
    case CodecColumnKind::kString:
    case CodecColumnKind::kLargeString:
      // Arrow strings must be UTF-8; a producer's bytes need not be.
      if (!arrow::util::ValidateUTF8(bytes)) return false;
      break;
    case CodecColumnKind::kBinary:
    case CodecColumnKind::kLargeBinary:
      break;
    default:
      return false;
  }
  cells_[field].bytes = bytes;
  cells_[field].valid = true;
  return true;
}

Status RowBuilder::CommitRow() {
  if (num_rows_ == reserved_rows_) ARROW_RETURN_NOT_OK(Reserve(num_rows_));
  for (size_t i = 0; i < cells_.size(); ++i) {
    const Cell& cell = cells_[i];
    arrow::ArrayBuilder* builder = builders_[i].get();
    switch (kinds_[i]) {
      case CodecColumnKind::kBool:
        AppendTo<arrow::BooleanBuilder>(builder, cell.valid, cell.integer != 0);
        break;
      case CodecColumnKind::kInt8:
        AppendTo<arrow::Int8Builder>(builder, cell.valid,
                                     static_cast<int8_t>(cell.integer));
        break;
      case CodecColumnKind::kInt16:
        AppendTo<arrow::Int16Builder>(builder, cell.valid,
                                      static_cast<int16_t>(cell.integer));
        break;
      case CodecColumnKind::kInt32:
        AppendTo<arrow::Int32Builder>(builder, cell.valid,
                                      static_cast<int32_t>(cell.integer));
        break;
      case CodecColumnKind::kInt64:
        AppendTo<arrow::Int64Builder>(builder, cell.valid, cell.integer);
        break;
      case CodecColumnKind::kUInt8:
        AppendTo<arrow::UInt8Builder>(builder, cell.valid,
                                      static_cast<uint8_t>(cell.unsigned_integer));
        break;
      case CodecColumnKind::kUInt16:
        AppendTo<arrow::UInt16Builder>(builder, cell.valid,
                                       static_cast<uint16_t>(cell.unsigned_integer));
        break;
      case CodecColumnKind::kUInt32:
        AppendTo<arrow::UInt32Builder>(builder, cell.valid,
                                       static_cast<uint32_t>(cell.unsigned_integer));
        break;
      case CodecColumnKind::kUInt64:
        AppendTo<arrow::UInt64Builder>(builder, cell.valid, cell.unsigned_integer);
        break;
      case CodecColumnKind::kFloat:
        AppendTo<arrow::FloatBuilder>(builder, cell.valid, static_cast<float>(cell.real));
        break;
      case CodecColumnKind::kDouble:
        AppendTo<arrow::DoubleBuilder>(builder, cell.valid, cell.real);
        break;
      case CodecColumnKind::kString:
        ARROW_RETURN_NOT_OK(
            AppendBytesTo<arrow::StringBuilder>(builder, cell.valid, cell.bytes));
        break;
      case CodecColumnKind::kLargeString:
        ARROW_RETURN_NOT_OK(
            AppendBytesTo<arrow::LargeStringBuilder>(builder, cell.valid, cell.bytes));
        break;
      case CodecColumnKind::kBinary:
        ARROW_RETURN_NOT_OK(
            AppendBytesTo<arrow::BinaryBuilder>(builder, cell.valid, cell.bytes));
        break;
      case CodecColumnKind::kLargeBinary:
        ARROW_RETURN_NOT_OK(
            AppendBytesTo<arrow::LargeBinaryBuilder>(builder, cell.valid, cell.bytes));
        break;
      case CodecColumnKind::kTimestamp:
        AppendTo<arrow::TimestampBuilder>(builder, cell.valid, cell.integer);
        break;
      case CodecColumnKind::kDate32:
        AppendTo<arrow::Date32Builder>(builder, cell.valid,
                                       static_cast<int32_t>(cell.integer));
        break;
    }
  }
  ++num_rows_;
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatch>> RowBuilder::Flush() {
  std::vector<std::shared_ptr<arrow::Array>> columns(builders_.size());
  for (size_t i = 0; i < builders_.size(); ++i) {
    ARROW_RETURN_NOT_OK(builders_[i]->Finish(&columns[i]));
  }
  auto batch = arrow::RecordBatch::Make(schema_, num_rows_, std::move(columns));
  num_rows_ = 0;
  ARROW_RETURN_NOT_OK(Reserve(reserve_rows_));
  return batch;
}

}  // namespace sabot
