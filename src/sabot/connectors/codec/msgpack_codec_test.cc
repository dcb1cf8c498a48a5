#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/codec/codec_factories.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

using testing::BytesOf;

std::unique_ptr<Decoder> MakeDecoder(const std::shared_ptr<arrow::Schema>& schema) {
  auto decoder = MakeMessagePackDecoder(schema, 16);
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  return decoder.ok() ? *std::move(decoder) : nullptr;
}

std::shared_ptr<arrow::RecordBatch> Flush(Decoder* decoder) {
  auto batch = decoder->Flush();
  EXPECT_TRUE(batch.ok()) << batch.status().ToString();
  if (batch.ok()) {
    EXPECT_TRUE((*batch)->ValidateFull().ok());
  }
  return batch.ok() ? *batch : nullptr;
}

Status AppendStatus(Decoder* decoder, const std::string& message) {
  return decoder->Append(message).status();
}

TEST(MessagePackCodecTest, DecodesAFixmapWithFixstrKeysAndFixints) {
  auto schema = arrow::schema(
      {arrow::field("a", arrow::int64()), arrow::field("b", arrow::int8())});
  auto decoder = MakeDecoder(schema);
  // {"a": 5, "b": -3}: fixmap of 2, fixstr "a", positive fixint, fixstr "b", negative
  // fixint.
  auto rows = decoder->Append(BytesOf({0x82, 0xa1, 'a', 0x05, 0xa1, 'b', 0xfd}));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 1);
  // {"b": 1}: "a" is missing, so null.
  ASSERT_TRUE(decoder->Append(BytesOf({0x81, 0xa1, 'b', 0x01})).ok());
  EXPECT_EQ(decoder->num_rows(), 2);
  auto batch = Flush(decoder.get());
  EXPECT_TRUE(batch->Equals(
      *testing::BatchFromJson(schema, R"([{"a": 5, "b": -3}, {"a": null, "b": 1}])")))
      << batch->ToString();
  EXPECT_EQ(decoder->num_rows(), 0);
}

TEST(MessagePackCodecTest, DecodesEveryScalarFormat) {
  auto schema = arrow::schema({
      arrow::field("u8", arrow::uint8()),
      arrow::field("u16", arrow::uint16()),
      arrow::field("u32", arrow::uint32()),
      arrow::field("u64", arrow::uint64()),
      arrow::field("i16", arrow::int16()),
      arrow::field("i32", arrow::int32()),
      arrow::field("i64", arrow::int64()),
      arrow::field("f", arrow::float32()),
      arrow::field("d", arrow::float64()),
      arrow::field("t", arrow::boolean()),
      arrow::field("s", arrow::utf8()),
      arrow::field("bin", arrow::binary()),
      arrow::field("n", arrow::int32()),
  });
  auto decoder = MakeDecoder(schema);
  const std::string message = BytesOf({
      0x8d,                                                  // fixmap of 13
      0xa2, 'u',  '8',  0xcc, 0xff,                          // uint 8
      0xa3, 'u',  '1',  '6',  0xcd, 0x01, 0x00,              // uint 16: 256
      0xa3, 'u',  '3',  '2',  0xce, 0x00, 0x01, 0x00, 0x00,  // uint 32: 65536
      0xa3, 'u',  '6',  '4',  0xcf, 0xff, 0xff, 0xff, 0xff,  // uint 64: 2^64 - 1
      0xff, 0xff, 0xff, 0xff,                                // (continued)
      0xa3, 'i',  '1',  '6',  0xd1, 0xff, 0x00,              // int 16: -256
      0xa3, 'i',  '3',  '2',  0xd0, 0x80,                    // int 8: -128
      0xa3, 'i',  '6',  '4',  0xd3, 0x80, 0,    0,    0,    0, 0, 0, 0,  // int 64: -2^63
      0xa1, 'f',  0xca, 0x3f, 0xc0, 0x00, 0x00,                          // float 32: 1.5
      0xa1, 'd',  0xcb, 0xc0, 0x04, 0,    0,    0,    0,    0, 0,        // float 64: -2.5
      0xa1, 't',  0xc3,                                                  // true
      0xa1, 's',  0xd9, 0x03, 'x',  'y',  'z',                           // str 8
      0xa3, 'b',  'i',  'n',  0xc4, 0x02, 0x00, 0xff,                    // bin 8
      0xa1, 'n',  0xc0,                                                  // nil
  });
  ASSERT_TRUE(decoder->Append(message).ok()) << AppendStatus(decoder.get(), message);
  auto batch = Flush(decoder.get());
  auto expected = testing::BatchFromJson(schema, R"([{
      "u8": 255, "u16": 256, "u32": 65536, "u64": 18446744073709551615, "i16": -256,
      "i32": -128, "i64": -9223372036854775808, "f": 1.5, "d": -2.5, "t": true,
      "s": "xyz", "bin": null, "n": null}])");
  // JSON text cannot hold the byte 0xff: the binary column is checked on its own.
  ASSERT_EQ(batch->num_rows(), 1);
  EXPECT_EQ(std::static_pointer_cast<arrow::BinaryArray>(batch->column(11))->GetView(0),
            std::string_view("\x00\xff", 2));
  for (int i = 0; i < schema->num_fields(); ++i) {
    if (i == 11) continue;
    EXPECT_TRUE(batch->column(i)->Equals(*expected->column(i)))
        << schema->field(i)->name() << ": " << batch->column(i)->ToString();
  }
}

TEST(MessagePackCodecTest, IgnoresUnknownKeysIncludingNestedValues) {
  auto schema = arrow::schema({arrow::field("a", arrow::utf8())});
  auto decoder = MakeDecoder(schema);
  // {"x": [1, {"k": [2]}], "a": "v", "y": ext}
  const std::string message =
      BytesOf({0x83, 0xa1, 'x', 0x92, 0x01, 0x81, 0xa1, 'k', 0x91, 0x02, 0xa1, 'a', 0xa1,
               'v', 0xa1, 'y', 0xd4, 0x05, 0x00});
  ASSERT_TRUE(decoder->Append(message).ok()) << AppendStatus(decoder.get(), message);
  EXPECT_TRUE(
      Flush(decoder.get())->Equals(*testing::BatchFromJson(schema, R"([{"a": "v"}])")));
}

TEST(MessagePackCodecTest, ReadsTimestampExtensionsAndIntegerTimestamps) {
  auto schema =
      arrow::schema({arrow::field("t", arrow::timestamp(arrow::TimeUnit::MILLI)),
                     arrow::field("d", arrow::date32())});
  auto decoder = MakeDecoder(schema);
  // timestamp 32: 1 second.
  ASSERT_TRUE(
      decoder->Append(BytesOf({0x81, 0xa1, 't', 0xd6, 0xff, 0x00, 0x00, 0x00, 0x01}))
          .ok());
  // timestamp 64: 2 seconds and 5,000,000 ns (5 ms) = nanoseconds << 34 | seconds.
  const uint64_t packed = (uint64_t{5000000} << 34) | 2;
  std::string message = BytesOf({0x81, 0xa1, 't', 0xd7, 0xff});
  for (int shift = 56; shift >= 0; shift -= 8) message.push_back(char(packed >> shift));
  ASSERT_TRUE(decoder->Append(message).ok()) << AppendStatus(decoder.get(), message);
  // timestamp 96: -1 second and 0 ns.
  ASSERT_TRUE(decoder
                  ->Append(BytesOf({0x81, 0xa1, 't', 0xc7, 12, 0xff, 0, 0, 0, 0, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
                  .ok());
  // Integers: a count of the column's unit, and days for dates.
  ASSERT_TRUE(
      decoder->Append(BytesOf({0x82, 0xa1, 't', 0xcd, 0x03, 0xe8, 0xa1, 'd', 0x0a}))
          .ok());
  EXPECT_TRUE(Flush(decoder.get())
                  ->Equals(*testing::BatchFromJson(
                      schema, R"([{"t": 1000, "d": null}, {"t": 2005, "d": null},
                                  {"t": -1000, "d": null}, {"t": 1000, "d": 10}])")));
}

TEST(MessagePackCodecTest, OutOfRangeIntegersNameFieldAndOffset) {
  auto schema = arrow::schema(
      {arrow::field("ok", arrow::int64()), arrow::field("small", arrow::uint8())});
  auto decoder = MakeDecoder(schema);
  // {"ok": 1, "small": 300}: the value of "small" starts at byte 11.
  Status status =
      AppendStatus(decoder.get(), BytesOf({0x82, 0xa2, 'o', 'k', 0x01, 0xa5, 's', 'm',
                                           'a', 'l', 'l', 0xcd, 0x01, 0x2c}));
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_EQ(status.message(),
            "msgpack: field 'small' at byte 11: cannot store int 300 in a column of type "
            "uint8");
  // {"small": -1}
  status =
      AppendStatus(decoder.get(), BytesOf({0x81, 0xa5, 's', 'm', 'a', 'l', 'l', 0xff}));
  EXPECT_EQ(
      status.message(),
      "msgpack: field 'small' at byte 7: cannot store int -1 in a column of type uint8");
  // A failed message appends nothing, not even the good "ok" cell.
  EXPECT_EQ(decoder->num_rows(), 0);
  EXPECT_EQ(Flush(decoder.get())->num_rows(), 0);
}

TEST(MessagePackCodecTest, TypeMismatchesAndMalformedMessagesAreErrors) {
  auto schema = arrow::schema(
      {arrow::field("i", arrow::int32()), arrow::field("s", arrow::utf8())});
  auto decoder = MakeDecoder(schema);
  EXPECT_EQ(AppendStatus(decoder.get(), BytesOf({0x81, 0xa1, 'i', 0xa1, 'x'})).message(),
            "msgpack: field 'i' at byte 3: cannot store str in a column of type int32");
  EXPECT_EQ(
      AppendStatus(decoder.get(), BytesOf({0x81, 0xa1, 's', 0x90})).message(),
      "msgpack: field 's' at byte 3: cannot store array in a column of type string");
  EXPECT_EQ(AppendStatus(decoder.get(), BytesOf({0x81, 0xa1, 's', 0xa1, 0xff})).message(),
            "msgpack: field 's' at byte 3: cannot store str that is not valid UTF-8 in a "
            "column of type string");
  EXPECT_EQ(AppendStatus(decoder.get(), BytesOf({0x91, 0x01})).message(),
            "msgpack: expected a map at byte 0, found array");
  EXPECT_EQ(AppendStatus(decoder.get(), BytesOf({0x81, 0x01, 0x01})).message(),
            "msgpack: map key at byte 1 is a int, expected a str");
  EXPECT_EQ(AppendStatus(decoder.get(), BytesOf({0x81, 0xa1, 'i', 0xd2, 0x00})).message(),
            "msgpack: message truncated: the value at byte 3 needs more than the 5 bytes "
            "there are");
  EXPECT_EQ(AppendStatus(decoder.get(), BytesOf({0x80, 0xc0})).message(),
            "msgpack: unexpected bytes after the map at byte 1 of 2");
  EXPECT_EQ(AppendStatus(decoder.get(), BytesOf({0x81, 0xa1, 'x', 0xc1})).message(),
            "msgpack: invalid type byte 0xc1 at byte 3");
  // An unknown key's array that claims more elements than there are bytes.
  EXPECT_TRUE(AppendStatus(decoder.get(),
                           BytesOf({0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff}))
                  .IsInvalid());
  EXPECT_EQ(decoder->num_rows(), 0);
}

TEST(MessagePackCodecTest, EveryTruncationOfAMessageIsAnError) {
  auto schema =
      arrow::schema({arrow::field("a", arrow::int64()),
                     arrow::field("t", arrow::timestamp(arrow::TimeUnit::MICRO)),
                     arrow::field("s", arrow::utf8())});
  auto decoder = MakeDecoder(schema);
  // {"a": 2^40, "t": timestamp 96, "x": [nil, {"k": bin}], "s": "hello"}
  const std::string message =
      BytesOf({0x84, 0xa1, 'a',  0xcf, 0,    0,    1,   0,    0,    0,    0,    0,
               0xa1, 't',  0xc7, 12,   0xff, 0,    0,   0,    0,    0,    0,    0,
               0,    0,    0,    0,    1,    0xa1, 'x', 0x92, 0xc0, 0x81, 0xa1, 'k',
               0xc4, 0x01, 0x00, 0xa1, 's',  0xa5, 'h', 'e',  'l',  'l',  'o'});
  ASSERT_TRUE(decoder->Append(message).ok()) << AppendStatus(decoder.get(), message);
  for (size_t size = 0; size < message.size(); ++size) {
    EXPECT_TRUE(AppendStatus(decoder.get(), message.substr(0, size)).IsInvalid()) << size;
  }
  EXPECT_EQ(decoder->num_rows(), 1);
}

TEST(MessagePackCodecTest, RejectsUnsupportedColumnTypes) {
  auto decoder = MakeMessagePackDecoder(
      arrow::schema({arrow::field("l", arrow::list(arrow::int32()))}), 16);
  ASSERT_FALSE(decoder.ok());
  EXPECT_TRUE(decoder.status().IsNotImplemented());
  EXPECT_NE(decoder.status().message().find("field 'l' of type list<item: int32>"),
            std::string::npos);
}

TEST(MessagePackCodecTest, EncoderWritesShortestFormsAndNil) {
  auto schema = arrow::schema(
      {arrow::field("a", arrow::int64()), arrow::field("s", arrow::utf8())});
  auto encoder = MakeMessagePackEncoder(schema);
  ASSERT_TRUE(encoder.ok());
  EXPECT_TRUE((*encoder)->one_message_per_row());
  EncodedMessages messages;
  ASSERT_TRUE(
      (*encoder)
          ->Encode(*testing::BatchFromJson(
                       schema, R"([{"a": 1, "s": "hi"}, {"a": -300, "s": null}])"),
                   &messages)
          .ok());
  ASSERT_EQ(messages.size(), 2);
  EXPECT_EQ(messages.message(0),
            BytesOf({0x82, 0xa1, 'a', 0x01, 0xa1, 's', 0xa2, 'h', 'i'}));
  EXPECT_EQ(messages.message(1),
            BytesOf({0x82, 0xa1, 'a', 0xd1, 0xfe, 0xd4, 0xa1, 's', 0xc0}));
}

TEST(MessagePackCodecTest, RoundTripsEveryType) {
  auto schema = arrow::schema({
      arrow::field("b", arrow::boolean()),
      arrow::field("i8", arrow::int8()),
      arrow::field("i16", arrow::int16()),
      arrow::field("i32", arrow::int32()),
      arrow::field("i64", arrow::int64()),
      arrow::field("u8", arrow::uint8()),
      arrow::field("u16", arrow::uint16()),
      arrow::field("u32", arrow::uint32()),
      arrow::field("u64", arrow::uint64()),
      arrow::field("f", arrow::float32()),
      arrow::field("d", arrow::float64()),
      arrow::field("s", arrow::utf8()),
      arrow::field("ls", arrow::large_utf8()),
      arrow::field("bin", arrow::binary()),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::NANO)),
      arrow::field("tms", arrow::timestamp(arrow::TimeUnit::SECOND)),
      arrow::field("date", arrow::date32()),
  });
  auto batch = testing::BatchFromJson(schema, R"([
      {"b": true, "i8": -128, "i16": 32767, "i32": -2147483648,
       "i64": 9223372036854775807, "u8": 255, "u16": 65535, "u32": 4294967295,
       "u64": 18446744073709551615, "f": 0.25, "d": -1e300, "s": "caf\u00e9",
       "ls": "long", "bin": "raw", "ts": -1, "tms": 17179869184, "date": -719162},
      {"b": null, "i8": null, "i16": null, "i32": null, "i64": null, "u8": null,
       "u16": null, "u32": null, "u64": null, "f": null, "d": null, "s": null,
       "ls": null, "bin": null, "ts": null, "tms": null, "date": null},
      {"b": false, "i8": 0, "i16": -129, "i32": 65536, "i64": -4294967297, "u8": 0,
       "u16": 256, "u32": 65536, "u64": 4294967296, "f": -0.0, "d": 3.5,
       "s": "0123456789012345678901234567890123456789", "ls": "", "bin": "",
       "ts": 1700000000123456789, "tms": 0, "date": 19000}])");
  auto encoder = MakeMessagePackEncoder(schema);
  ASSERT_TRUE(encoder.ok());
  EncodedMessages messages;
  ASSERT_TRUE((*encoder)->Encode(*batch, &messages).ok());
  ASSERT_EQ(messages.size(), 3);
  auto decoder = MakeDecoder(schema);
  for (int64_t i = 0; i < messages.size(); ++i) {
    auto rows = decoder->Append(messages.message(i));
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  }
  auto decoded = Flush(decoder.get());
  EXPECT_TRUE(decoded->Equals(*batch)) << decoded->ToString();
}

}  // namespace
}  // namespace sabot
