#include "sabot/connectors/kafka/kafka_options.h"

#include <algorithm>

#include <arrow/type.h>

#include "sabot/connectors/kafka/kafka_sink.h"
#include "sabot/connectors/kafka/kafka_source.h"
#include "sabot/connectors/kafka/metadata_columns.h"
#include "sabot/runtime/operator_registry.h"

namespace sabot {
namespace {

Status CheckBootstrap(const std::string& servers) {
  if (servers.empty()) {
    return Status::Invalid("bootstrap_servers is empty: set it to host:port[,host:port]");
  }
  return Status::OK();
}

Status CheckPositive(int64_t value, const char* name) {
  if (value <= 0) return Status::Invalid(name, " must be positive, got ", value);
  return Status::OK();
}

Result<std::vector<int>> ColumnIndices(const arrow::Schema& schema,
                                       const std::vector<std::string>& names,
                                       const char* role) {
  std::vector<int> indices;
  for (const std::string& name : names) {
    const int index = schema.GetFieldIndex(name);
    if (index < 0) {
      return Status::Invalid(role, " column '", name, "' is not in the stream (",
                             schema.ToString(), ")");
    }
    indices.push_back(index);
  }
  return indices;
}

}  // namespace

Result<std::shared_ptr<KafkaSourceOptions>> KafkaSourceOptions::Make(
    KafkaSourceConfig config) {
  ARROW_RETURN_NOT_OK(CheckBootstrap(config.bootstrap_servers));
  if (config.topics.empty() == config.topic_pattern.empty()) {
    return Status::Invalid("set either topics or topic_pattern for the Kafka source");
  }
  if (!config.schema) {
    return Status::Invalid("the Kafka source needs the schema of its values");
  }
  ARROW_RETURN_NOT_OK(CheckPositive(config.batch_size, "batch_size"));
  ARROW_RETURN_NOT_OK(CheckPositive(config.max_batch_delay_ms, "max_batch_delay_ms"));
  if (config.start == KafkaStartOffset::kGroupOffsets && config.group_id.empty()) {
    return Status::Invalid("start from group offsets needs a group_id");
  }
  if (config.on_bad_record == KafkaBadRecordPolicy::kDeadLetter &&
      config.dead_letter_topic.empty() == config.dead_letter_path.empty()) {
    return Status::Invalid(
        "the dead-letter policy needs exactly one of dead_letter_topic and "
        "dead_letter_path");
  }
  // Record-time watermarks make "_timestamp" the stream's event-time column, so the
  // column must be there for windows downstream.
  if (config.watermark_column == "_timestamp") config.metadata.timestamp = true;
  arrow::FieldVector fields = config.schema->fields();
  AppendMetadataFields(config.metadata, &fields);
  auto schema = arrow::schema(fields);
  for (int i = config.schema->num_fields(); i < schema->num_fields(); ++i) {
    if (config.schema->GetFieldIndex(schema->field(i)->name()) >= 0) {
      return Status::Invalid("value column '", schema->field(i)->name(),
                             "' has the name of a Kafka metadata column; rename it");
    }
  }
  if (!config.watermark_column.empty() && config.watermark_column != "_timestamp") {
    const int index = config.schema->GetFieldIndex(config.watermark_column);
    const auto type =
        index < 0 ? arrow::Type::NA : config.schema->field(index)->type()->id();
    if (type != arrow::Type::INT64 && type != arrow::Type::TIMESTAMP) {
      return Status::Invalid("watermark_column '", config.watermark_column,
                             "' must be an int64 (milliseconds) or timestamp value "
                             "column, or \"_timestamp\" for the record timestamp");
    }
  }
  return std::shared_ptr<KafkaSourceOptions>(
      new KafkaSourceOptions(std::move(config), std::move(schema)));
}

std::string KafkaSourceOptions::Describe() const {
  std::string topics = config_.topic_pattern;
  if (topics.empty()) {
    for (const std::string& topic : config_.topics) {
      if (!topics.empty()) topics += ",";
      topics += topic;
    }
  }
  return std::string("kafka_source(") + topics + ", " + CodecName(config_.codec.kind) +
         ")";
}

Result<std::shared_ptr<KafkaSinkOptions>> KafkaSinkOptions::Make(
    KafkaSinkConfig config, std::shared_ptr<arrow::Schema> schema) {
  ARROW_RETURN_NOT_OK(CheckBootstrap(config.bootstrap_servers));
  if (config.topic.empty()) return Status::Invalid("the Kafka sink needs a topic");
  const std::vector<std::string> codecs = {"none", "gzip", "snappy", "lz4", "zstd"};
  if (std::find(codecs.begin(), codecs.end(), config.compression) == codecs.end()) {
    return Status::Invalid("compression '", config.compression,
                           "' is not one of none, gzip, snappy, lz4, zstd");
  }
  ARROW_ASSIGN_OR_RAISE(std::vector<int> key_indices,
                        ColumnIndices(*schema, config.key_columns, "key"));
  ARROW_ASSIGN_OR_RAISE(std::vector<int> value_indices,
                        ColumnIndices(*schema, config.value_columns, "value"));
  if (value_indices.empty()) {
    for (int i = 0; i < schema->num_fields(); ++i) value_indices.push_back(i);
  }
  arrow::FieldVector value_fields;
  for (int index : value_indices) value_fields.push_back(schema->field(index));
  int partition_index = -1;
  if (!config.partition_column.empty()) {
    partition_index = schema->GetFieldIndex(config.partition_column);
    if (partition_index < 0 ||
        schema->field(partition_index)->type()->id() != arrow::Type::INT32) {
      return Status::Invalid("partition_column '", config.partition_column,
                             "' must be an int32 column of the stream");
    }
  }
  if (config.codec.kind == CodecKind::kAvro && config.codec.subject.empty()) {
    config.codec.subject = config.topic + "-value";  // Confluent's TopicNameStrategy
  }
  ARROW_RETURN_NOT_OK(MakeEncoder(config.codec, arrow::schema(value_fields)).status());
  return std::shared_ptr<KafkaSinkOptions>(
      new KafkaSinkOptions(std::move(config), std::move(schema), std::move(key_indices),
                           std::move(value_indices), partition_index));
}

std::string KafkaSinkOptions::Describe() const {
  return std::string("kafka_sink(") + config_.topic + ", " +
         CodecName(config_.codec.kind) + ", " +
         (config_.guarantee == KafkaDeliveryGuarantee::kExactlyOnce ? "exactly-once"
                                                                    : "at-least-once") +
         ")";
}

Status RegisterKafkaConnectors(OperatorRegistry* registry) {
  ARROW_RETURN_NOT_OK(registry->AddSource(
      "kafka_source",
      [](const NodeOptions& options,
         const SourceContext& context) -> Result<std::unique_ptr<SourceReader>> {
        ARROW_ASSIGN_OR_RAISE(auto* kafka,
                              CheckedOptionsCast<KafkaSourceOptions>(options));
        return MakeKafkaSourceReader(*kafka, context);
      }));
  return registry->AddOperator(
      "kafka_sink", [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* kafka, CheckedOptionsCast<KafkaSinkOptions>(options));
        return MakeKafkaSinkOperator(*kafka);
      });
}

}  // namespace sabot
