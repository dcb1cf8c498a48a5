// Where the Kafka source keeps messages it could not decode under the dead-letter
// policy: a Kafka topic (original key and value, reason and origin in headers) or a
// JSON lines file. Each write is counted as a rejected row of the source node.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sabot/common/status.h"
#include "sabot/connectors/kafka/kafka_options.h"

namespace sabot {

struct NodeMetrics;

/// Where a rejected message came from and why.
struct RejectedMessage {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;
  std::string_view reason;
};

class BadMessageHandler {
 public:
  virtual ~BadMessageHandler() = default;

  /// Applies the source's policy: kFail returns Invalid "topic <t> partition <p> offset
  /// <o>: <reason>"; kSkip counts; kDeadLetter counts and writes the message.
  virtual Status Reject(const RejectedMessage& message) = 0;

  /// Makes what was written so far durable: called before the source's position is
  /// checkpointed, since a restored job never reads these messages again.
  virtual Status Flush() = 0;
};

/// `metrics` may be null.
Result<std::unique_ptr<BadMessageHandler>> MakeBadMessageHandler(
    const KafkaSourceConfig& config, NodeMetrics* metrics);

}  // namespace sabot
