// The Avro codec without a registry (avro_codec.h): plain Avro binary in a writer
// schema given in advance, and the Confluent wire format with a known schema id.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/codec/avro_codec.h"
#include "sabot/connectors/codec/avro_schema.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

using testing::BytesOf;

const char kWriter[] = R"({"type": "record", "name": "r", "fields": [
    {"name": "id", "type": "long"},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "note", "type": ["null", "string"]}]})";

// id 3, tags ["a"], note "hi": zigzag 3 = 06; one block of 1 item (02), "a" (02 61),
// end (00); branch 1 (02), "hi" (04 68 69).
const std::string kDatum =
    BytesOf({0x06, 0x02, 0x02, 0x61, 0x00, 0x02, 0x04, 0x68, 0x69});

std::shared_ptr<arrow::Schema> Columns() {
  return arrow::schema(
      {arrow::field("id", arrow::int64(), false), arrow::field("note", arrow::utf8())});
}

TEST(AvroPlainCodecTest, DecodesAndEncodesTheDatumAlone) {
  AvroCodecOptions options;
  options.framing = AvroFraming::kPlain;
  options.writer_schema = kWriter;
  auto decoder = MakeAvroDecoder(options, Columns(), 16);
  ASSERT_TRUE(decoder.ok()) << decoder.status().ToString();
  ASSERT_TRUE((*decoder)->Append(kDatum).ok());
  auto batch = (*decoder)->Flush();
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE((*batch)->Equals(
      *testing::BatchFromJson(Columns(), R"([{"id": 3, "note": "hi"}])")));

  EXPECT_EQ((*decoder)->Append(kDatum.substr(0, 8)).status().message(),
            "avro: field 'note' (union [null, string]) of the writer schema at byte 6: "
            "the message ends inside a string or bytes value");
  EXPECT_EQ((*decoder)->Append(kDatum + BytesOf({0})).status().message(),
            "avro: the datum of the writer schema ends at byte 9 but the message has 10 "
            "bytes");

  // The encoder writes the schema derived from the columns, without a header.
  AvroCodecOptions plain;
  plain.framing = AvroFraming::kPlain;
  auto encoder = MakeAvroEncoder(plain, Columns());
  ASSERT_TRUE(encoder.ok()) << encoder.status().ToString();
  EncodedMessages messages;
  ASSERT_TRUE((*encoder)->Encode(**batch, &messages).ok());
  ASSERT_EQ(messages.size(), 1);
  EXPECT_EQ(messages.message(0), BytesOf({0x06, 0x02, 0x04, 0x68, 0x69}));
}

TEST(AvroPlainCodecTest, KnownSchemaIdWithoutARegistry) {
  AvroCodecOptions options;
  options.writer_schema = kWriter;
  options.schema_id = 258;
  auto decoder = MakeAvroDecoder(options, Columns(), 16);
  ASSERT_TRUE(decoder.ok()) << decoder.status().ToString();
  EXPECT_TRUE((*decoder)->Append(BytesOf({0, 0, 0, 1, 2}) + kDatum).ok());
  EXPECT_EQ((*decoder)->Append(BytesOf({0, 0, 0, 0, 7}) + kDatum).status().message(),
            "avro: the message has writer schema id 7 but the decoder knows only schema "
            "id 258 and has no schema registry to fetch others from");

  AvroCodecOptions writing;
  writing.schema_id = 258;
  auto encoder = MakeAvroEncoder(writing, Columns());
  ASSERT_TRUE(encoder.ok()) << encoder.status().ToString();
  auto batch = testing::BatchFromJson(Columns(), R"([{"id": 3, "note": null}])");
  EncodedMessages messages;
  ASSERT_TRUE((*encoder)->Encode(*batch, &messages).ok());
  EXPECT_EQ(messages.message(0), BytesOf({0, 0, 0, 1, 2, 0x06, 0x00}));
}

TEST(AvroPlainCodecTest, GivenWriterSchemasAreChecked) {
  AvroCodecOptions options;
  options.framing = AvroFraming::kPlain;
  EXPECT_TRUE(MakeAvroDecoder(options, Columns(), 16).status().IsInvalid());
  options.writer_schema = kWriter;
  // "tags" cannot go to a string column: known when the decoder is made.
  auto wrong =
      MakeAvroDecoder(options, arrow::schema({arrow::field("tags", arrow::utf8())}), 16);
  EXPECT_EQ(wrong.status().message(),
            "avro: field 'tags' of the writer schema is array of string, which cannot be "
            "read into a column of type string");

  // The encoder writes ["null", T] for nullable columns: another order is refused.
  options.writer_schema = R"({"type": "record", "name": "r", "fields": [
      {"name": "id", "type": "long"}, {"name": "note", "type": ["string", "null"]}]})";
  auto encoder = MakeAvroEncoder(options, Columns());
  ASSERT_FALSE(encoder.ok());
  EXPECT_NE(encoder.status().message().find(
                "field 'note' is union [string, null] there, the encoder writes union "
                "[null, string]"),
            std::string::npos)
      << encoder.status().ToString();
  options.writer_schema = R"({"type": "record", "name": "other", "namespace": "x",
      "fields": [{"name": "id", "type": "long", "doc": "d"},
                 {"name": "note", "type": ["null", "string"], "default": null}]})";
  EXPECT_TRUE(MakeAvroEncoder(options, Columns()).ok());
}

}  // namespace
}  // namespace sabot
