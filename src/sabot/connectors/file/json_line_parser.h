// A parser for JSON lines records: one JSON object (RFC 8259) per line, decoded into its
// top-level members. Scalars are decoded; nested objects and arrays are validated and
// kept as their JSON text.
//
// Why not simdjson: the pyarrow wheel's libarrow and libparquet export the symbols of
// their own, newer, simdjson build. In a process that loads them (every Sabot process),
// the dynamic linker binds the calls of code compiled against Debian's simdjson 3.0.1
// headers to those symbols, whose classes differ, and parsing crashes. A flat object
// per line needs only a small parser, which also lets errors say where a line breaks.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace sabot {

enum class JsonType : uint8_t {
  kNull,
  kBool,
  /// An integer that fits int64.
  kInteger,
  /// A non-negative integer above INT64_MAX that fits uint64.
  kUnsignedInteger,
  /// Any other number.
  kFloat,
  kString,
  kArray,
  kObject,
};

struct JsonValue {
  JsonType type = JsonType::kNull;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  double real = 0;
  /// Strings: the decoded text. Other values: their JSON text as written.
  std::string_view text;
  /// The value as written in the line (a string with its quotes and escapes).
  std::string_view raw;
};

struct JsonMember {
  std::string_view key;
  JsonValue value;
};

/// Compares two short texts eight bytes at a time, inline: a memcmp call per key costs
/// more than the comparison of a short key.
inline bool SameText(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    uint64_t word_a;
    uint64_t word_b;
    std::memcpy(&word_a, a.data() + i, sizeof(word_a));
    std::memcpy(&word_b, b.data() + i, sizeof(word_b));
    if (word_a != word_b) return false;
  }
  for (; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

/// Returns true when a line holds only blanks; JSON lines readers skip such lines.
inline bool IsBlankLine(std::string_view line) {
  // Most lines start with '{'; only lines starting with a blank need the scan.
  if (!line.empty() && static_cast<unsigned char>(line.front()) > ' ') return false;
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

/// Parses one line at a time. Memory is reused between lines, so parsing allocates only
/// while lines grow. Not thread-safe: one parser per reader.
class JsonLineParser {
 public:
  JsonLineParser();

  /// Parses `line`, which must hold exactly one JSON object (blanks around it allowed).
  /// Returns false when it does not, with the reason in error(). The members refer to
  /// `line` and to the parser's memory until the next call.
  bool Parse(std::string_view line);

  /// Parses `line` as an object whose members have exactly `quoted_keys`, in this order,
  /// each written as given (with its quotes, no escapes), into `values` (one per key).
  /// Returns false when the line is anything else: another key order, other keys,
  /// invalid JSON. It sets no error then; Parse() tells what the line holds. Records of
  /// one producer repeat their keys, so this path skips decoding and looking up keys.
  bool ParseKnownKeys(std::string_view line, const std::vector<std::string>& quoted_keys,
                      std::vector<JsonValue>* values);

  const std::vector<JsonMember>& members() const { return members_; }
  /// Returns why the last Parse() failed, e.g. "invalid JSON at column 12: expected a
  /// value" or "expected a JSON object, found [1, 2]".
  const std::string& error() const { return error_; }

 private:
  bool ParseValue(JsonValue* value, int depth);
  bool ParseString(std::string_view* decoded);
  bool ParseNumber(JsonValue* value);
  bool ParseLiteral(std::string_view literal);
  bool SkipNested(int depth);
  bool DecodeEscape();
  // Inline: called between all tokens, and blanks are rare in machine-written lines.
  void SkipBlanks() {
    while (pos_ < end_ && static_cast<unsigned char>(*pos_) <= ' ' &&
           (*pos_ == ' ' || *pos_ == '\t' || *pos_ == '\r' || *pos_ == '\n')) {
      ++pos_;
    }
  }
  bool Fail(std::string_view what);
  void Start(std::string_view line);

  const char* begin_ = nullptr;
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
  std::vector<JsonMember> members_;
  // Decoded strings that contained escapes. Reserved to the line's length before each
  // parse: decoding never lengthens text, so views into it stay valid.
  std::string decoded_;
  std::string error_;
};

}  // namespace sabot
