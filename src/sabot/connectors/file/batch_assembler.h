// Builds record batches of a fixed schema from parsed text records (JSON lines, CSV) and
// decoded binary messages (MessagePack, Avro). Not thread-safe: each source subtask or
// decoder owns one assembler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"

namespace arrow {
class ArrayBuilder;
class DataType;
class Field;
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot {

/// The column types BatchAssembler builds, one per supported Arrow type.
enum class ColumnKind {
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
  kBool,
  kString,
  kLargeString,
  kBinary,
  kLargeBinary,
  kTimestamp,
  kDate32,
};

/// Returns OK when every field of `schema` has a type the text sources can build,
/// otherwise NotImplemented naming the field. Binary columns are refused: text cannot
/// carry arbitrary bytes.
Status CheckTextSourceSchema(const arrow::Schema& schema);

/// Returns the kind of `field` for the binary codecs (MessagePack, Avro), which build
/// every ColumnKind, or NotImplemented naming the field, its type and the supported
/// types; `codec` names the codec in that message.
Result<ColumnKind> CodecColumnKindOf(const arrow::Field& field, std::string_view codec);

/// Returns, for each field of `schema`, the units per second of its timestamp unit (1 for
/// seconds to 1e9 for nanoseconds), or 0 when the field is not a timestamp.
std::vector<int64_t> TimestampUnitsPerSecond(const arrow::Schema& schema);

// The text rules of BatchAssembler::StageText, shared with CSV schema inference so that
// an inferred type always parses. Surrounding blanks are ignored.

/// Parses a decimal integer (an optional sign, digits).
bool ParseIntegerText(std::string_view text, int64_t* value);
/// Parses a decimal or scientific floating point number, or inf / nan.
bool ParseFloatText(std::string_view text, double* value);
/// Parses true or false in any letter case.
bool ParseBoolText(std::string_view text, bool* value);

/// Returns "cannot parse <shown> as <type>", with `shown` shortened when long.
std::string CannotParseMessage(std::string_view shown, const arrow::DataType& type);

/// Accumulates rows in Arrow builders. A row is staged cell by cell, each cell converted
/// and checked, and committed only when every cell converted: a bad record or message
/// never leaves half a row in the builders, so it can be dropped. Staged text and bytes
/// are referenced, not copied, and must stay valid until CommitRow().
class BatchAssembler {
 public:
  /// Creates builders for `schema` with room for `batch_size` rows (capped so that a
  /// huge batch size does not reserve memory up front). Fails as CheckTextSourceSchema
  /// does: this is the text sources' assembler.
  static Result<std::unique_ptr<BatchAssembler>> Make(
      std::shared_ptr<arrow::Schema> schema, int64_t batch_size);
  /// Like Make, for a binary codec's decoder: binary columns are accepted too, and an
  /// unsupported field fails as CodecColumnKindOf does.
  static Result<std::unique_ptr<BatchAssembler>> MakeForBinaryCodec(
      std::shared_ptr<arrow::Schema> schema, int64_t batch_size, std::string_view codec);
  ~BatchAssembler();

  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  ColumnKind kind(int field) const { return kinds_[field]; }
  bool is_string(int field) const {
    return kinds_[field] == ColumnKind::kString ||
           kinds_[field] == ColumnKind::kLargeString;
  }
  int64_t num_rows() const { return num_rows_; }

  /// Starts a row with every cell null.
  void BeginRow();

  // Stage* return false when the value does not fit the field's type (out of range, or
  // a type that does not convert); the cell is then left unchanged.

  /// Integers convert to integer (range-checked), floating point, timestamp (a count of
  /// the timestamp's unit) and date32 (days) fields.
  bool StageInt64(int field, int64_t value);
  bool StageUInt64(int field, uint64_t value);
  /// Numbers with a fraction or exponent convert to floating point fields only.
  bool StageDouble(int field, double value);
  bool StageBool(int field, bool value);
  /// Parses text for the field's type: integers and floats (std::from_chars, surrounding
  /// blanks ignored), true/false in any case, timestamps as ISO 8601 or an integer count
  /// of the unit, dates as YYYY-MM-DD. String fields keep the text as is if it is valid
  /// UTF-8.
  bool StageText(int field, std::string_view text);
  /// Stages text the caller has validated as UTF-8 in a string field.
  void StageValidUtf8(int field, std::string_view text) {
    cells_[field].bytes = text;
    cells_[field].valid = true;
  }
  /// Stages a value of the field's own type, unchecked: `field` must be an int64 field
  /// (StageExactInt64) or a double field (StageExactDouble).
  void StageExactInt64(int field, int64_t value) {
    cells_[field].integer = value;
    cells_[field].valid = true;
  }
  void StageExactDouble(int field, double value) {
    cells_[field].real = value;
    cells_[field].valid = true;
  }
  /// Bytes go to binary fields as they are and to string fields if they are UTF-8.
  bool StageBytes(int field, std::string_view bytes);
  /// Sets a cell back to null (a later value for a repeated key wins, even a null).
  void StageNull(int field);

  /// Appends the staged row to the builders.
  Status CommitRow();

  /// Returns the rows committed since the last flush as one batch, and starts anew.
  Result<std::shared_ptr<arrow::RecordBatch>> Flush();

 private:
  // A staged value; which member is meaningful depends on the field's kind.
  struct Cell {
    bool valid = false;
    int64_t integer = 0;
    uint64_t unsigned_integer = 0;
    double real = 0;
    std::string_view bytes;
  };

  BatchAssembler(std::shared_ptr<arrow::Schema> schema, std::vector<ColumnKind> kinds,
                 std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders,
                 int64_t reserve_rows);
  // Creates the builders once the caller has checked that `kinds` are `schema`'s.
  static Result<std::unique_ptr<BatchAssembler>> MakeWithKinds(
      std::shared_ptr<arrow::Schema> schema, std::vector<ColumnKind> kinds,
      int64_t batch_size);
  // A column of one of the kinds CommitRow appends in a loop per kind.
  struct TypedColumn {
    int field;
    arrow::ArrayBuilder* builder;
  };

  // Appends the staged cell of `field`, of any kind.
  Status AppendCell(int field);
  // Stages `text` in a string field if it is valid UTF-8, as Arrow strings must be.
  bool StageUtf8(int field, std::string_view text);
  // Makes room for `num_rows` more rows in every builder, so that rows up to
  // reserved_rows_ are appended without capacity checks.
  Status Reserve(int64_t num_rows);

  std::shared_ptr<arrow::Schema> schema_;
  std::vector<ColumnKind> kinds_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  std::vector<Cell> cells_;
  // The fields by kind: int64, double and string, and every other kind.
  std::vector<TypedColumn> int64_columns_;
  std::vector<TypedColumn> double_columns_;
  std::vector<TypedColumn> string_columns_;
  std::vector<int> other_columns_;
  int64_t reserve_rows_;
  int64_t reserved_rows_ = 0;
  int64_t num_rows_ = 0;
};

}  // namespace sabot
