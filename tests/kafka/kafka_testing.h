// Helpers of the Kafka integration tests: the broker the ctest fixture started, topics,
// and kcat (Debian's Kafka command-line client) as an independent producer/consumer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

/// The source tree's root: $SABOT_SOURCE_DIR, else the directory two levels above this
/// file's compile-time path (tests/kafka/).
std::string SourceDirectory();

/// Adds partitions to `topic` so that it has `total`, and waits until every one has a
/// leader in its metadata.
Status CreatePartitions(const std::string& bootstrap, const std::string& topic,
                        int total);

/// A record with an explicit CreateTime timestamp, for start-by-timestamp tests.
struct TimestampedRecord {
  int32_t partition = 0;
  int64_t timestamp_ms = 0;
  std::string value;
};

/// Produces `records` with librdkafka (in order, acks=all) and waits until every one
/// is acknowledged.
Status ProduceWithTimestamps(const std::string& bootstrap, const std::string& topic,
                             const std::vector<TimestampedRecord>& records);

/// Commits `offsets` (partition -> next offset to read) of `topic` for consumer group
/// `group_id`, as a consumer that is no group member would (a simple consumer).
Status CommitGroupOffsets(const std::string& bootstrap, const std::string& group_id,
                          const std::string& topic,
                          const std::map<int32_t, int64_t>& offsets);

/// A broker of the test's own (tools/kafka/start.sh) in a fresh temporary directory,
/// for tests that stop and restart it under a job. The destructor kills it (if it
/// runs) and removes the directory, also when the test failed half-way.
class PrivateBroker {
 public:
  /// Starts a new broker; returns once it answers metadata requests.
  static Result<std::unique_ptr<PrivateBroker>> Start();
  ~PrivateBroker();
  PrivateBroker(const PrivateBroker&) = delete;
  PrivateBroker& operator=(const PrivateBroker&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  /// Stops the broker with SIGTERM (a controlled shutdown) and waits until it exited.
  Status Stop();
  /// Starts the stopped broker again: same ports, same data.
  Status Restart();

 private:
  explicit PrivateBroker(std::string directory) : directory_(std::move(directory)) {}
  std::string directory_;
  std::string bootstrap_;
};

/// Tests on the shared fixture broker: skipped when there is none; NewTopic() creates
/// a topic of the test's own.
class KafkaBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  std::string NewTopic(const std::string& stem, int partitions);

  std::string bootstrap_;
};

}  // namespace sabot::testing
