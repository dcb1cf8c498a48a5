// Builds record batches of a fixed schema from decoded binary messages (MessagePack,
// Avro). Not thread-safe: each decoder owns one.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"

namespace arrow {
class ArrayBuilder;
class Field;
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot {

/// The column types the binary codecs build.
enum class CodecColumnKind {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat,
  kDouble,
  kString,
  kLargeString,
  kBinary,
  kLargeBinary,
  kTimestamp,
  kDate32,
};

/// Returns the kind of `field`, or NotImplemented naming the field, its type and the
/// supported types; `codec` names the codec in that message.
Result<CodecColumnKind> CodecColumnKindOf(const arrow::Field& field,
                                          std::string_view codec);

/// Returns, for each field of `schema`, the units per second of its timestamp unit (1 for
/// seconds to 1e9 for nanoseconds), or 0 when the field is not a timestamp.
std::vector<int64_t> TimestampUnitsPerSecond(const arrow::Schema& schema);

/// Accumulates rows in Arrow builders. A message's row is staged cell by cell and
/// appended only when the whole message decoded, so a bad message leaves nothing behind.
/// Staged bytes are referenced, not copied, and must stay valid until CommitRow().
class RowBuilder {
 public:
  /// Fails with NotImplemented naming the first field whose type is not a
  /// CodecColumnKind; `codec` names the codec in that message.
  static Result<std::unique_ptr<RowBuilder>> Make(std::shared_ptr<arrow::Schema> schema,
                                                  int64_t batch_size,
                                                  std::string_view codec);
  ~RowBuilder();

  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  CodecColumnKind kind(int field) const { return kinds_[field]; }
  int64_t num_rows() const { return num_rows_; }

  /// Starts a row with every cell null.
  void BeginRow();

  // Stage* return false when the value does not fit the field (out of range, or a type
  // that does not convert); the cell is then left unchanged.

  /// Integers convert to integer fields (range-checked), floating point fields,
  /// timestamps (a count of the field's unit) and date32 (days).
  bool StageInt64(int field, int64_t value);
  bool StageUInt64(int field, uint64_t value);
  /// Floating point values convert to float and double fields only.
  bool StageDouble(int field, double value);
  bool StageBool(int field, bool value);
  /// Bytes go to binary fields as they are and to string fields if they are UTF-8.
  bool StageBytes(int field, std::string_view bytes);
  /// Sets a cell back to null (a later value for a repeated key wins, even a null).
  void StageNull(int field);

  /// Appends the staged row to the builders.
  Status CommitRow();

  /// Returns the rows committed since the last flush as one batch, and starts anew.
  Result<std::shared_ptr<arrow::RecordBatch>> Flush();

 private:
  struct Cell {
    bool valid = false;
    int64_t integer = 0;
    uint64_t unsigned_integer = 0;
    double real = 0;
    std::string_view bytes;
  };

  RowBuilder(std::shared_ptr<arrow::Schema> schema, std::vector<CodecColumnKind> kinds,
             std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders,
             int64_t reserve_rows);
  // Makes room for `num_rows` more rows in every builder, so that fixed-width values up
  // to reserved_rows_ are appended without capacity checks.
  Status Reserve(int64_t num_rows);

  std::shared_ptr<arrow::Schema> schema_;
  std::vector<CodecColumnKind> kinds_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  std::vector<Cell> cells_;
  int64_t reserve_rows_;
  int64_t reserved_rows_ = 0;
  int64_t num_rows_ = 0;
};

}  // namespace sabot
