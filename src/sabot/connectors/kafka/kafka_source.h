// The Kafka source reader (one per subtask). See README.md for the partition assignment,
// positions, start offsets, watermarks and backpressure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sabot/common/status.h"
#include "sabot/runtime/source.h"

namespace sabot {

class KafkaSourceOptions;

/// The subtask (of `parallelism`) that reads `partition` of `topic`: partitions of one
/// topic go round-robin over the subtasks, starting at a subtask chosen by the topic's
/// name, so that topics with fewer partitions than subtasks do not all land on
/// subtask 0. Stable across restarts and partition discovery.
int KafkaPartitionOwner(std::string_view topic, int32_t partition, int parallelism);

Result<std::unique_ptr<SourceReader>> MakeKafkaSourceReader(
    const KafkaSourceOptions& options, const SourceContext& context);

}  // namespace sabot
