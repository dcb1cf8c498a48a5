#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/writer.h>
#include <gtest/gtest.h>

#include "sabot/connectors/codec/codec_factories.h"
#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

// Writes `batches` as one IPC stream, as another Arrow producer would.
std::string Stream(const std::shared_ptr<arrow::Schema>& schema,
                   const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto writer = arrow::ipc::MakeStreamWriter(sink, schema).ValueOrDie();
  for (const auto& batch : batches) EXPECT_TRUE(writer->WriteRecordBatch(*batch).ok());
  EXPECT_TRUE(writer->Close().ok());
  return sink->Finish().ValueOrDie()->ToString();
}

std::shared_ptr<arrow::Schema> OrderSchema() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("item", arrow::utf8()),
                        arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO))});
}

TEST(ArrowIpcCodecTest, AppendsEveryBatchOfEveryMessage) {
  auto schema = OrderSchema();
  auto first = testing::BatchFromJson(
      schema, R"([{"id": 1, "item": "a", "at": 10}, {"id": 2, "item": null, "at": 20}])");
  auto second = testing::BatchFromJson(schema, R"([{"id": 3, "item": "c", "at": null}])");
  auto decoder = MakeArrowIpcDecoder(schema, 1024);
  ASSERT_TRUE(decoder.ok());

  std::string message = Stream(schema, {first, second});
  auto rows = (*decoder)->Append(message);
  // The payload is only lent: the decoder must not keep pointers into it.
  std::fill(message.begin(), message.end(), '\0');
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 3);
  ASSERT_TRUE((*decoder)->Append(Stream(schema, {first})).ok());
  EXPECT_EQ((*decoder)->num_rows(), 5);

  auto batch = (*decoder)->Flush();
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE((*batch)->ValidateFull().ok());
  EXPECT_TRUE((*batch)->Equals(*testing::BatchFromJson(schema, R"([
      {"id": 1, "item": "a", "at": 10}, {"id": 2, "item": null, "at": 20},
      {"id": 3, "item": "c", "at": null},
      {"id": 1, "item": "a", "at": 10}, {"id": 2, "item": null, "at": 20}])")))
      << (*batch)->ToString();
  EXPECT_EQ((*decoder)->num_rows(), 0);

  auto empty = (*decoder)->Flush();
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->num_rows(), 0);
  EXPECT_TRUE((*empty)->schema()->Equals(*schema));
}

TEST(ArrowIpcCodecTest, MatchesColumnsByNameAndIgnoresExtraOnes) {
  auto schema = OrderSchema();
  auto stream_schema = arrow::schema(
      {arrow::field("extra", arrow::boolean()),
       arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO)),
       arrow::field("item", arrow::utf8()), arrow::field("id", arrow::int64())});
  auto decoder = MakeArrowIpcDecoder(schema, 1024);
  ASSERT_TRUE(decoder.ok());
  ASSERT_TRUE(
      (*decoder)
          ->Append(Stream(
              stream_schema,
              {testing::BatchFromJson(
                  stream_schema, R"([{"extra": true, "at": 5, "item": "x", "id": 9}])")}))
          .ok());
  auto batch = (*decoder)->Flush();
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE((*batch)->Equals(
      *testing::BatchFromJson(schema, R"([{"id": 9, "item": "x", "at": 5}])")));
}

TEST(ArrowIpcCodecTest, IncompatibleStreamsNameTheColumn) {
  auto schema = OrderSchema();
  auto decoder = MakeArrowIpcDecoder(schema, 1024);
  ASSERT_TRUE(decoder.ok());

  auto wrong_type = arrow::schema(
      {arrow::field("id", arrow::int32()), arrow::field("item", arrow::utf8()),
       arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO))});
  Status status = (*decoder)->Append(Stream(wrong_type, {})).status();
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_EQ(status.message(),
            "arrow: column 'id' of the IPC stream is int32, expected int64");

  auto missing = arrow::schema({arrow::field("id", arrow::int64())});
  status = (*decoder)->Append(Stream(missing, {})).status();
  EXPECT_NE(status.message().find("arrow: the IPC stream has no column 'item'"),
            std::string::npos)
      << status.ToString();

  status = (*decoder)->Append("not arrow at all").status();
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("is not an Arrow IPC stream"), std::string::npos)
      << status.ToString();
  EXPECT_EQ((*decoder)->num_rows(), 0);
}

TEST(ArrowIpcCodecTest, TruncatedStreamAppendsNothing) {
  auto schema = OrderSchema();
  auto batch = testing::BatchFromJson(schema, R"([{"id": 1, "item": "a", "at": 1}])");
  const std::string stream = Stream(schema, {batch, batch});
  auto decoder = MakeArrowIpcDecoder(schema, 1024);
  ASSERT_TRUE(decoder.ok());
  // Cut inside the second batch's body.
  Status status = (*decoder)->Append(stream.substr(0, stream.size() - 40)).status();
  EXPECT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_EQ((*decoder)->num_rows(), 0);
}

TEST(ArrowIpcCodecTest, EncoderMakesOneStreamPerBatchThatRoundTrips) {
  auto schema = OrderSchema();
  auto encoder = MakeArrowIpcEncoder(schema);
  ASSERT_TRUE(encoder.ok());
  EXPECT_FALSE((*encoder)->one_message_per_row());
  auto batch = testing::BatchFromJson(
      schema,
      R"([{"id": 1, "item": "a", "at": 10}, {"id": null, "item": "b", "at": 20}])");
  EncodedMessages messages;
  ASSERT_TRUE((*encoder)->Encode(*batch, &messages).ok());
  ASSERT_EQ(messages.size(), 1);

  auto decoder = MakeArrowIpcDecoder(schema, 1024);
  ASSERT_TRUE(decoder.ok());
  auto rows = (*decoder)->Append(messages.message(0));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 2);
  auto decoded = (*decoder)->Flush();
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE((*decoded)->Equals(*batch));

  auto empty = arrow::RecordBatch::MakeEmpty(schema).ValueOrDie();
  ASSERT_TRUE((*encoder)->Encode(*empty, &messages).ok());
  EXPECT_EQ(messages.size(), 0);
}

}  // namespace
}  // namespace sabot
