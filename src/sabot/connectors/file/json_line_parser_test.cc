#include "sabot/connectors/file/json_line_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "sabot/connectors/file/file_testing.h"

namespace sabot {
namespace {

TEST(JsonLineParserTest, DecodesTopLevelMembersInOrder) {
  JsonLineParser parser;
  ASSERT_TRUE(parser.Parse(
      R"( {"i": -12, "u": 18446744073709551615, "f": 2.5e-3, "b": false, "n": null,
           "s": "plain", "o": {"a": [1, {"b": null}]}, "a": []} )"))
      << parser.error();
  const auto& members = parser.members();
  ASSERT_EQ(members.size(), 8u);
  EXPECT_EQ(members[0].key, "i");
  EXPECT_EQ(members[0].value.type, JsonType::kInteger);
  EXPECT_EQ(members[0].value.integer, -12);
  EXPECT_EQ(members[1].value.type, JsonType::kUnsignedInteger);
  EXPECT_EQ(members[1].value.unsigned_integer, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(members[2].value.type, JsonType::kFloat);
  EXPECT_DOUBLE_EQ(members[2].value.real, 0.0025);
  EXPECT_EQ(members[2].value.text, "2.5e-3");
  EXPECT_EQ(members[3].value.type, JsonType::kBool);
  EXPECT_FALSE(members[3].value.boolean);
  EXPECT_EQ(members[4].value.type, JsonType::kNull);
  EXPECT_EQ(members[5].value.type, JsonType::kString);
  EXPECT_EQ(members[5].value.text, "plain");
  EXPECT_EQ(members[5].value.raw, "\"plain\"");
  EXPECT_EQ(members[6].value.type, JsonType::kObject);
  EXPECT_EQ(members[6].value.text, R"({"a": [1, {"b": null}]})");
  EXPECT_EQ(members[7].value.type, JsonType::kArray);
  EXPECT_EQ(members[7].value.text, "[]");
}

TEST(JsonLineParserTest, DecodesEscapesIncludingSurrogatePairs) {
  JsonLineParser parser;
  ASSERT_TRUE(parser.Parse(
      R"({"k\"ey": "q\" b\\ s\/ \b\f\n\r\t \u00e9 \u65e5 \ud83d\ude80", "next": "x"})"))
      << parser.error();
  ASSERT_EQ(parser.members().size(), 2u);
  EXPECT_EQ(parser.members()[0].key, "k\"ey");
  EXPECT_EQ(parser.members()[0].value.text,
            "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x9a\x80");
  EXPECT_EQ(parser.members()[1].value.text, "x");
}

TEST(JsonLineParserTest, EmptyObjectHasNoMembers) {
  JsonLineParser parser;
  ASSERT_TRUE(parser.Parse("{ }")) << parser.error();
  EXPECT_TRUE(parser.members().empty());
}

TEST(JsonLineParserTest, HugeIntegersBecomeFloats) {
  JsonLineParser parser;
  ASSERT_TRUE(parser.Parse(R"({"v": -99999999999999999999})")) << parser.error();
  EXPECT_EQ(parser.members()[0].value.type, JsonType::kFloat);
  EXPECT_DOUBLE_EQ(parser.members()[0].value.real, -1e20);
}

// Digits are read eight at a time: integers and decimals of every length from 1 to 20
// digits, with every amount of text after them (so that the run ends at each byte of a
// word, or with the line), must read as std::from_chars reads them.
TEST(JsonLineParserTest, NumbersOfEveryLengthMatchFromChars) {
  std::mt19937_64 random(11);
  JsonLineParser parser;
  for (int digits = 1; digits <= 20; ++digits) {
    for (int tail = 0; tail <= 9; ++tail) {
      for (int trial = 0; trial < 20; ++trial) {
        std::string number = std::to_string(1 + random() % 9);
        while (static_cast<int>(number.size()) < digits) {
          number.push_back(static_cast<char>('0' + random() % 10));
        }
        if (trial % 2 == 1) number.insert(number.begin(), '-');
        std::string fraction;
        if (trial % 4 >= 2) {
          fraction = ".";
          for (int i = 0; i <= trial % 11; ++i) {
            fraction.push_back(static_cast<char>('0' + random() % 10));
          }
        }
        const std::string text = number + fraction;
        std::string line = R"({"v":)" + text + std::string(tail, ' ') + "}";
        ASSERT_TRUE(parser.Parse(line)) << line << ": " << parser.error();
        const JsonValue& value = parser.members()[0].value;
        int64_t integer;
        if (fraction.empty() &&
            std::from_chars(text.data(), text.data() + text.size(), integer).ec ==
                std::errc()) {
          ASSERT_EQ(value.type, JsonType::kInteger) << line;
          EXPECT_EQ(value.integer, integer) << line;
          continue;
        }
        double real;
        std::from_chars(text.data(), text.data() + text.size(), real);
        if (value.type == JsonType::kUnsignedInteger) {
          EXPECT_EQ(std::to_string(value.unsigned_integer), text) << line;
        } else {
          ASSERT_EQ(value.type, JsonType::kFloat) << line;
          EXPECT_EQ(value.real, real) << line;
        }
      }
    }
  }
}

TEST(JsonLineParserTest, RejectsMalformedLinesSayingWhere) {
  const struct {
    const char* line;
    const char* error;
  } cases[] = {
      {R"({"a": })", "invalid JSON at column 7: expected a value"},
      {R"({"a": 1,})", "column 9: expected a quoted key"},
      {R"({"a" 1})", "expected ':' after the key"},
      {R"({"a": 1} x)", "unexpected text after the object"},
      {R"({"a": 01})", "expected ',' or '}'"},
      {R"({"a": 1.})", "expected a digit after '.'"},
      {R"({"a": 1e})", "expected a digit in the exponent"},
      {R"({"a": -})", "expected a digit"},
      {R"({"a": tru})", "expected a value"},
      {R"({"a": "x)", "unterminated string"},
      {"{\"a\": \"tab\there\"}", "control character in a string"},
      {R"({"a": "\x"})", "invalid escape in a string"},
      {R"({"a": "\u12"})", "expected 4 hex digits"},
      {R"({"a": "\udc00"})", "unpaired surrogate"},
      {R"({"a": "\ud83d"})", "unpaired surrogate"},
      {R"({"a": [1, 2})", "expected ',' or ']'"},
      {R"({"a": {"b" 1}})", "expected ':' after the key"},
      {R"({"a": 1e999})", "number out of range"},
      {R"([1, 2])", "expected a JSON object, found [1, 2]"},
      {R"("text")", "expected a JSON object, found \"text\""},
      {"{", "expected a quoted key"},
  };
  JsonLineParser parser;
  for (const auto& c : cases) {
    EXPECT_FALSE(parser.Parse(c.line)) << c.line;
    EXPECT_TRUE(testing::Contains(parser.error(), c.error)) << c.line;
  }
}

TEST(JsonLineParserTest, RejectsExcessiveNesting) {
  JsonLineParser parser;
  const std::string deep =
      "{\"a\": " + std::string(600, '[') + std::string(600, ']') + "}";
  EXPECT_FALSE(parser.Parse(deep));
  EXPECT_TRUE(testing::Contains(parser.error(), "nested too deeply"));
}

TEST(JsonLineParserTest, ReusesItselfAcrossLines) {
  JsonLineParser parser;
  ASSERT_FALSE(parser.Parse("{"));
  ASSERT_TRUE(parser.Parse(R"({"x": "a\nb"})")) << parser.error();
  ASSERT_EQ(parser.members().size(), 1u);
  EXPECT_EQ(parser.members()[0].value.text, "a\nb");
}

// Floating point numbers decode exactly as std::from_chars reads them (the parser takes
// a shortcut for short mantissas): random mantissas, fractions and exponents around the
// shortcut's limits of 15 digits and 10^22.
TEST(JsonLineParserTest, FloatsMatchFromChars) {
  std::mt19937_64 random(7);
  JsonLineParser parser;
  for (int i = 0; i < 200000; ++i) {
    std::string number = (random() % 4 == 0) ? "-" : "";
    const int int_digits = 1 + static_cast<int>(random() % 12);
    number += std::to_string(1 + random() % 9);
    for (int d = 1; d < int_digits; ++d) number += std::to_string(random() % 10);
    if (random() % 8 == 0) number = number.front() == '-' ? "-0" : "0";
    const int fraction_digits = static_cast<int>(random() % 12);
    if (fraction_digits > 0 || random() % 2 == 0) {
      number += '.';
      for (int d = 0; d < std::max(fraction_digits, 1); ++d) {
        number += std::to_string(random() % 10);
      }
    }
    if (random() % 3 == 0) {
      number += (random() % 2 == 0) ? "e" : "E-";
      number += std::to_string(random() % 30);
    }
    const std::string line = "{\"x\": " + number + "}";
    ASSERT_TRUE(parser.Parse(line)) << line << ": " << parser.error();
    const JsonValue& value = parser.members()[0].value;
    if (value.type == JsonType::kInteger) continue;
    ASSERT_EQ(value.type, JsonType::kFloat) << line;
    double expected = 0;
    ASSERT_EQ(std::from_chars(number.data(), number.data() + number.size(), expected).ec,
              std::errc())
        << number;
    ASSERT_EQ(value.real, expected) << number;
    ASSERT_EQ(std::signbit(value.real), std::signbit(expected)) << number;
  }
}

// The known-key cursor's number shortcuts read what Value() reads: PlainInteger() an
// int64 and PlainDecimal() a double equal to the value Value() gives (an integer
// converted), sign of zero included, or they decline and leave the cursor where it was.
TEST(JsonLineParserTest, NumberShortcutsReadAsValueDoes) {
  std::mt19937_64 random(5);
  JsonLineParser cursor;
  JsonLineParser parser;
  int integers = 0;
  int decimals = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string number = (random() % 4 == 0) ? "-" : "";
    const int int_digits = 1 + static_cast<int>(random() % 20);
    number += std::to_string(1 + random() % 9);
    for (int d = 1; d < int_digits; ++d) number += std::to_string(random() % 10);
    if (random() % 8 == 0) number = number.front() == '-' ? "-0" : "0";
    if (random() % 2 == 0) {
      number += '.';
      const int fraction_digits = static_cast<int>(random() % 12);
      for (int d = 0; d < fraction_digits; ++d) number += std::to_string(random() % 10);
    }
    if (random() % 6 == 0) number += "e" + std::to_string(random() % 30);
    if (random() % 16 == 0) number.insert(number.front() == '-' ? 1 : 0, "0");
    const std::string line = R"({"x": )" + number + "}";
    const bool valid = parser.Parse(line);
    const JsonValue* value = valid ? &parser.members()[0].value : nullptr;

    ASSERT_TRUE(cursor.BeginObject(line) && cursor.Key("\"x\"", true)) << line;
    int64_t integer;
    if (cursor.PlainInteger(&integer)) {
      ++integers;
      ASSERT_TRUE(cursor.EndObject()) << line;
      ASSERT_TRUE(valid && value->type == JsonType::kInteger) << line;
      EXPECT_EQ(integer, value->integer) << line;
    } else {
      JsonValue read;
      EXPECT_EQ(cursor.Value(&read) && cursor.EndObject(), valid) << line;
      const size_t digits = number.size() - (number.front() == '-' ? 1 : 0);
      EXPECT_FALSE(valid && value->type == JsonType::kInteger && digits <= 18) << line;
    }

    ASSERT_TRUE(cursor.BeginObject(line) && cursor.Key("\"x\"", true)) << line;
    double real;
    if (cursor.PlainDecimal(&real)) {
      ++decimals;
      ASSERT_TRUE(cursor.EndObject()) << line;
      ASSERT_TRUE(valid) << line;
      const double expected = value->type == JsonType::kInteger
                                  ? static_cast<double>(value->integer)
                                  : value->real;
      ASSERT_TRUE(value->type == JsonType::kInteger || value->type == JsonType::kFloat);
      EXPECT_EQ(real, expected) << line;
      EXPECT_EQ(std::signbit(real), std::signbit(expected)) << line;
    } else {
      JsonValue read;
      EXPECT_EQ(cursor.Value(&read) && cursor.EndObject(), valid) << line;
    }
  }
  // Both shortcuts took a good share of the numbers.
  EXPECT_GT(integers, 20000);
  EXPECT_GT(decimals, 40000);
}

// The cursor's String() reads what Value() reads for strings of every length, with an
// escape, a control character or a cut-off end at every position.
TEST(JsonLineParserTest, CursorStringsReadAsValueDoes) {
  JsonLineParser cursor;
  JsonLineParser parser;
  for (size_t length = 0; length < 20; ++length) {
    for (size_t at = 0; at <= length; ++at) {
      for (const std::string special : {"", "\\n", "\t", "\"", "\\u00e9"}) {
        std::string text(length, 'a');
        text.insert(at, special);
        for (const std::string end : {"\"}", "\"", "}"}) {
          const std::string line = "{\"k\":\"" + text + end;
          const bool valid = parser.Parse(line);
          ASSERT_TRUE(cursor.BeginObject(line) && cursor.Key("\"k\"", true));
          std::string_view read;
          const bool read_ok = cursor.String(&read) && cursor.EndObject();
          ASSERT_EQ(read_ok, valid) << line;
          if (valid) {
            EXPECT_EQ(read, parser.members()[0].value.text) << line;
          }
        }
      }
    }
  }
}

// A string's end is found at every position within an eight-byte word, and a quote,
// backslash or control character at any position is handled.
TEST(JsonLineParserTest, StringsEndAtEveryPositionOfAWord) {
  JsonLineParser parser;
  for (size_t length = 0; length < 20; ++length) {
    const std::string text(length, 'a');
    ASSERT_TRUE(parser.Parse("{\"" + text + "\": \"" + text + "\"}")) << parser.error();
    EXPECT_EQ(parser.members()[0].key, text);
    EXPECT_EQ(parser.members()[0].value.text, text);
    const std::string escaped = text + "\\\"" + text;
    ASSERT_TRUE(parser.Parse("{\"k\": \"" + escaped + "\"}")) << parser.error();
    EXPECT_EQ(parser.members()[0].value.text, text + "\"" + text);
    EXPECT_FALSE(parser.Parse("{\"k\": \"" + text + "\t" + text + "\"}"));
    EXPECT_TRUE(testing::Contains(parser.error(), "control character"));
  }
}

}  // namespace
}  // namespace sabot
