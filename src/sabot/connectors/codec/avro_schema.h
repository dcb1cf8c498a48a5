// Avro schemas (avro.apache.org/docs/1.11.1/specification): parsing a schema's JSON into
// a tree the Avro codec compiles its decoding plans from, and deriving the writer schema
// of an Arrow schema. Immutable once parsed; safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"

namespace arrow {
class Schema;
}  // namespace arrow

namespace sabot {

enum class AvroType : uint8_t {
  kNull,
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kBytes,
  kString,
  kRecord,
  kEnum,
  kFixed,
  kArray,
  kMap,
  kUnion,
};

/// The logical types the codec interprets; others are read as their underlying type,
/// as the specification asks of readers that do not know them.
enum class AvroLogicalType : uint8_t {
  kNone,
  /// int: days since 1970-01-01.
  kDate,
  /// long: milli-, micro- or nanoseconds since the epoch (the local-timestamp-* variants
  /// are read the same way).
  kTimestampMillis,
  kTimestampMicros,
  kTimestampNanos,
};

struct AvroSchema;

struct AvroField {
  std::string name;
  std::shared_ptr<const AvroSchema> type;
};

struct AvroSchema {
  AvroType type = AvroType::kNull;
  AvroLogicalType logical_type = AvroLogicalType::kNone;
  /// Records, enums and fixed: the full name (namespace.name).
  std::string name;
  /// Records.
  std::vector<AvroField> fields;
  /// Enums.
  std::vector<std::string> symbols;
  /// Fixed: the number of bytes.
  int64_t size = 0;
  /// Unions.
  std::vector<std::shared_ptr<const AvroSchema>> branches;
  /// Arrays: the item type; maps: the value type.
  std::shared_ptr<const AvroSchema> items;

  /// Returns a short description for messages, e.g. "long (timestamp-millis)",
  /// "record com.example.Order" or "union [null, string]".
  std::string ToString() const;
};

/// Parses the JSON text of an Avro schema. Named types may be referenced after their
/// definition; recursive types are rejected with NotImplemented. Errors name the JSON
/// path of the problem (e.g. "schema.fields[2].type").
Result<std::shared_ptr<const AvroSchema>> ParseAvroSchema(std::string_view json);

/// Returns the JSON of an Avro record named "sabot_record" with a field per column of
/// `schema`: bool -> boolean, int8/16/32 and uint8/16 -> int, int64 and uint32 -> long,
/// float, double, string and large_string -> string, binary and large_binary -> bytes,
/// date32 -> int (date), timestamp -> long (timestamp-millis for s and ms,
/// timestamp-micros, timestamp-nanos). Nullable columns become ["null", T] with default
/// null. Fails naming the column for other types and for names Avro does not allow.
Result<std::string> AvroSchemaFromArrow(const arrow::Schema& schema);

}  // namespace sabot
