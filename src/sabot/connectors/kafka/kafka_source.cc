#include "sabot/connectors/kafka/kafka_source.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <regex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/common/time.h"
#include "sabot/connectors/codec/codec.h"
#include "sabot/connectors/kafka/dead_letter.h"
#include "sabot/connectors/kafka/kafka_client.h"
#include "sabot/connectors/kafka/kafka_options.h"
#include "sabot/connectors/kafka/metadata_columns.h"

namespace sabot {

int KafkaPartitionOwner(std::string_view topic, int32_t partition, int parallelism) {
  // FNV-1a: a fixed hash, so that ownership survives restarts and library upgrades.
  uint32_t hash = 2166136261u;
  for (char c : topic) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 16777619u;
  }
  const int start = static_cast<int>(hash % static_cast<uint32_t>(parallelism));
  return static_cast<int>((start + static_cast<int64_t>(partition)) % parallelism);
}

namespace {

constexpr char kPositionMagic[4] = {'S', 'B', 'K', 'P'};
constexpr uint8_t kPositionVersion = 1;
constexpr int kMetadataTimeoutMs = 10'000;

struct PartitionState {
  std::string topic;
  int32_t partition = 0;
  /// The offset of the next message to emit: what a checkpoint records.
  int64_t next_offset = 0;
  /// Bounded sources: the partition is done once next_offset reaches it.
  int64_t end_offset = -1;
  bool done = false;
  /// Largest event time seen, and when the last message arrived (wall clock).
  int64_t max_event_time = kMinWatermark;
  int64_t last_message_ms = 0;
};

using PartitionKey = std::pair<std::string, int32_t>;

void AppendInt(std::string* out, const void* value, size_t size) {
  out->append(static_cast<const char*>(value), size);
}

class KafkaSourceReader : public SourceReader {
 public:
  KafkaSourceReader(const KafkaSourceOptions& options, const SourceContext& context)
      : config_(options.config()), schema_(options.schema()), context_(context) {}

  Status Open() override {
    if (!config_.topic_pattern.empty()) {
      try {
        pattern_ = std::regex(config_.topic_pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& error) {
        return Status::Invalid("topic_pattern '", config_.topic_pattern,
                               "' is not a regular expression: ", error.what());
      }
    }
    ARROW_ASSIGN_OR_RAISE(decoder_,
                          MakeDecoder(config_.codec, config_.schema, config_.batch_size));
    ARROW_ASSIGN_OR_RAISE(metadata_, MetadataColumnBuilders::Make(config_.metadata));
    ARROW_ASSIGN_OR_RAISE(bad_messages_,
                          MakeBadMessageHandler(config_, context_.metrics));
    record_time_watermarks_ = config_.watermark_column == "_timestamp";
    if (!config_.watermark_column.empty() && !record_time_watermarks_) {
      watermark_index_ = config_.schema->GetFieldIndex(config_.watermark_column);
    }
    std::map<std::string, std::string> settings = {
        {"bootstrap.servers", config_.bootstrap_servers},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "error"},
        {"isolation.level",
         config_.read_committed ? "read_committed" : "read_uncommitted"},
        {"enable.partition.eof", config_.bounded ? "true" : "false"},
        // Bounds what librdkafka prefetches while the task is backpressured and does
        // not poll: fetching pauses once this much is queued.
        {"queued.max.messages.kbytes", "65536"},
        // librdkafka backs a partition's fetching off for fetch.error.backoff.ms once its
        // queue holds queued.min.messages (default 100 000); the task drains that much
        // far sooner and would then wait. The byte limit above bounds memory instead.
        {"queued.min.messages", "10000000"},
        {"client.id",
         "sabot-" + context_.node_name + "-" + std::to_string(context_.subtask)}};
    // librdkafka needs a group id to read or commit group offsets; without one the
    // consumer never joins a group (partitions are assigned by Sabot).
    settings["group.id"] =
        config_.group_id.empty() ? "sabot-" + context_.node_name : config_.group_id;
    ARROW_ASSIGN_OR_RAISE(KafkaConf conf, MakeKafkaConf(config_.properties, settings));
    ARROW_ASSIGN_OR_RAISE(consumer_, NewKafkaClient(RD_KAFKA_CONSUMER, std::move(conf)));
    queue_ = rd_kafka_queue_get_consumer(consumer_.get());
    messages_.resize(static_cast<size_t>(std::min<int64_t>(config_.batch_size, 4096)));
    return Status::OK();
  }

  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    const int64_t now = WallClockMillis();
    if (!assigned_ ||
        (config_.partition_discovery_interval_ms > 0 && now >= next_discovery_ms_)) {
      Status discovered = DiscoverPartitions(!assigned_);
      // While the cluster is unreachable, periodic discovery gives up until the next
      // interval: librdkafka reconnects by itself, and the assigned partitions go on
      // being read once it has. Only the first discovery must succeed.
      if (assigned_ && discovered.IsIOError()) discovered = Status::OK();
      ARROW_RETURN_NOT_OK(discovered);
      assigned_ = true;
      next_discovery_ms_ = now + config_.partition_discovery_interval_ms;
    }
    if (config_.bounded && AllDone()) {
      // The end of a bounded input: dead letters must be durable before the job ends.
      ARROW_RETURN_NOT_OK(bad_messages_->Flush());
      return nullptr;
    }
    const int64_t deadline = now + config_.max_batch_delay_ms;
    while (decoder_->num_rows() < config_.batch_size) {
      const int64_t wait = std::max<int64_t>(0, deadline - WallClockMillis());
      const ssize_t count = rd_kafka_consume_batch_queue(
          queue_, static_cast<int>(wait), messages_.data(),
          std::min<size_t>(messages_.size(), static_cast<size_t>(config_.batch_size -
                                                                 decoder_->num_rows())));
      if (count < 0) {
        return KafkaStatus(rd_kafka_last_error(), "cannot read from Kafka");
      }
      // One clock reading per polled batch stamps the partitions' last activity.
      batch_clock_ms_ = WallClockMillis();
      Status status;
      for (ssize_t i = 0; i < count && status.ok(); ++i) status = Consume(messages_[i]);
      // Destroyed in a burst after decoding: each destroy releases references that
      // librdkafka's fetch thread also updates, so interleaving them with decoding
      // moved those cache lines between the cores once per message.
      for (ssize_t i = 0; i < count; ++i) rd_kafka_message_destroy(messages_[i]);
      ARROW_RETURN_NOT_OK(status);
      if (count == 0 || WallClockMillis() >= deadline) break;
      if (config_.bounded && AllDone()) break;
    }
    return FlushBatch();
  }

  Status Close() override {
    if (queue_ != nullptr) {
      rd_kafka_queue_destroy(queue_);
      queue_ = nullptr;
    }
    if (consumer_) {
      rd_kafka_consumer_close(consumer_.get());
      consumer_.reset();
    }
    return Status::OK();
  }

  // Position: magic "SBKP", version, uint32 count, then per partition uint16 topic
  // length, topic, int32 partition, int64 next offset (little-endian). Next() emits
  // every message it consumed, so between calls the next offsets are exact.
  Result<std::string> SnapshotPosition() override {
    ARROW_RETURN_NOT_OK(bad_messages_->Flush());
    std::string out(kPositionMagic, sizeof(kPositionMagic));
    out.push_back(static_cast<char>(kPositionVersion));
    std::vector<std::pair<PartitionKey, int64_t>> positions = Positions();
    const uint32_t count = static_cast<uint32_t>(positions.size());
    AppendInt(&out, &count, sizeof(count));
    for (const auto& [key, offset] : positions) {
      const uint16_t length = static_cast<uint16_t>(key.first.size());
      AppendInt(&out, &length, sizeof(length));
      out.append(key.first);
      AppendInt(&out, &key.second, sizeof(key.second));
      AppendInt(&out, &offset, sizeof(offset));
    }
    return out;
  }

  Status RestorePosition(const std::string& bytes) override {
    const auto corrupt = [&]() {
      return Status::Invalid("Kafka source position of subtask ", context_.subtask,
                             " is corrupt");
    };
    if (bytes.size() < 9 || std::memcmp(bytes.data(), kPositionMagic, 4) != 0) {
      return corrupt();
    }
    if (static_cast<uint8_t>(bytes[4]) != kPositionVersion) {
      return Status::Invalid("Kafka source position version ",
                             static_cast<int>(static_cast<uint8_t>(bytes[4])),
                             " is not supported");
    }
    size_t at = 5;
    const auto read = [&](void* value, size_t size) {
      if (at + size > bytes.size()) return false;
      std::memcpy(value, bytes.data() + at, size);
      at += size;
      return true;
    };
    uint32_t count = 0;
    if (!read(&count, sizeof(count))) return corrupt();
    for (uint32_t i = 0; i < count; ++i) {
      uint16_t length = 0;
      if (!read(&length, sizeof(length)) || at + length > bytes.size()) return corrupt();
      std::string topic = bytes.substr(at, length);
      at += length;
      int32_t partition = 0;
      int64_t offset = 0;
      if (!read(&partition, sizeof(partition)) || !read(&offset, sizeof(offset))) {
        return corrupt();
      }
      restored_[{std::move(topic), partition}] = offset;
    }
    return Status::OK();
  }

  Status NotifyCheckpointComplete(int64_t checkpoint_id) override {
    if (config_.group_id.empty() || !consumer_) return Status::OK();
    KafkaPartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
    for (const PartitionState& state : partitions_) {
      rd_kafka_topic_partition_list_add(list.get(), state.topic.c_str(), state.partition)
          ->offset = state.next_offset;
    }
    // Asynchronous and best effort: group offsets are for monitoring (lag), never read
    // back by a restored job.
    rd_kafka_commit(consumer_.get(), list.get(), /*async=*/1);
    return Status::OK();
  }

  int64_t CurrentWatermark() const override { return watermark_; }
  bool IsIdle() const override { return idle_; }

 private:
  bool AllDone() const {
    for (const PartitionState& state : partitions_) {
      if (!state.done) return false;
    }
    return true;
  }

  std::vector<std::pair<PartitionKey, int64_t>> Positions() const {
    std::vector<std::pair<PartitionKey, int64_t>> positions;
    for (const PartitionState& state : partitions_) {
      positions.push_back({{state.topic, state.partition}, state.next_offset});
    }
    // Restored partitions not assigned yet keep their position.
    for (const auto& [key, offset] : restored_) {
      if (index_.count(key) == 0) positions.push_back({key, offset});
    }
    std::sort(positions.begin(), positions.end());
    return positions;
  }

  bool Wanted(const std::string& topic) const {
    if (!config_.topics.empty()) {
      return std::find(config_.topics.begin(), config_.topics.end(), topic) !=
             config_.topics.end();
    }
    return std::regex_match(topic, pattern_);
  }

  // Reads the cluster's metadata, adds the partitions this subtask owns that it does
  // not read yet, resolves their start offsets and (re)assigns.
  Status DiscoverPartitions(bool initial) {
    const rd_kafka_metadata_t* metadata = nullptr;
    ARROW_RETURN_NOT_OK(
        KafkaStatus(rd_kafka_metadata(consumer_.get(), /*all_topics=*/1, nullptr,
                                      &metadata, kMetadataTimeoutMs),
                    "cannot read Kafka metadata from " + config_.bootstrap_servers));
    std::vector<PartitionKey> found;
    std::vector<std::string> missing = config_.topics;
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
      if (topic.err != RD_KAFKA_RESP_ERR_NO_ERROR || !Wanted(topic.topic)) continue;
      missing.erase(std::remove(missing.begin(), missing.end(), topic.topic),
                    missing.end());
      for (int p = 0; p < topic.partition_cnt; ++p) {
        const int32_t partition = topic.partitions[p].id;
        if (KafkaPartitionOwner(topic.topic, partition, context_.parallelism) !=
            context_.subtask) {
          continue;
        }
        PartitionKey key{topic.topic, partition};
        if (index_.count(key) == 0) found.push_back(std::move(key));
      }
    }
    rd_kafka_metadata_destroy(metadata);
    if (initial && !missing.empty()) {
      return Status::Invalid("Kafka topic '", missing.front(), "' does not exist on ",
                             config_.bootstrap_servers,
                             "; create it or fix the topic name");
    }
    if (found.empty() && !initial) return Status::OK();
    std::sort(found.begin(), found.end());
    const int64_t now = WallClockMillis();
    // Start (and end) offsets of every new partition are resolved before any is added:
    // a lookup that fails leaves the assignment as it was, for the next round.
    std::vector<PartitionState> added;
    for (PartitionKey& key : found) {
      PartitionState state;
      state.topic = key.first;
      state.partition = key.second;
      state.last_message_ms = now;
      auto restored = restored_.find(key);
      if (restored != restored_.end()) {
        state.next_offset = restored->second;
      } else {
        ARROW_ASSIGN_OR_RAISE(
            state.next_offset,
            StartOffset(state, initial ? config_.start : KafkaStartOffset::kEarliest));
      }
      if (config_.bounded) {
        int64_t low = 0;
        int64_t high = 0;
        ARROW_RETURN_NOT_OK(KafkaStatus(
            rd_kafka_query_watermark_offsets(consumer_.get(), state.topic.c_str(),
                                             state.partition, &low, &high,
                                             kMetadataTimeoutMs),
            "cannot read the end offset of " + Describe(state)));
        state.end_offset = high;
        state.done = state.next_offset >= high;
      }
      added.push_back(std::move(state));
    }
    for (PartitionState& state : added) {
      index_.emplace(PartitionKey{state.topic, state.partition},
                     static_cast<int>(partitions_.size()));
      partitions_.push_back(std::move(state));
    }
    if (!found.empty()) {
      KafkaPartitionList list(
          rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
      for (const PartitionState& state : partitions_) {
        if (state.done) continue;
        rd_kafka_topic_partition_list_add(list.get(), state.topic.c_str(),
                                          state.partition)
            ->offset = state.next_offset;
      }
      ARROW_RETURN_NOT_OK(KafkaStatus(rd_kafka_assign(consumer_.get(), list.get()),
                                      "cannot assign Kafka partitions"));
      by_handle_.clear();
      last_handle_ = {nullptr, -1};
    }
    UpdateWatermark(now);
    return Status::OK();
  }

  static std::string Describe(const PartitionState& state) {
    return std::string("topic ") + state.topic + " partition " +
           std::to_string(state.partition);
  }

  Result<int64_t> StartOffset(const PartitionState& state, KafkaStartOffset start) {
    int64_t low = 0;
    int64_t high = 0;
    ARROW_RETURN_NOT_OK(KafkaStatus(rd_kafka_query_watermark_offsets(
                                        consumer_.get(), state.topic.c_str(),
                                        state.partition, &low, &high, kMetadataTimeoutMs),
                                    "cannot read the offsets of " + Describe(state)));
    switch (start) {
      case KafkaStartOffset::kEarliest:
        return low;
      case KafkaStartOffset::kLatest:
        return high;
      case KafkaStartOffset::kTimestamp: {
        KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), state.topic.c_str(),
                                          state.partition)
            ->offset = config_.start_timestamp_ms;
        ARROW_RETURN_NOT_OK(KafkaStatus(
            rd_kafka_offsets_for_times(consumer_.get(), list.get(), kMetadataTimeoutMs),
            "cannot look up offsets by timestamp in " + Describe(state)));
        const int64_t offset = list->elems[0].offset;
        // No record at or after the timestamp: start at the end.
        return offset < 0 ? high : offset;
      }
      case KafkaStartOffset::kGroupOffsets: {
        KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), state.topic.c_str(),
                                          state.partition);
        ARROW_RETURN_NOT_OK(KafkaStatus(
            rd_kafka_committed(consumer_.get(), list.get(), kMetadataTimeoutMs),
            "cannot read the committed offsets of group " + config_.group_id));
        const int64_t offset = list->elems[0].offset;
        return offset < 0 ? low : offset;
      }
    }
    return low;
  }

  int PartitionIndex(const rd_kafka_message_t* message) {
    const auto handle =
        std::make_pair(static_cast<const void*>(message->rkt), message->partition);
    // Fetched messages come in runs of one partition: most need no lookup at all.
    if (handle == last_handle_) return last_index_;
    auto it = by_handle_.find(handle);
    if (it == by_handle_.end()) {
      auto found = index_.find({rd_kafka_topic_name(message->rkt), message->partition});
      it = by_handle_.emplace(handle, found == index_.end() ? -1 : found->second).first;
    }
    last_handle_ = handle;
    last_index_ = it->second;
    return last_index_;
  }

  Status Consume(rd_kafka_message_t* message) {
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) return ConsumeEvent(message);
    const int index = PartitionIndex(message);
    if (index < 0) return Status::OK();  // from an assignment replaced since
    PartitionState& state = partitions_[index];
    // A reassignment can deliver messages fetched before it; positions are the truth.
    if (message->offset < state.next_offset) return Status::OK();
    state.next_offset = message->offset + 1;
    state.last_message_ms = batch_clock_ms_;
    if (config_.bounded && state.next_offset >= state.end_offset) MarkDone(&state);
    const std::string_view value(static_cast<const char*>(message->payload),
                                 message->payload == nullptr ? 0 : message->len);
    Result<int64_t> rows =
        message->payload == nullptr
            ? Result<int64_t>(Status::Invalid("the message has no value (a tombstone)"))
            : decoder_->Append(value);
    if (!rows.ok()) {
      RejectedMessage rejected;
      rejected.topic = state.topic;
      rejected.partition = state.partition;
      rejected.offset = message->offset;
      rejected.key = std::string_view(static_cast<const char*>(message->key),
                                      message->key == nullptr ? 0 : message->key_len);
      rejected.value = value;
      rejected.reason = rows.status().message();
      return bad_messages_->Reject(rejected);
    }
    int64_t timestamp = kMinWatermark;
    if (metadata_->needs_timestamp() || record_time_watermarks_) {
      rd_kafka_timestamp_type_t type;
      timestamp = rd_kafka_message_timestamp(message, &type);
    }
    ARROW_RETURN_NOT_OK(metadata_->Append(message, state.topic, timestamp, *rows));
    if (record_time_watermarks_) {
      state.max_event_time = std::max(state.max_event_time, timestamp);
    } else if (watermark_index_ >= 0) {
      row_partitions_.insert(row_partitions_.end(), static_cast<size_t>(*rows), index);
    }
    return Status::OK();
  }

  Status ConsumeEvent(rd_kafka_message_t* message) {
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      const int index = PartitionIndex(message);
      if (index >= 0 && message->offset >= partitions_[index].end_offset) {
        MarkDone(&partitions_[index]);
      }
      return Status::OK();
    }
    const std::string where =
        message->rkt != nullptr
            ? std::string(" (topic ") + rd_kafka_topic_name(message->rkt) +
                  " partition " + std::to_string(message->partition) + ")"
            : std::string();
    if (message->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        message->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      return Status::IOError("Kafka offset out of range", where, ": ",
                             rd_kafka_message_errstr(message),
                             "; the records were deleted (retention) before the job "
                             "read them");
    }
    char reason[512];
    if (rd_kafka_fatal_error(consumer_.get(), reason, sizeof(reason)) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::IOError("the Kafka consumer failed", where, ": ", reason);
    }
    // Anything else (a broker going away, a leader moving) librdkafka retries itself.
    return Status::OK();
  }

  void MarkDone(PartitionState* state) {
    if (state->done) return;
    state->done = true;
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), state->topic.c_str(), state->partition);
    rd_kafka_pause_partitions(consumer_.get(), list.get());
  }

  Result<std::shared_ptr<arrow::RecordBatch>> FlushBatch() {
    const int64_t rows = decoder_->num_rows();
    std::shared_ptr<arrow::RecordBatch> batch;
    if (rows == 0) {
      ARROW_ASSIGN_OR_RAISE(batch, arrow::RecordBatch::MakeEmpty(schema_));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto values, decoder_->Flush());
      std::vector<std::shared_ptr<arrow::Array>> columns = values->columns();
      ARROW_RETURN_NOT_OK(metadata_->Finish(&columns));
      batch = arrow::RecordBatch::Make(schema_, rows, std::move(columns));
      if (watermark_index_ >= 0) {
        TrackEventTime(*batch->column_data(watermark_index_));
      }
    }
    row_partitions_.clear();
    UpdateWatermark(WallClockMillis());
    return batch;
  }

  void TrackEventTime(const arrow::ArrayData& column) {
    const int64_t* values = column.GetValues<int64_t>(1);
    for (int64_t i = 0; i < column.length; ++i) {
      if (column.IsNull(i)) continue;
      PartitionState& state = partitions_[row_partitions_[i]];
      state.max_event_time = std::max(state.max_event_time, values[i]);
    }
  }

  // Watermark = min over partitions that are neither done nor idle of (max event
  // time - out-of-orderness - 1); it never goes back.
  void UpdateWatermark(int64_t now) {
    if (config_.watermark_column.empty()) return;
    int64_t low = kMaxWatermark;
    int64_t high = kMinWatermark;
    bool any_active = false;
    for (const PartitionState& state : partitions_) {
      if (state.done) continue;
      const int64_t watermark =
          state.max_event_time == kMinWatermark
              ? kMinWatermark
              : state.max_event_time - config_.max_out_of_orderness_ms - 1;
      high = std::max(high, watermark);
      if (config_.idle_timeout_ms > 0 &&
          now - state.last_message_ms >= config_.idle_timeout_ms) {
        continue;
      }
      any_active = true;
      low = std::min(low, watermark);
    }
    // A subtask that owns no partitions (more subtasks than partitions) is idle at
    // once, as in Flink; otherwise only after the idle timeout.
    idle_ = !config_.bounded &&
            (partitions_.empty() || (!any_active && config_.idle_timeout_ms > 0));
    if (any_active) {
      if (low > watermark_) watermark_ = low;
    } else if (idle_ && high > watermark_) {
      // Every partition is idle: advance to the largest partition watermark, as
      // Flink's StatusWatermarkValve does when all its inputs are idle. Otherwise what
      // fires would depend on whether a poll happened to fall between the idle
      // timeouts of the partitions.
      watermark_ = high;
    }
  }

  const KafkaSourceConfig config_;
  std::shared_ptr<arrow::Schema> schema_;
  SourceContext context_;
  std::regex pattern_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<MetadataColumnBuilders> metadata_;
  std::unique_ptr<BadMessageHandler> bad_messages_;
  KafkaHandle consumer_;
  rd_kafka_queue_t* queue_ = nullptr;
  std::vector<rd_kafka_message_t*> messages_;

  std::vector<PartitionState> partitions_;
  std::map<PartitionKey, int> index_;
  // (topic handle, partition) -> index into partitions_ (-1: not ours): avoids a
  // string lookup per message.
  std::map<std::pair<const void*, int32_t>, int> by_handle_;
  std::pair<const void*, int32_t> last_handle_{nullptr, -1};
  int last_index_ = -1;
  std::map<PartitionKey, int64_t> restored_;
  bool assigned_ = false;
  int64_t batch_clock_ms_ = 0;
  int64_t next_discovery_ms_ = 0;

  bool record_time_watermarks_ = false;
  // The value column holding event time (-1: none, or record timestamps).
  int watermark_index_ = -1;
  // For each row of the batch being built: its partition (value-column watermarks).
  std::vector<int> row_partitions_;
  int64_t watermark_ = kMinWatermark;
  bool idle_ = false;
};

}  // namespace

Result<std::unique_ptr<SourceReader>> MakeKafkaSourceReader(
    const KafkaSourceOptions& options, const SourceContext& context) {
  return std::make_unique<KafkaSourceReader>(options, context);
}

}  // namespace sabot
