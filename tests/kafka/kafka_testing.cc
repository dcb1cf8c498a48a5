#include "kafka_testing.h"

#include <librdkafka/rdkafka.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sabot::testing {

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
  for (int attempt = 0; status.ok() && attempt < 100; ++attempt) {
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_topic_t* handle = rd_kafka_topic_new(admin, topic.c_str(), nullptr);
    bool ready = false;
    if (rd_kafka_metadata(admin, 0, handle, &metadata, 5000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      ready = metadata->topic_cnt == 1 && metadata->topics[0].err == 0 &&
              metadata->topics[0].partition_cnt == partitions;
      for (int p = 0; ready && p < metadata->topics[0].partition_cnt; ++p) {
        ready = metadata->topics[0].partitions[p].leader >= 0;
      }
      rd_kafka_metadata_destroy(metadata);
    }
    rd_kafka_topic_destroy(handle);
    if (ready) break;
    usleep(100'000);
  }
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
    return Status::IOError("command failed (", status, "): ", command);
  }
  return output;
}

Status KcatProduce(const std::string& bootstrap, const std::string& topic,
                   const std::vector<std::string>& lines, bool keyed, int partition) {
  std::string input;
  for (const std::string& line : lines) input += line + "\n";
  std::string command = "kcat -b " + bootstrap + " -P -t " + topic;
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

}  // namespace sabot::testing
