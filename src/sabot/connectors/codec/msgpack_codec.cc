// MessagePack codec: one map per message, keys are column names. The format
// (github.com/msgpack/msgpack/blob/master/spec.md) is walked byte by byte rather than
// through msgpack-cxx, whose object model allocates a zone per message; here a message
// decodes without allocating, strings and binaries referring to the payload.
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/checked_cast.h>

#include "sabot/connectors/codec/codec_factories.h"
#include "sabot/connectors/file/batch_assembler.h"

namespace sabot {
namespace {

using arrow::internal::checked_cast;

// The msgpack timestamp extension type.
constexpr int8_t kTimestampExtType = -1;

// What a value's header says: its family, the scalar it holds, and for containers the
// number of elements that follow.
struct Value {
  enum Kind {
    kNil,
    kBool,
    kInt,
    kUInt,
    kFloat32,
    kFloat64,
    kStr,
    kBin,
    kArray,
    kMap,
    kExt
  };
  Kind kind = kNil;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  double real = 0;
  // kStr, kBin, kExt: the payload bytes.
  std::string_view bytes;
  // kArray, kMap: the number of elements (pairs for maps).
  uint32_t count = 0;
  int8_t ext_type = 0;
};

const char* KindName(Value::Kind kind) {
  switch (kind) {
    case Value::kNil:
      return "nil";
    case Value::kBool:
      return "bool";
    case Value::kInt:
    case Value::kUInt:
      return "int";
    case Value::kFloat32:
    case Value::kFloat64:
      return "float";
    case Value::kStr:
      return "str";
    case Value::kBin:
      return "bin";
    case Value::kArray:
      return "array";
    case Value::kMap:
      return "map";
    case Value::kExt:
      return "ext";
  }
  return "?";
}

// Reads values from a message; offsets in errors count from the message's first byte.
class Reader {
 public:
  explicit Reader(std::string_view message)
      : begin_(reinterpret_cast<const uint8_t*>(message.data())),
        pos_(begin_),
        end_(begin_ + message.size()) {}

  int64_t offset() const { return pos_ - begin_; }
  bool at_end() const { return pos_ == end_; }

  // Reads one value's header (and a scalar's payload); containers' elements follow.
  Status Read(Value* value) {
    const int64_t start = offset();
    if (pos_ == end_) return Truncated(start);
    const uint8_t marker = *pos_++;
    if (marker <= 0x7f) return Int(value, marker);
    if (marker >= 0xe0) return Int(value, static_cast<int8_t>(marker));
    if (marker <= 0x8f) return Container(value, Value::kMap, marker & 0x0f);
    if (marker <= 0x9f) return Container(value, Value::kArray, marker & 0x0f);
    if (marker <= 0xbf) return Bytes(value, Value::kStr, marker & 0x1f, start);
    switch (marker) {
      case 0xc0:
        value->kind = Value::kNil;
        return Status::OK();
      case 0xc2:
      case 0xc3:
        value->kind = Value::kBool;
        value->boolean = marker == 0xc3;
        return Status::OK();
      case 0xc4:
        return SizedBytes<uint8_t>(value, Value::kBin, start);
      case 0xc5:
        return SizedBytes<uint16_t>(value, Value::kBin, start);
      case 0xc6:
        return SizedBytes<uint32_t>(value, Value::kBin, start);
      case 0xc7:
        return Extension<uint8_t>(value, start);
      case 0xc8:
        return Extension<uint16_t>(value, start);
      case 0xc9:
        return Extension<uint32_t>(value, start);
      case 0xca: {
        uint32_t bits = 0;
        ARROW_RETURN_NOT_OK(BigEndian(&bits, start));
        float real;
        std::memcpy(&real, &bits, sizeof(real));
        value->kind = Value::kFloat32;
        value->real = real;
        return Status::OK();
      }
      case 0xcb: {
        uint64_t bits = 0;
        ARROW_RETURN_NOT_OK(BigEndian(&bits, start));
        std::memcpy(&value->real, &bits, sizeof(value->real));
        value->kind = Value::kFloat64;
        return Status::OK();
      }
      case 0xcc:
        return UnsignedInt<uint8_t>(value, start);
      case 0xcd:
        return UnsignedInt<uint16_t>(value, start);
      case 0xce:
        return UnsignedInt<uint32_t>(value, start);
      case 0xcf:
        return UnsignedInt<uint64_t>(value, start);
      case 0xd0:
        return SignedInt<uint8_t, int8_t>(value, start);
      case 0xd1:
        return SignedInt<uint16_t, int16_t>(value, start);
      case 0xd2:
        return SignedInt<uint32_t, int32_t>(value, start);
      case 0xd3:
        return SignedInt<uint64_t, int64_t>(value, start);
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return FixedExtension(value, uint32_t{1} << (marker - 0xd4), start);
      case 0xd9:
        return SizedBytes<uint8_t>(value, Value::kStr, start);
      case 0xda:
        return SizedBytes<uint16_t>(value, Value::kStr, start);
      case 0xdb:
        return SizedBytes<uint32_t>(value, Value::kStr, start);
      case 0xdc:
        return SizedContainer<uint16_t>(value, Value::kArray, start);
      case 0xdd:
        return SizedContainer<uint32_t>(value, Value::kArray, start);
      case 0xde:
        return SizedContainer<uint16_t>(value, Value::kMap, start);
      case 0xdf:
        return SizedContainer<uint32_t>(value, Value::kMap, start);
      default:
        return Status::Invalid("msgpack: invalid type byte 0xc1 at byte ", start);
    }
  }

  // Skips a value whose header `value` is, including all nested elements. Iterative, so
  // deeply nested input cannot exhaust the stack.
  Status SkipRest(const Value& value) {
    uint64_t pending = Elements(value);
    while (pending > 0) {
      // Every element takes at least one byte: more pending than bytes left means the
      // message is cut short, and bounds `pending`.
      if (pending > static_cast<uint64_t>(end_ - pos_)) return Truncated(offset());
      Value element;
      ARROW_RETURN_NOT_OK(Read(&element));
      pending += Elements(element) - 1;
    }
    return Status::OK();
  }

 private:
  static uint64_t Elements(const Value& value) {
    if (value.kind == Value::kArray) return value.count;
    if (value.kind == Value::kMap) return uint64_t{2} * value.count;
    return 0;
  }

  Status Truncated(int64_t start) const {
    return Status::Invalid("msgpack: message truncated: the value at byte ", start,
                           " needs more than the ", end_ - begin_, " bytes there are");
  }

  template <typename T>
  Status BigEndian(T* out, int64_t start) {
    if (end_ - pos_ < static_cast<ptrdiff_t>(sizeof(T))) return Truncated(start);
    T result = 0;
    for (size_t i = 0; i < sizeof(T); ++i) result = static_cast<T>(result << 8 | pos_[i]);
    pos_ += sizeof(T);
    *out = result;
    return Status::OK();
  }

  static Status Int(Value* value, int64_t integer) {
    value->kind = Value::kInt;
    value->integer = integer;
    return Status::OK();
  }

  template <typename T>
  Status UnsignedInt(Value* value, int64_t start) {
    T raw = 0;
    ARROW_RETURN_NOT_OK(BigEndian(&raw, start));
    if (static_cast<uint64_t>(raw) > static_cast<uint64_t>(INT64_MAX)) {
      value->kind = Value::kUInt;
      value->unsigned_integer = raw;
      return Status::OK();
    }
    return Int(value, static_cast<int64_t>(raw));
  }

  template <typename Unsigned, typename Signed>
  Status SignedInt(Value* value, int64_t start) {
    Unsigned raw = 0;
    ARROW_RETURN_NOT_OK(BigEndian(&raw, start));
    return Int(value, static_cast<Signed>(raw));
  }

  static Status Container(Value* value, Value::Kind kind, uint32_t count) {
    value->kind = kind;
    value->count = count;
    return Status::OK();
  }

  template <typename T>
  Status SizedContainer(Value* value, Value::Kind kind, int64_t start) {
    T count = 0;
    ARROW_RETURN_NOT_OK(BigEndian(&count, start));
    return Container(value, kind, count);
  }

  Status Bytes(Value* value, Value::Kind kind, uint32_t size, int64_t start) {
    if (static_cast<uint64_t>(end_ - pos_) < size) return Truncated(start);
    value->kind = kind;
    value->bytes = std::string_view(reinterpret_cast<const char*>(pos_), size);
    pos_ += size;
    return Status::OK();
  }

  template <typename T>
  Status SizedBytes(Value* value, Value::Kind kind, int64_t start) {
    T size = 0;
    ARROW_RETURN_NOT_OK(BigEndian(&size, start));
    return Bytes(value, kind, size, start);
  }

  Status FixedExtension(Value* value, uint32_t size, int64_t start) {
    if (pos_ == end_) return Truncated(start);
    value->ext_type = static_cast<int8_t>(*pos_++);
    return Bytes(value, Value::kExt, size, start);
  }

  template <typename T>
  Status Extension(Value* value, int64_t start) {
    T size = 0;
    ARROW_RETURN_NOT_OK(BigEndian(&size, start));
    return FixedExtension(value, size, start);
  }

  const uint8_t* begin_;
  const uint8_t* pos_;
  const uint8_t* end_;
};

uint64_t LoadBigEndian(std::string_view bytes) {
  uint64_t result = 0;
  for (char c : bytes) result = result << 8 | static_cast<uint8_t>(c);
  return result;
}

// Decodes the three layouts of the timestamp extension into seconds and nanoseconds.
bool DecodeTimestampExtension(std::string_view bytes, int64_t* seconds,
                              int64_t* nanoseconds) {
  switch (bytes.size()) {
    case 4:
      *seconds = static_cast<int64_t>(LoadBigEndian(bytes));
      *nanoseconds = 0;
      return true;
    case 8: {
      const uint64_t packed = LoadBigEndian(bytes);
      *nanoseconds = static_cast<int64_t>(packed >> 34);
      *seconds = static_cast<int64_t>(packed & ((uint64_t{1} << 34) - 1));
      return true;
    }
    case 12:
      *nanoseconds = static_cast<int64_t>(LoadBigEndian(bytes.substr(0, 4)));
      *seconds = static_cast<int64_t>(LoadBigEndian(bytes.substr(4)));
      return true;
    default:
      return false;
  }
}

class MessagePackDecoder : public Decoder {
 public:
  explicit MessagePackDecoder(std::unique_ptr<BatchAssembler> rows)
      : rows_(std::move(rows)),
        units_per_second_(TimestampUnitsPerSecond(*rows_->schema())) {
    for (const auto& field : rows_->schema()->fields()) names_.push_back(field->name());
    // Names are views into names_, whose strings do not move once built.
    for (int i = 0; i < static_cast<int>(names_.size()); ++i) index_[names_[i]] = i;
  }

  Result<int64_t> Append(std::string_view payload) override {
    Reader reader(payload);
    Value map;
    ARROW_RETURN_NOT_OK(reader.Read(&map));
    if (map.kind != Value::kMap) {
      return Status::Invalid("msgpack: expected a map at byte 0, found ",
                             KindName(map.kind));
    }
    rows_->BeginRow();
    // Producers usually write keys in column order: try the next column first.
    int expected = 0;
    for (uint32_t i = 0; i < map.count; ++i) {
      const int64_t key_offset = reader.offset();
      Value key;
      ARROW_RETURN_NOT_OK(reader.Read(&key));
      if (key.kind != Value::kStr) {
        return Status::Invalid("msgpack: map key at byte ", key_offset, " is a ",
                               KindName(key.kind), ", expected a str");
      }
      int field = -1;
      if (expected < static_cast<int>(names_.size()) && key.bytes == names_[expected]) {
        field = expected;
      } else if (auto found = index_.find(key.bytes); found != index_.end()) {
        field = found->second;
      }
      const int64_t value_offset = reader.offset();
      Value value;
      ARROW_RETURN_NOT_OK(reader.Read(&value));
      if (field < 0) {
        ARROW_RETURN_NOT_OK(reader.SkipRest(value));
        continue;
      }
      expected = field + 1;
      ARROW_RETURN_NOT_OK(Stage(field, value, value_offset));
    }
    if (!reader.at_end()) {
      return Status::Invalid("msgpack: unexpected bytes after the map at byte ",
                             reader.offset(), " of ", payload.size());
    }
    ARROW_RETURN_NOT_OK(rows_->CommitRow());
    return 1;
  }

  int64_t num_rows() const override { return rows_->num_rows(); }

  Result<std::shared_ptr<arrow::RecordBatch>> Flush() override { return rows_->Flush(); }

 private:
  Status Stage(int field, const Value& value, int64_t offset) {
    bool stored = false;
    switch (value.kind) {
      case Value::kNil:
        rows_->StageNull(field);
        return Status::OK();
      case Value::kBool:
        stored = rows_->StageBool(field, value.boolean);
        break;
      case Value::kInt:
        stored = rows_->StageInt64(field, value.integer);
        break;
      case Value::kUInt:
        stored = rows_->StageUInt64(field, value.unsigned_integer);
        break;
      case Value::kFloat32:
      case Value::kFloat64:
        stored = rows_->StageDouble(field, value.real);
        break;
      case Value::kStr:
      case Value::kBin:
        stored = rows_->StageBytes(field, value.bytes);
        break;
      case Value::kExt:
        stored = value.ext_type == kTimestampExtType && StageTimestamp(field, value);
        break;
      case Value::kArray:
      case Value::kMap:
        break;
    }
    if (stored) return Status::OK();
    const auto& type = *rows_->schema()->field(field)->type();
    std::string shown;
    if (value.kind == Value::kInt) {
      shown = std::string(" ") + std::to_string(value.integer);
    } else if (value.kind == Value::kUInt) {
      shown = std::string(" ") + std::to_string(value.unsigned_integer);
    } else if (value.kind == Value::kStr && rows_->is_string(field)) {
      shown = " that is not valid UTF-8";
    } else if (value.kind == Value::kExt) {
      shown = std::string(" of type ") + std::to_string(value.ext_type) + " and " +
              std::to_string(value.bytes.size()) + " bytes";
    }
    return Status::Invalid("msgpack: field '", names_[field], "' at byte ", offset,
                           ": cannot store ", KindName(value.kind), shown,
                           " in a column of type ", type.ToString());
  }

  bool StageTimestamp(int field, const Value& value) {
    int64_t seconds;
    int64_t nanoseconds;
    const int64_t per_second = units_per_second_[field];
    if (per_second == 0 ||
        !DecodeTimestampExtension(value.bytes, &seconds, &nanoseconds)) {
      return false;
    }
    int64_t count;
    if (__builtin_mul_overflow(seconds, per_second, &count) ||
        __builtin_add_overflow(count, nanoseconds / (1000000000 / per_second), &count)) {
      return false;
    }
    return rows_->StageInt64(field, count);
  }

  std::unique_ptr<BatchAssembler> rows_;
  std::vector<std::string> names_;
  // 0 for columns that are not timestamps.
  std::vector<int64_t> units_per_second_;
  std::unordered_map<std::string_view, int> index_;
};

// Appends msgpack values in their shortest form, as the spec asks of serializers.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void Nil() { out_->push_back(static_cast<char>(0xc0)); }
  void Bool(bool value) { out_->push_back(static_cast<char>(value ? 0xc3 : 0xc2)); }

  void Int(int64_t value) {
    if (value >= 0) return UInt(static_cast<uint64_t>(value));
    if (value >= -32) return Byte(static_cast<uint8_t>(value));
    if (value >= std::numeric_limits<int8_t>::min()) return Tagged<uint8_t>(0xd0, value);
    if (value >= std::numeric_limits<int16_t>::min())
      return Tagged<uint16_t>(0xd1, value);
    if (value >= std::numeric_limits<int32_t>::min())
      return Tagged<uint32_t>(0xd2, value);
    Tagged<uint64_t>(0xd3, value);
  }

  void UInt(uint64_t value) {
    if (value <= 0x7f) return Byte(static_cast<uint8_t>(value));
    if (value <= 0xff) return Tagged<uint8_t>(0xcc, value);
    if (value <= 0xffff) return Tagged<uint16_t>(0xcd, value);
    if (value <= 0xffffffff) return Tagged<uint32_t>(0xce, value);
    Tagged<uint64_t>(0xcf, value);
  }

  void Float(float value) {
    uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof(bits));
    Tagged<uint32_t>(0xca, bits);
  }

  void Double(double value) {
    uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof(bits));
    Tagged<uint64_t>(0xcb, bits);
  }

  void Str(std::string_view text) {
    if (text.size() <= 31) {
      Byte(static_cast<uint8_t>(0xa0 | text.size()));
    } else if (text.size() <= 0xff) {
      Tagged<uint8_t>(0xd9, text.size());
    } else if (text.size() <= 0xffff) {
      Tagged<uint16_t>(0xda, text.size());
    } else {
      Tagged<uint32_t>(0xdb, text.size());
    }
    out_->append(text);
  }

  void Bin(std::string_view bytes) {
    if (bytes.size() <= 0xff) {
      Tagged<uint8_t>(0xc4, bytes.size());
    } else if (bytes.size() <= 0xffff) {
      Tagged<uint16_t>(0xc5, bytes.size());
    } else {
      Tagged<uint32_t>(0xc6, bytes.size());
    }
    out_->append(bytes);
  }

  void MapHeader(uint32_t num_pairs) {
    if (num_pairs <= 15) {
      Byte(static_cast<uint8_t>(0x80 | num_pairs));
    } else if (num_pairs <= 0xffff) {
      Tagged<uint16_t>(0xde, num_pairs);
    } else {
      Tagged<uint32_t>(0xdf, num_pairs);
    }
  }

  // Writes the timestamp extension in the shortest of its three layouts.
  void Timestamp(int64_t seconds, uint32_t nanoseconds) {
    if (seconds >= 0 && (seconds >> 34) == 0) {
      if (nanoseconds == 0 && (seconds >> 32) == 0) {
        Byte(0xd6);
        Byte(static_cast<uint8_t>(kTimestampExtType));
        BigEndian<uint32_t>(static_cast<uint32_t>(seconds));
      } else {
        Byte(0xd7);
        Byte(static_cast<uint8_t>(kTimestampExtType));
        BigEndian<uint64_t>(uint64_t{nanoseconds} << 34 | static_cast<uint64_t>(seconds));
      }
      return;
    }
    Byte(0xc7);
    Byte(12);
    Byte(static_cast<uint8_t>(kTimestampExtType));
    BigEndian<uint32_t>(nanoseconds);
    BigEndian<uint64_t>(static_cast<uint64_t>(seconds));
  }

 private:
  void Byte(uint8_t byte) { out_->push_back(static_cast<char>(byte)); }

  template <typename T>
  void BigEndian(T value) {
    char bytes[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) {
      bytes[i] = static_cast<char>(value >> (8 * (sizeof(T) - 1 - i)));
    }
    out_->append(bytes, sizeof(T));
  }

  template <typename T, typename V>
  void Tagged(uint8_t marker, V value) {
    Byte(marker);
    BigEndian<T>(static_cast<T>(value));
  }

  std::string* out_;
};

template <typename ArrayType>
const ArrayType& As(const arrow::Array& array) {
  return checked_cast<const ArrayType&>(array);
}

class MessagePackEncoder : public Encoder {
 public:
  MessagePackEncoder(std::shared_ptr<arrow::Schema> schema, std::vector<ColumnKind> kinds)
      : schema_(std::move(schema)),
        kinds_(std::move(kinds)),
        units_per_second_(TimestampUnitsPerSecond(*schema_)) {
    std::string key;
    Writer writer(&key);
    for (const auto& field : schema_->fields()) {
      key.clear();
      writer.Str(field->name());
      keys_.push_back(key);
    }
  }

  Status Encode(const arrow::RecordBatch& batch, EncodedMessages* out) override {
    out->Clear();
    out->offsets.reserve(batch.num_rows() + 1);
    Writer writer(&out->data);
    const int num_columns = batch.num_columns();
    for (int64_t row = 0; row < batch.num_rows(); ++row) {
      writer.MapHeader(static_cast<uint32_t>(num_columns));
      for (int i = 0; i < num_columns; ++i) {
        out->data.append(keys_[i]);
        const arrow::Array& column = *batch.column(i);
        if (column.IsNull(row)) {
          writer.Nil();
        } else {
          WriteValue(i, column, row, &writer);
        }
      }
      out->offsets.push_back(static_cast<int64_t>(out->data.size()));
    }
    return Status::OK();
  }

 private:
  void WriteValue(int field, const arrow::Array& column, int64_t row, Writer* writer) {
    switch (kinds_[field]) {
      case ColumnKind::kBool:
        return writer->Bool(As<arrow::BooleanArray>(column).Value(row));
      case ColumnKind::kInt8:
        return writer->Int(As<arrow::Int8Array>(column).Value(row));
      case ColumnKind::kInt16:
        return writer->Int(As<arrow::Int16Array>(column).Value(row));
      case ColumnKind::kInt32:
        return writer->Int(As<arrow::Int32Array>(column).Value(row));
      case ColumnKind::kInt64:
        return writer->Int(As<arrow::Int64Array>(column).Value(row));
      case ColumnKind::kUInt8:
        return writer->UInt(As<arrow::UInt8Array>(column).Value(row));
      case ColumnKind::kUInt16:
        return writer->UInt(As<arrow::UInt16Array>(column).Value(row));
      case ColumnKind::kUInt32:
        return writer->UInt(As<arrow::UInt32Array>(column).Value(row));
      case ColumnKind::kUInt64:
        return writer->UInt(As<arrow::UInt64Array>(column).Value(row));
      case ColumnKind::kFloat:
        return writer->Float(As<arrow::FloatArray>(column).Value(row));
      case ColumnKind::kDouble:
        return writer->Double(As<arrow::DoubleArray>(column).Value(row));
      case ColumnKind::kString:
        return writer->Str(As<arrow::StringArray>(column).GetView(row));
      case ColumnKind::kLargeString:
        return writer->Str(As<arrow::LargeStringArray>(column).GetView(row));
      case ColumnKind::kBinary:
        return writer->Bin(As<arrow::BinaryArray>(column).GetView(row));
      case ColumnKind::kLargeBinary:
        return writer->Bin(As<arrow::LargeBinaryArray>(column).GetView(row));
      case ColumnKind::kTimestamp: {
        const int64_t count = As<arrow::TimestampArray>(column).Value(row);
        const int64_t per_second = units_per_second_[field];
        // Floor division: the extension's nanoseconds are never negative.
        int64_t seconds = count / per_second;
        int64_t remainder = count % per_second;
        if (remainder < 0) {
          --seconds;
          remainder += per_second;
        }
        return writer->Timestamp(
            seconds, static_cast<uint32_t>(remainder * (1000000000 / per_second)));
      }
      case ColumnKind::kDate32:
        return writer->Int(As<arrow::Date32Array>(column).Value(row));
    }
  }

  std::shared_ptr<arrow::Schema> schema_;
  std::vector<ColumnKind> kinds_;
  // Each column's name, already encoded as a msgpack str.
  std::vector<std::string> keys_;
  // 0 for columns that are not timestamps.
  std::vector<int64_t> units_per_second_;
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeMessagePackDecoder(
    std::shared_ptr<arrow::Schema> schema, int64_t batch_size) {
  ARROW_ASSIGN_OR_RAISE(auto rows, BatchAssembler::MakeForBinaryCodec(
                                       std::move(schema), batch_size, "msgpack"));
  return std::make_unique<MessagePackDecoder>(std::move(rows));
}

Result<std::unique_ptr<Encoder>> MakeMessagePackEncoder(
    std::shared_ptr<arrow::Schema> schema) {
  std::vector<ColumnKind> kinds;
  for (const auto& field : schema->fields()) {
    ARROW_ASSIGN_OR_RAISE(ColumnKind kind, CodecColumnKindOf(*field, "msgpack"));
    kinds.push_back(kind);
  }
  return std::make_unique<MessagePackEncoder>(std::move(schema), std::move(kinds));
}

}  // namespace sabot
