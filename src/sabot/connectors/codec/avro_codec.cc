// Avro codec in the Confluent wire format: byte 0 is 0, bytes 1-4 the big-endian id of
// the writer schema in a Schema Registry, then the Avro binary datum. The decoder
// compiles one plan per writer schema id that maps writer fields to columns by name; the
// encoder registers the schema derived from its Arrow schema once, at the first batch.
// With AvroCodecOptions (avro_codec.h) a writer schema can also be known without a
// registry: for plain Avro binary (the datum alone) or for one schema id.
#include "sabot/connectors/codec/avro_codec.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/checked_cast.h>

#include "sabot/connectors/codec/avro_schema.h"
#include "sabot/connectors/codec/codec_factories.h"
#include "sabot/connectors/codec/schema_registry.h"
#include "sabot/connectors/file/batch_assembler.h"

namespace sabot {
namespace {

using arrow::internal::checked_cast;

constexpr uint8_t kMagicByte = 0;
// The magic byte and the schema id.
constexpr size_t kHeaderSize = 5;

int64_t UnitsPerSecond(AvroLogicalType type) {
  switch (type) {
    case AvroLogicalType::kTimestampMillis:
      return 1000;
    case AvroLogicalType::kTimestampMicros:
      return 1000000;
    case AvroLogicalType::kTimestampNanos:
      return 1000000000;
    default:
      return 0;
  }
}

// Converts a count of `from` units per second to `to` units, rounding toward negative
// infinity when precision is lost.
bool ConvertTimestamp(int64_t value, int64_t from, int64_t to, int64_t* out) {
  if (to >= from) return !__builtin_mul_overflow(value, to / from, out);
  const int64_t divisor = from / to;
  int64_t quotient = value / divisor;
  if (value % divisor < 0) --quotient;
  *out = quotient;
  return true;
}

// Reads the Avro binary encoding. Failing reads return false with the reason in
// error(); offsets count from the message's first byte.
class AvroReader {
 public:
  AvroReader(std::string_view message, size_t start)
      : begin_(reinterpret_cast<const uint8_t*>(message.data())),
        pos_(begin_ + start),
        end_(begin_ + message.size()) {}

  int64_t offset() const { return pos_ - begin_; }
  bool at_end() const { return pos_ == end_; }
  const char* error() const { return error_; }

  // A zigzag-encoded variable-length long.
  bool ReadLong(int64_t* value) {
    uint64_t bits = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == end_) return Fail("the message ends inside a varint");
      const uint8_t byte = *pos_++;
      bits |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = static_cast<int64_t>(bits >> 1) ^ -static_cast<int64_t>(bits & 1);
        return true;
      }
    }
    return Fail("varint longer than 10 bytes");
  }

  bool ReadInt(int64_t* value) {
    if (!ReadLong(value)) return false;
    if (*value < INT32_MIN || *value > INT32_MAX) return Fail("int out of 32-bit range");
    return true;
  }

  bool ReadBoolean(bool* value) {
    if (pos_ == end_) return Fail("the message ends inside a boolean");
    if (*pos_ > 1) return Fail("boolean byte is neither 0 nor 1");
    *value = *pos_++ == 1;
    return true;
  }

  template <typename T>
  bool ReadLittleEndian(T* value) {
    if (end_ - pos_ < static_cast<ptrdiff_t>(sizeof(T))) {
      return Fail("the message ends inside a float or double");
    }
    std::memcpy(value, pos_,
                sizeof(T));  // Avro is little-endian, like the hosts we run on
    pos_ += sizeof(T);
    return true;
  }

  bool ReadFixed(int64_t size, std::string_view* bytes) {
    if (size > end_ - pos_)
      return Fail("the message ends inside a string or bytes value");
    *bytes = std::string_view(reinterpret_cast<const char*>(pos_), size);
    pos_ += size;
    return true;
  }

  // string and bytes: a long length, then the bytes.
  bool ReadBytes(std::string_view* bytes) {
    int64_t size;
    if (!ReadLong(&size)) return false;
    if (size < 0) return Fail("negative length");
    return ReadFixed(size, bytes);
  }

  // Skips a value of `type`. Recursion is bounded by the schema's depth, and parsed
  // schemas are not recursive.
  bool Skip(const AvroSchema& type) {
    int64_t number;
    double real;
    bool boolean;
    std::string_view bytes;
    switch (type.type) {
      case AvroType::kNull:
        return true;
      case AvroType::kBoolean:
        return ReadBoolean(&boolean);
      case AvroType::kInt:
      case AvroType::kLong:
      case AvroType::kEnum:
        return ReadLong(&number);
      case AvroType::kFloat:
        return ReadFixed(4, &bytes);
      case AvroType::kDouble:
        return ReadLittleEndian(&real);
      case AvroType::kBytes:
      case AvroType::kString:
        return ReadBytes(&bytes);
      case AvroType::kFixed:
        return ReadFixed(type.size, &bytes);
      case AvroType::kRecord:
        for (const AvroField& field : type.fields) {
          if (!Skip(*field.type)) return false;
        }
        return true;
      case AvroType::kUnion: {
        const AvroSchema* branch;
        return ReadBranch(type, &branch) && Skip(*branch);
      }
      case AvroType::kArray:
      case AvroType::kMap:
        return SkipBlocks(type);
    }
    return Fail("unknown type");
  }

  bool ReadBranch(const AvroSchema& type, const AvroSchema** branch) {
    int64_t index;
    if (!ReadLong(&index)) return false;
    if (index < 0 || index >= static_cast<int64_t>(type.branches.size())) {
      return Fail("union branch index out of range");
    }
    *branch = type.branches[index].get();
    return true;
  }

 private:
  // Arrays and maps are blocks of items, each block a count and, when the count is
  // negative, its size in bytes, which lets a reader skip it whole; count 0 ends them.
  bool SkipBlocks(const AvroSchema& type) {
    while (true) {
      int64_t count;
      if (!ReadLong(&count)) return false;
      if (count == 0) return true;
      if (count < 0) {
        int64_t size;
        std::string_view bytes;
        if (!ReadLong(&size) || size < 0) return Fail("invalid block size");
        if (!ReadFixed(size, &bytes)) return false;
        continue;
      }
      for (int64_t i = 0; i < count; ++i) {
        std::string_view key;
        if (type.type == AvroType::kMap && !ReadBytes(&key)) return false;
        if (!Skip(*type.items)) return false;
      }
    }
  }

  bool Fail(const char* error) {
    error_ = error;
    return false;
  }

  const uint8_t* begin_;
  const uint8_t* pos_;
  const uint8_t* end_;
  const char* error_ = "";
};

// Returns whether every value of writer type `type` converts to a column of `kind`
// (integers still range-checked per value).
bool Readable(const AvroSchema& type, ColumnKind kind) {
  const auto is_one_of = [kind](std::initializer_list<ColumnKind> kinds) {
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
  };
  switch (type.type) {
    case AvroType::kNull:
      return true;
    case AvroType::kUnion:
      return std::all_of(type.branches.begin(), type.branches.end(),
                         [kind](const auto& branch) { return Readable(*branch, kind); });
    case AvroType::kBoolean:
      return kind == ColumnKind::kBool;
    case AvroType::kInt:
    case AvroType::kLong:
      if (UnitsPerSecond(type.logical_type) > 0) {
        return is_one_of({ColumnKind::kTimestamp, ColumnKind::kInt64});
      }
      if (type.logical_type == AvroLogicalType::kDate) {
        return is_one_of({ColumnKind::kDate32, ColumnKind::kInt32, ColumnKind::kInt64});
      }
      return !is_one_of({ColumnKind::kBool, ColumnKind::kString, ColumnKind::kLargeString,
                         ColumnKind::kBinary, ColumnKind::kLargeBinary});
    case AvroType::kFloat:
    case AvroType::kDouble:
      return is_one_of({ColumnKind::kFloat, ColumnKind::kDouble});
    case AvroType::kString:
    case AvroType::kBytes:
    case AvroType::kFixed:
      return is_one_of({ColumnKind::kString, ColumnKind::kLargeString,
                        ColumnKind::kBinary, ColumnKind::kLargeBinary});
    case AvroType::kEnum:
      return is_one_of({ColumnKind::kString, ColumnKind::kLargeString});
    case AvroType::kRecord:
    case AvroType::kArray:
    case AvroType::kMap:
      return false;
  }
  return false;
}

// How to decode the datums of one writer schema: its fields in order, each stored in a
// column or skipped.
struct DecodingPlan {
  struct Step {
    const AvroField* field;
    // -1 for writer fields that no column reads.
    int column;
  };
  std::shared_ptr<const AvroSchema> schema;
  std::vector<Step> steps;
  // How errors name the schema: "writer schema 7", or "the writer schema" for plain
  // Avro.
  std::string label;
};

std::string SchemaIdLabel(uint32_t id) {
  std::string label = "writer schema ";
  label += std::to_string(id);
  return label;
}

class AvroDecoder : public Decoder {
 public:
  // `registry` is null when every writer schema is given with SetWriterSchema().
  AvroDecoder(AvroFraming framing, std::unique_ptr<SchemaRegistryClient> registry,
              std::unique_ptr<BatchAssembler> rows)
      : framing_(framing),
        registry_(std::move(registry)),
        rows_(std::move(rows)),
        timestamp_units_(TimestampUnitsPerSecond(*rows_->schema())) {}

  // Compiles the plan of a writer schema known without a registry: of every message
  // (plain framing, `id` unset) or of the messages with schema id `id`.
  Status SetWriterSchema(std::optional<uint32_t> id, std::string_view json) {
    auto parsed = ParseAvroSchema(json);
    if (!parsed.ok()) {
      return parsed.status().WithMessage("avro: the writer schema given: ",
                                         parsed.status().message());
    }
    ARROW_ASSIGN_OR_RAISE(auto plan,
                          CompilePlan(*std::move(parsed),
                                      id ? SchemaIdLabel(*id) : "the writer schema"));
    if (id) {
      plans_[*id] = std::move(plan);
      fixed_ids_.push_back(*id);
    } else {
      plain_plan_ = std::move(plan);
    }
    return Status::OK();
  }

  Result<int64_t> Append(std::string_view payload) override {
    if (framing_ == AvroFraming::kPlain) return AppendDatum(*plain_plan_, payload, 0);
    const auto* bytes = reinterpret_cast<const uint8_t*>(payload.data());
    if (!payload.empty() && bytes[0] != kMagicByte) {
      static constexpr char kHex[] = "0123456789abcdef";
      const char shown[] = {'0', 'x', kHex[bytes[0] >> 4], kHex[bytes[0] & 0x0f], 0};
      return Status::Invalid("avro: not Confluent wire format: first byte is ", shown,
                             " at offset 0, expected 0x00");
    }
    if (payload.size() < kHeaderSize) {
      return Status::Invalid("avro: message of ", payload.size(),
                             " bytes is too short for the Confluent wire format "
                             "(a 5-byte header, then the datum)");
    }
    const uint32_t id = uint32_t{bytes[1]} << 24 | uint32_t{bytes[2]} << 16 |
                        uint32_t{bytes[3]} << 8 | uint32_t{bytes[4]};
    const DecodingPlan* plan;
    ARROW_ASSIGN_OR_RAISE(plan, PlanFor(id));
    return AppendDatum(*plan, payload, kHeaderSize);
  }

  int64_t num_rows() const override { return rows_->num_rows(); }

  Result<std::shared_ptr<arrow::RecordBatch>> Flush() override { return rows_->Flush(); }

 private:
  // Decodes the datum at `start` of `payload` into one row.
  Result<int64_t> AppendDatum(const DecodingPlan& plan, std::string_view payload,
                              size_t start) {
    rows_->BeginRow();
    AvroReader reader(payload, start);
    for (const DecodingPlan::Step& step : plan.steps) {
      const int64_t field_start = reader.offset();
      if (step.column < 0) {
        if (!reader.Skip(*step.field->type)) {
          return ReadError(plan.label, *step.field, field_start, reader.error());
        }
        continue;
      }
      ARROW_RETURN_NOT_OK(
          Decode(plan.label, *step.field, *step.field->type, step.column, &reader));
    }
    if (!reader.at_end()) {
      return Status::Invalid("avro: the datum of ", plan.label, " ends at byte ",
                             reader.offset(), " but the message has ", payload.size(),
                             " bytes");
    }
    ARROW_RETURN_NOT_OK(rows_->CommitRow());
    return 1;
  }

  Result<const DecodingPlan*> PlanFor(uint32_t id) {
    if (id == last_id_ && last_plan_ != nullptr) return last_plan_;
    auto found = plans_.find(id);
    if (found == plans_.end()) {
      ARROW_ASSIGN_OR_RAISE(auto plan, Compile(id));
      found = plans_.emplace(id, std::move(plan)).first;
    }
    last_id_ = id;
    last_plan_ = found->second.get();
    return last_plan_;
  }

  Result<std::unique_ptr<DecodingPlan>> Compile(uint32_t id) {
    if (id > static_cast<uint32_t>(INT32_MAX)) {
      return Status::Invalid("avro: schema id ", id,
                             " in the message header is not a "
                             "Schema Registry id (above 2^31 - 1)");
    }
    if (registry_ == nullptr) {
      std::string known;
      for (const uint32_t fixed : fixed_ids_) {
        known += known.empty() ? "" : ", ";
        known += std::to_string(fixed);
      }
      return Status::Invalid("avro: the message has writer schema id ", id,
                             " but the decoder knows only schema id ", known,
                             " and has no schema registry to fetch others from");
    }
    ARROW_ASSIGN_OR_RAISE(std::string json,
                          registry_->GetSchemaById(static_cast<int32_t>(id)));
    auto parsed = ParseAvroSchema(json);
    if (!parsed.ok()) {
      return parsed.status().WithMessage("avro: writer schema ", id, " from ",
                                         registry_->url(), ": ",
                                         parsed.status().message());
    }
    return CompilePlan(*std::move(parsed), SchemaIdLabel(id));
  }

  Result<std::unique_ptr<DecodingPlan>> CompilePlan(
      std::shared_ptr<const AvroSchema> writer, std::string label) {
    auto plan = std::make_unique<DecodingPlan>();
    plan->schema = std::move(writer);
    plan->label = std::move(label);
    if (plan->schema->type != AvroType::kRecord) {
      return Status::NotImplemented("avro: ", plan->label, " is ",
                                    plan->schema->ToString(),
                                    "; only record schemas can be read into columns");
    }
    const arrow::Schema& schema = *rows_->schema();
    for (const AvroField& field : plan->schema->fields) {
      const int column = schema.GetFieldIndex(field.name);
      if (column >= 0 && !Readable(*field.type, rows_->kind(column))) {
        return Status::Invalid("avro: field '", field.name, "' of ", plan->label,
                               " is ", field.type->ToString(),
                               ", which cannot be read into a column of type ",
                               schema.field(column)->type()->ToString());
      }
      plan->steps.push_back(DecodingPlan::Step{&field, column});
    }
    return plan;
  }

  Status ReadError(const std::string& label, const AvroField& field, int64_t offset,
                   const char* error) const {
    return Status::Invalid("avro: field '", field.name, "' (", field.type->ToString(),
                           ") of ", label, " at byte ", offset, ": ", error);
  }

  Status Decode(const std::string& label, const AvroField& field, const AvroSchema& type, int column,
                AvroReader* reader) {
    const int64_t start = reader->offset();
    bool stored = true;
    // What the error shows when the value does not fit: the integer read (problem is
    // then null) or a description. Formatted only on that path.
    int64_t integer = 0;
    const char* problem = "";
    switch (type.type) {
      case AvroType::kNull:
        return Status::OK();
      case AvroType::kUnion: {
        const AvroSchema* branch;
        if (!reader->ReadBranch(type, &branch)) {
          return ReadError(label, field, start, reader->error());
        }
        return Decode(label, field, *branch, column, reader);
      }
      case AvroType::kBoolean: {
        bool value;
        if (!reader->ReadBoolean(&value))
          return ReadError(label, field, start, reader->error());
        stored = rows_->StageBool(column, value);
        break;
      }
      case AvroType::kInt:
      case AvroType::kLong: {
        const bool read = type.type == AvroType::kInt ? reader->ReadInt(&integer)
                                                      : reader->ReadLong(&integer);
        if (!read) return ReadError(label, field, start, reader->error());
        int64_t value = integer;
        const int64_t writer_unit = UnitsPerSecond(type.logical_type);
        if (writer_unit > 0 && timestamp_units_[column] > 0) {
          stored =
              ConvertTimestamp(integer, writer_unit, timestamp_units_[column], &value);
        }
        stored = stored && rows_->StageInt64(column, value);
        problem = nullptr;
        break;
      }
      case AvroType::kFloat: {
        float value;
        if (!reader->ReadLittleEndian(&value)) {
          return ReadError(label, field, start, reader->error());
        }
        stored = rows_->StageDouble(column, value);
        break;
      }
      case AvroType::kDouble: {
        double value;
        if (!reader->ReadLittleEndian(&value)) {
          return ReadError(label, field, start, reader->error());
        }
        stored = rows_->StageDouble(column, value);
        break;
      }
      case AvroType::kString:
      case AvroType::kBytes:
      case AvroType::kFixed: {
        std::string_view value;
        const bool read = type.type == AvroType::kFixed
                              ? reader->ReadFixed(type.size, &value)
                              : reader->ReadBytes(&value);
        if (!read) return ReadError(label, field, start, reader->error());
        stored = rows_->StageBytes(column, value);
        problem = " that is not valid UTF-8";
        break;
      }
      case AvroType::kEnum: {
        int64_t index;
        if (!reader->ReadInt(&index)) return ReadError(label, field, start, reader->error());
        if (index < 0 || index >= static_cast<int64_t>(type.symbols.size())) {
          return ReadError(label, field, start, "enum symbol index out of range");
        }
        stored = rows_->StageBytes(column, type.symbols[index]);
        break;
      }
      case AvroType::kRecord:
      case AvroType::kArray:
      case AvroType::kMap:
        // Compile() lets no such field reach a column.
        return Status::UnknownError("avro: field '", field.name, "' of type ",
                                    type.ToString(), " reached column ", column);
    }
    if (stored) return Status::OK();
    // Integers are shown, other values described.
    const std::string shown =
        problem == nullptr ? std::string(" ") + std::to_string(integer) : problem;
    return Status::Invalid("avro: field '", field.name, "' of ", label, " at byte ",
                           start, ": cannot store ", type.ToString(), shown,
                           " in a column of type ",
                           rows_->schema()->field(column)->type()->ToString());
  }

  const AvroFraming framing_;
  std::unique_ptr<SchemaRegistryClient> registry_;
  std::unique_ptr<BatchAssembler> rows_;
  std::vector<int64_t> timestamp_units_;
  std::unordered_map<uint32_t, std::unique_ptr<DecodingPlan>> plans_;
  // Plain framing: the plan of every message.
  std::unique_ptr<DecodingPlan> plain_plan_;
  // The ids given with SetWriterSchema(), for the error about other ids.
  std::vector<uint32_t> fixed_ids_;
  // Topics rarely change writer schema: the last plan is checked before the map.
  uint32_t last_id_ = 0;
  const DecodingPlan* last_plan_ = nullptr;
};

// Appends values in the Avro binary encoding.
void AppendLong(int64_t value, std::string* out) {
  uint64_t bits =
      (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  char bytes[10];
  int size = 0;
  while (bits >= 0x80) {
    bytes[size++] = static_cast<char>((bits & 0x7f) | 0x80);
    bits >>= 7;
  }
  bytes[size++] = static_cast<char>(bits);
  out->append(bytes, size);
}

template <typename T>
void AppendLittleEndian(T value, std::string* out) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

void AppendBytes(std::string_view bytes, std::string* out) {
  AppendLong(static_cast<int64_t>(bytes.size()), out);
  out->append(bytes);
}

template <typename ArrayType>
const ArrayType& As(const arrow::Array& array) {
  return checked_cast<const ArrayType&>(array);
}

// The Confluent wire format header of schema `id`.
std::string ConfluentHeader(int32_t id) {
  std::string header(1, static_cast<char>(kMagicByte));
  for (int shift = 24; shift >= 0; shift -= 8) {
    header.push_back(static_cast<char>(static_cast<uint32_t>(id) >> shift));
  }
  return header;
}

class AvroEncoder : public Encoder {
 public:
  // With a `registry`, the schema is registered under `subject` at the first batch and
  // the header made of its id; without, every message starts with `header` (empty for
  // plain Avro).
  AvroEncoder(std::unique_ptr<SchemaRegistryClient> registry, std::string subject,
              std::shared_ptr<arrow::Schema> schema, std::string avro_schema,
              std::vector<ColumnKind> kinds, std::string header = "")
      : registry_(std::move(registry)),
        subject_(std::move(subject)),
        schema_(std::move(schema)),
        avro_schema_(std::move(avro_schema)),
        kinds_(std::move(kinds)),
        timestamp_units_(TimestampUnitsPerSecond(*schema_)),
        header_(std::move(header)) {}

  Status Encode(const arrow::RecordBatch& batch, EncodedMessages* out) override {
    if (registry_ != nullptr && header_.empty()) ARROW_RETURN_NOT_OK(RegisterSchema());
    for (int i = 0; i < batch.num_columns(); ++i) {
      if (!schema_->field(i)->nullable() && batch.column(i)->null_count() > 0) {
        return Status::Invalid("avro: column '", schema_->field(i)->name(),
                               "' is not nullable, so its Avro type is not a union "
                               "with null, but the batch holds nulls in it");
      }
    }
    out->Clear();
    out->offsets.reserve(batch.num_rows() + 1);
    for (int64_t row = 0; row < batch.num_rows(); ++row) {
      out->data.append(header_);
      for (int i = 0; i < batch.num_columns(); ++i) {
        const arrow::Array& column = *batch.column(i);
        if (schema_->field(i)->nullable()) {
          // The union ["null", T]: branch 0 is null, branch 1 the value.
          const bool is_null = column.IsNull(row);
          out->data.push_back(is_null ? 0 : 2);
          if (is_null) continue;
        }
        ARROW_RETURN_NOT_OK(AppendValue(i, column, row, &out->data));
      }
      out->offsets.push_back(static_cast<int64_t>(out->data.size()));
    }
    return Status::OK();
  }

 private:
  Status RegisterSchema() {
    ARROW_ASSIGN_OR_RAISE(const int32_t id, registry_->Register(subject_, avro_schema_));
    header_ = ConfluentHeader(id);
    return Status::OK();
  }

  Status AppendValue(int field, const arrow::Array& column, int64_t row,
                     std::string* out) {
    switch (kinds_[field]) {
      case ColumnKind::kBool:
        out->push_back(As<arrow::BooleanArray>(column).Value(row) ? 1 : 0);
        break;
      case ColumnKind::kInt8:
        AppendLong(As<arrow::Int8Array>(column).Value(row), out);
        break;
      case ColumnKind::kInt16:
        AppendLong(As<arrow::Int16Array>(column).Value(row), out);
        break;
      case ColumnKind::kInt32:
        AppendLong(As<arrow::Int32Array>(column).Value(row), out);
        break;
      case ColumnKind::kInt64:
        AppendLong(As<arrow::Int64Array>(column).Value(row), out);
        break;
      case ColumnKind::kUInt8:
        AppendLong(As<arrow::UInt8Array>(column).Value(row), out);
        break;
      case ColumnKind::kUInt16:
        AppendLong(As<arrow::UInt16Array>(column).Value(row), out);
        break;
      case ColumnKind::kUInt32:
        AppendLong(As<arrow::UInt32Array>(column).Value(row), out);
        break;
      case ColumnKind::kFloat:
        AppendLittleEndian(As<arrow::FloatArray>(column).Value(row), out);
        break;
      case ColumnKind::kDouble:
        AppendLittleEndian(As<arrow::DoubleArray>(column).Value(row), out);
        break;
      case ColumnKind::kString:
        AppendBytes(As<arrow::StringArray>(column).GetView(row), out);
        break;
      case ColumnKind::kLargeString:
        AppendBytes(As<arrow::LargeStringArray>(column).GetView(row), out);
        break;
      case ColumnKind::kBinary:
        AppendBytes(As<arrow::BinaryArray>(column).GetView(row), out);
        break;
      case ColumnKind::kLargeBinary:
        AppendBytes(As<arrow::LargeBinaryArray>(column).GetView(row), out);
        break;
      case ColumnKind::kTimestamp: {
        int64_t value = As<arrow::TimestampArray>(column).Value(row);
        // Seconds are written as timestamp-millis (Avro has no seconds type).
        if (timestamp_units_[field] == 1 && __builtin_mul_overflow(value, 1000, &value)) {
          return Status::Invalid("avro: column '", schema_->field(field)->name(),
                                 "' row ", row,
                                 ": timestamp does not fit timestamp-millis");
        }
        AppendLong(value, out);
        break;
      }
      case ColumnKind::kDate32:
        AppendLong(As<arrow::Date32Array>(column).Value(row), out);
        break;
      case ColumnKind::kUInt64:
        // AvroSchemaFromArrow rejects uint64 columns.
        return Status::UnknownError("avro: uint64 column '",
                                    schema_->field(field)->name(),
                                    "' reached the encoder");
    }
    return Status::OK();
  }

  std::unique_ptr<SchemaRegistryClient> registry_;
  std::string subject_;
  std::shared_ptr<arrow::Schema> schema_;
  std::string avro_schema_;
  std::vector<ColumnKind> kinds_;
  std::vector<int64_t> timestamp_units_;
  // The magic byte and the schema id; with a registry, empty until registered.
  std::string header_;
};

Result<std::unique_ptr<SchemaRegistryClient>> MakeRegistryClient(
    const CodecConfig& config) {
  if (config.schema_registry_url.empty()) {
    return Status::Invalid(
        "the avro codec needs a schema registry URL (http://host:port), which Confluent "
        "wire format messages refer to by schema id");
  }
  return SchemaRegistryClient::Make(config.schema_registry_url);
}

// Returns whether values of `a` and `b` have the same binary encoding (names,
// namespaces, docs and defaults aside).
bool SameEncoding(const AvroSchema& a, const AvroSchema& b) {
  if (a.type != b.type || a.logical_type != b.logical_type || a.size != b.size ||
      a.symbols != b.symbols || a.fields.size() != b.fields.size() ||
      a.branches.size() != b.branches.size() ||
      (a.items == nullptr) != (b.items == nullptr)) {
    return false;
  }
  for (size_t i = 0; i < a.fields.size(); ++i) {
    if (a.fields[i].name != b.fields[i].name ||
        !SameEncoding(*a.fields[i].type, *b.fields[i].type)) {
      return false;
    }
  }
  for (size_t i = 0; i < a.branches.size(); ++i) {
    if (!SameEncoding(*a.branches[i], *b.branches[i])) return false;
  }
  return a.items == nullptr || SameEncoding(*a.items, *b.items);
}

// Returns OK when the writer schema `given` describes the rows as the encoder writes
// them (in `derived`, AvroSchemaFromArrow's schema), or an error naming the first field
// that differs.
Status CheckSameEncoding(const AvroSchema& given, const AvroSchema& derived) {
  constexpr const char* kPrefix =
      "avro: the writer schema given does not describe the rows as the encoder writes "
      "them: ";
  if (given.type != AvroType::kRecord) {
    return Status::Invalid(kPrefix, "it is ", given.ToString(), ", not a record");
  }
  for (size_t i = 0; i < std::max(given.fields.size(), derived.fields.size()); ++i) {
    if (i >= given.fields.size()) {
      return Status::Invalid(kPrefix, "it has no field for column '",
                             derived.fields[i].name, "'");
    }
    const AvroField& field = given.fields[i];
    if (i >= derived.fields.size()) {
      return Status::Invalid(kPrefix, "its field ", i, " is '", field.name,
                             "' where the rows have no more columns");
    }
    if (field.name != derived.fields[i].name) {
      return Status::Invalid(kPrefix, "its field ", i, " is '", field.name,
                             "' where the rows have column '", derived.fields[i].name,
                             "'");
    }
    if (!SameEncoding(*field.type, *derived.fields[i].type)) {
      return Status::Invalid(kPrefix, "field '", field.name, "' is ",
                             field.type->ToString(), " there, the encoder writes ",
                             derived.fields[i].type->ToString(),
                             " (it writes nullable columns as [\"null\", T])");
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Decoder>> MakeAvroDecoder(const AvroCodecOptions& options,
                                                 std::shared_ptr<arrow::Schema> schema,
                                                 int64_t batch_size) {
  std::optional<uint32_t> fixed_id;
  std::unique_ptr<SchemaRegistryClient> registry;
  if (options.framing == AvroFraming::kPlain) {
    if (options.writer_schema.empty()) {
      return Status::Invalid(
          "avro: plain Avro binary (without the Confluent header) is read with a writer "
          "schema known in advance: give one");
    }
  } else {
    if (!options.writer_schema.empty()) {
      if (!options.schema_id) {
        return Status::Invalid(
            "avro: a writer schema for the Confluent wire format needs its schema id");
      }
      if (*options.schema_id < 0) {
        return Status::Invalid("avro: schema id ", *options.schema_id, " is negative");
      }
      fixed_id = static_cast<uint32_t>(*options.schema_id);
    }
    if (!fixed_id || !options.schema_registry_url.empty()) {
      CodecConfig config;
      config.schema_registry_url = options.schema_registry_url;
      ARROW_ASSIGN_OR_RAISE(registry, MakeRegistryClient(config));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto rows, BatchAssembler::MakeForBinaryCodec(
                                       std::move(schema), batch_size, "avro"));
  auto decoder =
      std::make_unique<AvroDecoder>(options.framing, std::move(registry), std::move(rows));
  if (!options.writer_schema.empty()) {
    ARROW_RETURN_NOT_OK(decoder->SetWriterSchema(fixed_id, options.writer_schema));
  }
  return decoder;
}

Result<std::unique_ptr<Encoder>> MakeAvroEncoder(const AvroCodecOptions& options,
                                                 std::shared_ptr<arrow::Schema> schema) {
  const bool registers =
      options.framing == AvroFraming::kConfluent && !options.schema_id.has_value();
  if (registers && options.subject.empty()) {
    return Status::Invalid("the avro codec needs a subject to register its schema under");
  }
  ARROW_ASSIGN_OR_RAISE(std::string avro_schema, AvroSchemaFromArrow(*schema));
  std::vector<ColumnKind> kinds;
  for (const auto& field : schema->fields()) {
    ARROW_ASSIGN_OR_RAISE(ColumnKind kind, CodecColumnKindOf(*field, "avro"));
    kinds.push_back(kind);
  }
  if (!options.writer_schema.empty()) {
    auto given = ParseAvroSchema(options.writer_schema);
    if (!given.ok()) {
      return given.status().WithMessage("avro: the writer schema given: ",
                                        given.status().message());
    }
    ARROW_ASSIGN_OR_RAISE(auto derived, ParseAvroSchema(avro_schema));
    ARROW_RETURN_NOT_OK(CheckSameEncoding(**given, *derived));
    avro_schema = options.writer_schema;
  }
  std::unique_ptr<SchemaRegistryClient> registry;
  std::string header;
  if (registers) {
    CodecConfig config;
    config.schema_registry_url = options.schema_registry_url;
    ARROW_ASSIGN_OR_RAISE(registry, MakeRegistryClient(config));
  } else if (options.framing == AvroFraming::kConfluent) {
    if (*options.schema_id < 0) {
      return Status::Invalid("avro: schema id ", *options.schema_id, " is negative");
    }
    header = ConfluentHeader(*options.schema_id);
  }
  return std::make_unique<AvroEncoder>(std::move(registry), options.subject,
                                       std::move(schema), std::move(avro_schema),
                                       std::move(kinds), std::move(header));
}

Result<std::unique_ptr<Decoder>> MakeAvroDecoder(const CodecConfig& config,
                                                 std::shared_ptr<arrow::Schema> schema,
                                                 int64_t batch_size) {
  AvroCodecOptions options;
  options.schema_registry_url = config.schema_registry_url;
  return MakeAvroDecoder(options, std::move(schema), batch_size);
}

Result<std::unique_ptr<Encoder>> MakeAvroEncoder(const CodecConfig& config,
                                                 std::shared_ptr<arrow::Schema> schema) {
  AvroCodecOptions options;
  options.schema_registry_url = config.schema_registry_url;
  options.subject = config.subject;
  return MakeAvroEncoder(options, std::move(schema));
}

}  // namespace sabot
