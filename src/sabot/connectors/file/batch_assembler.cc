#include "sabot/connectors/file/batch_assembler.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include <arrow/array/builder_base.h>
#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/utf8.h>
#include <arrow/util/value_parsing.h>

namespace sabot {
namespace {

// Keeps the up-front reservation modest when a source is configured with huge batches;
// builders still grow to the full batch size.
constexpr int64_t kMaxReservedRows = 64 * 1024;
constexpr size_t kMaxShownValueLength = 80;

std::optional<ColumnKind> KindOf(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::INT8:
      return ColumnKind::kInt8;
    case arrow::Type::INT16:
      return ColumnKind::kInt16;
    case arrow::Type::INT32:
      return ColumnKind::kInt32;
    case arrow::Type::INT64:
      return ColumnKind::kInt64;
    case arrow::Type::UINT8:
      return ColumnKind::kUInt8;
    case arrow::Type::UINT16:
      return ColumnKind::kUInt16;
    case arrow::Type::UINT32:
      return ColumnKind::kUInt32;
    case arrow::Type::UINT64:
      return ColumnKind::kUInt64;
    case arrow::Type::FLOAT:
      return ColumnKind::kFloat;
    case arrow::Type::DOUBLE:
      return ColumnKind::kDouble;
    case arrow::Type::BOOL:
      return ColumnKind::kBool;
    case arrow::Type::STRING:
      return ColumnKind::kString;
    case arrow::Type::LARGE_STRING:
      return ColumnKind::kLargeString;
    case arrow::Type::BINARY:
      return ColumnKind::kBinary;
    case arrow::Type::LARGE_BINARY:
      return ColumnKind::kLargeBinary;
    case arrow::Type::TIMESTAMP:
      return ColumnKind::kTimestamp;
    case arrow::Type::DATE32:
      return ColumnKind::kDate32;
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

std::string_view TrimBlanks(std::string_view text) {
  const auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

// std::from_chars rejects a leading '+', which people write in data files.
std::string_view WithoutPlusSign(std::string_view text) {
  if (text.size() > 1 && text.front() == '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  text = WithoutPlusSign(text);
  const char* end = text.data() + text.size();
  auto result = std::from_chars(text.data(), end, *out);
  return result.ec == std::errc() && result.ptr == end && !text.empty();
}

bool EqualsIgnoringCase(std::string_view text, std::string_view lower_case) {
  return text.size() == lower_case.size() &&
         std::equal(text.begin(), text.end(), lower_case.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         });
}

// Up to 18 decimal digits always fit int64: accumulated directly, which is several
// times faster than std::from_chars on short numbers.
constexpr size_t kMaxExactDigits = 18;

bool ParseSignedInteger(std::string_view text, int64_t* value) {
  const bool negative = !text.empty() && text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : WithoutPlusSign(text);
  if (digits.empty() || digits.size() > kMaxExactDigits) return ParseNumber(text, value);
  uint64_t magnitude = 0;
  for (char c : digits) {
    const auto digit = static_cast<unsigned char>(c - '0');
    if (digit > 9) return false;
    magnitude = magnitude * 10 + digit;
  }
  *value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

template <typename T>
bool ParseTrimmedNumber(std::string_view text, T* value) {
  return ParseNumber(TrimBlanks(text), value);
}

// Appends to a fixed-width builder with room (see BatchAssembler::Reserve). The typed
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

// Variable-width values have room for their offset (see BatchAssembler::Reserve) and
// grow the data buffer only when it is full; ReserveData refuses data beyond the
// offsets' range, which is checked again here because a grown buffer may exceed it.
// Copies `size` bytes from `from` to `to` without a library call for short texts,
// which most staged strings are: two overlapping word copies instead of memcpy.
inline void CopyText(uint8_t* to, const char* from, size_t size) {
  if (size >= 8 && size <= 16) {
    std::memcpy(to, from, 8);
    std::memcpy(to + size - 8, from + size - 8, 8);
  } else if (size >= 4 && size < 8) {
    std::memcpy(to, from, 4);
    std::memcpy(to + size - 4, from + size - 4, 4);
  } else {
    std::memcpy(to, from, size);
  }
}

// A StringBuilder whose append copies short texts inline (see CopyText): the builder's
// own UnsafeAppend calls memcpy, whose call costs more than copying a few bytes.
class Utf8Builder : public arrow::StringBuilder {
 public:
  // Like UnsafeAppend: room for the offset and for `text` must be reserved.
  void UnsafeAppendText(std::string_view text) {
    UnsafeAppendNextOffset();
    CopyText(value_data_builder_.mutable_data() + value_data_builder_.length(),
             text.data(), text.size());
    value_data_builder_.UnsafeAdvance(static_cast<int64_t>(text.size()));
    UnsafeAppendToBitmap(true);
  }
};

template <typename BuilderType>
Status AppendBytesTo(arrow::ArrayBuilder* builder, bool valid, std::string_view bytes) {
  auto* typed = static_cast<BuilderType*>(builder);
  if (!valid) {
    typed->UnsafeAppendNull();
    return Status::OK();
  }
  const int64_t size = static_cast<int64_t>(bytes.size());
  const int64_t needed = typed->value_data_length() + size;
  if (ARROW_PREDICT_FALSE(needed > typed->value_data_capacity() ||
                          needed > BuilderType::memory_limit())) {
    ARROW_RETURN_NOT_OK(typed->ReserveData(size));
  }
  if constexpr (std::is_same_v<BuilderType, Utf8Builder>) {
    typed->UnsafeAppendText(bytes);
  } else {
    typed->UnsafeAppend(bytes);
  }
  return Status::OK();
}

}  // namespace

Status CheckTextSourceSchema(const arrow::Schema& schema) {
  for (const auto& field : schema.fields()) {
    const std::optional<ColumnKind> kind = KindOf(*field->type());
    if (!kind || *kind == ColumnKind::kBinary || *kind == ColumnKind::kLargeBinary) {
      return Status::NotImplemented(
          "the file source cannot read field '", field->name(), "' of type ",
          field->type()->ToString(),
          " from JSON lines or CSV; supported types: int8 to int64, uint8 to uint64, "
          "float, double, bool, string, large_string, timestamp, date32");
    }
  }
  return Status::OK();
}

Result<ColumnKind> CodecColumnKindOf(const arrow::Field& field, std::string_view codec) {
  std::optional<ColumnKind> kind = KindOf(*field.type());
  if (!kind) {
    return Status::NotImplemented(
        "the ", codec, " codec does not support field '", field.name(), "' of type ",
        field.type()->ToString(),
        "; supported types: bool, int8 to int64, uint8 to uint64, float, double, "
        "string, large_string, binary, large_binary, timestamp, date32");
  }
  return *kind;
}

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

bool ParseIntegerText(std::string_view text, int64_t* value) {
  return ParseSignedInteger(TrimBlanks(text), value);
}

bool ParseFloatText(std::string_view text, double* value) {
  return ParseTrimmedNumber(text, value);
}

bool ParseBoolText(std::string_view text, bool* value) {
  text = TrimBlanks(text);
  if (EqualsIgnoringCase(text, "true")) {
    *value = true;
    return true;
  }
  if (EqualsIgnoringCase(text, "false")) {
    *value = false;
    return true;
  }
  return false;
}

std::string CannotParseMessage(std::string_view shown, const arrow::DataType& type) {
  std::string message = "cannot parse ";
  if (shown.size() > kMaxShownValueLength) {
    message.append(shown.substr(0, kMaxShownValueLength));
    message.append("...");
  } else {
    message.append(shown);
  }
  message.append(" as ");
  message.append(type.ToString());
  return message;
}

BatchAssembler::BatchAssembler(std::shared_ptr<arrow::Schema> schema,
                               std::vector<ColumnKind> kinds,
                               std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders,
                               int64_t reserve_rows)
    : schema_(std::move(schema)),
      kinds_(std::move(kinds)),
      builders_(std::move(builders)),
      cells_(kinds_.size()),
      reserve_rows_(reserve_rows) {
  for (int field = 0; field < static_cast<int>(kinds_.size()); ++field) {
    arrow::ArrayBuilder* builder = builders_[field].get();
    switch (kinds_[field]) {
      case ColumnKind::kInt64:
        int64_columns_.push_back({field, builder});
        break;
      case ColumnKind::kDouble:
        double_columns_.push_back({field, builder});
        break;
      case ColumnKind::kString:
        string_columns_.push_back({field, builder});
        break;
      default:
        other_columns_.push_back(field);
        break;
    }
  }
}

BatchAssembler::~BatchAssembler() = default;

Result<std::unique_ptr<BatchAssembler>> BatchAssembler::Make(
    std::shared_ptr<arrow::Schema> schema, int64_t batch_size) {
  ARROW_RETURN_NOT_OK(CheckTextSourceSchema(*schema));
  std::vector<ColumnKind> kinds;
  for (const auto& field : schema->fields()) kinds.push_back(*KindOf(*field->type()));
  return MakeWithKinds(std::move(schema), std::move(kinds), batch_size);
}

Result<std::unique_ptr<BatchAssembler>> BatchAssembler::MakeForBinaryCodec(
    std::shared_ptr<arrow::Schema> schema, int64_t batch_size, std::string_view codec) {
  std::vector<ColumnKind> kinds;
  for (const auto& field : schema->fields()) {
    ARROW_ASSIGN_OR_RAISE(ColumnKind kind, CodecColumnKindOf(*field, codec));
    kinds.push_back(kind);
  }
  return MakeWithKinds(std::move(schema), std::move(kinds), batch_size);
}

Result<std::unique_ptr<BatchAssembler>> BatchAssembler::MakeWithKinds(
    std::shared_ptr<arrow::Schema> schema, std::vector<ColumnKind> kinds,
    int64_t batch_size) {
  arrow::util::InitializeUTF8();
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (kinds[i] == ColumnKind::kString) {
      builders.push_back(std::make_unique<Utf8Builder>());
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto builder, arrow::MakeBuilder(schema->field(i)->type()));
    builders.push_back(std::move(builder));
  }
  // At least one row, so that CommitRow always appends into reserved room.
  std::unique_ptr<BatchAssembler> assembler(
      new BatchAssembler(std::move(schema), std::move(kinds), std::move(builders),
                         std::clamp<int64_t>(batch_size, 1, kMaxReservedRows)));
  ARROW_RETURN_NOT_OK(assembler->Reserve(assembler->reserve_rows_));
  return assembler;
}

Status BatchAssembler::Reserve(int64_t num_rows) {
  for (auto& builder : builders_) ARROW_RETURN_NOT_OK(builder->Reserve(num_rows));
  reserved_rows_ = num_rows_ + num_rows;
  return Status::OK();
}

void BatchAssembler::BeginRow() {
  for (Cell& cell : cells_) cell.valid = false;
}

void BatchAssembler::StageNull(int field) { cells_[field].valid = false; }

bool BatchAssembler::StageInt64(int field, int64_t value) {
  Cell& cell = cells_[field];
  bool stored = false;
  switch (kinds_[field]) {
    case ColumnKind::kInt8:
      stored = StoreSigned<int8_t>(value, &cell.integer);
      break;
    case ColumnKind::kInt16:
      stored = StoreSigned<int16_t>(value, &cell.integer);
      break;
    case ColumnKind::kInt32:
    case ColumnKind::kDate32:
      stored = StoreSigned<int32_t>(value, &cell.integer);
      break;
    case ColumnKind::kInt64:
    case ColumnKind::kTimestamp:
      cell.integer = value;
      stored = true;
      break;
    case ColumnKind::kUInt8:
    case ColumnKind::kUInt16:
    case ColumnKind::kUInt32:
    case ColumnKind::kUInt64:
      return value >= 0 && StageUInt64(field, static_cast<uint64_t>(value));
    case ColumnKind::kFloat:
    case ColumnKind::kDouble:
      cell.real = static_cast<double>(value);
      stored = true;
      break;
    case ColumnKind::kBool:
    case ColumnKind::kString:
    case ColumnKind::kLargeString:
    case ColumnKind::kBinary:
    case ColumnKind::kLargeBinary:
      break;
  }
  cell.valid = cell.valid || stored;
  return stored;
}

bool BatchAssembler::StageUInt64(int field, uint64_t value) {
  Cell& cell = cells_[field];
  bool stored = false;
  switch (kinds_[field]) {
    case ColumnKind::kUInt8:
      stored = StoreUnsigned<uint8_t>(value, &cell.unsigned_integer);
      break;
    case ColumnKind::kUInt16:
      stored = StoreUnsigned<uint16_t>(value, &cell.unsigned_integer);
      break;
    case ColumnKind::kUInt32:
      stored = StoreUnsigned<uint32_t>(value, &cell.unsigned_integer);
      break;
    case ColumnKind::kUInt64:
      cell.unsigned_integer = value;
      stored = true;
      break;
    case ColumnKind::kFloat:
    case ColumnKind::kDouble:
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

bool BatchAssembler::StageDouble(int field, double value) {
  if (kinds_[field] != ColumnKind::kFloat && kinds_[field] != ColumnKind::kDouble) {
    return false;
  }
  cells_[field].real = value;
  cells_[field].valid = true;
  return true;
}

bool BatchAssembler::StageBool(int field, bool value) {
  if (kinds_[field] != ColumnKind::kBool) return false;
  cells_[field].integer = value ? 1 : 0;
  cells_[field].valid = true;
  return true;
}

bool BatchAssembler::StageUtf8(int field, std::string_view text) {
  // Input files and producers' messages are not always UTF-8.
  if (!arrow::util::ValidateUTF8(text)) return false;
  cells_[field].bytes = text;
  cells_[field].valid = true;
  return true;
}

bool BatchAssembler::StageText(int field, std::string_view text) {
  if (is_string(field)) return StageUtf8(field, text);
  text = TrimBlanks(text);
  switch (kinds_[field]) {
    case ColumnKind::kInt8:
    case ColumnKind::kInt16:
    case ColumnKind::kInt32:
    case ColumnKind::kInt64: {
      int64_t value;
      return ParseSignedInteger(text, &value) && StageInt64(field, value);
    }
    case ColumnKind::kUInt8:
    case ColumnKind::kUInt16:
    case ColumnKind::kUInt32:
    case ColumnKind::kUInt64: {
      uint64_t value;
      return ParseNumber(text, &value) && StageUInt64(field, value);
    }
    case ColumnKind::kFloat:
    case ColumnKind::kDouble: {
      double value;
      return ParseNumber(text, &value) && StageDouble(field, value);
    }
    case ColumnKind::kBool: {
      bool value;
      return ParseBoolText(text, &value) && StageBool(field, value);
    }
    case ColumnKind::kTimestamp: {
      int64_t value;
      if (ParseSignedInteger(text, &value)) return StageInt64(field, value);
      const auto& type =
          static_cast<const arrow::TimestampType&>(*schema_->field(field)->type());
      if (!arrow::internal::ParseTimestampISO8601(text.data(), text.size(), type.unit(),
                                                  &value)) {
        return false;
      }
      return StageInt64(field, value);
    }
    case ColumnKind::kDate32: {
      int32_t days;
      if (!arrow::internal::ParseValue<arrow::Date32Type>(text.data(), text.size(),
                                                          &days)) {
        return false;
      }
      return StageInt64(field, days);
    }
    // String fields were staged above, and the text sources refuse binary columns
    // (CheckTextSourceSchema).
    case ColumnKind::kString:
    case ColumnKind::kLargeString:
    case ColumnKind::kBinary:
    case ColumnKind::kLargeBinary:
      break;
  }
  return false;
}

bool BatchAssembler::StageBytes(int field, std::string_view bytes) {
  switch (kinds_[field]) {
    case ColumnKind::kString:
    case ColumnKind::kLargeString:
      return StageUtf8(field, bytes);
    case ColumnKind::kBinary:
    case ColumnKind::kLargeBinary:
      cells_[field].bytes = bytes;
      cells_[field].valid = true;
      return true;
    default:
      return false;
  }
}

Status BatchAssembler::CommitRow() {
  if (num_rows_ == reserved_rows_) ARROW_RETURN_NOT_OK(Reserve(num_rows_));
  // The common kinds in loops of their own: no jump per cell.
  for (const TypedColumn& column : int64_columns_) {
    const Cell& cell = cells_[column.field];
    AppendTo<arrow::Int64Builder>(column.builder, cell.valid, cell.integer);
  }
  for (const TypedColumn& column : double_columns_) {
    const Cell& cell = cells_[column.field];
    AppendTo<arrow::DoubleBuilder>(column.builder, cell.valid, cell.real);
  }
  for (const TypedColumn& column : string_columns_) {
    const Cell& cell = cells_[column.field];
    ARROW_RETURN_NOT_OK(
        AppendBytesTo<Utf8Builder>(column.builder, cell.valid, cell.bytes));
  }
  for (const int field : other_columns_) ARROW_RETURN_NOT_OK(AppendCell(field));
  ++num_rows_;
  return Status::OK();
}

Status BatchAssembler::AppendCell(int field) {
  const Cell& cell = cells_[field];
  arrow::ArrayBuilder* builder = builders_[field].get();
  switch (kinds_[field]) {
    case ColumnKind::kInt8:
      AppendTo<arrow::Int8Builder>(builder, cell.valid,
                                   static_cast<int8_t>(cell.integer));
      break;
    case ColumnKind::kInt16:
      AppendTo<arrow::Int16Builder>(builder, cell.valid,
                                    static_cast<int16_t>(cell.integer));
      break;
    case ColumnKind::kInt32:
      AppendTo<arrow::Int32Builder>(builder, cell.valid,
                                    static_cast<int32_t>(cell.integer));
      break;
    case ColumnKind::kInt64:
      AppendTo<arrow::Int64Builder>(builder, cell.valid, cell.integer);
      break;
    case ColumnKind::kUInt8:
      AppendTo<arrow::UInt8Builder>(builder, cell.valid,
                                    static_cast<uint8_t>(cell.unsigned_integer));
      break;
    case ColumnKind::kUInt16:
      AppendTo<arrow::UInt16Builder>(builder, cell.valid,
                                     static_cast<uint16_t>(cell.unsigned_integer));
      break;
    case ColumnKind::kUInt32:
      AppendTo<arrow::UInt32Builder>(builder, cell.valid,
                                     static_cast<uint32_t>(cell.unsigned_integer));
      break;
    case ColumnKind::kUInt64:
      AppendTo<arrow::UInt64Builder>(builder, cell.valid, cell.unsigned_integer);
      break;
    case ColumnKind::kFloat:
      AppendTo<arrow::FloatBuilder>(builder, cell.valid, static_cast<float>(cell.real));
      break;
    case ColumnKind::kDouble:
      AppendTo<arrow::DoubleBuilder>(builder, cell.valid, cell.real);
      break;
    case ColumnKind::kBool:
      AppendTo<arrow::BooleanBuilder>(builder, cell.valid, cell.integer != 0);
      break;
    case ColumnKind::kString:
      ARROW_RETURN_NOT_OK(
          AppendBytesTo<arrow::StringBuilder>(builder, cell.valid, cell.bytes));
      break;
    case ColumnKind::kLargeString:
      ARROW_RETURN_NOT_OK(
          AppendBytesTo<arrow::LargeStringBuilder>(builder, cell.valid, cell.bytes));
      break;
    case ColumnKind::kBinary:
      ARROW_RETURN_NOT_OK(
          AppendBytesTo<arrow::BinaryBuilder>(builder, cell.valid, cell.bytes));
      break;
    case ColumnKind::kLargeBinary:
      ARROW_RETURN_NOT_OK(
          AppendBytesTo<arrow::LargeBinaryBuilder>(builder, cell.valid, cell.bytes));
      break;
    case ColumnKind::kTimestamp:
      AppendTo<arrow::TimestampBuilder>(builder, cell.valid, cell.integer);
      break;
    case ColumnKind::kDate32:
      AppendTo<arrow::Date32Builder>(builder, cell.valid,
                                     static_cast<int32_t>(cell.integer));
      break;
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatch>> BatchAssembler::Flush() {
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
