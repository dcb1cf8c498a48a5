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

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/connectors/file/swar.h"

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

  // A cursor over an object whose keys are known in advance, for records that repeat
  // their keys: BeginObject(), then for each member Key() and one value reader, then
  // EndObject(). Each returns false when the line is not as expected (other keys, another
  // order, invalid JSON) and then sets no error; Parse() tells what the line holds.

  /// Starts `line` and reads its opening brace.
  bool BeginObject(std::string_view line) {
    Start(line);
    SkipBlanks();
    if (pos_ == end_ || *pos_ != '{') return false;
    ++pos_;
    return true;
  }
  /// Reads the comma before a member that is not the first, then `quoted_key` exactly
  /// as given (with its quotes, no escapes) and the colon after it.
  bool Key(std::string_view quoted_key, bool first) {
    SkipBlanks();
    if (!first) {
      if (pos_ == end_ || *pos_ != ',') return false;
      ++pos_;
      SkipBlanks();
    }
    if (static_cast<size_t>(end_ - pos_) < quoted_key.size() ||
        !SameText(std::string_view(pos_, quoted_key.size()), quoted_key)) {
      return false;
    }
    pos_ += quoted_key.size();
    SkipBlanks();
    if (pos_ == end_ || *pos_ != ':') return false;
    ++pos_;
    SkipBlanks();
    return true;
  }
  /// Reads the closing brace, which must end the line (blanks aside).
  bool EndObject() {
    SkipBlanks();
    if (pos_ == end_ || *pos_ != '}') return false;
    ++pos_;
    SkipBlanks();
    return pos_ == end_;
  }
  /// Reads any value.
  bool Value(JsonValue* value) { return ParseValue(value, 1); }
  /// Reads an integer of up to 18 digits, which always fits int64, and returns true;
  /// returns false and reads nothing at any other value (a fraction, an exponent, more
  /// digits, not a number), which Value() then reads.
  bool PlainInteger(int64_t* value) {
    const char* p = pos_;
    const bool negative = p < end_ && *p == '-';
    if (negative) ++p;
    const char* digits = p;
    uint64_t magnitude = 0;
    while (p < end_ && static_cast<unsigned char>(*p - '0') < 10) {
      magnitude = magnitude * 10 + static_cast<uint64_t>(*p - '0');
      ++p;
    }
    const auto num_digits = p - digits;
    // A leading zero is a number only alone ("0", not "01"); Value() rejects the rest.
    if (num_digits == 0 || num_digits > 18 || (*digits == '0' && num_digits > 1) ||
        (p < end_ && (*p == '.' || *p == 'e' || *p == 'E'))) {
      return false;
    }
    pos_ = p;
    *value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    return true;
  }
  /// Reads a number of up to 15 significant digits without an exponent, which converts
  /// to the nearest double exactly as Value() converts it, and returns true; returns
  /// false and reads nothing at any other value.
  bool PlainDecimal(double* value);
  /// Returns true at a string value, which String() reads.
  bool AtString() const { return pos_ < end_ && *pos_ == '"'; }
  /// Reads a string value into its decoded text.
  bool String(std::string_view* text) {
    // Most values end within their first eight bytes: found from one word, inline.
    if (end_ - pos_ > 8) {
      uint64_t word;
      std::memcpy(&word, pos_ + 1, sizeof(word));
      const uint64_t specials = StringSpecials(word);
      if (specials != 0) {
        const int length = std::countr_zero(specials) / 8;
        if (pos_[1 + length] == '"') {
          *text = std::string_view(pos_ + 1, static_cast<size_t>(length));
          pos_ += length + 2;
          return true;
        }
      }
    }
    return ParseString(text);
  }

  /// Returns a word whose lowest set bit is the high bit of the first of the eight bytes
  /// of `word` (in memory order, little-endian) that ends a plain run of string text: a
  /// quote, a backslash or a control character; 0 when none does.
  static uint64_t StringSpecials(uint64_t word) {
    return swar::BytesEqual(word, '"') | swar::BytesEqual(word, '\\') |
           swar::ControlBytes(word);
  }

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
