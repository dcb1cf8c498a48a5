#include "sabot/connectors/file/json_object_stager.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <arrow/type.h>
#include <arrow/util/utf8.h>

namespace sabot {
inline int JsonObjectStager::FieldIndex(std::string_view key, int expected) const {
  if (static_cast<size_t>(expected) < names_.size() && SameText(names_[expected], key)) {
    return expected;
  }
  return LookUpField(key);
}

JsonObjectStager::JsonObjectStager(BatchAssembler* assembler) : assembler_(assembler) {
  const arrow::Schema& schema = *assembler_->schema();
  for (int i = 0; i < schema.num_fields(); ++i) {
    names_.push_back(schema.field(i)->name());
    field_index_.emplace(names_.back(), i);
    const size_t dot = names_.back().find('.');
    if (dot != std::string_view::npos && dot > 0 && dot + 1 < names_.back().size()) {
      nested_[names_.back().substr(0, dot)].push_back({names_.back().substr(dot + 1), i});
    }
  }
}

bool JsonObjectStager::StageLine(std::string_view line) {
  // One check of the whole line instead of one per string.
  const bool line_is_utf8 = arrow::util::ValidateUTF8(line);
  if (!shape_.empty() && StageShape(line, line_is_utf8)) return true;
  if (!parser_.Parse(line)) {
    error_ = parser_.error();
    return false;
  }
  if (!Stage(parser_.members(), line_is_utf8)) return false;
  LearnShape(parser_.members(), line);
  return true;
}

bool JsonObjectStager::StageShape(std::string_view line, bool line_is_utf8) {
  if (!parser_.BeginObject(line)) return false;
  assembler_->BeginRow();
  line_is_utf8_ = line_is_utf8;
  for (size_t i = 0; i < shape_.size(); ++i) {
    const ShapeMember& member = shape_[i];
    if (!parser_.Key(member.quoted_key, i == 0)) return false;
    switch (member.read) {
      case ShapeRead::kInt64: {
        int64_t integer;
        if (parser_.PlainInteger(&integer)) {
          assembler_->StageExactInt64(member.field, integer);
          continue;
        }
        break;
      }
      case ShapeRead::kString: {
        if (!parser_.AtString()) break;
        std::string_view text;
        if (!parser_.String(&text)) return false;
        if (line_is_utf8) {
          assembler_->StageValidUtf8(member.field, text);
        } else if (!assembler_->StageText(member.field, text)) {
          return false;
        }
        continue;
      }
      case ShapeRead::kDouble: {
        double real;
        if (parser_.PlainDecimal(&real)) {
          assembler_->StageExactDouble(member.field, real);
          continue;
        }
        break;
      }
      case ShapeRead::kAny:
        break;
    }
    JsonValue value;
    if (!parser_.Value(&value)) return false;
    if (member.field >= 0 && !StageValue(member.field, value)) return false;
  }
  return parser_.EndObject();
}

void JsonObjectStager::LearnShape(const std::vector<JsonMember>& members,
                                  std::string_view line) {
  shape_.clear();
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string_view key = members[i].key;
    const int field = member_fields_[i];
    // A key without escapes is a view into the line, right after its opening quote.
    const bool in_line =
        key.data() > line.data() && key.data() + key.size() < line.data() + line.size();
    if (!in_line || field == kNestedMember) {
      shape_.clear();
      return;
    }
    ShapeRead read = ShapeRead::kAny;
    if (field >= 0) {
      switch (assembler_->kind(field)) {
        case ColumnKind::kInt64:
          read = ShapeRead::kInt64;
          break;
        case ColumnKind::kDouble:
          read = ShapeRead::kDouble;
          break;
        case ColumnKind::kString:
          read = ShapeRead::kString;
          break;
        default:
          break;
      }
    }
    shape_.push_back({std::string(key.data() - 1, key.size() + 2), field, read});
  }
}

bool JsonObjectStager::Stage(const std::vector<JsonMember>& members, bool line_is_utf8) {
  assembler_->BeginRow();
  line_is_utf8_ = line_is_utf8;
  member_fields_.clear();
  int expected = 0;
  for (const JsonMember& member : members) {
    const int index = FieldIndex(member.key, expected);
    member_fields_.push_back(index);
    if (index < 0) {
      if (nested_.empty()) continue;
      auto nested = nested_.find(member.key);
      if (nested == nested_.end()) continue;
      member_fields_.back() = kNestedMember;
      if (!StageNested(member.key, member.value, nested->second, 0)) return false;
      continue;
    }
    expected = index + 1;
    if (!StageValue(index, member.value)) return Fail(index, member.value);
  }
  return true;
}

bool JsonObjectStager::Fail(int index, const JsonValue& value) {
  const arrow::Field& field = *assembler_->schema()->field(index);
  error_ =
      "field '" + field.name() + "': " + CannotParseMessage(value.raw, *field.type());
  return false;
}

bool JsonObjectStager::StageNested(std::string_view name, const JsonValue& value,
                                   const std::vector<NestedField>& fields, size_t depth) {
  if (value.type == JsonType::kNull) return true;
  if (value.type != JsonType::kObject) {
    error_ = "field '" +
             std::string(assembler_->schema()->field(fields[0].index)->name()) +
             "': expected an object at '" + std::string(name) + "', found " +
             std::string(value.raw.substr(0, 40));
    return false;
  }
  if (nested_parsers_.size() <= depth) {
    nested_parsers_.push_back(std::make_unique<JsonLineParser>());
  }
  JsonLineParser& parser = *nested_parsers_[depth];
  if (!parser.Parse(value.text)) {
    error_ = parser.error();
    return false;
  }
  for (const JsonMember& member : parser.members()) {
    std::vector<NestedField> deeper;
    for (const NestedField& field : fields) {
      if (field.path == member.key) {
        if (!StageValue(field.index, member.value))
          return Fail(field.index, member.value);
      } else if (field.path.size() > member.key.size() + 1 &&
                 field.path.substr(0, member.key.size()) == member.key &&
                 field.path[member.key.size()] == '.') {
        deeper.push_back({field.path.substr(member.key.size() + 1), field.index});
      }
    }
    if (!deeper.empty() && !StageNested(member.key, member.value, deeper, depth + 1)) {
      return false;
    }
  }
  return true;
}

int JsonObjectStager::LookUpField(std::string_view key) const {
  auto it = field_index_.find(key);
  return it == field_index_.end() ? -1 : it->second;
}

// A string field takes any value as its JSON text; strings convert to other types by
// the text rules (so "12" fills an int64 field).
bool JsonObjectStager::StageValue(int index, const JsonValue& value) {
  const bool to_string = assembler_->is_string(index);
  switch (value.type) {
    case JsonType::kNull:
      return true;
    case JsonType::kBool:
      return to_string ? assembler_->StageText(index, value.text)
                       : assembler_->StageBool(index, value.boolean);
    case JsonType::kInteger:
      return to_string ? assembler_->StageText(index, value.text)
                       : assembler_->StageInt64(index, value.integer);
    case JsonType::kUnsignedInteger:
      return to_string ? assembler_->StageText(index, value.text)
                       : assembler_->StageUInt64(index, value.unsigned_integer);
    case JsonType::kFloat:
      return to_string ? assembler_->StageText(index, value.text)
                       : assembler_->StageDouble(index, value.real);
    case JsonType::kString:
      if (to_string && line_is_utf8_) {
        assembler_->StageValidUtf8(index, value.text);
        return true;
      }
      return assembler_->StageText(index, value.text);
    case JsonType::kArray:
    case JsonType::kObject:
      return to_string && assembler_->StageText(index, value.text);
  }
  return false;
}

}  // namespace sabot
