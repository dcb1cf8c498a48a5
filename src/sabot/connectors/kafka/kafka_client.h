// librdkafka handles with owners, and Status conversions of its errors. Everything
// Kafka-specific that the source, the sink and the dead-letter writer share.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "sabot/common/status.h"

namespace sabot {

struct KafkaHandleDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaHandleDeleter>;

struct KafkaConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaConfDeleter>;

struct KafkaPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using KafkaPartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaPartitionListDeleter>;

/// Makes a configuration from `user` properties, then `sabot` properties (which win).
/// An unknown or invalid property is an error naming it.
Result<KafkaConf> MakeKafkaConf(const std::map<std::string, std::string>& user,
                                const std::map<std::string, std::string>& sabot);

/// Creates a client; takes ownership of `conf`.
Result<KafkaHandle> NewKafkaClient(rd_kafka_type_t type, KafkaConf conf);

/// Returns OK for RD_KAFKA_RESP_ERR_NO_ERROR, else an IOError "<context>: <reason>".
Status KafkaStatus(rd_kafka_resp_err_t error, std::string_view context);

/// Converts and destroys a librdkafka error object (null means success).
Status KafkaStatus(rd_kafka_error_t* error, std::string_view context);

}  // namespace sabot
