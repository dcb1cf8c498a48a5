#include "sabot/connectors/file/json_line_parser.h"

#include <bit>
#include <charconv>
#include <cstring>

namespace sabot {
namespace {

// Deeper nesting is almost certainly not a record; the limit also bounds recursion.
constexpr int kMaxDepth = 512;
constexpr size_t kMaxShownValueLength = 80;

bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// Up to 18 decimal digits always fit int64, so they are accumulated while scanning
// instead of being parsed a second time.
constexpr int kMaxExactDigits = 18;

// Decimal mantissas of up to 15 digits are below 2^53, so they are exact doubles.
constexpr int kMaxFastPathDigits = 15;
constexpr int kMaxExactPowerOfTen = 22;
constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace

JsonLineParser::JsonLineParser() = default;

bool JsonLineParser::Fail(std::string_view what) {
  error_ = "invalid JSON at column " + std::to_string(pos_ - begin_ + 1) + ": ";
  error_.append(what);
  return false;
}

void JsonLineParser::Start(std::string_view line) {
  begin_ = line.data();
  pos_ = begin_;
  end_ = begin_ + line.size();
  decoded_.clear();
  decoded_.reserve(line.size());
}

bool JsonLineParser::Parse(std::string_view line) {
  Start(line);
  members_.clear();
  SkipBlanks();
  if (pos_ == end_) return Fail("expected an object");
  if (*pos_ != '{') {
    JsonValue value;
    if (!ParseValue(&value, 0)) return false;
    SkipBlanks();
    if (pos_ != end_) return Fail("unexpected text after the value");
    error_ = "expected a JSON object, found ";
    error_.append(value.raw.substr(0, kMaxShownValueLength));
    if (value.raw.size() > kMaxShownValueLength) error_.append("...");
    return false;
  }
  ++pos_;
  SkipBlanks();
  if (pos_ < end_ && *pos_ == '}') {
    ++pos_;
  } else {
    while (true) {
      if (pos_ == end_ || *pos_ != '"') return Fail("expected a quoted key");
      JsonMember& member = members_.emplace_back();
      if (!ParseString(&member.key)) return false;
      SkipBlanks();
      if (pos_ == end_ || *pos_ != ':') return Fail("expected ':' after the key");
      ++pos_;
      SkipBlanks();
      if (!ParseValue(&member.value, 1)) return false;
      SkipBlanks();
      if (pos_ < end_ && *pos_ == ',') {
        ++pos_;
        SkipBlanks();
        continue;
      }
      if (pos_ < end_ && *pos_ == '}') {
        ++pos_;
        break;
      }
      return Fail("expected ',' or '}'");
    }
  }
  SkipBlanks();
  if (pos_ != end_) return Fail("unexpected text after the object");
  return true;
}

bool JsonLineParser::ParseValue(JsonValue* value, int depth) {
  const char* start = pos_;
  if (pos_ == end_) return Fail("expected a value");
  switch (*pos_) {
    case '"':
      value->type = JsonType::kString;
      if (!ParseString(&value->text)) return false;
      value->raw = std::string_view(start, pos_ - start);
      return true;
    case 't':
      value->type = JsonType::kBool;
      value->boolean = true;
      if (!ParseLiteral("true")) return false;
      break;
    case 'f':
      value->type = JsonType::kBool;
      value->boolean = false;
      if (!ParseLiteral("false")) return false;
      break;
    case 'n':
      value->type = JsonType::kNull;
      if (!ParseLiteral("null")) return false;
      break;
    case '{':
    case '[':
      value->type = *pos_ == '{' ? JsonType::kObject : JsonType::kArray;
      if (!SkipNested(depth + 1)) return false;
      break;
    default:
      if (*pos_ != '-' && !IsDigit(*pos_)) return Fail("expected a value");
      if (!ParseNumber(value)) return false;
      break;
  }
  value->raw = std::string_view(start, pos_ - start);
  value->text = value->raw;
  return true;
}

bool JsonLineParser::ParseLiteral(std::string_view literal) {
  if (static_cast<size_t>(end_ - pos_) < literal.size() ||
      std::memcmp(pos_, literal.data(), literal.size()) != 0) {
    return Fail("expected a value");
  }
  pos_ += literal.size();
  return true;
}

bool JsonLineParser::ParseNumber(JsonValue* value) {
  const char* start = pos_;
  const bool negative = *pos_ == '-';
  if (negative) ++pos_;
  if (pos_ == end_ || !IsDigit(*pos_)) return Fail("expected a digit");
  const char* digits = pos_;
  uint64_t magnitude = 0;
  if (*pos_ == '0') {
    ++pos_;
  } else {
    while (pos_ < end_ && IsDigit(*pos_)) {
      magnitude = magnitude * 10 + static_cast<uint64_t>(*pos_ - '0');
      ++pos_;
    }
  }
  const auto num_digits = pos_ - digits;
  bool integral = true;
  // Fraction digits continue the magnitude while it stays exact; `scale` counts them.
  auto significant_digits = num_digits;
  int scale = 0;
  if (pos_ < end_ && *pos_ == '.') {
    integral = false;
    ++pos_;
    if (pos_ == end_ || !IsDigit(*pos_)) return Fail("expected a digit after '.'");
    while (pos_ < end_ && IsDigit(*pos_)) {
      if (significant_digits < kMaxExactDigits) {
        magnitude = magnitude * 10 + static_cast<uint64_t>(*pos_ - '0');
        ++scale;
      }
      ++significant_digits;
      ++pos_;
    }
  }
  int exponent = 0;
  bool exponent_exact = true;
  if (pos_ < end_ && (*pos_ == 'e' || *pos_ == 'E')) {
    integral = false;
    ++pos_;
    const bool negative_exponent = pos_ < end_ && *pos_ == '-';
    if (pos_ < end_ && (*pos_ == '+' || *pos_ == '-')) ++pos_;
    if (pos_ == end_ || !IsDigit(*pos_)) return Fail("expected a digit in the exponent");
    while (pos_ < end_ && IsDigit(*pos_)) {
      if (exponent > kMaxExactPowerOfTen + kMaxExactDigits) {
        exponent_exact = false;
      } else {
        exponent = exponent * 10 + (*pos_ - '0');
      }
      ++pos_;
    }
    if (negative_exponent) exponent = -exponent;
  }
  if (integral && num_digits <= kMaxExactDigits) {
    value->type = JsonType::kInteger;
    value->integer =
        negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    return true;
  }
  // Clinger's fast path: a mantissa below 2^53 and a power of ten up to 10^22 are exact
  // doubles, so one IEEE multiplication or division rounds correctly, as from_chars
  // does, at a fraction of its cost (most prices and measurements take this path).
  const int power = exponent - scale;
  if (!integral && exponent_exact && significant_digits <= kMaxFastPathDigits &&
      power >= -kMaxExactPowerOfTen && power <= kMaxExactPowerOfTen) {
    double real = static_cast<double>(magnitude);
    real = power < 0 ? real / kPowersOfTen[-power] : real * kPowersOfTen[power];
    value->type = JsonType::kFloat;
    value->real = negative ? -real : real;
    return true;
  }
  if (integral) {
    if (std::from_chars(start, pos_, value->integer).ec == std::errc()) {
      value->type = JsonType::kInteger;
      return true;
    }
    if (*start != '-' &&
        std::from_chars(start, pos_, value->unsigned_integer).ec == std::errc()) {
      value->type = JsonType::kUnsignedInteger;
      return true;
    }
  }
  if (std::from_chars(start, pos_, value->real).ec != std::errc()) {
    pos_ = start;
    return Fail("number out of range");
  }
  value->type = JsonType::kFloat;
  return true;
}

bool JsonLineParser::PlainDecimal(double* value) {
  const char* p = pos_;
  const bool negative = p < end_ && *p == '-';
  if (negative) ++p;
  const char* digits = p;
  uint64_t magnitude = 0;
  while (p < end_ && IsDigit(*p)) {
    magnitude = magnitude * 10 + static_cast<uint64_t>(*p - '0');
    ++p;
  }
  const auto integer_digits = p - digits;
  if (integer_digits == 0 || (*digits == '0' && integer_digits > 1)) return false;
  if (p == end_ || *p != '.') {
    if (integer_digits > kMaxFastPathDigits ||
        (p < end_ && (*p == 'e' || *p == 'E'))) {
      return false;
    }
    // An integer converts as Value() reads it, an int64 first: "-0" is 0.0.
    const auto integer = static_cast<int64_t>(magnitude);
    *value = static_cast<double>(negative ? -integer : integer);
    pos_ = p;
    return true;
  }
  ++p;
  const char* fraction = p;
  while (p < end_ && IsDigit(*p)) {
    magnitude = magnitude * 10 + static_cast<uint64_t>(*p - '0');
    ++p;
  }
  const auto scale = p - fraction;
  if (scale == 0 || integer_digits + scale > kMaxFastPathDigits ||
      (p < end_ && (*p == 'e' || *p == 'E'))) {
    return false;
  }
  // Clinger's fast path, as in ParseNumber().
  const double real = static_cast<double>(magnitude) / kPowersOfTen[scale];
  *value = negative ? -real : real;
  pos_ = p;
  return true;
}

bool JsonLineParser::ParseString(std::string_view* decoded) {
  ++pos_;
  const char* start = pos_;
  // Most strings have no escapes: they are returned as a view into the line. Plain text
  // is scanned eight bytes at a time, and the first special byte is found from the
  // word's mask, so a short key or value ends without a byte loop.
  static_assert(std::endian::native == std::endian::little);
  while (end_ - pos_ >= 8) {
    uint64_t word;
    std::memcpy(&word, pos_, sizeof(word));
    const uint64_t specials = StringSpecials(word);
    if (specials == 0) {
      pos_ += 8;
      continue;
    }
    pos_ += std::countr_zero(specials) / 8;
    if (*pos_ == '"') {
      *decoded = std::string_view(start, pos_ - start);
      ++pos_;
      return true;
    }
    break;
  }
  while (pos_ < end_) {
    const auto c = static_cast<unsigned char>(*pos_);
    if (c == '"') {
      *decoded = std::string_view(start, pos_ - start);
      ++pos_;
      return true;
    }
    if (c == '\\') break;
    if (c < 0x20) return Fail("control character in a string");
    ++pos_;
  }
  if (pos_ == end_) return Fail("unterminated string");
  const size_t offset = decoded_.size();
  decoded_.append(start, pos_ - start);
  while (pos_ < end_) {
    const auto c = static_cast<unsigned char>(*pos_);
    if (c == '"') {
      ++pos_;
      *decoded = std::string_view(decoded_.data() + offset, decoded_.size() - offset);
      return true;
    }
    if (c < 0x20) return Fail("control character in a string");
    if (c == '\\') {
      if (!DecodeEscape()) return false;
    } else {
      decoded_.push_back(static_cast<char>(c));
      ++pos_;
    }
  }
  return Fail("unterminated string");
}

bool JsonLineParser::DecodeEscape() {
  const auto read_hex4 = [this](uint32_t* unit) {
    if (end_ - pos_ < 4) return false;
    *unit = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = HexValue(pos_[i]);
      if (digit < 0) return false;
      *unit = (*unit << 4) | static_cast<uint32_t>(digit);
    }
    pos_ += 4;
    return true;
  };
  ++pos_;
  if (pos_ == end_) return Fail("unterminated string");
  switch (*pos_++) {
    case '"':
      decoded_.push_back('"');
      return true;
    case '\\':
      decoded_.push_back('\\');
      return true;
    case '/':
      decoded_.push_back('/');
      return true;
    case 'b':
      decoded_.push_back('\b');
      return true;
    case 'f':
      decoded_.push_back('\f');
      return true;
    case 'n':
      decoded_.push_back('\n');
      return true;
    case 'r':
      decoded_.push_back('\r');
      return true;
    case 't':
      decoded_.push_back('\t');
      return true;
    case 'u': {
      uint32_t unit;
      if (!read_hex4(&unit)) return Fail("expected 4 hex digits after \\u");
      if (unit >= 0xDC00 && unit <= 0xDFFF)
        return Fail("unpaired surrogate in \\u escape");
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        uint32_t low;
        if (end_ - pos_ < 2 || pos_[0] != '\\' || pos_[1] != 'u') {
          return Fail("unpaired surrogate in \\u escape");
        }
        pos_ += 2;
        if (!read_hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
          return Fail("unpaired surrogate in \\u escape");
        }
        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
      }
      AppendUtf8(unit, &decoded_);
      return true;
    }
    default:
      --pos_;
      return Fail("invalid escape in a string");
  }
}

bool JsonLineParser::SkipNested(int depth) {
  if (depth > kMaxDepth) return Fail("nested too deeply");
  const bool object = *pos_ == '{';
  const char close = object ? '}' : ']';
  ++pos_;
  SkipBlanks();
  if (pos_ < end_ && *pos_ == close) {
    ++pos_;
    return true;
  }
  JsonValue element;
  while (true) {
    if (object) {
      std::string_view key;
      if (pos_ == end_ || *pos_ != '"') return Fail("expected a quoted key");
      if (!ParseString(&key)) return false;
      SkipBlanks();
      if (pos_ == end_ || *pos_ != ':') return Fail("expected ':' after the key");
      ++pos_;
      SkipBlanks();
    }
    if (!ParseValue(&element, depth)) return false;
    SkipBlanks();
    if (pos_ < end_ && *pos_ == ',') {
      ++pos_;
      SkipBlanks();
      continue;
    }
    if (pos_ < end_ && *pos_ == close) {
      ++pos_;
      return true;
    }
    return Fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

}  // namespace sabot
