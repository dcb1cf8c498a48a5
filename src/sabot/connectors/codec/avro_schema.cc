#include "sabot/connectors/codec/avro_schema.h"

#include <charconv>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include <arrow/type.h>

#include "sabot/connectors/json_lines_format.h"

namespace sabot {
namespace {

// Avro schemas nest arrays and objects, which the project's JSON lines parser keeps as
// text; this small tree parser reads them whole. Schemas are small and parsed once per
// schema id, so it favours simplicity over speed.
struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = kNull;
  bool boolean = false;
  // kNumber: the number as written; kString: the decoded text.
  std::string text;
  std::vector<Json> elements;
  std::vector<std::pair<std::string, Json>> members;

  const Json* Find(std::string_view key) const {
    for (const auto& [name, value] : members) {
      if (name == key) return &value;
    }
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  Status Parse(Json* value) {
    ARROW_RETURN_NOT_OK(ParseValue(value, 0));
    SkipBlanks();
    if (pos_ != text_.size()) return Fail("unexpected text after the schema");
    return Status::OK();
  }

 private:
  // Deeper schemas are not written by people or tools; the limit keeps a hostile
  // registry response from exhausting the stack.
  static constexpr int kMaxDepth = 64;

  Status Fail(std::string_view what) const {
    return Status::Invalid("avro: invalid schema JSON at byte ", pos_, ": ", what);
  }

  void SkipBlanks() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(char c) {
    SkipBlanks();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  Status ParseValue(Json* value, int depth) {
    if (depth > kMaxDepth) return Fail("nested too deeply");
    SkipBlanks();
    if (pos_ == text_.size()) return Fail("expected a value, found the end");
    const char c = text_[pos_];
    if (c == '"') {
      value->kind = Json::kString;
      return ParseString(&value->text);
    }
    if (c == '{') {
      ++pos_;
      value->kind = Json::kObject;
      if (Consume('}')) return Status::OK();
      do {
        SkipBlanks();
        if (pos_ == text_.size() || text_[pos_] != '"') return Fail("expected a key");
        std::string key;
        ARROW_RETURN_NOT_OK(ParseString(&key));
        if (!Consume(':')) return Fail("expected ':'");
        Json member;
        ARROW_RETURN_NOT_OK(ParseValue(&member, depth + 1));
        value->members.emplace_back(std::move(key), std::move(member));
      } while (Consume(','));
      if (!Consume('}')) return Fail("expected ',' or '}'");
      return Status::OK();
    }
    if (c == '[') {
      ++pos_;
      value->kind = Json::kArray;
      if (Consume(']')) return Status::OK();
      do {
        Json element;
        ARROW_RETURN_NOT_OK(ParseValue(&element, depth + 1));
        value->elements.push_back(std::move(element));
      } while (Consume(','));
      if (!Consume(']')) return Fail("expected ',' or ']'");
      return Status::OK();
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      const size_t start = pos_;
      while (pos_ < text_.size() &&
             std::string_view("0123456789+-.eE").find(text_[pos_]) != std::string::npos) {
        ++pos_;
      }
      value->kind = Json::kNumber;
      value->text = std::string(text_.substr(start, pos_ - start));
      return Status::OK();
    }
    for (auto [literal, kind, boolean] :
         {std::tuple{"null", Json::kNull, false}, std::tuple{"true", Json::kBool, true},
          std::tuple{"false", Json::kBool, false}}) {
      if (text_.substr(pos_).starts_with(literal)) {
        pos_ += std::string_view(literal).size();
        value->kind = kind;
        value->boolean = boolean;
        return Status::OK();
      }
    }
    return Fail("expected a value");
  }

  Status ParseString(std::string* out) {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return Status::OK();
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ == text_.size()) break;
      const char escape = text_[pos_++];
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out->push_back(escape);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t code = 0;
          ARROW_RETURN_NOT_OK(ParseHex4(&code));
          if (code >= 0xd800 && code <= 0xdbff && text_.substr(pos_).starts_with("\\u")) {
            pos_ += 2;
            uint32_t low = 0;
            ARROW_RETURN_NOT_OK(ParseHex4(&low));
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          }
          AppendUtf8(code, out);
          break;
        }
        default:
          return Fail("invalid escape in a string");
      }
    }
    return Fail("unterminated string");
  }

  Status ParseHex4(uint32_t* code) {
    if (text_.size() - pos_ < 4) return Fail("truncated \\u escape");
    auto result =
        std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, *code, 16);
    if (result.ptr != text_.data() + pos_ + 4) return Fail("invalid \\u escape");
    pos_ += 4;
    return Status::OK();
  }

  static void AppendUtf8(uint32_t code, std::string* out) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xc0 | code >> 6));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | code >> 12));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | code >> 18));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

const char* TypeName(AvroType type) {
  switch (type) {
    case AvroType::kNull:
      return "null";
    case AvroType::kBoolean:
      return "boolean";
    case AvroType::kInt:
      return "int";
    case AvroType::kLong:
      return "long";
    case AvroType::kFloat:
      return "float";
    case AvroType::kDouble:
      return "double";
    case AvroType::kBytes:
      return "bytes";
    case AvroType::kString:
      return "string";
    case AvroType::kRecord:
      return "record";
    case AvroType::kEnum:
      return "enum";
    case AvroType::kFixed:
      return "fixed";
    case AvroType::kArray:
      return "array";
    case AvroType::kMap:
      return "map";
    case AvroType::kUnion:
      return "union";
  }
  return "?";
}

const char* LogicalTypeName(AvroLogicalType type) {
  switch (type) {
    case AvroLogicalType::kNone:
      return "";
    case AvroLogicalType::kDate:
      return "date";
    case AvroLogicalType::kTimestampMillis:
      return "timestamp-millis";
    case AvroLogicalType::kTimestampMicros:
      return "timestamp-micros";
    case AvroLogicalType::kTimestampNanos:
      return "timestamp-nanos";
  }
  return "";
}

bool ParsePrimitive(std::string_view name, AvroType* type) {
  static const std::pair<std::string_view, AvroType> kPrimitives[] = {
      {"null", AvroType::kNull},   {"boolean", AvroType::kBoolean},
      {"int", AvroType::kInt},     {"long", AvroType::kLong},
      {"float", AvroType::kFloat}, {"double", AvroType::kDouble},
      {"bytes", AvroType::kBytes}, {"string", AvroType::kString}};
  for (const auto& [primitive, primitive_type] : kPrimitives) {
    if (name == primitive) {
      *type = primitive_type;
      return true;
    }
  }
  return false;
}

AvroLogicalType ParseLogicalType(AvroType type, const Json* logical) {
  if (logical == nullptr || logical->kind != Json::kString) return AvroLogicalType::kNone;
  const std::string& name = logical->text;
  if (type == AvroType::kInt && name == "date") return AvroLogicalType::kDate;
  if (type != AvroType::kLong) return AvroLogicalType::kNone;
  if (name == "timestamp-millis" || name == "local-timestamp-millis") {
    return AvroLogicalType::kTimestampMillis;
  }
  if (name == "timestamp-micros" || name == "local-timestamp-micros") {
    return AvroLogicalType::kTimestampMicros;
  }
  if (name == "timestamp-nanos" || name == "local-timestamp-nanos") {
    return AvroLogicalType::kTimestampNanos;
  }
  return AvroLogicalType::kNone;
}

// Builds AvroSchema trees, remembering named types so that later references resolve.
class SchemaBuilder {
 public:
  Result<std::shared_ptr<const AvroSchema>> Build(const Json& json,
                                                  const std::string& enclosing_namespace,
                                                  const std::string& path) {
    switch (json.kind) {
      case Json::kString:
        return Reference(json.text, enclosing_namespace, path);
      case Json::kArray:
        return Union(json, enclosing_namespace, path);
      case Json::kObject:
        return Object(json, enclosing_namespace, path);
      default:
        return Status::Invalid("avro: schema at ", path,
                               " is not a type name, an object or a union");
    }
  }

 private:
  Result<std::shared_ptr<const AvroSchema>> Reference(
      const std::string& name, const std::string& enclosing_namespace,
      const std::string& path) {
    auto schema = std::make_shared<AvroSchema>();
    if (ParsePrimitive(name, &schema->type)) return schema;
    const std::string full_name = FullName(name, enclosing_namespace);
    for (const std::string& candidate : {full_name, name}) {
      if (auto found = named_.find(candidate); found != named_.end())
        return found->second;
      if (in_progress_.count(candidate) > 0) {
        return Status::NotImplemented("avro: schema at ", path,
                                      " refers to the enclosing record ", candidate,
                                      "; recursive types are not supported");
      }
    }
    return Status::Invalid("avro: schema at ", path, " refers to unknown type '", name,
                           "'");
  }

  Result<std::shared_ptr<const AvroSchema>> Union(const Json& json,
                                                  const std::string& enclosing_namespace,
                                                  const std::string& path) {
    auto schema = std::make_shared<AvroSchema>();
    schema->type = AvroType::kUnion;
    for (size_t i = 0; i < json.elements.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto branch, Build(json.elements[i], enclosing_namespace,
                                               path + "[" + std::to_string(i) + "]"));
      if (branch->type == AvroType::kUnion) {
        return Status::Invalid("avro: schema at ", path,
                               " nests a union in a union, which Avro does not allow");
      }
      schema->branches.push_back(std::move(branch));
    }
    if (schema->branches.empty()) {
      return Status::Invalid("avro: schema at ", path, " is an empty union");
    }
    return schema;
  }

  Result<std::shared_ptr<const AvroSchema>> Object(const Json& json,
                                                   const std::string& enclosing_namespace,
                                                   const std::string& path) {
    const Json* type = json.Find("type");
    if (type == nullptr) {
      return Status::Invalid("avro: schema object at ", path, " has no \"type\"");
    }
    if (type->kind != Json::kString) {
      // {"type": {...}} and {"type": [...]} wrap a schema in an object.
      return Build(*type, enclosing_namespace, path + ".type");
    }
    auto schema = std::make_shared<AvroSchema>();
    if (ParsePrimitive(type->text, &schema->type)) {
      schema->logical_type = ParseLogicalType(schema->type, json.Find("logicalType"));
      return schema;
    }
    if (type->text == "array" || type->text == "map") {
      schema->type = type->text == "array" ? AvroType::kArray : AvroType::kMap;
      const char* key = schema->type == AvroType::kArray ? "items" : "values";
      const Json* items = json.Find(key);
      if (items == nullptr) {
        return Status::Invalid("avro: ", type->text, " at ", path, " has no \"", key,
                               "\"");
      }
      ARROW_ASSIGN_OR_RAISE(schema->items,
                            Build(*items, enclosing_namespace, path + "." + key));
      return schema;
    }
    if (type->text == "record" || type->text == "error") {
      schema->type = AvroType::kRecord;
    } else if (type->text == "enum") {
      schema->type = AvroType::kEnum;
    } else if (type->text == "fixed") {
      schema->type = AvroType::kFixed;
    } else {
      // A named type written as {"type": "com.example.Name"}.
      return Reference(type->text, enclosing_namespace, path);
    }
    return Named(json, schema, enclosing_namespace, path);
  }

  Result<std::shared_ptr<const AvroSchema>> Named(const Json& json,
                                                  std::shared_ptr<AvroSchema> schema,
                                                  const std::string& enclosing_namespace,
                                                  const std::string& path) {
    const Json* name = json.Find("name");
    if (name == nullptr || name->kind != Json::kString || name->text.empty()) {
      return Status::Invalid("avro: ", TypeName(schema->type), " at ", path,
                             " has no \"name\"");
    }
    const Json* name_space = json.Find("namespace");
    std::string own_namespace = enclosing_namespace;
    if (name_space != nullptr && name_space->kind == Json::kString) {
      own_namespace = name_space->text;
    }
    schema->name = FullName(name->text, own_namespace);
    // Names inside a type resolve against its namespace, which a dotted name sets.
    const size_t last_dot = schema->name.rfind('.');
    own_namespace = last_dot == std::string::npos ? "" : schema->name.substr(0, last_dot);

    switch (schema->type) {
      case AvroType::kRecord: {
        const Json* fields = json.Find("fields");
        if (fields == nullptr || fields->kind != Json::kArray) {
          return Status::Invalid("avro: record ", schema->name, " at ", path,
                                 " has no \"fields\" array");
        }
        in_progress_.insert(schema->name);
        for (size_t i = 0; i < fields->elements.size(); ++i) {
          const std::string field_path = path + ".fields[" + std::to_string(i) + "]";
          const Json& field = fields->elements[i];
          const Json* field_name = field.Find("name");
          const Json* field_type = field.Find("type");
          if (field_name == nullptr || field_name->kind != Json::kString ||
              field_type == nullptr) {
            return Status::Invalid("avro: field at ", field_path,
                                   " needs a \"name\" and a \"type\"");
          }
          ARROW_ASSIGN_OR_RAISE(auto type,
                                Build(*field_type, own_namespace, field_path + ".type"));
          schema->fields.push_back(AvroField{field_name->text, std::move(type)});
        }
        in_progress_.erase(schema->name);
        break;
      }
      case AvroType::kEnum: {
        const Json* symbols = json.Find("symbols");
        if (symbols == nullptr || symbols->kind != Json::kArray) {
          return Status::Invalid("avro: enum ", schema->name, " at ", path,
                                 " has no \"symbols\" array");
        }
        for (const Json& symbol : symbols->elements) {
          if (symbol.kind != Json::kString) {
            return Status::Invalid("avro: enum ", schema->name, " at ", path,
                                   " has a symbol that is not a string");
          }
          schema->symbols.push_back(symbol.text);
        }
        break;
      }
      case AvroType::kFixed: {
        const Json* size = json.Find("size");
        int64_t bytes = -1;
        if (size != nullptr && size->kind == Json::kNumber) {
          std::from_chars(size->text.data(), size->text.data() + size->text.size(),
                          bytes);
        }
        if (bytes < 0) {
          return Status::Invalid("avro: fixed ", schema->name, " at ", path,
                                 " needs a non-negative integer \"size\"");
        }
        schema->size = bytes;
        break;
      }
      default:
        break;
    }
    named_[schema->name] = schema;
    return schema;
  }

  static std::string FullName(const std::string& name, const std::string& name_space) {
    if (name.find('.') != std::string::npos || name_space.empty()) return name;
    return name_space + "." + name;
  }

  std::map<std::string, std::shared_ptr<const AvroSchema>> named_;
  std::set<std::string> in_progress_;
};

bool IsAvroName(std::string_view name) {
  const auto is_letter = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  };
  if (name.empty() || !is_letter(name.front())) return false;
  for (char c : name) {
    if (!is_letter(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Returns the Avro type JSON of a non-null column, or NotImplemented naming it.
Result<std::string> AvroTypeOf(const arrow::Field& field) {
  switch (field.type()->id()) {
    case arrow::Type::BOOL:
      return "\"boolean\"";
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
      return "\"int\"";
    case arrow::Type::INT64:
    case arrow::Type::UINT32:
      return "\"long\"";
    case arrow::Type::FLOAT:
      return "\"float\"";
    case arrow::Type::DOUBLE:
      return "\"double\"";
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
      return "\"string\"";
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
      return "\"bytes\"";
    case arrow::Type::DATE32:
      return R"({"type":"int","logicalType":"date"})";
    case arrow::Type::TIMESTAMP:
      switch (static_cast<const arrow::TimestampType&>(*field.type()).unit()) {
        case arrow::TimeUnit::SECOND:
        case arrow::TimeUnit::MILLI:
          return R"({"type":"long","logicalType":"timestamp-millis"})";
        case arrow::TimeUnit::MICRO:
          return R"({"type":"long","logicalType":"timestamp-micros"})";
        case arrow::TimeUnit::NANO:
          return R"({"type":"long","logicalType":"timestamp-nanos"})";
      }
      break;
    default:
      break;
  }
  return Status::NotImplemented(
      "avro: cannot write column '", field.name(), "' of type ", field.type()->ToString(),
      "; supported types: bool, int8 to int64, uint8 to uint32, float, double, string, "
      "large_string, binary, large_binary, date32, timestamp");
}

}  // namespace

std::string AvroSchema::ToString() const {
  std::string text = TypeName(type);
  switch (type) {
    case AvroType::kRecord:
    case AvroType::kEnum:
    case AvroType::kFixed:
      return text + " " + name;
    case AvroType::kArray:
    case AvroType::kMap:
      return text + " of " + items->ToString();
    case AvroType::kUnion:
      text += " [";
      for (size_t i = 0; i < branches.size(); ++i) {
        if (i > 0) text += ", ";
        text += branches[i]->ToString();
      }
      return text + "]";
    default:
      if (logical_type != AvroLogicalType::kNone) {
        text = text + " (" + LogicalTypeName(logical_type) + ")";
      }
      return text;
  }
}

Result<std::shared_ptr<const AvroSchema>> ParseAvroSchema(std::string_view json) {
  Json tree;
  ARROW_RETURN_NOT_OK(JsonParser(json).Parse(&tree));
  SchemaBuilder builder;
  return builder.Build(tree, "", "schema");
}

Result<std::string> AvroSchemaFromArrow(const arrow::Schema& schema) {
  std::string json = R"({"type":"record","name":"sabot_record","fields":[)";
  for (int i = 0; i < schema.num_fields(); ++i) {
    const arrow::Field& field = *schema.field(i);
    if (!IsAvroName(field.name())) {
      return Status::Invalid("avro: column name '", field.name(),
                             "' is not a valid Avro field name ([A-Za-z_][A-Za-z0-9_]*); "
                             "rename the column before writing Avro");
    }
    ARROW_ASSIGN_OR_RAISE(std::string type, AvroTypeOf(field));
    if (i > 0) json += ',';
    json += R"({"name":)";
    AppendJsonString(field.name(), &json);
    if (field.nullable()) {
      json += R"(,"type":["null",)" + type + R"(],"default":null})";
    } else {
      json += R"(,"type":)" + type + "}";
    }
  }
  json += "]}";
  return json;
}

}  // namespace sabot
