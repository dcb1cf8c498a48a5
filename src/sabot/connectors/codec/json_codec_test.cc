#include <algorithm>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/codec/codec.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

std::unique_ptr<Decoder> Decoder(CodecKind kind, std::shared_ptr<arrow::Schema> schema) {
  CodecConfig config;
  config.kind = kind;
  auto decoder = MakeDecoder(config, std::move(schema), 64);
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  return decoder.ok() ? *std::move(decoder) : nullptr;
}

void ExpectBatch(sabot::Decoder* decoder, const std::shared_ptr<arrow::Schema>& schema,
                 const std::string& json) {
  auto batch = decoder->Flush();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_TRUE((*batch)->ValidateFull().ok());
  auto expected = testing::BatchFromJson(schema, json);
  EXPECT_TRUE((*batch)->Equals(*expected)) << (*batch)->ToString() << "\nexpected\n"
                                           << expected->ToString();
}

TEST(JsonCodecTest, MatchesFieldsByNameAndCoercesByTheTextRules) {
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("score", arrow::float64()),
       arrow::field("ok", arrow::boolean()), arrow::field("tags", arrow::utf8())});
  auto decoder = Decoder(CodecKind::kJson, schema);
  ASSERT_EQ(*decoder->Append(R"({"score": 1, "id": "12", "extra": {"x": 1}, "ok": "TRUE",
                                 "tags": ["a", 2]})"),
            1);
  ASSERT_EQ(*decoder->Append(R"({"id": 3, "ok": null})"), 1);
  EXPECT_EQ(decoder->num_rows(), 2);
  ExpectBatch(decoder.get(), schema,
              R"([{"id": 12, "score": 1.0, "ok": true, "tags": "[\"a\", 2]"},
                  {"id": 3, "score": null, "ok": null, "tags": null}])");
}

TEST(JsonCodecTest, DottedFieldsReadNestedObjects) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("user.name", arrow::utf8()),
                               arrow::field("user.address.city", arrow::utf8()),
                               arrow::field("user.address.zip", arrow::int32())});
  auto decoder = Decoder(CodecKind::kJson, schema);
  ASSERT_TRUE(decoder
                  ->Append(R"({"id": 1, "user": {"name": "Ann", "age": 40,
                           "address": {"zip": 10115, "city": "Berlin"}}})")
                  .ok());
  ASSERT_TRUE(decoder->Append(R"({"id": 2, "user": null})").ok());
  ASSERT_TRUE(decoder->Append(R"({"id": 3, "user": {"address": {}}})").ok());
  // An exact member name wins over the nested path.
  ASSERT_TRUE(decoder->Append(R"({"id": 4, "user.name": "flat"})").ok());
  ExpectBatch(decoder.get(), schema,
              R"([{"id": 1, "user.name": "Ann", "user.address.city": "Berlin",
                   "user.address.zip": 10115},
                  {"id": 2, "user.name": null, "user.address.city": null,
                   "user.address.zip": null},
                  {"id": 3, "user.name": null, "user.address.city": null,
                   "user.address.zip": null},
                  {"id": 4, "user.name": "flat", "user.address.city": null,
                   "user.address.zip": null}])");

  auto status =
      decoder->Append(R"({"id": 5, "user": {"address": {"zip": "x"}}})").status();
  EXPECT_NE(status.message().find("field 'user.address.zip'"), std::string::npos)
      << status.ToString();
  status = decoder->Append(R"({"id": 6, "user": 7})").status();
  EXPECT_NE(status.message().find("expected an object at 'user'"), std::string::npos)
      << status.ToString();
  EXPECT_EQ(decoder->num_rows(), 0);
}

TEST(JsonCodecTest, BadMessagesSayWhyAndAppendNothing) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64())});
  auto decoder = Decoder(CodecKind::kJson, schema);
  auto status = decoder->Append("not json").status();
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("invalid JSON"), std::string::npos)
      << status.ToString();
  status = decoder->Append("[1, 2]").status();
  EXPECT_NE(status.message().find("expected a JSON object"), std::string::npos);
  status = decoder->Append(R"({"id": 1.5})").status();
  EXPECT_NE(status.message().find("field 'id'"), std::string::npos) << status.ToString();
  status = decoder->Append(R"({"id": 99999999999999999999})").status();
  EXPECT_NE(status.message().find("field 'id'"), std::string::npos) << status.ToString();
  EXPECT_EQ(decoder->num_rows(), 0);
}

// One decoder reads objects of a remembered key order through a shortcut; a decoder
// per message never has a remembered order. Over messages that repeat, reorder, add,
// drop, escape and nest keys, with blanks, escapes, nulls, numbers at the edges of the
// integer fast path and bad values, both must build the same rows and refuse the same
// messages with the same reasons.
TEST(JsonCodecTest, RepeatedKeyOrderDecodesLikeAFreshDecoder) {
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("amount", arrow::float64()),
       arrow::field("city", arrow::utf8()), arrow::field("user.name", arrow::utf8()),
       arrow::field("ok", arrow::boolean())});
  const std::vector<std::string> messages = {
      R"({"id":1,"amount":2.5,"city":"Oslo","ok":true})",
      R"({"id":2,"amount":3,"city":"Rome","ok":false})",
      R"({"id":-0,"amount":-1e2,"city":"Oslo","ok":true})",
      R"({"id":01,"amount":1,"city":"Oslo","ok":true})",
      R"({"id":-,"amount":1,"city":"Oslo","ok":true})",
      R"({"id":1234567890123456789,"amount":1,"city":"Oslo","ok":true})",
      R"({"id":"12","amount":null,"city":null,"ok":true})",
      R"({"id":null,"amount":"2.5","city":"Oslo","ok":true})",
      R"({"id":1e3,"amount":1,"city":"Oslo","ok":true})",
      R"({"id":28 ,"amount": 2.25 ,"city": "Oslo" ,"ok":true })",
      R"({"id":29,"amount":1,"city":"Oslo","ok":true,})",
      R"({"id":30,"amount":-0,"city":"Oslo","ok":true})",
      R"({"id":31,"amount":0.1234567890123456,"city":"Oslo","ok":true})",
      R"({"id":32,"amount":123456789012345678,"city":"Oslo","ok":true})",
      R"({"id":33,"amount":1.,"city":"Oslo","ok":true})",
      R"({"id":34,"amount":-12.75,"city":"Oslo","ok":true})",
      R"({"id": 3, "amount": 4.25, "city": "Lima", "ok": null})",
      R"({"id":4,"amount":5.5,"city":"Q\"uito","ok":true})",
      R"({"id":5,"amount":"x","city":"Bonn","ok":true})",
      R"({"id":6,"amount":6.5,"city":"Bern","ok":true,"extra":[1,{"a":2}]})",
      R"({"id":7,"amount":7.5,"city":"Kyiv","ok":true,"extra":{}})",
      R"({"id":8,"amount":7.5,"city":"Kyiv","ok":true,"extra":{} })",
      R"({"amount":8.5,"id":9,"city":"Riga","ok":true})",
      R"({"id":10,"amount":9.5,"city":"Baku"})",
      R"({"id":11,"amount":9.5,"city":"Baku"},)",
      R"({"id":12,"amount":9.5,"city":"Baku","city":"Pune"})",
      R"({"id":13,"amount":9.5,"city":"Baku","city":"Pune"})",
      R"({"i\u0064":14,"amount":1.5,"city":"Doha"})",
      R"({"i\u0064":15,"amount":1.5,"city":"Doha"})",
      R"({"id":16,"user":{"name":"Ann"},"city":"Oslo"})",
      R"({"id":17,"user":{"name":"Bo"},"city":"Oslo"})",
      R"({"id":18,"user.name":"flat","city":"Oslo"})",
      R"({"id":19,"user.name":"flat2","city":"Oslo"})",
      R"({"id":1.5,"user.name":"flat2","city":"Oslo"})",
      R"({"id":20,"user.name":7,"city":"Oslo"})",
      R"({"id":21,"user.name":"x","city":12345678901234567890})",
      "{\"id\":22,\"user.name\":\"x\",\"city\":\"Z\xfcrich\"}",
      R"({"id":23,"user.name":"x","city":"Z\u00fcrich"})",
      R"({"id":24,"user.name":"x","city":"Oslo"} trailing)",
      R"({"id":25,"user.name":"x","cit")",
      R"({})",
      R"({})",
      R"({"":1,"id":26})",
      R"({"":1,"id":27})",
  };
  auto shared = Decoder(CodecKind::kJson, schema);
  std::vector<std::string> shared_errors;
  std::vector<std::string> fresh_errors;
  std::vector<std::shared_ptr<arrow::RecordBatch>> fresh_rows;
  for (const std::string& message : messages) {
    auto shared_rows = shared->Append(message);
    shared_errors.push_back(shared_rows.ok() ? "" : shared_rows.status().message());
    auto fresh = Decoder(CodecKind::kJson, schema);
    auto rows = fresh->Append(message);
    fresh_errors.push_back(rows.ok() ? "" : rows.status().message());
    if (rows.ok()) fresh_rows.push_back(*fresh->Flush());
  }
  EXPECT_EQ(shared_errors, fresh_errors);
  auto expected = arrow::Table::FromRecordBatches(schema, fresh_rows);
  ASSERT_TRUE(expected.ok());
  auto batch = shared->Flush();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_TRUE((*batch)->ValidateFull().ok());
  auto combined = (*expected)->CombineChunksToBatch();
  ASSERT_TRUE(combined.ok());
  EXPECT_TRUE((*batch)->Equals(**combined)) << (*batch)->ToString() << "\nexpected\n"
                                            << (*combined)->ToString();
  // Eleven messages are refused: a leading zero, a lone minus, an exponent and a
  // fraction in an integer, a point without digits, a text amount, two trailing commas,
  // invalid UTF-8, text after the object and a cut-off key.
  EXPECT_EQ((*batch)->num_rows(), 33);
  EXPECT_EQ(std::count(shared_errors.begin(), shared_errors.end(), ""), 33);
}

// A message with invalid UTF-8 in a string value is refused naming the field; valid
// multi-byte text and \u escapes (whole code points) are kept.
TEST(JsonCodecTest, StringsMustBeUtf8) {
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("city", arrow::utf8())});
  auto decoder = Decoder(CodecKind::kJson, schema);
  auto status = decoder->Append("{\"id\": 1, \"city\": \"Z\xfcrich\"}").status();
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("field 'city'"), std::string::npos) << status.message();
  ASSERT_EQ(*decoder->Append(R"({"id": 2, "city": "Z\u00fcrich \ud83d\ude00"})"), 1);
  ASSERT_EQ(*decoder->Append("{\"id\": 3, \"city\": \"Z\xc3\xbcrich\"}"), 1);
  ExpectBatch(decoder.get(), schema,
              "[{\"id\": 2, \"city\": \"Z\xc3\xbcrich \xf0\x9f\x98\x80\"},"
              " {\"id\": 3, \"city\": \"Z\xc3\xbcrich\"}]");
}

TEST(JsonCodecTest, BinaryColumnsAreNotImplemented) {
  // JSON text cannot carry arbitrary bytes, unlike MessagePack and Avro messages.
  CodecConfig config;
  auto decoder =
      MakeDecoder(config, arrow::schema({arrow::field("hash", arrow::binary())}), 64);
  EXPECT_TRUE(decoder.status().IsNotImplemented()) << decoder.status().ToString();
}

TEST(JsonCodecTest, EncodesOneObjectPerRowAndDecodesItBack) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("name", arrow::utf8()),
                               arrow::field("score", arrow::float64())});
  auto batch = testing::BatchFromJson(
      schema, R"([{"id": 1, "name": "line\nbreak \"q\"", "score": 0.5},
                  {"id": null, "name": "", "score": 2.0},
                  {"id": 3, "name": "ü", "score": null}])");
  CodecConfig config;
  auto encoder = MakeEncoder(config, schema);
  ASSERT_TRUE(encoder.ok());
  EncodedMessages messages;
  ASSERT_TRUE((*encoder)->Encode(*batch, &messages).ok());
  ASSERT_EQ(messages.size(), 3);
  EXPECT_EQ(messages.message(0), R"({"id":1,"name":"line\nbreak \"q\"","score":0.5})");
  EXPECT_EQ(messages.message(1), R"({"id":null,"name":"","score":2.0})");
  auto decoder = Decoder(CodecKind::kJson, schema);
  for (int64_t i = 0; i < messages.size(); ++i) {
    ASSERT_TRUE(decoder->Append(messages.message(i)).ok());
  }
  auto decoded = decoder->Flush();
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE((*decoded)->Equals(*batch)) << (*decoded)->ToString();
}

TEST(RawCodecTest, CopiesBytesBothWays) {
  auto schema = arrow::schema({arrow::field("value", arrow::binary())});
  auto decoder = Decoder(CodecKind::kRaw, schema);
  const std::string binary("\x00\xff\n\x01", 4);
  ASSERT_TRUE(decoder->Append(binary).ok());
  ASSERT_TRUE(decoder->Append("").ok());
  auto batch = decoder->Flush();
  ASSERT_TRUE(batch.ok());
  CodecConfig config;
  config.kind = CodecKind::kRaw;
  auto encoder = MakeEncoder(config, schema);
  ASSERT_TRUE(encoder.ok());
  EncodedMessages messages;
  ASSERT_TRUE((*encoder)->Encode(**batch, &messages).ok());
  ASSERT_EQ(messages.size(), 2);
  EXPECT_EQ(messages.message(0), binary);
  EXPECT_EQ(messages.message(1), "");
}

TEST(RawCodecTest, StringColumnsCheckUtf8AndNullsAreRefused) {
  auto schema = arrow::schema({arrow::field("text", arrow::utf8())});
  auto decoder = Decoder(CodecKind::kRaw, schema);
  EXPECT_TRUE(decoder->Append("ok ✓").ok());
  auto status = decoder->Append(std::string("\xff\xfe", 2)).status();
  EXPECT_NE(status.message().find("not valid UTF-8"), std::string::npos);
  CodecConfig config;
  config.kind = CodecKind::kRaw;
  auto encoder = MakeEncoder(config, schema);
  ASSERT_TRUE(encoder.ok());
  EncodedMessages messages;
  status = (*encoder)->Encode(*testing::BatchFromJson(schema, R"([{"text": null}])"),
                              &messages);
  EXPECT_NE(status.message().find("null in field 'text' at row 0"), std::string::npos)
      << status.ToString();
  EXPECT_TRUE(MakeEncoder(config, arrow::schema({arrow::field("a", arrow::int64())}))
                  .status()
                  .IsInvalid());
}

TEST(CodecTest, ParsesCodecNames) {
  for (CodecKind kind : {CodecKind::kJson, CodecKind::kAvro, CodecKind::kMessagePack,
                         CodecKind::kArrowIpc, CodecKind::kRaw}) {
    EXPECT_EQ(*ParseCodecKind(CodecName(kind)), kind);
  }
  EXPECT_NE(ParseCodecKind("xml").status().message().find("use json, avro"),
            std::string::npos);
}

}  // namespace
}  // namespace sabot
