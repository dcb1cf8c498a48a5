// Helpers of the Kafka integration tests: the broker the ctest fixture started, topics,
// and kcat (Debian's Kafka command-line client) as an independent producer/consumer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sabot/common/status.h"

namespace sabot::testing {

/// The fixture broker's bootstrap address, from $SABOT_KAFKA_BOOTSTRAP_FILE (set by
/// CMake); empty if it is not set.
std::string KafkaBootstrap();

/// A topic name unique in this process and run, starting with `stem`.
std::string UniqueTopic(const std::string& stem);

/// Creates a topic with librdkafka's admin API and waits until its metadata is visible.
Status CreateTopic(const std::string& bootstrap, const std::string& topic,
                   int partitions);

/// Runs `command` with /bin/sh, feeding `input` to its stdin; returns its stdout, or an
/// error with its exit status.
Result<std::string> RunCommand(const std::string& command, const std::string& input = "");

/// Produces `records` (each "key\tvalue", or just a value when `keyed` is false) with
/// kcat, one record per line, to `partition` (-1: kcat's partitioner).
Status KcatProduce(const std::string& bootstrap, const std::string& topic,
                   const std::vector<std::string>& lines, bool keyed, int partition = -1);

/// Reads a topic from the beginning to its end with kcat (read_committed) and returns
/// one line per record, formatted by the kcat format string `format`.
Result<std::vector<std::string>> KcatConsume(const std::string& bootstrap,
                                             const std::string& topic,
                                             const std::string& format);

}  // namespace sabot::testing
