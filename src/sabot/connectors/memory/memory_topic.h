// In-process topics for the embedded mode (broker "memory://"): partitioned, append-only
// logs of messages (key, value, timestamp) addressed by offset, as Kafka's are, so that
// an application runs unchanged on memory:// and on Kafka. Readers keep their own
// positions; the log keeps every message for the life of the process.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"

namespace arrow {
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot {

/// One message to append: a null key is absent (as Kafka's null key).
struct MemoryMessage {
  std::optional<std::string> key;
  std::string value;
  int64_t timestamp_ms = 0;
};

class MemoryTopic {
 public:
  /// Fails unless 1 <= partitions <= 100 000.
  static Result<std::shared_ptr<MemoryTopic>> Make(std::string name, int32_t partitions);

  const std::string& name() const { return name_; }
  int32_t num_partitions() const { return static_cast<int32_t>(partitions_.size()); }

  /// Appends `messages` to `partition` in order; returns the offset of the first.
  Result<int64_t> Append(int32_t partition, std::vector<MemoryMessage> messages);

  /// Reads up to `max_messages` from `offset` as a batch of key (binary, null when
  /// absent), value (binary), offset (int64) and timestamp (int64 ms). Empty at the
  /// end of the partition; an offset beyond the end is an error.
  Result<std::shared_ptr<arrow::RecordBatch>> Read(int32_t partition, int64_t offset,
                                                   int64_t max_messages) const;

  /// Returns the offset the next appended message of `partition` gets.
  Result<int64_t> EndOffset(int32_t partition) const;

  /// Blocks until some partitions[i] has a message at or after positions[i], or
  /// `timeout_ms` passed, or Wake() was called; returns whether data is available.
  bool WaitForData(const std::vector<int32_t>& partitions,
                   const std::vector<int64_t>& positions, int64_t timeout_ms) const;

  /// Ends every WaitForData at once (a worker stopping).
  void Wake();

  /// The schema of Read()'s batches.
  static const std::shared_ptr<arrow::Schema>& MessageSchema();

 private:
  struct Partition {
    std::vector<MemoryMessage> messages;
  };

  MemoryTopic(std::string name, int32_t partitions);
  Status CheckPartition(int32_t partition) const;
  bool HasDataLocked(const std::vector<int32_t>& partitions,
                     const std::vector<int64_t>& positions) const;

  const std::string name_;
  mutable std::mutex mutex_;
  mutable std::condition_variable data_arrived_;
  std::vector<Partition> partitions_;
  uint64_t wake_generation_ = 0;
};

}  // namespace sabot
