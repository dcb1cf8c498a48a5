#include <arrow/api.h>
#include <gtest/gtest.h>

#include "sabot/connectors/codec/avro_schema.h"
#include "sabot/connectors/codec/codec_factories.h"
#include "sabot/connectors/codec/fake_schema_registry.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

using testing::BytesOf;

// The Confluent wire format header for schema `id`.
std::string Header(int32_t id) {
  return BytesOf({0, (id >> 24) & 0xff, (id >> 16) & 0xff, (id >> 8) & 0xff, id & 0xff});
}

CodecConfig Config(const testing::FakeSchemaRegistry& registry) {
  CodecConfig config;
  config.kind = CodecKind::kAvro;
  config.schema_registry_url = registry.url();
  config.subject = "orders-value";
  return config;
}

// Encodes one batch and returns its messages.
std::vector<std::string> Encode(const CodecConfig& config,
                                const std::shared_ptr<arrow::RecordBatch>& batch) {
  auto encoder = MakeAvroEncoder(config, batch->schema());
  EXPECT_TRUE(encoder.ok()) << encoder.status().ToString();
  if (!encoder.ok()) return {};
  EncodedMessages messages;
  Status status = (*encoder)->Encode(*batch, &messages);
  EXPECT_TRUE(status.ok()) << status.ToString();
  std::vector<std::string> result;
  for (int64_t i = 0; i < messages.size(); ++i) {
    result.emplace_back(messages.message(i));
  }
  return result;
}

std::shared_ptr<arrow::RecordBatch> Decode(const CodecConfig& config,
                                           const std::shared_ptr<arrow::Schema>& schema,
                                           const std::vector<std::string>& messages) {
  auto decoder = MakeAvroDecoder(config, schema, 64);
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  if (!decoder.ok()) return nullptr;
  for (const std::string& message : messages) {
    auto rows = (*decoder)->Append(message);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  }
  auto batch = (*decoder)->Flush();
  EXPECT_TRUE(batch.ok()) << batch.status().ToString();
  if (batch.ok()) {
    EXPECT_TRUE((*batch)->ValidateFull().ok());
  }
  return batch.ok() ? *batch : nullptr;
}

TEST(AvroSchemaTest, ParsesRecordsUnionsNamedTypesAndLogicalTypes) {
  auto schema = ParseAvroSchema(R"({
      "type": "record", "name": "Order", "namespace": "com.example",
      "fields": [
        {"name": "id", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": null},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "status", "type": {"type": "enum", "name": "Status",
                                    "symbols": ["NEW", "DONE"]}},
        {"name": "previous", "type": ["null", "Status"]},
        {"name": "hash", "type": {"type": "fixed", "name": "Md5", "size": 16}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "com.example.Md5"}},
        {"name": "ratio", "type": {"type": "float", "logicalType": "unknown-is-ignored"}}
      ]})");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  const AvroSchema& order = **schema;
  EXPECT_EQ(order.type, AvroType::kRecord);
  EXPECT_EQ(order.name, "com.example.Order");
  ASSERT_EQ(order.fields.size(), 10u);
  EXPECT_EQ(order.fields[1].type->ToString(), "union [null, string]");
  EXPECT_EQ(order.fields[2].type->ToString(), "long (timestamp-micros)");
  EXPECT_EQ(order.fields[3].type->logical_type, AvroLogicalType::kDate);
  EXPECT_EQ(order.fields[4].type->symbols, (std::vector<std::string>{"NEW", "DONE"}));
  // A reference resolves to the earlier definition, in the enclosing namespace.
  EXPECT_EQ(order.fields[5].type->branches[1], order.fields[4].type);
  EXPECT_EQ(order.fields[6].type->size, 16);
  EXPECT_EQ(order.fields[7].type->ToString(), "array of string");
  EXPECT_EQ(order.fields[8].type->items, order.fields[6].type);
  EXPECT_EQ(order.fields[9].type->ToString(), "float");
}

TEST(AvroSchemaTest, ParsesPrimitiveSchemasAndEscapes) {
  auto primitive = ParseAvroSchema(R"( "string" )");
  ASSERT_TRUE(primitive.ok());
  EXPECT_EQ((*primitive)->type, AvroType::kString);
  auto escaped = ParseAvroSchema(
      R"({"type":"record","name":"r","fields":[{"name":"caf\u00e9","type":"int"}]})");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ((*escaped)->fields[0].name, "caf\xc3\xa9");
}

TEST(AvroSchemaTest, ErrorsNameThePlaceInTheSchema) {
  auto unknown = ParseAvroSchema(
      R"({"type":"record","name":"r","fields":[{"name":"a","type":"Nope"}]})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "avro: schema at schema.fields[0].type refers to unknown type 'Nope'");

  auto recursive = ParseAvroSchema(
      R"({"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]})");
  ASSERT_FALSE(recursive.ok());
  EXPECT_TRUE(recursive.status().IsNotImplemented());

  auto broken = ParseAvroSchema(R"({"type": "record", "name": })");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message(),
            "avro: invalid schema JSON at byte 27: expected a value");

  EXPECT_FALSE(ParseAvroSchema(R"({"type":"record","name":"r"})").ok());
  EXPECT_FALSE(ParseAvroSchema(R"([["null"], "int"])").ok());
}

TEST(AvroSchemaTest, DerivesARecordFromAnArrowSchema) {
  auto schema = arrow::schema({
      arrow::field("id", arrow::int64(), /*nullable=*/false),
      arrow::field("name", arrow::utf8()),
      arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO)),
      arrow::field("day", arrow::date32(), /*nullable=*/false),
  });
  auto json = AvroSchemaFromArrow(*schema);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(
      *json,
      R"({"type":"record","name":"sabot_record","fields":[)"
      R"({"name":"id","type":"long"},)"
      R"({"name":"name","type":["null","string"],"default":null},)"
      R"({"name":"at","type":["null",{"type":"long","logicalType":"timestamp-micros"}],"default":null},)"
      R"({"name":"day","type":{"type":"int","logicalType":"date"}}]})");
  // What it writes, it reads.
  EXPECT_TRUE(ParseAvroSchema(*json).ok());

  auto bad_name =
      AvroSchemaFromArrow(*arrow::schema({arrow::field("a-b", arrow::int32())}));
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.status().message().find("'a-b' is not a valid Avro field name"),
            std::string::npos);
  auto unsigned64 =
      AvroSchemaFromArrow(*arrow::schema({arrow::field("u", arrow::uint64())}));
  ASSERT_FALSE(unsigned64.ok());
  EXPECT_TRUE(unsigned64.status().IsNotImplemented());
}

TEST(AvroCodecTest, EncodesZigzagVarintsAndStringsAsTheSpecShows) {
  testing::FakeSchemaRegistry registry;
  auto schema = arrow::schema({arrow::field("n", arrow::int64(), /*nullable=*/false)});
  auto messages = Encode(Config(registry), testing::BatchFromJson(schema, R"([
      {"n": 0}, {"n": -1}, {"n": 1}, {"n": -2}, {"n": 2}, {"n": 64}, {"n": -64}])"));
  ASSERT_EQ(messages.size(), 7u);
  const std::string header = Header(1);
  EXPECT_EQ(messages[0], header + BytesOf({0x00}));
  EXPECT_EQ(messages[1], header + BytesOf({0x01}));
  EXPECT_EQ(messages[2], header + BytesOf({0x02}));
  EXPECT_EQ(messages[3], header + BytesOf({0x03}));
  EXPECT_EQ(messages[4], header + BytesOf({0x04}));
  EXPECT_EQ(messages[5], header + BytesOf({0x80, 0x01}));
  EXPECT_EQ(messages[6], header + BytesOf({0x7f}));

  auto strings = arrow::schema({arrow::field("s", arrow::utf8())});
  messages = Encode(Config(registry),
                    testing::BatchFromJson(strings, R"([{"s": "foo"}, {"s": null}])"));
  ASSERT_EQ(messages.size(), 2u);
  // ["null", "string"]: branch 1 (zigzag 02), then length 3 (06) and the bytes.
  EXPECT_EQ(messages[0], Header(2) + BytesOf({0x02, 0x06, 0x66, 0x6f, 0x6f}));
  EXPECT_EQ(messages[1], Header(2) + BytesOf({0x00}));
}

TEST(AvroCodecTest, EncoderRegistersItsSchemaOnceUnderTheSubject) {
  testing::FakeSchemaRegistry registry;
  auto schema = arrow::schema({arrow::field("b", arrow::boolean(), false),
                               arrow::field("d", arrow::float64(), false)});
  auto encoder = MakeAvroEncoder(Config(registry), schema);
  ASSERT_TRUE(encoder.ok());
  // Nothing is registered before the first batch.
  EXPECT_EQ(registry.requests().size(), 0u);
  EncodedMessages messages;
  auto batch = testing::BatchFromJson(schema, R"([{"b": true, "d": 1.5}])");
  ASSERT_TRUE((*encoder)->Encode(*batch, &messages).ok());
  ASSERT_TRUE((*encoder)->Encode(*batch, &messages).ok());
  ASSERT_EQ(messages.size(), 1);
  // boolean 01, then the double 1.5 little-endian.
  EXPECT_EQ(messages.message(0),
            Header(1) + BytesOf({0x01, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f}));
  const auto requests = registry.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/subjects/orders-value/versions");
}

TEST(AvroCodecTest, RoundTripsEveryTypeWithNullsAndTimestamps) {
  testing::FakeSchemaRegistry registry;
  auto schema = arrow::schema({
      arrow::field("b", arrow::boolean()),
      arrow::field("i8", arrow::int8()),
      arrow::field("i16", arrow::int16()),
      arrow::field("i32", arrow::int32()),
      arrow::field("i64", arrow::int64(), /*nullable=*/false),
      arrow::field("u8", arrow::uint8()),
      arrow::field("u16", arrow::uint16()),
      arrow::field("u32", arrow::uint32()),
      arrow::field("f", arrow::float32()),
      arrow::field("d", arrow::float64()),
      arrow::field("s", arrow::utf8()),
      arrow::field("ls", arrow::large_utf8()),
      arrow::field("bin", arrow::binary()),
      arrow::field("ts_s", arrow::timestamp(arrow::TimeUnit::SECOND)),
      arrow::field("ts_ms", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")),
      arrow::field("ts_us", arrow::timestamp(arrow::TimeUnit::MICRO)),
      arrow::field("ts_ns", arrow::timestamp(arrow::TimeUnit::NANO)),
      arrow::field("date", arrow::date32()),
  });
  auto batch = testing::BatchFromJson(schema, R"([
      {"b": true, "i8": -128, "i16": 32767, "i32": -2147483648,
       "i64": -9223372036854775808, "u8": 255, "u16": 65535, "u32": 4294967295,
       "f": 0.25, "d": -1e300, "s": "caf\u00e9", "ls": "", "bin": "raw",
       "ts_s": -1, "ts_ms": 1700000000123, "ts_us": -5, "ts_ns": 1700000000123456789,
       "date": -719162},
      {"b": null, "i8": null, "i16": null, "i32": null, "i64": 9223372036854775807,
       "u8": null, "u16": null, "u32": null, "f": null, "d": null, "s": null,
       "ls": null, "bin": null, "ts_s": null, "ts_ms": null, "ts_us": null,
       "ts_ns": null, "date": null}])");
  const CodecConfig config = Config(registry);
  auto decoded = Decode(config, schema, Encode(config, batch));
  ASSERT_NE(decoded, nullptr);
  EXPECT_TRUE(decoded->Equals(*batch)) << decoded->ToString();
}

// A writer schema as another producer registers it: fields in another order, some the
// decoder does not read (of every kind, so that each is skipped), one it lacks.
constexpr char kWriterSchema[] = R"({
    "type": "record", "name": "Order", "namespace": "shop",
    "fields": [
      {"name": "tags", "type": {"type": "array", "items": "string"}},
      {"name": "item", "type": ["null", "string"]},
      {"name": "meta", "type": {"type": "map", "values": "long"}},
      {"name": "inner", "type": {"type": "record", "name": "Inner",
                                 "fields": [{"name": "x", "type": "double"},
                                            {"name": "f", "type": "float"}]}},
      {"name": "hash", "type": {"type": "fixed", "name": "H", "size": 2}},
      {"name": "state", "type": {"type": "enum", "name": "S", "symbols": ["NEW", "DONE"]}},
      {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
      {"name": "id", "type": "int"},
      {"name": "flag", "type": ["null", "boolean"]}
    ]})";

// A datum of kWriterSchema: tags ["a"], item "pen", meta {"k": 1} in a block with a
// byte size, inner {x: 0.0, f: 0.0}, hash "\x01\x02", state DONE, at 1500 us, id -3,
// flag null.
std::string WriterDatum() {
  return BytesOf({0x02, 0x02, 'a',  0x00,              // tags: one block of 1
                  0x02, 0x06, 'p',  'e',  'n',         // item: branch 1, "pen"
                  0x01, 0x06, 0x02, 'k',  0x02, 0x00,  // meta: count -1, size 3
                  0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0,  // inner
                  0x01, 0x02,                                            // hash
                  0x02,                                                  // state: DONE
                  0xb8, 0x17,                                            // at: 1500
                  0x05,                                                  // id: -3
                  0x00});                                                // flag: null
}

TEST(AvroCodecTest, MapsWriterFieldsToColumnsByName) {
  testing::FakeSchemaRegistry registry;
  const int32_t id = registry.Add("orders-value", kWriterSchema);
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()),
       arrow::field("at", arrow::timestamp(arrow::TimeUnit::MILLI)),
       arrow::field("state", arrow::utf8()), arrow::field("hash", arrow::binary()),
       arrow::field("item", arrow::utf8()), arrow::field("flag", arrow::boolean()),
       arrow::field("missing", arrow::float64())});
  auto decoded = Decode(Config(registry), schema, {Header(id) + WriterDatum()});
  ASSERT_NE(decoded, nullptr);
  EXPECT_TRUE(decoded->Equals(*testing::BatchFromJson(schema, R"([
      {"id": -3, "at": 1, "state": "DONE", "hash": "\u0001\u0002", "item": "pen",
       "flag": null, "missing": null}])")))
      << decoded->ToString();
}

TEST(AvroCodecTest, FetchesEachWriterSchemaOnce) {
  testing::FakeSchemaRegistry registry;
  const int32_t writer = registry.Add("orders-value", kWriterSchema);
  const int32_t other = registry.Add(
      "orders-value",
      R"({"type":"record","name":"O","fields":[{"name":"id","type":"long"}]})");
  auto schema = arrow::schema({arrow::field("id", arrow::int64())});
  auto decoded =
      Decode(Config(registry), schema,
             {Header(writer) + WriterDatum(), Header(other) + BytesOf({0x80, 0x01}),
              Header(writer) + WriterDatum(), Header(other) + BytesOf({0x01})});
  ASSERT_NE(decoded, nullptr);
  EXPECT_TRUE(decoded->Equals(*testing::BatchFromJson(
      schema, R"([{"id": -3}, {"id": 64}, {"id": -3}, {"id": -1}])")));
  EXPECT_EQ(registry.requests().size(), 2u);
}

TEST(AvroCodecTest, BadMessagesNameTheProblemAndAppendNothing) {
  testing::FakeSchemaRegistry registry;
  const int32_t id = registry.Add("orders-value", kWriterSchema);
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int8()), arrow::field("item", arrow::utf8())});
  auto decoder = MakeAvroDecoder(Config(registry), schema, 64);
  ASSERT_TRUE(decoder.ok());
  const auto append = [&](const std::string& message) {
    return (*decoder)->Append(message).status();
  };

  EXPECT_EQ(
      append("{\"id\": 1}").message(),
      "avro: not Confluent wire format: first byte is 0x7b at offset 0, expected 0x00");
  EXPECT_TRUE(append(BytesOf({0, 0, 0})).IsInvalid());
  Status unknown = append(Header(99) + BytesOf({0x00}));
  EXPECT_TRUE(unknown.IsIOError());
  EXPECT_NE(
      unknown.message().find("/schemas/ids/99 returned error 40403: Schema 99 not found"),
      std::string::npos)
      << unknown.ToString();

  // Cut inside "item": its string, after the branch index, claims 3 bytes where 1 is
  // left.
  const std::string datum = WriterDatum();
  EXPECT_EQ(
      append(Header(id) + datum.substr(0, 7)).message(),
      "avro: field 'item' (union [null, string]) of writer schema 1 at byte 10: the "
      "message ends inside a string or bytes value");
  // The union branch index 2 (zigzag 04) does not exist.
  std::string bad_branch = datum;
  bad_branch[4] = 0x04;
  EXPECT_EQ(
      append(Header(id) + bad_branch).message(),
      "avro: field 'item' (union [null, string]) of writer schema 1 at byte 9: union "
      "branch index out of range");
  // id -200 does not fit the int8 column.
  std::string out_of_range = datum;
  out_of_range[out_of_range.size() - 2] = static_cast<char>(0x8f);
  out_of_range.insert(out_of_range.size() - 1, 1, 0x03);
  EXPECT_EQ(append(Header(id) + out_of_range).message(),
            "avro: field 'id' of writer schema 1 at byte 37: cannot store int -200 in a "
            "column of type int8");
  EXPECT_EQ(append(Header(id) + datum + BytesOf({0x00})).message(),
            "avro: the datum of writer schema 1 ends at byte 39 but the message has 40 "
            "bytes");
  EXPECT_EQ((*decoder)->num_rows(), 0);
  ASSERT_TRUE(append(Header(id) + datum).ok());
  EXPECT_EQ((*decoder)->num_rows(), 1);
}

TEST(AvroCodecTest, EveryTruncationOfADatumIsAnError) {
  testing::FakeSchemaRegistry registry;
  const int32_t id = registry.Add("orders-value", kWriterSchema);
  auto decoder = MakeAvroDecoder(
      Config(registry), arrow::schema({arrow::field("item", arrow::utf8())}), 64);
  ASSERT_TRUE(decoder.ok());
  const std::string message = Header(id) + WriterDatum();
  ASSERT_TRUE((*decoder)->Append(message).ok());
  for (size_t size = 0; size < message.size(); ++size) {
    EXPECT_TRUE((*decoder)->Append(message.substr(0, size)).status().IsInvalid()) << size;
  }
  EXPECT_EQ((*decoder)->num_rows(), 1);
}

TEST(AvroCodecTest, IncompatibleWriterFieldsNameTheField) {
  testing::FakeSchemaRegistry registry;
  const int32_t id = registry.Add("orders-value", kWriterSchema);
  auto decoder = MakeAvroDecoder(
      Config(registry), arrow::schema({arrow::field("item", arrow::int64())}), 64);
  ASSERT_TRUE(decoder.ok());
  Status status = (*decoder)->Append(Header(id) + WriterDatum()).status();
  EXPECT_EQ(
      status.message(),
      "avro: field 'item' of writer schema 1 is union [null, string], which cannot be "
      "read into a column of type int64");
  decoder = MakeAvroDecoder(Config(registry),
                            arrow::schema({arrow::field("tags", arrow::utf8())}), 64);
  ASSERT_TRUE(decoder.ok());
  EXPECT_TRUE((*decoder)->Append(Header(id) + WriterDatum()).status().IsInvalid());
}

TEST(AvroCodecTest, ConfigurationErrors) {
  CodecConfig config;
  config.kind = CodecKind::kAvro;
  auto schema = arrow::schema({arrow::field("a", arrow::int64())});
  EXPECT_TRUE(MakeAvroDecoder(config, schema, 64).status().IsInvalid());
  config.schema_registry_url = "https://registry:8081";
  EXPECT_TRUE(MakeAvroDecoder(config, schema, 64).status().IsNotImplemented());
  config.schema_registry_url = "http://registry:8081";
  EXPECT_TRUE(MakeAvroEncoder(config, schema).status().IsInvalid());
  config.subject = "orders-value";
  EXPECT_TRUE(MakeAvroEncoder(config, schema).ok());
  EXPECT_TRUE(MakeAvroEncoder(config, arrow::schema({arrow::field("u", arrow::uint64())}))
                  .status()
                  .IsNotImplemented());
}

}  // namespace
}  // namespace sabot
