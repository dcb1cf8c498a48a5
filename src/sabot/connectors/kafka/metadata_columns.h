// The Kafka record fields a source adds after the value's columns (_key, _topic,
// _partition, _offset, _timestamp, _headers), built alongside the decoded rows.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/connectors/kafka/kafka_options.h"

namespace arrow {
class Array;
class Field;
}  // namespace arrow

namespace sabot {

/// Appends the fields of the metadata columns `columns` asks for, in output order.
void AppendMetadataFields(const KafkaMetadataColumns& columns,
                          std::vector<std::shared_ptr<arrow::Field>>* fields);

class MetadataColumnBuilders {
 public:
  static Result<std::unique_ptr<MetadataColumnBuilders>> Make(
      const KafkaMetadataColumns& columns);
  ~MetadataColumnBuilders();

  bool needs_timestamp() const { return columns_.timestamp; }

  /// Appends the metadata of `message` `rows` times (a message may decode into several
  /// rows). `timestamp` is the record's timestamp when needs_timestamp().
  Status Append(const rd_kafka_message_t* message, std::string_view topic,
                int64_t timestamp, int64_t rows);

  /// Appends the finished metadata arrays to `columns` and starts anew.
  Status Finish(std::vector<std::shared_ptr<arrow::Array>>* columns);

 private:
  struct Builders;
  MetadataColumnBuilders(KafkaMetadataColumns columns,
                         std::unique_ptr<Builders> builders);
  Status AppendHeaders(const rd_kafka_message_t* message);

  KafkaMetadataColumns columns_;
  std::unique_ptr<Builders> builders_;
};

}  // namespace sabot
