#include "kafka_testing.h"

#include <librdkafka/rdkafka.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "sabot/testing/pipeline_testing.h"

namespace sabot::testing {

namespace {

// Polls the metadata of `topic` until it has `partitions` partitions, each with a
// leader (10 s at most).
void WaitForLeaders(rd_kafka_t* client, const std::string& topic, int partitions) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_topic_t* handle = rd_kafka_topic_new(client, topic.c_str(), nullptr);
    bool ready = false;
    if (rd_kafka_metadata(client, 0, handle, &metadata, 5000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      ready = metadata->topic_cnt == 1 && metadata->topics[0].err == 0 &&
              metadata->topics[0].partition_cnt == partitions;
      for (int p = 0; ready && p < metadata->topics[0].partition_cnt; ++p) {
        ready = metadata->topics[0].partitions[p].leader >= 0;
      }
      rd_kafka_metadata_destroy(metadata);
    }
    rd_kafka_topic_destroy(handle);
    if (ready) return;
    usleep(100'000);
  }
}

// A librdkafka handle of `type` for `bootstrap` with `settings`, or an error.
Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, const std::string& bootstrap,
                              const std::map<std::string, std::string>& settings = {}) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> all = settings;
  all["bootstrap.servers"] = bootstrap;
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::Invalid("librdkafka setting ", name, ": ", error);
    }
  }
  rd_kafka_t* client = rd_kafka_new(type, conf, error, sizeof(error));
  if (client == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::IOError("cannot create a Kafka client: ", error);
  }
  return client;
}

}  // namespace

std::string KafkaBootstrap() {
  const char* file = std::getenv("SABOT_KAFKA_BOOTSTRAP_FILE");
  if (file == nullptr) return "";
  std::ifstream in(file);
  std::string bootstrap;
  std::getline(in, bootstrap);
  return bootstrap;
}

std::string UniqueTopic(const std::string& stem) {
  static std::atomic<int> counter{0};
  return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

Status CreateTopic(const std::string& bootstrap, const std::string& topic,
                   int partitions) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof(error));
  rd_kafka_t* admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (admin == nullptr) return Status::IOError("cannot create admin client: ", error);
  rd_kafka_NewTopic_t* new_topic =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, error, sizeof(error));
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin);
  rd_kafka_CreateTopics(admin, &new_topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30'000);
  Status status;
  if (event == nullptr) {
    status = Status::IOError("CreateTopics timed out");
  } else {
    const rd_kafka_CreateTopics_result_t* result =
        rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** topics =
        rd_kafka_CreateTopics_result_topics(result, &count);
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("CreateTopics: ", rd_kafka_event_error_string(event));
    } else if (count == 1 &&
               rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("CreateTopics ", topic, ": ",
                               rd_kafka_topic_result_error_string(topics[0]));
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_NewTopic_destroy(new_topic);
  rd_kafka_queue_destroy(queue);
  // Wait until every partition has a leader, so that clients started next find it.
  if (status.ok()) WaitForLeaders(admin, topic, partitions);
  rd_kafka_destroy(admin);
  return status;
}

Result<std::string> RunCommand(const std::string& command, const std::string& input) {
  char input_path[] = "/tmp/sabot-kafka-input-XXXXXX";
  const int fd = mkstemp(input_path);
  if (fd < 0) return Status::IOError("mkstemp failed");
  if (!input.empty() &&
      write(fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    close(fd);
    return Status::IOError("cannot write ", input_path);
  }
  close(fd);
  const std::string full = command + " < " + input_path;
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return Status::IOError("cannot run ", command);
  std::string output;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  unlink(input_path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // The end of what it printed says why (commands that matter redirect 2>&1).
    constexpr size_t kShownOutput = 2000;
    const std::string tail =
        output.size() > kShownOutput ? output.substr(output.size() - kShownOutput) : output;
    return Status::IOError("command failed (", status, "): ", command, "\n", tail);
  }
  return output;
}

Status KcatProduce(const std::string& bootstrap, const std::string& topic,
                   const std::vector<std::string>& lines, bool keyed, int partition) {
  std::string input;
  for (const std::string& line : lines) input += line + "\n";
  // Idempotent, so that a retried request can neither reorder nor duplicate records:
  // tests read offsets and expect the lines in the order given.
  std::string command =
      "kcat -b " + bootstrap + " -P -X enable.idempotence=true -t " + topic;
  if (keyed) command += " -K '\t'";
  if (partition >= 0) command += " -p " + std::to_string(partition);
  return RunCommand(command, input).status();
}

Result<std::vector<std::string>> KcatConsume(const std::string& bootstrap,
                                             const std::string& topic,
                                             const std::string& format) {
  ARROW_ASSIGN_OR_RAISE(
      std::string output,
      RunCommand("kcat -b " + bootstrap + " -C -t " + topic +
                 " -e -q -X isolation.level=read_committed -f '" + format + "\\n'"));
  std::vector<std::string> lines;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string SourceDirectory() {
  const char* from_environment = std::getenv("SABOT_SOURCE_DIR");
  if (from_environment != nullptr && *from_environment != '\0') return from_environment;
  std::string file = __FILE__;  // <source>/tests/kafka/kafka_testing.cc
  for (int level = 0; level < 3; ++level) file = file.substr(0, file.rfind('/'));
  return file;
}

Status CreatePartitions(const std::string& bootstrap, const std::string& topic,
                        int total) {
  ARROW_ASSIGN_OR_RAISE(rd_kafka_t * admin, NewClient(RD_KAFKA_PRODUCER, bootstrap));
  char error[512];
  rd_kafka_NewPartitions_t* partitions =
      rd_kafka_NewPartitions_new(topic.c_str(), total, error, sizeof(error));
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin);
  rd_kafka_CreatePartitions(admin, &partitions, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30'000);
  Status status;
  if (event == nullptr) {
    status = Status::IOError("CreatePartitions timed out");
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** topics = rd_kafka_CreatePartitions_result_topics(
        rd_kafka_event_CreatePartitions_result(event), &count);
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("CreatePartitions: ", rd_kafka_event_error_string(event));
    } else if (count == 1 &&
               rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("CreatePartitions ", topic, ": ",
                               rd_kafka_topic_result_error_string(topics[0]));
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_NewPartitions_destroy(partitions);
  rd_kafka_queue_destroy(queue);
  if (status.ok()) WaitForLeaders(admin, topic, total);
  rd_kafka_destroy(admin);
  return status;
}

namespace {

// Delivery reports of ProduceWithTimestamps: counts the failed messages.
void CountFailedDeliveries(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<int*>(opaque);
}

}  // namespace

Status ProduceWithTimestamps(const std::string& bootstrap, const std::string& topic,
                             const std::vector<TimestampedRecord>& records) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof(error));
  rd_kafka_conf_set(conf, "enable.idempotence", "true", error, sizeof(error));
  int failed = 0;
  rd_kafka_conf_set_opaque(conf, &failed);
  rd_kafka_conf_set_dr_msg_cb(conf, CountFailedDeliveries);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (producer == nullptr) return Status::IOError("cannot create a producer: ", error);
  Status status;
  for (const TimestampedRecord& record : records) {
    const rd_kafka_resp_err_t produced = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(record.partition),
        RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_TIMESTAMP(record.timestamp_ms), RD_KAFKA_V_END);
    if (produced != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("produce to ", topic, ": ", rd_kafka_err2str(produced));
      break;
    }
    rd_kafka_poll(producer, 0);
  }
  if (rd_kafka_flush(producer, 30'000) != RD_KAFKA_RESP_ERR_NO_ERROR && status.ok()) {
    status = Status::IOError("produce to ", topic, ": flush timed out");
  }
  if (failed > 0 && status.ok()) {
    status = Status::IOError(failed, " records to ", topic, " were not delivered");
  }
  rd_kafka_destroy(producer);
  return status;
}

Status CommitGroupOffsets(const std::string& bootstrap, const std::string& group_id,
                          const std::string& topic,
                          const std::map<int32_t, int64_t>& offsets) {
  ARROW_ASSIGN_OR_RAISE(
      rd_kafka_t * consumer,
      NewClient(RD_KAFKA_CONSUMER, bootstrap,
                {{"group.id", group_id}, {"enable.auto.commit", "false"}}));
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const auto& [partition, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  }
  const rd_kafka_resp_err_t error = rd_kafka_commit(consumer, list, /*async=*/0);
  Status status;
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = Status::IOError("commit offsets of group ", group_id, ": ",
                             rd_kafka_err2str(error));
  }
  for (int i = 0; status.ok() && i < list->cnt; ++i) {
    if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = Status::IOError("commit offset of ", topic, " partition ",
                               list->elems[i].partition, ": ",
                               rd_kafka_err2str(list->elems[i].err));
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return status;
}

Result<std::unique_ptr<PrivateBroker>> PrivateBroker::Start() {
  char directory[] = "/tmp/sabot-private-kafka-XXXXXX";
  if (mkdtemp(directory) == nullptr) return Status::IOError("mkdtemp failed");
  std::unique_ptr<PrivateBroker> broker(new PrivateBroker(directory));
  ARROW_RETURN_NOT_OK(broker->Restart());
  return broker;
}

PrivateBroker::~PrivateBroker() {
  const std::string tools = SourceDirectory() + "/tools/kafka";
  (void)RunCommand(ShellQuote(tools + "/stop.sh") + " " + ShellQuote(directory_) +
                   " --kill");
  (void)RunCommand("rm -rf " + ShellQuote(directory_));
}

Status PrivateBroker::Stop() {
  return RunCommand(ShellQuote(SourceDirectory() + "/tools/kafka/stop.sh") + " " +
                    ShellQuote(directory_))
      .status();
}

Status PrivateBroker::Restart() {
  // start.sh's messages go to its stdout.log; its last stdout line is the address.
  ARROW_ASSIGN_OR_RAISE(
      std::string output,
      RunCommand(ShellQuote(SourceDirectory() + "/tools/kafka/start.sh") + " " +
                 ShellQuote(directory_) + " 2>&1"));
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) {
    output.pop_back();
  }
  const std::string address = output.substr(output.rfind('\n') + 1);
  if (address.rfind("127.0.0.1:", 0) != 0) {
    return Status::IOError("tools/kafka/start.sh printed no address: ", output);
  }
  bootstrap_ = address;
  return Status::OK();
}

}  // namespace sabot::testing

namespace sabot::testing {

void KafkaBrokerTest::SetUp() {
  bootstrap_ = KafkaBootstrap();
  if (bootstrap_.empty()) GTEST_SKIP() << "SABOT_KAFKA_BOOTSTRAP_FILE is not set";
}

std::string KafkaBrokerTest::NewTopic(const std::string& stem, int partitions) {
  const std::string topic = UniqueTopic(stem);
  Status created = CreateTopic(bootstrap_, topic, partitions);
  EXPECT_TRUE(created.ok()) << created.ToString();
  return topic;
}

}  // namespace sabot::testing
