#include "sabot/connectors/kafka/kafka_message_client.h"

#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/record_batch.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "sabot/connectors/memory/memory_topic.h"

namespace sabot {
namespace {

constexpr int kMetadataTimeoutMs = 10'000;

Result<KafkaHandle> NewClient(rd_kafka_type_t type, const std::string& bootstrap,
                              const KafkaProperties& properties,
                              KafkaProperties settings) {
  settings["bootstrap.servers"] = bootstrap;
  ARROW_ASSIGN_OR_RAISE(KafkaConf conf, MakeKafkaConf(properties, settings));
  return NewKafkaClient(type, std::move(conf));
}

// Builds one partition's run of messages.
class RunBuilder {
 public:
  Status Append(const rd_kafka_message_t& message) {
    if (message.key == nullptr) {
      ARROW_RETURN_NOT_OK(keys_.AppendNull());
    } else {
      ARROW_RETURN_NOT_OK(
          keys_.Append(static_cast<const uint8_t*>(message.key), message.key_len));
    }
    ARROW_RETURN_NOT_OK(values_.Append(
        static_cast<const uint8_t*>(message.payload == nullptr ? "" : message.payload),
        message.payload == nullptr ? 0 : message.len));
    ARROW_RETURN_NOT_OK(offsets_.Append(message.offset));
    rd_kafka_timestamp_type_t type;
    return timestamps_.Append(rd_kafka_message_timestamp(&message, &type));
  }

  Result<std::shared_ptr<arrow::RecordBatch>> Finish() {
    std::vector<std::shared_ptr<arrow::Array>> columns(4);
    ARROW_RETURN_NOT_OK(keys_.Finish(&columns[0]));
    ARROW_RETURN_NOT_OK(values_.Finish(&columns[1]));
    ARROW_RETURN_NOT_OK(offsets_.Finish(&columns[2]));
    ARROW_RETURN_NOT_OK(timestamps_.Finish(&columns[3]));
    const int64_t rows = columns[2]->length();
    return arrow::RecordBatch::Make(MemoryTopic::MessageSchema(), rows,
                                    std::move(columns));
  }

 private:
  arrow::BinaryBuilder keys_;
  arrow::BinaryBuilder values_;
  arrow::Int64Builder offsets_;
  arrow::Int64Builder timestamps_;
};

}  // namespace

Result<std::unique_ptr<KafkaMessageReader>> KafkaMessageReader::Make(
    const std::string& bootstrap, const std::string& topic,
    const std::vector<int32_t>& partitions, const std::vector<int64_t>& offsets,
    const KafkaProperties& properties) {
  if (partitions.size() != offsets.size()) {
    return Status::Invalid("KafkaMessageReader: one offset per partition");
  }
  // A group id is required by librdkafka's consumer; nothing is committed to it.
  ARROW_ASSIGN_OR_RAISE(KafkaHandle consumer,
                        NewClient(RD_KAFKA_CONSUMER, bootstrap, properties,
                                  {{"group.id", "sabot-app-reader"},
                                   {"enable.auto.commit", "false"},
                                   {"enable.auto.offset.store", "false"},
                                   {"enable.partition.eof", "false"},
                                   {"isolation.level", "read_committed"}}));
  KafkaPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (size_t i = 0; i < partitions.size(); ++i) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partitions[i])->offset =
        offsets[i];
  }
  ARROW_RETURN_NOT_OK(KafkaStatus(rd_kafka_assign(consumer.get(), list.get()),
                                  "cannot assign the partitions of topic " + topic));
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer.get());
  return std::unique_ptr<KafkaMessageReader>(
      new KafkaMessageReader(topic, std::move(consumer), queue));
}

KafkaMessageReader::KafkaMessageReader(std::string topic, KafkaHandle consumer,
                                       rd_kafka_queue_t* queue)
    : topic_(std::move(topic)), consumer_(std::move(consumer)), queue_(queue) {}

KafkaMessageReader::~KafkaMessageReader() {
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
}

Result<std::vector<std::pair<int32_t, std::shared_ptr<arrow::RecordBatch>>>>
KafkaMessageReader::Poll(int64_t max_messages, int64_t timeout_ms) {
  messages_.resize(static_cast<size_t>(std::clamp<int64_t>(max_messages, 1, 65536)));
  const ssize_t count = rd_kafka_consume_batch_queue(
      queue_, static_cast<int>(std::max<int64_t>(timeout_ms, 0)), messages_.data(),
      messages_.size());
  if (count < 0) return KafkaStatus(rd_kafka_last_error(), "cannot read topic " + topic_);
  std::vector<std::pair<int32_t, std::shared_ptr<arrow::RecordBatch>>> runs;
  Status status;
  std::optional<RunBuilder> run;
  int32_t run_partition = -1;
  for (ssize_t i = 0; i < count; ++i) {
    const rd_kafka_message_t& message = *messages_[i];
    if (!status.ok()) continue;
    if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("topic ", topic_, " partition ", message.partition, ": ",
                               rd_kafka_message_errstr(&message));
      continue;
    }
    if (!run || message.partition != run_partition) {
      if (run) {
        auto batch = run->Finish();
        if (!batch.ok()) {
          status = batch.status();
          continue;
        }
        runs.emplace_back(run_partition, *batch);
      }
      run.emplace();
      run_partition = message.partition;
    }
    status = run->Append(message);
  }
  for (ssize_t i = 0; i < count; ++i) rd_kafka_message_destroy(messages_[i]);
  ARROW_RETURN_NOT_OK(status);
  if (run) {
    ARROW_ASSIGN_OR_RAISE(auto batch, run->Finish());
    runs.emplace_back(run_partition, std::move(batch));
  }
  return runs;
}

Result<std::unique_ptr<KafkaMessageWriter>> KafkaMessageWriter::Make(
    const std::string& bootstrap, const KafkaProperties& properties) {
  KafkaProperties settings = {{"bootstrap.servers", bootstrap},
                              {"enable.idempotence", "true"},
                              {"compression.type", "lz4"},
                              {"linger.ms", "5"}};
  ARROW_ASSIGN_OR_RAISE(KafkaConf conf, MakeKafkaConf(properties, settings));
  std::unique_ptr<KafkaMessageWriter> writer(new KafkaMessageWriter());
  // Delivery reports find the writer through the handle's opaque pointer.
  rd_kafka_conf_set_opaque(conf.get(), writer.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaMessageWriter::OnDelivery);
  ARROW_ASSIGN_OR_RAISE(writer->producer_,
                        NewKafkaClient(RD_KAFKA_PRODUCER, std::move(conf)));
  return writer;
}

KafkaMessageWriter::~KafkaMessageWriter() {
  if (producer_) rd_kafka_flush(producer_.get(), 10'000);
}

void KafkaMessageWriter::OnDelivery(rd_kafka_t* handle, const rd_kafka_message_t* message,
                                    void*) {
  // Messages queued by ProduceMany after its first have no delivery object; their
  // errors still reach Flush().
  auto* delivery = static_cast<std::shared_ptr<KafkaDelivery>*>(message->_private);
  std::string error;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    error = std::string("topic ") + rd_kafka_topic_name(message->rkt) + " partition " +
            std::to_string(message->partition) + ": " + rd_kafka_err2str(message->err);
    auto* writer = static_cast<KafkaMessageWriter*>(rd_kafka_opaque(handle));
    if (writer != nullptr) {
      std::lock_guard<std::mutex> lock(writer->mutex_);
      if (writer->first_error_.empty()) writer->first_error_ = error;
    }
  }
  if (delivery == nullptr) return;
  (*delivery)->partition = message->partition;
  (*delivery)->offset = message->offset;
  (*delivery)->error = std::move(error);
  delete delivery;
}

Status KafkaMessageWriter::Queue(const std::string& topic, int32_t partition,
                                 std::optional<std::string_view> key,
                                 std::string_view value, int64_t timestamp_ms,
                                 std::shared_ptr<KafkaDelivery>* opaque) {
  const void* key_data = key ? key->data() : nullptr;
  const size_t key_size = key ? key->size() : 0;
  for (;;) {
    const rd_kafka_resp_err_t error = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
    if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return KafkaStatus(error, "cannot send to topic " + topic);
    }
    // The local queue is full: serve delivery reports until there is room.
    rd_kafka_poll(producer_.get(), 10);
  }
}

Result<std::shared_ptr<KafkaDelivery>> KafkaMessageWriter::Produce(
    const std::string& topic, int32_t partition, const std::optional<std::string>& key,
    const std::string& value, int64_t timestamp_ms) {
  ARROW_RETURN_NOT_OK(FirstError());
  auto delivery = std::make_shared<KafkaDelivery>();
  auto* opaque = new std::shared_ptr<KafkaDelivery>(delivery);
  Status queued = Queue(topic, partition,
                        key ? std::optional<std::string_view>(*key) : std::nullopt, value,
                        timestamp_ms, opaque);
  if (!queued.ok()) {
    delete opaque;
    return queued;
  }
  rd_kafka_poll(producer_.get(), 0);  // serve the delivery reports that are due
  return delivery;
}

Result<std::shared_ptr<KafkaDelivery>> KafkaMessageWriter::ProduceMany(
    const std::string& topic, int32_t partition,
    const std::vector<std::optional<std::string_view>>& keys,
    const std::vector<std::string_view>& values, const std::vector<int64_t>& timestamps) {
  if (keys.size() != values.size() || timestamps.size() != values.size()) {
    return Status::Invalid("produce_many: ", keys.size(), " keys, ", values.size(),
                           " values and ", timestamps.size(),
                           " timestamps; give one of each per message");
  }
  ARROW_RETURN_NOT_OK(FirstError());
  if (values.empty()) return nullptr;
  auto first = std::make_shared<KafkaDelivery>();
  auto* opaque = new std::shared_ptr<KafkaDelivery>(first);
  Status queued = Queue(topic, partition, keys[0], values[0], timestamps[0], opaque);
  if (!queued.ok()) {
    delete opaque;
    return queued;
  }
  for (size_t i = 1; i < values.size(); ++i) {
    ARROW_RETURN_NOT_OK(Queue(topic, partition, keys[i], values[i], timestamps[i], nullptr));
  }
  rd_kafka_poll(producer_.get(), 0);
  return first;
}

Status KafkaMessageWriter::Flush(int64_t timeout_ms) {
  ARROW_RETURN_NOT_OK(
      KafkaStatus(rd_kafka_flush(producer_.get(), static_cast<int>(timeout_ms)),
                  "cannot deliver the sent messages"));
  return FirstError();
}

Status KafkaMessageWriter::FirstError() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (first_error_.empty()) return Status::OK();
  // Kept: output was lost, so nothing sent later may be reported as delivered either.
  return Status::IOError("a message was not delivered: ", first_error_);
}

int32_t KafkaKeyPartition(std::string_view key, int32_t partitions) {
  // librdkafka's murmur2 partitioner does not use the topic handle.
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions,
                                          nullptr, nullptr);
}

Status KafkaEnsureTopic(const std::string& bootstrap, const std::string& topic,
                        int32_t partitions, const KafkaProperties& properties) {
  ARROW_ASSIGN_OR_RAISE(KafkaHandle admin,
                        NewClient(RD_KAFKA_PRODUCER, bootstrap, properties, {}));
  char error[512];
  rd_kafka_NewTopic_t* new_topic =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, error, sizeof(error));
  if (new_topic == nullptr) return Status::Invalid("topic ", topic, ": ", error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.get());
  rd_kafka_CreateTopics(admin.get(), &new_topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, kMetadataTimeoutMs);
  Status status;
  if (event == nullptr) {
    status = Status::IOError("cannot create topic ", topic, " at ", bootstrap,
                             ": no answer within 10 s");
  } else {
    const rd_kafka_CreateTopics_result_t* result =
        rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** topics =
        result == nullptr ? nullptr : rd_kafka_CreateTopics_result_topics(result, &count);
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("cannot create topic ", topic, ": ",
                               rd_kafka_event_error_string(event));
    } else if (count == 1 &&
               rd_kafka_topic_result_error(topics[0]) !=
                   RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS &&
               rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("cannot create topic ", topic, ": ",
                               rd_kafka_topic_result_error_string(topics[0]));
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_NewTopic_destroy(new_topic);
  rd_kafka_queue_destroy(queue);
  ARROW_RETURN_NOT_OK(status);
  ARROW_ASSIGN_OR_RAISE(auto ends, KafkaEndOffsets(bootstrap, topic, properties));
  if (static_cast<int32_t>(ends.size()) != partitions) {
    return Status::Invalid("topic ", topic, " exists with ", ends.size(),
                           " partitions, but the app declares ", partitions,
                           "; declare it with partitions=", ends.size());
  }
  return Status::OK();
}

Result<std::vector<int64_t>> KafkaEndOffsets(const std::string& bootstrap,
                                             const std::string& topic,
                                             const KafkaProperties& properties) {
  ARROW_ASSIGN_OR_RAISE(KafkaHandle client,
                        NewClient(RD_KAFKA_PRODUCER, bootstrap, properties, {}));
  // A topic created a moment ago may not be in the metadata yet: ask again for a while.
  const auto metadata_deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kMetadataTimeoutMs);
  int partitions = 0;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (;;) {
    rd_kafka_topic_t* handle = rd_kafka_topic_new(client.get(), topic.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    error = rd_kafka_metadata(client.get(), 0, handle, &metadata, kMetadataTimeoutMs);
    rd_kafka_topic_destroy(handle);
    ARROW_RETURN_NOT_OK(KafkaStatus(error, "cannot read the metadata of topic " + topic));
    if (metadata->topic_cnt == 1 &&
        metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      partitions = metadata->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(metadata);
    if (partitions > 0 || std::chrono::steady_clock::now() > metadata_deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (partitions == 0) return Status::KeyError("Kafka topic ", topic, " does not exist");
  std::vector<int64_t> ends(static_cast<size_t>(partitions));
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0;
    // A topic created a moment ago has no leader yet: retry for a while.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kMetadataTimeoutMs);
    for (;;) {
      error = rd_kafka_query_watermark_offsets(client.get(), topic.c_str(), p, &low,
                                               &ends[p], kMetadataTimeoutMs);
      const bool transient = error == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                             error == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                             error == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      if (!transient || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ARROW_RETURN_NOT_OK(KafkaStatus(error, "cannot read the end offsets of topic " +
                                               topic + " partition " +
                                               std::to_string(p)));
  }
  return ends;
}

}  // namespace sabot
