// Kafka benchmark: JSON events through a real broker, printed as one JSON object per
// measurement (run_kafka_benchmark.py runs every mode against a private broker, next to
// Kafka's own producer and consumer performance tools, and prints the ratios).
//
//   produce   fills a topic with JSON events through librdkafka directly (lz4, linger,
//             large batches): data preparation, its rate is reported too.
//   decode    Sabot job FromKafka(bounded, JSON) → Blackhole: Kafka records decoded
//             into Arrow batches.
//   pipeline  FromKafka → Filter(amount > x) → Select(5 columns) → WriteKafka(JSON),
//             at-least-once or exactly-once, checkpointing every --checkpoint-ms.
//   codec     the JSON decoder and encoder alone over in-memory messages (no Kafka).
//
// "per CPU second" divides events by the process's user + system CPU seconds (the task
// threads and librdkafka's threads), so runs at different parallelism compare fairly;
// wall-clock throughput is reported beside it. The broker's CPU is not included.
//
// Usage:
//   kafka_benchmark produce  --bootstrap B --topic T [--events N (5000000)]
//   kafka_benchmark decode   --bootstrap B --topic T [--parallelism P (1)]
//                            [--source-properties name=value,...]
//   kafka_benchmark pipeline --bootstrap B --input T --output T2 [--guarantee alo|eos]
//                            [--checkpoint-ms 1000] [--min-amount 2500] [--parallelism P]
//                            [--source-properties ...] [--sink-properties ...]
//   kafka_benchmark codec    [--events N (2000000)]
#include <arrow/api.h>
#include <librdkafka/rdkafka.h>
#include <sabot/sabot.h>

#include "sabot/common/time.h"
#include "sabot/connectors/codec/codec.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using sabot::col;

// Command-line flags: "--name value" pairs after the mode.
class Flags {
 public:
  static arrow::Result<Flags> Parse(int argc, char** argv) {
    Flags flags;
    for (int i = 2; i < argc; i += 2) {
      const std::string name = argv[i];
      if (name.rfind("--", 0) != 0 || i + 1 >= argc) {
        return arrow::Status::Invalid("expected '--flag value', got '", name, "'");
      }
      flags.values_[name.substr(2)] = argv[i + 1];
    }
    return flags;
  }

  std::string String(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }

  int64_t Int(const std::string& name, int64_t fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : std::atoll(it->second.c_str());
  }

  double Double(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : std::atof(it->second.c_str());
  }

  arrow::Result<std::string> Required(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return arrow::Status::Invalid("--", name, " is required");
    return it->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

// ---------------------------------------------------------------------------------
// Events: {"id":..,"account":..,"amount":..,"currency":"..","city":"..",
//          "merchant":"m-NNNNN","channel":"..","ts":..}, 125-150 bytes each,
//          deterministic.

constexpr std::array<std::string_view, 4> kCurrencies = {"EUR", "USD", "GBP", "JPY"};
constexpr std::array<std::string_view, 3> kChannels = {"web", "mobile", "point-of-sale"};
constexpr std::array<std::string_view, 12> kCities = {
    "Amsterdam", "Berlin",        "Lisbon",    "London", "Madrid",  "New York",
    "Paris",     "San Francisco", "Singapore", "Tokyo",  "Toronto", "Rome"};
constexpr int64_t kStartMillis = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

std::shared_ptr<arrow::Schema> EventSchema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("account", arrow::int64()),
       arrow::field("amount", arrow::float64()), arrow::field("currency", arrow::utf8()),
       arrow::field("city", arrow::utf8()), arrow::field("merchant", arrow::utf8()),
       arrow::field("channel", arrow::utf8()), arrow::field("ts", arrow::int64())});
}

class EventWriter {
 public:
  // Writes event `id` into the internal buffer and returns it.
  std::string_view Write(int64_t id) {
    uint64_t random = Mix(static_cast<uint64_t>(id));
    end_ = buffer_.data();
    Text("{\"id\":");
    Number(id);
    Text(",\"account\":");
    Number(static_cast<int64_t>(random % 100'000));
    random /= 100'000;
    // Amount in [1.00, 5000.00] with two decimals: uniform, so the filter's
    // selectivity is (5000 - x) / 5000.
    const int64_t cents = 100 + static_cast<int64_t>(random % 499'901);
    random /= 499'901;
    Text(",\"amount\":");
    Number(cents / 100);
    *end_++ = '.';
    *end_++ = static_cast<char>('0' + (cents % 100) / 10);
    *end_++ = static_cast<char>('0' + cents % 10);
    Text(",\"currency\":\"");
    Text(kCurrencies[random % kCurrencies.size()]);
    random /= kCurrencies.size();
    Text("\",\"city\":\"");
    Text(kCities[random % kCities.size()]);
    random /= kCities.size();
    Text("\",\"merchant\":\"m-");
    const int64_t merchant = static_cast<int64_t>(random % 100'000);
    for (int64_t scale = 10'000; scale > 0; scale /= 10) {
      *end_++ = static_cast<char>('0' + (merchant / scale) % 10);
    }
    random /= 100'000;
    Text("\",\"channel\":\"");
    Text(kChannels[random % kChannels.size()]);
    random /= kChannels.size();
    // One event per millisecond, up to 2 s late.
    Text("\",\"ts\":");
    Number(kStartMillis + id - static_cast<int64_t>(random % 2000));
    *end_++ = '}';
    return std::string_view(buffer_.data(), end_ - buffer_.data());
  }

 private:
  // SplitMix64's finalizer: one well-mixed 64-bit number per event id.
  static uint64_t Mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  void Text(std::string_view text) {
    std::memcpy(end_, text.data(), text.size());
    end_ += text.size();
  }
  void Number(int64_t value) {
    end_ = std::to_chars(end_, buffer_.data() + buffer_.size(), value).ptr;
  }

  std::array<char, 256> buffer_{};
  char* end_ = nullptr;
};

// ---------------------------------------------------------------------------------
// JSON output.

class JsonObject {
 public:
  JsonObject& Add(const std::string& name, const std::string& value) {
    Key(name);
    text_ += '"';
    text_ += value;
    text_ += '"';
    return *this;
  }
  JsonObject& Add(const std::string& name, const char* value) {
    return Add(name, std::string(value));
  }
  JsonObject& Add(const std::string& name, int64_t value) {
    Key(name);
    text_ += std::to_string(value);
    return *this;
  }
  JsonObject& Add(const std::string& name, int value) {
    return Add(name, static_cast<int64_t>(value));
  }
  JsonObject& Add(const std::string& name, double value, const char* format = "%.3f") {
    char number[64];
    std::snprintf(number, sizeof(number), format, value);
    Key(name);
    text_ += number;
    return *this;
  }
  // Events, wall and CPU seconds, and the two rates derived from them.
  JsonObject& AddRates(int64_t events, double wall_seconds, double cpu_seconds) {
    Add("events", events);
    Add("wall_seconds", wall_seconds);
    Add("cpu_seconds", cpu_seconds);
    Add("events_per_second", events / wall_seconds, "%.0f");
    Add("events_per_cpu_second", events / cpu_seconds, "%.0f");
    return *this;
  }
  void Print() {
    std::printf("{%s}\n", text_.c_str());
    std::fflush(stdout);
  }

 private:
  void Key(const std::string& name) {
    if (!text_.empty()) text_ += ", ";
    text_ += '"';
    text_ += name;
    text_ += "\": ";
  }
  std::string text_;
};

// ---------------------------------------------------------------------------------
// produce: librdkafka directly.

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};

struct DeliveryCount {
  int64_t failed = 0;
  std::string first_error;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* count = static_cast<DeliveryCount*>(opaque);
  if (count->failed++ == 0) count->first_error = rd_kafka_err2str(message->err);
}

arrow::Status Produce(const Flags& flags) {
  ARROW_ASSIGN_OR_RAISE(const std::string bootstrap, flags.Required("bootstrap"));
  ARROW_ASSIGN_OR_RAISE(const std::string topic_name, flags.Required("topic"));
  const int64_t events = flags.Int("events", 5'000'000);
  DeliveryCount delivery;
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::map<std::string, std::string> settings = {
      {"bootstrap.servers", bootstrap},
      {"acks", "all"},
      {"compression.codec", "lz4"},
      {"linger.ms", "20"},
      {"batch.num.messages", "100000"},
      {"batch.size", "1000000"},
      {"queue.buffering.max.messages", "1000000"},
      {"queue.buffering.max.kbytes", "1048576"},
      {"client.id", "sabot-kafka-benchmark-producer"}};
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return arrow::Status::Invalid("librdkafka setting ", name, ": ", error);
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, &delivery);
  std::unique_ptr<rd_kafka_t, RdKafkaDeleter> producer(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error)));
  if (!producer) {
    rd_kafka_conf_destroy(conf);
    return arrow::Status::IOError("cannot create a Kafka producer: ", error);
  }
  std::unique_ptr<rd_kafka_topic_t, RdKafkaDeleter> topic(
      rd_kafka_topic_new(producer.get(), topic_name.c_str(), nullptr));

  EventWriter writer;
  int64_t bytes = 0;
  const int64_t start = sabot::MonotonicNanos();
  const double cpu_start = sabot::ProcessCpuSeconds();
  for (int64_t id = 0; id < events; ++id) {
    const std::string_view event = writer.Write(id);
    bytes += static_cast<int64_t>(event.size());
    while (true) {
      const rd_kafka_resp_err_t result = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_RKT(topic.get()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(event.data()), event.size()),
          RD_KAFKA_V_END);
      if (result == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (result != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return arrow::Status::IOError("cannot produce to ", topic_name, ": ",
                                      rd_kafka_err2str(result));
      }
      rd_kafka_poll(producer.get(), 10);
    }
    if (id % 10'000 == 0) rd_kafka_poll(producer.get(), 0);
  }
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(producer.get(), 300'000);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return arrow::Status::IOError("cannot flush to ", topic_name, ": ",
                                  rd_kafka_err2str(flushed));
  }
  if (delivery.failed > 0) {
    return arrow::Status::IOError(delivery.failed, " events were not delivered to ",
                                  topic_name, ": ", delivery.first_error);
  }
  const double wall = (sabot::MonotonicNanos() - start) / 1e9;
  const double cpu = sabot::ProcessCpuSeconds() - cpu_start;
  JsonObject()
      .Add("benchmark", "kafka")
      .Add("mode", "produce")
      .Add("topic", topic_name)
      .AddRates(events, wall, cpu)
      .Add("bytes", bytes)
      .Add("mean_event_bytes", static_cast<double>(bytes) / events, "%.1f")
      .Add("mb_per_second", bytes / wall / 1e6, "%.1f")
      .Print();
  return arrow::Status::OK();
}

// ---------------------------------------------------------------------------------
// decode and pipeline: Sabot jobs.

// "name=value,name=value" (--source-properties, --sink-properties): librdkafka settings
// for experiments, e.g. debug=eos or fetch.error.backoff.ms=10.
arrow::Status ParseProperties(const std::string& text,
                              std::map<std::string, std::string>* properties) {
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string property = text.substr(start, end - start);
    const size_t equals = property.find('=');
    if (equals == std::string::npos) {
      return arrow::Status::Invalid("expected name=value, got '", property, "'");
    }
    (*properties)[property.substr(0, equals)] = property.substr(equals + 1);
    start = end + 1;
  }
  return arrow::Status::OK();
}

arrow::Result<sabot::KafkaSourceConfig> Source(const Flags& flags,
                                               const std::string& bootstrap,
                                               const std::string& topic) {
  sabot::KafkaSourceConfig config;
  ARROW_RETURN_NOT_OK(
      ParseProperties(flags.String("source-properties"), &config.properties));
  config.bootstrap_servers = bootstrap;
  config.topics = {topic};
  config.schema = EventSchema();
  config.bounded = true;
  return config;
}

std::string ScratchDirectory(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("sabot-kafka-benchmark-" + name + "-" +
           std::to_string(sabot::MonotonicNanos())))
      .string();
}

arrow::Status Decode(const Flags& flags) {
  ARROW_ASSIGN_OR_RAISE(const std::string bootstrap, flags.Required("bootstrap"));
  ARROW_ASSIGN_OR_RAISE(const std::string topic, flags.Required("topic"));
  const int parallelism = static_cast<int>(flags.Int("parallelism", 1));
  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  ARROW_ASSIGN_OR_RAISE(sabot::KafkaSourceConfig config, Source(flags, bootstrap, topic));
  auto source = env.FromKafka(std::move(config));
  source.Blackhole();
  ARROW_ASSIGN_OR_RAISE(sabot::JobResult result, env.Execute());
  JsonObject()
      .Add("benchmark", "kafka")
      .Add("mode", "decode")
      .Add("topic", topic)
      .Add("parallelism", parallelism)
      .AddRates(result.Metrics(source.node_name()).rows_out, result.elapsed_seconds,
                result.cpu_seconds)
      .Print();
  return arrow::Status::OK();
}

arrow::Status Pipeline(const Flags& flags) {
  ARROW_ASSIGN_OR_RAISE(const std::string bootstrap, flags.Required("bootstrap"));
  ARROW_ASSIGN_OR_RAISE(const std::string input, flags.Required("input"));
  ARROW_ASSIGN_OR_RAISE(const std::string output, flags.Required("output"));
  const std::string guarantee = flags.String("guarantee", "alo");
  if (guarantee != "alo" && guarantee != "eos") {
    return arrow::Status::Invalid("--guarantee must be alo or eos, got '", guarantee,
                                  "'");
  }
  const int parallelism = static_cast<int>(flags.Int("parallelism", 1));
  const int64_t checkpoint_ms = flags.Int("checkpoint-ms", 1000);
  const double min_amount = flags.Double("min-amount", 2500);

  sabot::StreamEnvironment env;
  env.SetParallelism(parallelism);
  const std::string scratch = ScratchDirectory(guarantee);
  if (checkpoint_ms > 0) {
    sabot::CheckpointConfig checkpoints;
    checkpoints.directory = scratch + "/checkpoints";
    checkpoints.interval_ms = checkpoint_ms;
    checkpoints.retain = 1;
    env.EnableCheckpointing(checkpoints);
  }
  ARROW_ASSIGN_OR_RAISE(sabot::KafkaSourceConfig config, Source(flags, bootstrap, input));
  auto source = env.FromKafka(std::move(config));
  auto filtered = source.Filter(col("amount") > min_amount);
  auto projected =
      filtered.Select({col("id"), col("account"), col("amount"), col("city"), col("ts")});
  sabot::KafkaSinkConfig sink;
  sink.bootstrap_servers = bootstrap;
  sink.topic = output;
  if (guarantee == "eos") {
    sink.guarantee = sabot::KafkaDeliveryGuarantee::kExactlyOnce;
    // Unique per run, so that runs against the same broker do not fence each other.
    sink.transactional_id_prefix = "sabot-kafka-benchmark-" + output + "-" +
                                   std::to_string(sabot::WallClockMillis());
  }
  ARROW_RETURN_NOT_OK(ParseProperties(flags.String("sink-properties"), &sink.properties));
  const std::string sink_node = projected.WriteKafka(sink);
  auto result = env.Execute();
  std::filesystem::remove_all(scratch);
  ARROW_RETURN_NOT_OK(result.status());
  JsonObject()
      .Add("benchmark", "kafka")
      .Add("mode", "pipeline")
      .Add("guarantee", guarantee)
      .Add("input", input)
      .Add("output", output)
      .Add("parallelism", parallelism)
      .Add("checkpoint_ms", checkpoint_ms)
      .AddRates(result->Metrics(source.node_name()).rows_out, result->elapsed_seconds,
                result->cpu_seconds)
      .Add("output_events", result->Metrics(sink_node).rows_in)
      .Add("checkpoints", result->checkpoints_completed)
      .Print();
  return arrow::Status::OK();
}

// ---------------------------------------------------------------------------------
// codec: the JSON decoder and encoder alone.

arrow::Status Codec(const Flags& flags) {
  const int64_t events = flags.Int("events", 2'000'000);
  constexpr int64_t kBatchSize = 16 * 1024;
  // 64 Ki distinct messages, contiguous, replayed: enough to defeat branch history,
  // small enough to stay out of the measurement's memory traffic.
  constexpr int64_t kDistinct = 64 * 1024;
  std::string text;
  std::vector<int64_t> offsets = {0};
  EventWriter writer;
  for (int64_t id = 0; id < kDistinct; ++id) {
    text.append(writer.Write(id));
    offsets.push_back(static_cast<int64_t>(text.size()));
  }
  const sabot::CodecConfig json;
  ARROW_ASSIGN_OR_RAISE(auto decoder,
                        sabot::MakeDecoder(json, EventSchema(), kBatchSize));
  std::vector<std::shared_ptr<arrow::RecordBatch>> kept;
  int64_t bytes = 0;
  int64_t start = sabot::MonotonicNanos();
  double cpu_start = sabot::ProcessCpuSeconds();
  for (int64_t i = 0; i < events; ++i) {
    const int64_t m = i % kDistinct;
    const std::string_view message(text.data() + offsets[m], offsets[m + 1] - offsets[m]);
    bytes += static_cast<int64_t>(message.size());
    ARROW_RETURN_NOT_OK(decoder->Append(message).status());
    if (decoder->num_rows() == kBatchSize) {
      ARROW_ASSIGN_OR_RAISE(auto batch, decoder->Flush());
      if (kept.size() < 8) kept.push_back(std::move(batch));
    }
  }
  if (decoder->num_rows() > 0) {
    ARROW_ASSIGN_OR_RAISE(auto batch, decoder->Flush());
    if (kept.empty()) kept.push_back(std::move(batch));
  }
  double wall = (sabot::MonotonicNanos() - start) / 1e9;
  double cpu = sabot::ProcessCpuSeconds() - cpu_start;
  JsonObject()
      .Add("benchmark", "kafka")
      .Add("mode", "codec_json_decode")
      .AddRates(events, wall, cpu)
      .Add("mb_per_second", bytes / wall / 1e6, "%.1f")
      .Print();

  ARROW_ASSIGN_OR_RAISE(auto encoder, sabot::MakeEncoder(json, EventSchema()));
  sabot::EncodedMessages encoded;
  int64_t encoded_rows = 0;
  bytes = 0;
  start = sabot::MonotonicNanos();
  cpu_start = sabot::ProcessCpuSeconds();
  for (size_t i = 0; encoded_rows < events; ++i) {
    const arrow::RecordBatch& batch = *kept[i % kept.size()];
    ARROW_RETURN_NOT_OK(encoder->Encode(batch, &encoded));
    encoded_rows += encoded.size();
    bytes += static_cast<int64_t>(encoded.data.size());
  }
  wall = (sabot::MonotonicNanos() - start) / 1e9;
  cpu = sabot::ProcessCpuSeconds() - cpu_start;
  JsonObject()
      .Add("benchmark", "kafka")
      .Add("mode", "codec_json_encode")
      .AddRates(encoded_rows, wall, cpu)
      .Add("mb_per_second", bytes / wall / 1e6, "%.1f")
      .Print();
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto flags = Flags::Parse(argc, argv);
  arrow::Status status;
  if (!flags.ok()) {
    status = flags.status();
  } else if (mode == "produce") {
    status = Produce(*flags);
  } else if (mode == "decode") {
    status = Decode(*flags);
  } else if (mode == "pipeline") {
    status = Pipeline(*flags);
  } else if (mode == "codec") {
    status = Codec(*flags);
  } else {
    std::fprintf(stderr,
                 "usage: kafka_benchmark produce|decode|pipeline|codec --flag value ...\n"
                 "  (see the comment at the top of bench/kafka/kafka_benchmark.cc)\n");
    return 2;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "kafka_benchmark %s failed: %s\n", mode.c_str(),
                 status.ToString().c_str());
    return 1;
  }
  return 0;
}
