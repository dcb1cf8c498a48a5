// Options of the Kafka source and sink nodes (librdkafka). README.md describes the
// source's partition assignment, positions and watermarks, the sink's delivery
// guarantees and what a failure at each phase of a transaction leaves behind.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/connectors/codec/codec.h"
#include "sabot/plan/logical_plan.h"

namespace arrow {
class Schema;
}  // namespace arrow

namespace sabot {

class OperatorRegistry;

/// Where a source starts reading partitions it has no checkpointed position for.
enum class KafkaStartOffset {
  kEarliest,
  kLatest,
  /// The first offset whose record timestamp is >= start_timestamp_ms.
  kTimestamp,
  /// The consumer group's committed offsets (group_id); partitions without one start
  /// from the earliest offset.
  kGroupOffsets,
};

/// What the source does with a message its codec cannot decode.
enum class KafkaBadRecordPolicy {
  /// Stop the job with an error naming topic, partition, offset and the codec's reason.
  kFail,
  /// Drop it and count it (the source node's rows_rejected).
  kSkip,
  /// Count it and write its original key and value, with the reason, topic, partition
  /// and offset, to a dead-letter topic or file.
  kDeadLetter,
};

/// Kafka record fields the source can add as columns after the value's columns.
struct KafkaMetadataColumns {
  bool key = false;        // "_key": binary
  bool topic = false;      // "_topic": string
  bool partition = false;  // "_partition": int32
  bool offset = false;     // "_offset": int64
  bool timestamp = false;  // "_timestamp": timestamp[ms]
  bool headers = false;    // "_headers": map<string, binary>
};

struct KafkaSourceConfig {
  /// host:port[,host:port...]
  std::string bootstrap_servers;
  /// Topics to read, or (if empty) every topic matching topic_pattern (ECMAScript
  /// regular expression over the whole name). Partitions and matching topics added
  /// while the job runs are picked up by discovery and read from their earliest offset.
  std::vector<std::string> topics;
  std::string topic_pattern;
  /// Columns decoded from each message's value.
  std::shared_ptr<arrow::Schema> schema;
  CodecConfig codec;
  KafkaMetadataColumns metadata;
  KafkaStartOffset start = KafkaStartOffset::kEarliest;
  int64_t start_timestamp_ms = 0;
  /// Consumer group: where kGroupOffsets reads from and where the positions of completed
  /// checkpoints are committed (for monitoring only: positions live in checkpoints).
  std::string group_id;
  /// Stop at the end offsets seen when each partition is first assigned (a bounded job,
  /// as Flink's setBounded(latest)); otherwise read forever.
  bool bounded = false;
  /// Per-partition watermarks from this column (a value column, or "_timestamp" for the
  /// record timestamp, which then adds that metadata column), as
  /// WatermarkStrategy::BoundedOutOfOrderness; empty: none.
  std::string watermark_column;
  int64_t max_out_of_orderness_ms = 0;
  /// A partition without messages for this long (wall clock) stops holding back the
  /// watermark; when every partition of a subtask is idle, so is the subtask. 0: never.
  int64_t idle_timeout_ms = 0;
  /// Metadata is re-read this often to find new partitions and topics; 0: never.
  int64_t partition_discovery_interval_ms = 10'000;
  KafkaBadRecordPolicy on_bad_record = KafkaBadRecordPolicy::kFail;
  /// kDeadLetter: a topic (on the same cluster) or a JSON lines file; exactly one.
  std::string dead_letter_topic;
  std::string dead_letter_path;
  /// Rows per emitted batch, and the longest a partial batch waits for more messages.
  int64_t batch_size = 16 * 1024;
  int64_t max_batch_delay_ms = 100;
  /// Passed to librdkafka as is (e.g. security settings); Sabot's own settings win where
  /// they overlap (enable.auto.commit, isolation.level).
  std::map<std::string, std::string> properties;
  /// read_committed (default) skips records of aborted transactions and stops at open
  /// ones; read_uncommitted sees everything.
  bool read_committed = true;
};

class KafkaSourceOptions : public NodeOptions {
 public:
  /// Validates the configuration; errors say what to change.
  static Result<std::shared_ptr<KafkaSourceOptions>> Make(KafkaSourceConfig config);

  std::string kind() const override { return "kafka_source"; }
  std::string Describe() const override;

  const KafkaSourceConfig& config() const { return config_; }
  /// The value's columns followed by the metadata columns asked for.
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }

 private:
  KafkaSourceOptions(KafkaSourceConfig config, std::shared_ptr<arrow::Schema> schema)
      : config_(std::move(config)), schema_(std::move(schema)) {}
  KafkaSourceConfig config_;
  std::shared_ptr<arrow::Schema> schema_;
};

enum class KafkaDeliveryGuarantee {
  /// The idempotent producer; every message acknowledged before a checkpoint completes.
  kAtLeastOnce,
  /// Kafka transactions committed when the checkpoint that covers them completes.
  kExactlyOnce,
};

struct KafkaSinkConfig {
  std::string bootstrap_servers;
  std::string topic;
  CodecConfig codec;
  /// Message key: one string or binary column as its bytes; several columns (or other
  /// types) as a JSON object of them. Empty: no key.
  std::vector<std::string> key_columns;
  /// Columns encoded into the message value, in this order; empty: every column. (A
  /// raw value with a key column: value_columns = {"value"}, key_columns = {"key"}.)
  std::vector<std::string> value_columns;
  /// An int32 column naming each row's partition; empty: librdkafka's murmur2_random
  /// partitioner over the key (the Java client's default for keyed records).
  std::string partition_column;
  KafkaDeliveryGuarantee guarantee = KafkaDeliveryGuarantee::kAtLeastOnce;
  /// Exactly-once: subtask i writes with transactional ids "<prefix>-<i>-<n>". Must be
  /// unique per job and stable across its restarts. Empty: "sabot-<topic>".
  std::string transactional_id_prefix;
  /// none, gzip, snappy, lz4 or zstd.
  std::string compression = "lz4";
  /// Exactly-once: how long the broker keeps a transaction open before aborting it;
  /// must exceed the checkpoint interval plus the restart time (README.md).
  int64_t transaction_timeout_ms = 600'000;
  std::map<std::string, std::string> properties;
};

class KafkaSinkOptions : public NodeOptions {
 public:
  static Result<std::shared_ptr<KafkaSinkOptions>> Make(
      KafkaSinkConfig config, std::shared_ptr<arrow::Schema> schema);

  std::string kind() const override { return "kafka_sink"; }
  std::string Describe() const override;

  const KafkaSinkConfig& config() const { return config_; }
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  /// Indices of the key columns, and of the partition column (-1 if none).
  const std::vector<int>& key_indices() const { return key_indices_; }
  /// Indices of the columns encoded into the value.
  const std::vector<int>& value_indices() const { return value_indices_; }
  int partition_index() const { return partition_index_; }

 private:
  KafkaSinkOptions(KafkaSinkConfig config, std::shared_ptr<arrow::Schema> schema,
                   std::vector<int> key_indices, std::vector<int> value_indices,
                   int partition_index)
      : config_(std::move(config)),
        schema_(std::move(schema)),
        key_indices_(std::move(key_indices)),
        value_indices_(std::move(value_indices)),
        partition_index_(partition_index) {}
  KafkaSinkConfig config_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<int> key_indices_;
  std::vector<int> value_indices_;
  int partition_index_;
};

/// Registers the "kafka_source" source and the "kafka_sink" operator.
Status RegisterKafkaConnectors(OperatorRegistry* registry);

}  // namespace sabot
