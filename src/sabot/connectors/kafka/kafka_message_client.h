// Message-level Kafka access for the Python App layer (broker "kafka://"): a reader of
// given partitions from given offsets, a producer, topic creation and end offsets. The
// App keeps positions itself (in its checkpoints), so the reader assigns partitions
// directly and commits nothing, like the dataflow source.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/connectors/kafka/kafka_client.h"

namespace arrow {
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot {

using KafkaProperties = std::map<std::string, std::string>;

class KafkaMessageReader {
 public:
  /// Reads `partitions` of `topic` from `offsets` (one per partition).
  static Result<std::unique_ptr<KafkaMessageReader>> Make(
      const std::string& bootstrap, const std::string& topic,
      const std::vector<int32_t>& partitions, const std::vector<int64_t>& offsets,
      const KafkaProperties& properties);
  ~KafkaMessageReader();

  /// Waits up to `timeout_ms` for messages and returns up to `max_messages` of them as
  /// runs of one partition each: (partition, batch of key, value, offset, timestamp as
  /// MemoryTopic::MessageSchema()). Empty on timeout. A fetch error names the topic
  /// and partition.
  Result<std::vector<std::pair<int32_t, std::shared_ptr<arrow::RecordBatch>>>> Poll(
      int64_t max_messages, int64_t timeout_ms);

 private:
  KafkaMessageReader(std::string topic, KafkaHandle consumer, rd_kafka_queue_t* queue);

  const std::string topic_;
  KafkaHandle consumer_;
  rd_kafka_queue_t* queue_;
  std::vector<rd_kafka_message_t*> messages_;
};

/// Where a produced message went, filled in by its delivery report.
struct KafkaDelivery {
  int32_t partition = -1;
  int64_t offset = -1;
  std::string error;  // empty on success
};

class KafkaMessageWriter {
 public:
  /// An idempotent producer (acks=all), lz4-compressed.
  static Result<std::unique_ptr<KafkaMessageWriter>> Make(
      const std::string& bootstrap, const KafkaProperties& properties);
  ~KafkaMessageWriter();

  /// Queues a message; partition -1 lets librdkafka's partitioner choose (crc32 of the
  /// key, as sabot's memory topics; random without a key). The returned delivery is
  /// complete after Flush(). Fails without queuing once an earlier message was not
  /// delivered (see Flush).
  Result<std::shared_ptr<KafkaDelivery>> Produce(const std::string& topic,
                                                 int32_t partition,
                                                 const std::optional<std::string>& key,
                                                 const std::string& value,
                                                 int64_t timestamp_ms);

  /// Queues messages to `partition` in order, one key (nullopt for none), value and
  /// timestamp each; the bytes are copied. Returns the delivery of the first (null when
  /// there are none), complete after Flush(); the others report only errors, through
  /// Flush(). One call for a group saves a delivery object and a call per message.
  /// Fails without queuing once an earlier message was not delivered (see Flush), so
  /// a caller that does not wait for each group still learns of a loss at its next.
  Result<std::shared_ptr<KafkaDelivery>> ProduceMany(
      const std::string& topic, int32_t partition,
      const std::vector<std::optional<std::string_view>>& keys,
      const std::vector<std::string_view>& values, const std::vector<int64_t>& timestamps);

  /// Waits until every queued message is delivered; returns the first delivery error
  /// (naming topic and partition). Once a message was not delivered, every later Flush
  /// fails with that error: callers must not count anything sent since as delivered.
  Status Flush(int64_t timeout_ms);

  /// The error of the first message that was not delivered as far as delivery reports
  /// have been served (an IOError), or OK; does not wait.
  Status FirstError();

 private:
  KafkaMessageWriter() = default;
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*);
  // Queues one message, waiting while librdkafka's local queue is full; `opaque` (may
  // be null) receives the delivery report.
  Status Queue(const std::string& topic, int32_t partition,
               std::optional<std::string_view> key, std::string_view value,
               int64_t timestamp_ms, std::shared_ptr<KafkaDelivery>* opaque);

  KafkaHandle producer_;
  std::mutex mutex_;
  std::string first_error_;
};

/// The partition of a message with `key` among `partitions`: murmur2 of the key, as
/// Kafka's Java producer and Sabot's Kafka sink choose it, so every writer of a topic
/// puts a key in the same partition.
int32_t KafkaKeyPartition(std::string_view key, int32_t partitions);

/// Creates `topic` with `partitions` if it does not exist; fails if it exists with a
/// different partition count.
Status KafkaEnsureTopic(const std::string& bootstrap, const std::string& topic,
                        int32_t partitions, const KafkaProperties& properties);

/// The end offset (high watermark) of every partition of `topic`, in partition order.
Result<std::vector<int64_t>> KafkaEndOffsets(const std::string& bootstrap,
                                             const std::string& topic,
                                             const KafkaProperties& properties);

}  // namespace sabot
