#include "sabot/connectors/memory/memory_topic.h"

#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace sabot {
namespace {

constexpr int32_t kMaxPartitions = 100'000;

}  // namespace

const std::shared_ptr<arrow::Schema>& MemoryTopic::MessageSchema() {
  static const auto schema = arrow::schema({arrow::field("key", arrow::binary()),
                                            arrow::field("value", arrow::binary()),
                                            arrow::field("offset", arrow::int64()),
                                            arrow::field("timestamp", arrow::int64())});
  return schema;
}

Result<std::shared_ptr<MemoryTopic>> MemoryTopic::Make(std::string name,
                                                       int32_t partitions) {
  if (partitions < 1 || partitions > kMaxPartitions) {
    return Status::Invalid("topic '", name, "': partitions must be between 1 and ",
                           kMaxPartitions, ", got ", partitions);
  }
  return std::shared_ptr<MemoryTopic>(new MemoryTopic(std::move(name), partitions));
}

MemoryTopic::MemoryTopic(std::string name, int32_t partitions)
    : name_(std::move(name)), partitions_(static_cast<size_t>(partitions)) {}

Status MemoryTopic::CheckPartition(int32_t partition) const {
  if (partition < 0 || partition >= num_partitions()) {
    return Status::IndexError("topic '", name_, "' has partitions 0 to ",
                              num_partitions() - 1, ", not ", partition);
  }
  return Status::OK();
}

Result<int64_t> MemoryTopic::Append(int32_t partition,
                                    std::vector<MemoryMessage> messages) {
  ARROW_RETURN_NOT_OK(CheckPartition(partition));
  int64_t first;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& log = partitions_[partition].messages;
    first = static_cast<int64_t>(log.size());
    log.insert(log.end(), std::make_move_iterator(messages.begin()),
               std::make_move_iterator(messages.end()));
  }
  data_arrived_.notify_all();
  return first;
}

Result<int64_t> MemoryTopic::EndOffset(int32_t partition) const {
  ARROW_RETURN_NOT_OK(CheckPartition(partition));
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(partitions_[partition].messages.size());
}

Result<std::shared_ptr<arrow::RecordBatch>> MemoryTopic::Read(
    int32_t partition, int64_t offset, int64_t max_messages) const {
  ARROW_RETURN_NOT_OK(CheckPartition(partition));
  arrow::BinaryBuilder keys;
  arrow::BinaryBuilder values;
  arrow::Int64Builder offsets;
  arrow::Int64Builder timestamps;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto& log = partitions_[partition].messages;
    const auto end = static_cast<int64_t>(log.size());
    if (offset < 0 || offset > end) {
      return Status::IndexError("topic '", name_, "' partition ", partition, ": offset ",
                                offset, " is outside 0 to ", end);
    }
    const int64_t count = std::min(std::max<int64_t>(max_messages, 0), end - offset);
    ARROW_RETURN_NOT_OK(keys.Reserve(count));
    ARROW_RETURN_NOT_OK(values.Reserve(count));
    ARROW_RETURN_NOT_OK(offsets.Reserve(count));
    ARROW_RETURN_NOT_OK(timestamps.Reserve(count));
    for (int64_t i = offset; i < offset + count; ++i) {
      const MemoryMessage& message = log[static_cast<size_t>(i)];
      if (message.key) {
        ARROW_RETURN_NOT_OK(keys.Append(*message.key));
      } else {
        ARROW_RETURN_NOT_OK(keys.AppendNull());
      }
      ARROW_RETURN_NOT_OK(values.Append(message.value));
      offsets.UnsafeAppend(i);
      timestamps.UnsafeAppend(message.timestamp_ms);
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(4);
  ARROW_RETURN_NOT_OK(keys.Finish(&columns[0]));
  ARROW_RETURN_NOT_OK(values.Finish(&columns[1]));
  ARROW_RETURN_NOT_OK(offsets.Finish(&columns[2]));
  ARROW_RETURN_NOT_OK(timestamps.Finish(&columns[3]));
  const int64_t rows = columns[2]->length();
  return arrow::RecordBatch::Make(MessageSchema(), rows, std::move(columns));
}

bool MemoryTopic::HasDataLocked(const std::vector<int32_t>& partitions,
                                const std::vector<int64_t>& positions) const {
  for (size_t i = 0; i < partitions.size() && i < positions.size(); ++i) {
    const int32_t p = partitions[i];
    if (p >= 0 && p < num_partitions() &&
        static_cast<int64_t>(partitions_[p].messages.size()) > positions[i]) {
      return true;
    }
  }
  return false;
}

bool MemoryTopic::WaitForData(const std::vector<int32_t>& partitions,
                              const std::vector<int64_t>& positions,
                              int64_t timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t generation = wake_generation_;
  data_arrived_.wait_for(
      lock, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)), [&] {
        return wake_generation_ != generation || HasDataLocked(partitions, positions);
      });
  return HasDataLocked(partitions, positions);
}

void MemoryTopic::Wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++wake_generation_;
  }
  data_arrived_.notify_all();
}

}  // namespace sabot
