#include "sabot/connectors/kafka/dead_letter.h"

#include <arrow/util/base64.h>
#include <arrow/util/utf8.h>

#include "sabot/connectors/file/rejects_file.h"
#include "sabot/connectors/json_lines_format.h"
#include "sabot/connectors/kafka/kafka_client.h"
#include "sabot/runtime/node_metrics.h"

namespace sabot {
namespace {

std::string Origin(const RejectedMessage& message) {
  return std::string("topic ") + std::string(message.topic) + " partition " +
         std::to_string(message.partition) + " offset " + std::to_string(message.offset);
}

class FailingHandler : public BadMessageHandler {
 public:
  Status Reject(const RejectedMessage& message) override {
    return Status::Invalid(Origin(message), ": ", message.reason,
                           " (to keep the job running, set on_bad_record to kSkip or "
                           "kDeadLetter)");
  }
  Status Flush() override { return Status::OK(); }
};

class CountingHandler : public BadMessageHandler {
 public:
  explicit CountingHandler(NodeMetrics* metrics) : metrics_(metrics) {}
  Status Reject(const RejectedMessage&) override {
    if (metrics_ != nullptr) metrics_->AddRejected(1);
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }

 private:
  NodeMetrics* metrics_;
};

// Appends `bytes` as "name":"text" when it is UTF-8, else as "name_base64":"...".
void AppendBytesMember(std::string_view name, std::string_view bytes, std::string* out) {
  out->push_back('"');
  out->append(name);
  if (arrow::util::ValidateUTF8(bytes)) {
    out->append("\":");
    AppendJsonString(bytes, out);
  } else {
    out->append("_base64\":");
    AppendJsonString(arrow::util::base64_encode(bytes), out);
  }
}

class FileHandler : public BadMessageHandler {
 public:
  FileHandler(std::shared_ptr<RejectsFile> file, NodeMetrics* metrics)
      : file_(std::move(file)), metrics_(metrics) {
    // ValidateUTF8 reads tables this fills (once per process).
    arrow::util::InitializeUTF8();
  }

  Status Reject(const RejectedMessage& message) override {
    line_.assign("{\"topic\":");
    AppendJsonString(message.topic, &line_);
    line_.append(",\"partition\":");
    line_.append(std::to_string(message.partition));
    line_.append(",\"offset\":");
    line_.append(std::to_string(message.offset));
    line_.append(",\"reason\":");
    AppendJsonString(message.reason, &line_);
    line_.push_back(',');
    AppendBytesMember("key", message.key, &line_);
    line_.push_back(',');
    AppendBytesMember("value", message.value, &line_);
    line_.append("}\n");
    ARROW_RETURN_NOT_OK(file_->Append(line_));
    if (metrics_ != nullptr) metrics_->AddRejected(1);
    return Status::OK();
  }

  Status Flush() override { return file_->Sync(); }

 private:
  std::shared_ptr<RejectsFile> file_;
  NodeMetrics* metrics_;
  std::string line_;
};

// Messages go through an idempotent producer; Flush() waits until the broker has
// acknowledged all of them, so a checkpoint never covers a dead letter still in flight.
class TopicHandler : public BadMessageHandler {
 public:
  TopicHandler(KafkaHandle producer, std::string topic, NodeMetrics* metrics)
      : producer_(std::move(producer)), topic_(std::move(topic)), metrics_(metrics) {}

  Status Reject(const RejectedMessage& message) override {
    const std::string partition = std::to_string(message.partition);
    const std::string offset = std::to_string(message.offset);
    while (true) {
      const rd_kafka_resp_err_t error = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(const_cast<char*>(message.key.data()), message.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()),
          RD_KAFKA_V_HEADER("sabot.error", message.reason.data(),
                            static_cast<ssize_t>(message.reason.size())),
          RD_KAFKA_V_HEADER("sabot.topic", message.topic.data(),
                            static_cast<ssize_t>(message.topic.size())),
          RD_KAFKA_V_HEADER("sabot.partition", partition.data(),
                            static_cast<ssize_t>(partition.size())),
          RD_KAFKA_V_HEADER("sabot.offset", offset.data(),
                            static_cast<ssize_t>(offset.size())),
          RD_KAFKA_V_END);
      if (error == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer_.get(), 10);
        continue;
      }
      ARROW_RETURN_NOT_OK(
          KafkaStatus(error, "cannot write to the dead-letter topic " + topic_));
      break;
    }
    rd_kafka_poll(producer_.get(), 0);
    if (metrics_ != nullptr) metrics_->AddRejected(1);
    return Status::OK();
  }

  Status Flush() override {
    ARROW_RETURN_NOT_OK(KafkaStatus(rd_kafka_flush(producer_.get(), 60'000),
                                    "cannot flush the dead-letter topic " + topic_));
    char reason[512];
    const rd_kafka_resp_err_t fatal =
        rd_kafka_fatal_error(producer_.get(), reason, sizeof(reason));
    if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::IOError("the dead-letter producer for topic ", topic_,
                             " failed: ", reason);
    }
    return Status::OK();
  }

 private:
  KafkaHandle producer_;
  std::string topic_;
  NodeMetrics* metrics_;
};

}  // namespace

Result<std::unique_ptr<BadMessageHandler>> MakeBadMessageHandler(
    const KafkaSourceConfig& config, NodeMetrics* metrics) {
  switch (config.on_bad_record) {
    case KafkaBadRecordPolicy::kFail:
      return std::make_unique<FailingHandler>();
    case KafkaBadRecordPolicy::kSkip:
      return std::make_unique<CountingHandler>(metrics);
    case KafkaBadRecordPolicy::kDeadLetter:
      break;
  }
  if (!config.dead_letter_path.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto file,
                          RejectsFile::Open(config.dead_letter_path, "dead_letter_path"));
    return std::make_unique<FileHandler>(std::move(file), metrics);
  }
  ARROW_ASSIGN_OR_RAISE(
      KafkaConf conf,
      MakeKafkaConf(config.properties, {{"bootstrap.servers", config.bootstrap_servers},
                                        {"enable.idempotence", "true"},
                                        {"linger.ms", "5"}}));
  ARROW_ASSIGN_OR_RAISE(KafkaHandle producer,
                        NewKafkaClient(RD_KAFKA_PRODUCER, std::move(conf)));
  return std::make_unique<TopicHandler>(std::move(producer), config.dead_letter_topic,
                                        metrics);
}

}  // namespace sabot
