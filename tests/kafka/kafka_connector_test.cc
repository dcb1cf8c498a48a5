// The Kafka source and sink against the real broker the ctest fixture starts
// (tools/kafka), with kcat as the independent producer and consumer.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <arrow/api.h>

#include "kafka_testing.h"
#include "sabot/api/stream_environment.h"
#include "sabot/connectors/kafka/kafka_options.h"
#include "sabot/connectors/kafka/kafka_sink.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

using testing::CreateTopic;
using testing::KafkaBootstrap;
using testing::KcatConsume;
using testing::KcatProduce;
using testing::UniqueTopic;

class KafkaTest : public testing::KafkaBrokerTest {
 protected:
  KafkaSourceConfig Source(const std::string& topic,
                           std::shared_ptr<arrow::Schema> schema) const {
    KafkaSourceConfig config;
    config.bootstrap_servers = bootstrap_;
    config.topics = {topic};
    config.schema = std::move(schema);
    config.bounded = true;
    config.max_batch_delay_ms = 20;
    return config;
  }
};

std::shared_ptr<arrow::Schema> RawSchema() {
  return arrow::schema({arrow::field("value", arrow::binary())});
}

std::shared_ptr<arrow::Schema> EventSchema() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("name", arrow::utf8()),
                        arrow::field("score", arrow::float64())});
}

std::shared_ptr<arrow::Table> Rows(const std::shared_ptr<CollectedBatches>& collected) {
  auto table = collected->ToTable();
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return *table;
}

// kcat writes keyed records; Sabot copies key and value bytes from one topic to another
// (raw codec); kcat reads them back. Every record arrives once, byte for byte, and the
// order of each key's records is kept.
TEST_F(KafkaTest, KcatRoundTripIsByteExact) {
  const std::string in = NewTopic("roundtrip-in", 3);
  const std::string out = NewTopic("roundtrip-out", 3);
  std::vector<std::string> lines;
  const std::vector<std::string> values = {
      "plain text",
      "{\"json\": [1, 2.5, null], \"quote\": \"\\\"\"}",
      "ünïcödé ✓ 💡",
      "  leading and trailing blanks  ",
      "a\\tbackslash-t and | pipes",
      "x"};
  for (int i = 0; i < 3000; ++i) {
    lines.push_back(std::string("key-") + std::to_string(i % 17) + std::string("\t") +
                    std::to_string(i) + " " + values[i % values.size()]);
  }
  ASSERT_TRUE(KcatProduce(bootstrap_, in, lines, /*keyed=*/true).ok());

  StreamEnvironment env;
  env.SetParallelism(2);
  KafkaSourceConfig source = Source(in, RawSchema());
  source.metadata.key = true;
  source.codec.kind = CodecKind::kRaw;
  KafkaSinkConfig sink;
  sink.bootstrap_servers = bootstrap_;
  sink.topic = out;
  sink.codec.kind = CodecKind::kRaw;
  sink.key_columns = {"_key"};
  sink.value_columns = {"value"};
  env.FromKafka(source).WriteKafka(sink);
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();

  auto read = KcatConsume(bootstrap_, out, "%k\t%s");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  std::multiset<std::string> expected(lines.begin(), lines.end());
  std::multiset<std::string> actual(read->begin(), read->end());
  EXPECT_EQ(actual, expected);
  // Per key, the output keeps the input order.
  std::map<std::string, std::vector<std::string>> expected_by_key, actual_by_key;
  for (const std::string& line : lines) {
    expected_by_key[line.substr(0, line.find('\t'))].push_back(line);
  }
  for (const std::string& line : *read) {
    actual_by_key[line.substr(0, line.find('\t'))].push_back(line);
  }
  EXPECT_EQ(actual_by_key, expected_by_key);
}

TEST_F(KafkaTest, JsonValuesWithMetadataColumns) {
  const std::string topic = NewTopic("json", 2);
  std::vector<std::string> partition0, partition1;
  for (int i = 0; i < 100; ++i) {
    const std::string line =
        std::string("k") + std::to_string(i) + std::string("\t{\"id\": ") +
        std::to_string(i) + std::string(", \"name\": \"n") + std::to_string(i) +
        std::string("\", \"score\": ") + std::to_string(i) + ".5, \"extra\": [1]}";
    (i % 2 == 0 ? partition0 : partition1).push_back(line);
  }
  ASSERT_TRUE(KcatProduce(bootstrap_, topic, partition0, true, 0).ok());
  ASSERT_TRUE(KcatProduce(bootstrap_, topic, partition1, true, 1).ok());

  StreamEnvironment env;
  KafkaSourceConfig source = Source(topic, EventSchema());
  source.metadata = {.key = true,
                     .topic = true,
                     .partition = true,
                     .offset = true,
                     .timestamp = true,
                     .headers = true};
  auto collected = env.FromKafka(source).Collect();
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto table = Rows(collected);
  ASSERT_EQ(table->num_rows(), 100);
  EXPECT_EQ(table->schema()->ToString(),
            "id: int64\nname: string\nscore: double\n_key: binary\n_topic: string\n"
            "_partition: int32\n_offset: int64\n_timestamp: timestamp[ms]\n"
            "_headers: map<string, binary>");
  std::set<int64_t> ids;
  for (int64_t r = 0; r < table->num_rows(); ++r) {
    auto id = std::static_pointer_cast<arrow::Int64Scalar>(
                  *table->GetColumnByName("id")->GetScalar(r))
                  ->value;
    auto partition = std::static_pointer_cast<arrow::Int32Scalar>(
                         *table->GetColumnByName("_partition")->GetScalar(r))
                         ->value;
    auto offset = std::static_pointer_cast<arrow::Int64Scalar>(
                      *table->GetColumnByName("_offset")->GetScalar(r))
                      ->value;
    auto key = (*table->GetColumnByName("_key")->GetScalar(r))->ToString();
    auto name = (*table->GetColumnByName("name")->GetScalar(r))->ToString();
    ids.insert(id);
    EXPECT_EQ(partition, id % 2);
    EXPECT_EQ(offset, id / 2);
    EXPECT_EQ(key, std::string("k") + std::to_string(id));
    EXPECT_EQ(name, std::string("n") + std::to_string(id));
    EXPECT_EQ((*table->GetColumnByName("_topic")->GetScalar(r))->ToString(), topic);
    EXPECT_TRUE((*table->GetColumnByName("_timestamp")->GetScalar(r))->is_valid);
  }
  EXPECT_EQ(ids.size(), 100u);
}

struct BadRecordRun {
  Status status;
  int64_t rows = 0;
  int64_t rejected = 0;
};

class KafkaBadRecordTest : public KafkaTest {
 protected:
  // Offsets 1 and 3 of partition 0 are bad: not JSON, and a string for an int64 field.
  void SetUp() override {
    KafkaTest::SetUp();
    if (bootstrap_.empty()) return;
    topic_ = NewTopic("bad", 1);
    ASSERT_TRUE(KcatProduce(bootstrap_, topic_,
                            {"{\"id\": 0, \"name\": \"a\", \"score\": 1}", "not json",
                             "{\"id\": 2, \"name\": \"b\", \"score\": 2}",
                             "{\"id\": \"three\", \"name\": \"c\", \"score\": 3}",
                             "{\"id\": 4, \"name\": \"d\", \"score\": 4}"},
                            false)
                    .ok());
  }

  BadRecordRun Run(KafkaSourceConfig source) {
    StreamEnvironment env;
    auto stream = env.FromKafka(std::move(source));
    const std::string name = stream.node_name();
    auto collected = stream.Collect();
    auto result = env.Execute();
    BadRecordRun run;
    run.status = result.status();
    if (result.ok()) {
      run.rows = Rows(collected)->num_rows();
      run.rejected = result->Metrics(name).rows_rejected;
    }
    return run;
  }

  std::string topic_;
};

TEST_F(KafkaBadRecordTest, FailNamesTopicPartitionOffsetAndReason) {
  BadRecordRun run = Run(Source(topic_, EventSchema()));
  ASSERT_FALSE(run.status.ok());
  const std::string message = run.status.ToString();
  EXPECT_NE(message.find("topic " + topic_ + " partition 0 offset 1"), std::string::npos)
      << message;
  EXPECT_NE(message.find("invalid JSON"), std::string::npos) << message;
}

TEST_F(KafkaBadRecordTest, SkipCountsAndDrops) {
  KafkaSourceConfig source = Source(topic_, EventSchema());
  source.on_bad_record = KafkaBadRecordPolicy::kSkip;
  BadRecordRun run = Run(source);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.rows, 3);
  EXPECT_EQ(run.rejected, 2);
}

TEST_F(KafkaBadRecordTest, DeadLetterFileKeepsBytesReasonAndOrigin) {
  testing::TempDirectory directory;
  KafkaSourceConfig source = Source(topic_, EventSchema());
  source.on_bad_record = KafkaBadRecordPolicy::kDeadLetter;
  source.dead_letter_path = directory.Child("dead.jsonl");
  BadRecordRun run = Run(source);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.rows, 3);
  EXPECT_EQ(run.rejected, 2);
  std::ifstream in(source.dead_letter_path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"offset\":1,"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"value\":\"not json\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"partition\":0"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"offset\":3,"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("field 'id'"), std::string::npos) << lines[1];
}

TEST_F(KafkaBadRecordTest, DeadLetterTopicKeepsBytesReasonAndOrigin) {
  const std::string dead = NewTopic("dead", 1);
  KafkaSourceConfig source = Source(topic_, EventSchema());
  source.on_bad_record = KafkaBadRecordPolicy::kDeadLetter;
  source.dead_letter_topic = dead;
  BadRecordRun run = Run(source);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.rows, 3);
  auto read = KcatConsume(bootstrap_, dead, "%h|%s");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_NE((*read)[0].find("sabot.topic=" + topic_), std::string::npos) << (*read)[0];
  EXPECT_NE((*read)[0].find("sabot.offset=1"), std::string::npos) << (*read)[0];
  EXPECT_NE((*read)[0].find("|not json"), std::string::npos) << (*read)[0];
  EXPECT_NE((*read)[1].find("sabot.error=field 'id'"), std::string::npos) << (*read)[1];
}

// Three partitions, data only in two: with idleness the third stops holding back the
// watermark and windows fire; without it nothing can fire.
TEST_F(KafkaTest, IdlePartitionDoesNotHoldBackWindows) {
  const std::string topic = NewTopic("idle", 3);
  for (int partition = 0; partition < 2; ++partition) {
    std::vector<std::string> lines;
    for (int i = 0; i < 50; ++i) {
      lines.push_back(std::string("{\"account\": ") + std::to_string(partition) +
                      std::string(", \"ts\": ") + std::to_string(i * 100) + "}");
    }
    ASSERT_TRUE(KcatProduce(bootstrap_, topic, lines, false, partition).ok());
  }
  auto schema = arrow::schema(
      {arrow::field("account", arrow::int64()), arrow::field("ts", arrow::int64())});
  for (int64_t idle_ms : {300, 0}) {
    StreamEnvironment env;
    KafkaSourceConfig source = Source(topic, schema);
    source.bounded = false;
    source.watermark_column = "ts";
    source.idle_timeout_ms = idle_ms;
    auto collected = env.FromKafka(source)
                         .KeyBy({"account"})
                         .Window(Tumbling(std::chrono::milliseconds(1000)))
                         .Aggregate({Count()})
                         .Collect();
    auto job = env.ExecuteAsync();
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    // Event time reaches 4900 in both partitions: windows [0, 1000) ... [3000, 4000)
    // of both accounts can fire (the watermark is 4899).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (std::chrono::steady_clock::now() < deadline &&
           (idle_ms == 0 || collected->num_rows() < 8)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (*job)->Cancel();
    (void)(*job)->Wait();
    if (idle_ms > 0) {
      auto table = Rows(collected);
      ASSERT_EQ(table->num_rows(), 8) << table->ToString();
      auto counts = table->GetColumnByName("count");
      for (int64_t r = 0; r < table->num_rows(); ++r) {
        EXPECT_EQ(
            std::static_pointer_cast<arrow::Int64Scalar>(*counts->GetScalar(r))->value,
            10);
      }
    } else {
      EXPECT_EQ(collected->num_rows(), 0);
    }
  }
}

TEST(KafkaOptionsTest, RecordTimeWatermarksAddTheTimestampColumn) {
  KafkaSourceConfig config;
  config.bootstrap_servers = "127.0.0.1:9";
  config.topics = {"t"};
  config.schema = EventSchema();
  config.watermark_column = "_timestamp";
  auto options = KafkaSourceOptions::Make(config);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ((*options)->schema()->GetFieldIndex("_timestamp"), 3);
  StreamEnvironment env;
  EXPECT_EQ(env.FromKafka(config).time_column(), "_timestamp");

  config.watermark_column = "name";
  EXPECT_TRUE(KafkaSourceOptions::Make(config).status().IsInvalid());
}

class NullCollector : public Collector {
 public:
  Status Collect(std::shared_ptr<arrow::RecordBatch>) override {
    return Status::Invalid("a sink has no output");
  }
  Status EmitWatermark(int64_t) override { return Status::OK(); }
};

// A failure between a completed checkpoint and the commit of its transaction: the
// restored sink commits the pre-committed transaction (once, however often it is
// restored) and aborts the one the failed run had opened after the checkpoint.
TEST_F(KafkaTest, ExactlyOnceSinkRecoversTheCommitPhase) {
  const std::string topic = NewTopic("eos-recovery", 2);
  auto schema = arrow::schema(
      {arrow::field("key", arrow::utf8()), arrow::field("value", arrow::int64())});
  KafkaSinkConfig config;
  config.bootstrap_servers = bootstrap_;
  config.topic = topic;
  config.key_columns = {"key"};
  config.guarantee = KafkaDeliveryGuarantee::kExactlyOnce;
  config.transactional_id_prefix = UniqueTopic("eos-recovery-txn");
  auto options = KafkaSinkOptions::Make(config, schema);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  NullCollector collector;
  OperatorContext context;
  context.node_name = "kafka_sink#1";
  context.input_schemas = {schema};
  context.output = &collector;
  const auto batch = [&](int first) {
    return testing::BatchFromJson(
        schema, std::string("[{\"key\": \"a\", \"value\": ") + std::to_string(first) +
                    std::string("}, {\"key\": \"b\", \"value\": ") +
                    std::to_string(first + 1) + "}]");
  };
  const auto committed = [&]() {
    auto lines = KcatConsume(bootstrap_, topic, "%s");
    EXPECT_TRUE(lines.ok()) << lines.status().ToString();
    std::multiset<std::string> values;
    for (const std::string& line : *lines) values.insert(line);
    return values;
  };

  std::string state;
  {
    auto sink = MakeKafkaSinkOperator(**options);
    ASSERT_TRUE(sink->Open(context).ok());
    ASSERT_TRUE(sink->ProcessBatch(0, batch(0)).ok());
    auto snapshot = sink->SnapshotState(1);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    state = *snapshot;
    // After the barrier: rows of the next checkpoint, in a transaction left open.
    ASSERT_TRUE(sink->ProcessBatch(0, batch(10)).ok());
    // The process dies here: checkpoint 1 completed, its commit never happened.
    ASSERT_TRUE(sink->Close().ok());
  }
  EXPECT_TRUE(committed().empty());
  for (int restore = 0; restore < 2; ++restore) {
    auto sink = MakeKafkaSinkOperator(**options);
    ASSERT_TRUE(sink->Open(context).ok());
    Status restored = sink->RestoreState(state);
    ASSERT_TRUE(restored.ok()) << restored.ToString();
    ASSERT_TRUE(sink->Close().ok());
    EXPECT_EQ(committed(), (std::multiset<std::string>{"{\"key\":\"a\",\"value\":0}",
                                                       "{\"key\":\"b\",\"value\":1}"}));
  }
  // The restored job goes on; its own output commits with its next checkpoint.
  auto sink = MakeKafkaSinkOperator(**options);
  ASSERT_TRUE(sink->Open(context).ok());
  ASSERT_TRUE(sink->RestoreState(state).ok());
  ASSERT_TRUE(sink->ProcessBatch(0, batch(20)).ok());
  ASSERT_TRUE(sink->SnapshotState(2).ok());
  EXPECT_EQ(committed().size(), 2u);
  ASSERT_TRUE(sink->NotifyCheckpointComplete(2).ok());
  ASSERT_TRUE(sink->Close().ok());
  EXPECT_EQ(committed(),
            (std::multiset<std::string>{
                "{\"key\":\"a\",\"value\":0}", "{\"key\":\"b\",\"value\":1}",
                "{\"key\":\"a\",\"value\":20}", "{\"key\":\"b\",\"value\":21}"}));
}

}  // namespace
}  // namespace sabot
