// Parses a JSON object and stages its members as one row of a BatchAssembler: members
// are matched to fields by name, and values convert by the text sources' rules. A field
// named with dots ("user.address.city") reads a member of nested objects when the
// object has no member of that exact name. Shared by the JSON lines file reader and the
// JSON message codec.
//
// Records from one producer list the same keys in the same order. The stager remembers
// the keys of the last object it parsed in full (its shape) and reads the next object
// against them first: keys are then compared as bytes instead of decoded and looked up,
// and int64, double and string values go straight into their cells, which together take
// about half off decoding a small record. An object of another shape, or a value that
// does not convert, takes the full path, with the same results and errors; the object
// then becomes the shape.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sabot/connectors/file/batch_assembler.h"
#include "sabot/connectors/file/json_line_parser.h"

namespace sabot {

class JsonObjectStager {
 public:
  /// `assembler` must outlive the stager.
  explicit JsonObjectStager(BatchAssembler* assembler);

  /// Begins a row and stages the object in `line` into it: unknown members are
  /// ignored, missing fields stay null. Returns false when `line` is not one JSON
  /// object ("invalid JSON at column 12: ...") or a value does not convert to its
  /// field's type ("field 'x': cannot parse ... as int64"), with the reason in error();
  /// the row must then not be committed (BeginRow() of the next row discards it).
  bool StageLine(std::string_view line);

  const std::string& error() const { return error_; }

 private:
  // Stages parsed members. `line_is_utf8` says the whole line is valid UTF-8: strings
  // decoded from it are valid too (escapes decode to whole code points), so they are
  // not validated one by one; otherwise each string is, and the error names the field
  // that holds the invalid bytes.
  bool Stage(const std::vector<JsonMember>& members, bool line_is_utf8);
  // Reads and stages an object of the remembered shape. Returns false, with no error
  // set, when the object is not of the shape or a value does not convert: the full path
  // then reads it again and tells which.
  bool StageShape(std::string_view line, bool line_is_utf8);
  // Remembers the keys of `members` (parsed from `line` and staged by Stage(), which
  // recorded their fields) as the shape, unless a key has escapes or reads nested
  // fields; then there is no shape until the next object.
  void LearnShape(const std::vector<JsonMember>& members, std::string_view line);

  // A field read from inside nested objects: `path` is its name after the first dot.
  struct NestedField {
    std::string_view path;
    int index;
  };

  // The index of the field named `key`, or -1: the field after the previous member's
  // (`expected`) is tried first, as records usually list their keys in one order.
  int FieldIndex(std::string_view key, int expected) const;
  int LookUpField(std::string_view key) const;
  bool StageValue(int index, const JsonValue& value);
  // Stages the members of the object `value` (the member `name`) that `fields` ask for.
  bool StageNested(std::string_view name, const JsonValue& value,
                   const std::vector<NestedField>& fields, size_t depth);
  bool Fail(int index, const JsonValue& value);

  BatchAssembler* assembler_;
  // Field names (views into the assembler's schema) by index, and the index of each.
  std::vector<std::string_view> names_;
  std::unordered_map<std::string_view, int> field_index_;
  // Dotted fields by the member name before their first dot.
  std::unordered_map<std::string_view, std::vector<NestedField>> nested_;
  JsonLineParser parser_;
  // How StageShape() reads a member's value: the common field types straight into
  // their cells, any other value (and a value of another type, such as a null) as
  // StageValue() does.
  enum class ShapeRead { kInt64, kDouble, kString, kAny };
  struct ShapeMember {
    std::string quoted_key;
    int field;  // -1: no field
    ShapeRead read;
  };
  // The shape: its members in order.
  std::vector<ShapeMember> shape_;
  // The field of each member of the last object Stage() staged: -1 for none,
  // kNestedMember for a member that dotted fields read into.
  static constexpr int kNestedMember = -2;
  std::vector<int> member_fields_;
  // One parser per nesting depth: members refer to their parser's memory.
  std::vector<std::unique_ptr<JsonLineParser>> nested_parsers_;
  // Set per Stage() call from its `line_is_utf8`.
  bool line_is_utf8_ = false;
  std::string error_;
};

}  // namespace sabot
