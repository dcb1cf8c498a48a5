// Stages the members of a parsed JSON object as one row of a BatchAssembler: members
// are matched to fields by name, and values convert by the text sources' rules. Shared
// by the JSON lines file reader and the JSON message codec.
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

  /// Begins a row and stages `members` into it: unknown members are ignored, missing
  /// fields stay null. Returns false when a value does not convert to its field's type,
  /// with the reason ("field 'x': cannot parse ... as int64") in error(); the row must
  /// then not be committed (BeginRow() of the next row discards it).
  bool Stage(const std::vector<JsonMember>& members);

  const std::string& error() const { return error_; }

 private:
  int FieldIndex(std::string_view key, int expected) const;
  bool StageValue(int index, const JsonValue& value);

  BatchAssembler* assembler_;
  // Field names (views into the assembler's schema) by index, and the index of each.
  std::vector<std::string_view> names_;
  std::unordered_map<std::string_view, int> field_index_;
  std::string error_;
};

}  // namespace sabot
