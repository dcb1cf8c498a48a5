#include "sabot/connectors/kafka/metadata_columns.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/type.h>

namespace sabot {
namespace {

std::shared_ptr<arrow::DataType> HeadersType() {
  return arrow::map(arrow::utf8(), arrow::binary());
}

}  // namespace

void AppendMetadataFields(const KafkaMetadataColumns& columns,
                          std::vector<std::shared_ptr<arrow::Field>>* fields) {
  if (columns.key) fields->push_back(arrow::field("_key", arrow::binary()));
  if (columns.topic) fields->push_back(arrow::field("_topic", arrow::utf8()));
  if (columns.partition) fields->push_back(arrow::field("_partition", arrow::int32()));
  if (columns.offset) fields->push_back(arrow::field("_offset", arrow::int64()));
  if (columns.timestamp) {
    fields->push_back(
        arrow::field("_timestamp", arrow::timestamp(arrow::TimeUnit::MILLI)));
  }
  if (columns.headers) fields->push_back(arrow::field("_headers", HeadersType()));
}

struct MetadataColumnBuilders::Builders {
  arrow::BinaryBuilder key;
  arrow::StringBuilder topic;
  arrow::Int32Builder partition;
  arrow::Int64Builder offset;
  arrow::TimestampBuilder timestamp{arrow::timestamp(arrow::TimeUnit::MILLI),
                                    arrow::default_memory_pool()};
  std::shared_ptr<arrow::StringBuilder> header_names =
      std::make_shared<arrow::StringBuilder>();
  std::shared_ptr<arrow::BinaryBuilder> header_values =
      std::make_shared<arrow::BinaryBuilder>();
  arrow::MapBuilder headers{arrow::default_memory_pool(), header_names, header_values,
                            HeadersType()};
};

MetadataColumnBuilders::MetadataColumnBuilders(KafkaMetadataColumns columns,
                                               std::unique_ptr<Builders> builders)
    : columns_(columns), builders_(std::move(builders)) {}

MetadataColumnBuilders::~MetadataColumnBuilders() = default;

Result<std::unique_ptr<MetadataColumnBuilders>> MetadataColumnBuilders::Make(
    const KafkaMetadataColumns& columns) {
  return std::unique_ptr<MetadataColumnBuilders>(
      new MetadataColumnBuilders(columns, std::make_unique<Builders>()));
}

Status MetadataColumnBuilders::Append(const rd_kafka_message_t* message,
                                      std::string_view topic, int64_t timestamp,
                                      int64_t rows) {
  Builders& b = *builders_;
  for (int64_t row = 0; row < rows; ++row) {
    if (columns_.key) {
      if (message->key == nullptr) {
        ARROW_RETURN_NOT_OK(b.key.AppendNull());
      } else {
        ARROW_RETURN_NOT_OK(b.key.Append(static_cast<const uint8_t*>(message->key),
                                         static_cast<int32_t>(message->key_len)));
      }
    }
    if (columns_.topic) ARROW_RETURN_NOT_OK(b.topic.Append(topic));
    if (columns_.partition) ARROW_RETURN_NOT_OK(b.partition.Append(message->partition));
    if (columns_.offset) ARROW_RETURN_NOT_OK(b.offset.Append(message->offset));
    if (columns_.timestamp) {
      if (timestamp < 0) {
        ARROW_RETURN_NOT_OK(b.timestamp.AppendNull());
      } else {
        ARROW_RETURN_NOT_OK(b.timestamp.Append(timestamp));
      }
    }
    if (columns_.headers) ARROW_RETURN_NOT_OK(AppendHeaders(message));
  }
  return Status::OK();
}

Status MetadataColumnBuilders::AppendHeaders(const rd_kafka_message_t* message) {
  Builders& b = *builders_;
  ARROW_RETURN_NOT_OK(b.headers.Append());
  rd_kafka_headers_t* headers = nullptr;
  // Casting away const: librdkafka parses headers lazily into the message.
  if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(message), &headers) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::OK();
  }
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    ARROW_RETURN_NOT_OK(b.header_names->Append(name));
    if (value == nullptr) {
      ARROW_RETURN_NOT_OK(b.header_values->AppendNull());
    } else {
      ARROW_RETURN_NOT_OK(b.header_values->Append(static_cast<const uint8_t*>(value),
                                                  static_cast<int32_t>(size)));
    }
  }
  return Status::OK();
}

Status MetadataColumnBuilders::Finish(
    std::vector<std::shared_ptr<arrow::Array>>* columns) {
  Builders& b = *builders_;
  std::shared_ptr<arrow::Array> array;
  if (columns_.key) {
    ARROW_RETURN_NOT_OK(b.key.Finish(&array));
    columns->push_back(array);
  }
  if (columns_.topic) {
    ARROW_RETURN_NOT_OK(b.topic.Finish(&array));
    columns->push_back(array);
  }
  if (columns_.partition) {
    ARROW_RETURN_NOT_OK(b.partition.Finish(&array));
    columns->push_back(array);
  }
  if (columns_.offset) {
    ARROW_RETURN_NOT_OK(b.offset.Finish(&array));
    columns->push_back(array);
  }
  if (columns_.timestamp) {
    ARROW_RETURN_NOT_OK(b.timestamp.Finish(&array));
    columns->push_back(array);
  }
  if (columns_.headers) {
    ARROW_RETURN_NOT_OK(b.headers.Finish(&array));
    columns->push_back(array);
  }
  return Status::OK();
}

}  // namespace sabot
