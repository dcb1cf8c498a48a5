// The Kafka source against a real broker: a broker restart under a running job, start
// offsets, partition and topic discovery, positions across a job restart, and Avro
// through the Schema Registry. kcat and plain librdkafka clients (kafka_testing.h) are
// the independent producers and consumers.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <arrow/api.h>

#include "kafka_testing.h"
#include "sabot/api/stream_environment.h"
#include "sabot/connectors/codec/fake_schema_registry.h"
#include "sabot/connectors/kafka/kafka_options.h"
#include "sabot/runtime/job.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

using testing::CreateTopic;
using testing::KafkaBootstrap;
using testing::KcatConsume;
using testing::KcatProduce;
using testing::UniqueTopic;

using Clock = std::chrono::steady_clock;

std::shared_ptr<arrow::Schema> IdSchema() {
  return arrow::schema({arrow::field("id", arrow::int64())});
}

std::string IdJson(int64_t id) {
  return std::string("{\"id\": ") + std::to_string(id) + "}";
}

/// JSON values {"id": first} ... {"id": first + count - 1}.
std::vector<std::string> IdLines(int64_t first, int64_t count) {
  std::vector<std::string> lines;
  for (int64_t id = first; id < first + count; ++id) lines.push_back(IdJson(id));
  return lines;
}

std::multiset<int64_t> IdRange(int64_t first, int64_t count) {
  std::multiset<int64_t> ids;
  for (int64_t id = first; id < first + count; ++id) ids.insert(id);
  return ids;
}

/// The "id" of each JSON line (the sink writes {"id":N}); -1 for a line without one.
std::multiset<int64_t> IdsOfLines(const std::vector<std::string>& lines) {
  std::multiset<int64_t> ids;
  for (const std::string& line : lines) {
    const size_t at = line.find("\"id\":");
    ids.insert(
        at == std::string::npos ? -1 : std::strtoll(line.c_str() + at + 5, nullptr, 10));
  }
  return ids;
}

/// The ids a Collect() sink holds so far (safe while the job runs).
std::multiset<int64_t> CollectedIds(const CollectedBatches& collected) {
  std::multiset<int64_t> ids;
  for (const auto& batch : collected.batches()) {
    const auto& column =
        static_cast<const arrow::Int64Array&>(*batch->GetColumnByName("id"));
    for (int64_t i = 0; i < column.length(); ++i) ids.insert(column.Value(i));
  }
  return ids;
}

bool ContainsAll(const std::multiset<int64_t>& actual,
                 const std::multiset<int64_t>& expected) {
  for (int64_t id : expected) {
    if (actual.count(id) == 0) return false;
  }
  return true;
}

/// Waits for a job on a thread of its own, so that a test polling for the job's output
/// sees at once that the job ended (failed) instead of waiting out its deadline. The
/// destructor cancels the job and waits, also after a failed assertion.
class JobWatch {
 public:
  explicit JobWatch(std::shared_ptr<Job> job)
      : job_(job),
        ended_(std::async(std::launch::async, [job] { return job->Wait(); }).share()) {}
  ~JobWatch() {
    job_->Cancel();
    ended_.wait();
  }
  JobWatch(const JobWatch&) = delete;
  JobWatch& operator=(const JobWatch&) = delete;

  Job& job() { return *job_; }
  bool ended() const {
    return ended_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
  /// Cancels the job and returns what Wait() returned: Cancelled if it was still
  /// running, its first error if it had failed.
  Status CancelAndWait() {
    job_->Cancel();
    return ended_.get();
  }

 private:
  std::shared_ptr<Job> job_;
  std::shared_future<Status> ended_;
};

/// Calls `condition` every 100 ms until it returns true or `timeout` passes; returns
/// its last answer.
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

/// The ids in `topic` (read_committed), polled until it holds every id of `expected`,
/// `timeout` passes or the job `watch` watches (if any) ends.
std::multiset<int64_t> WaitForIds(const std::string& bootstrap, const std::string& topic,
                                  const std::multiset<int64_t>& expected,
                                  std::chrono::milliseconds timeout,
                                  const JobWatch* watch = nullptr) {
  std::multiset<int64_t> ids;
  WaitUntil(
      [&] {
        auto lines = KcatConsume(bootstrap, topic, "%s");
        if (lines.ok()) ids = IdsOfLines(*lines);
        return ContainsAll(ids, expected) || (watch != nullptr && watch->ended());
      },
      timeout);
  return ids;
}

KafkaSourceConfig IdSource(const std::string& bootstrap, const std::string& topic) {
  KafkaSourceConfig config;
  config.bootstrap_servers = bootstrap;
  config.topics = {topic};
  config.schema = IdSchema();
  config.max_batch_delay_ms = 20;
  return config;
}

KafkaSinkConfig IdSink(const std::string& bootstrap, const std::string& topic) {
  KafkaSinkConfig config;
  config.bootstrap_servers = bootstrap;
  config.topic = topic;
  return config;
}

class KafkaSourceTest : public testing::KafkaBrokerTest {
 protected:
  /// Runs a bounded job reading `config` to the end and returns the ids it read.
  std::multiset<int64_t> ReadBounded(KafkaSourceConfig config) {
    config.bounded = true;
    StreamEnvironment env;
    auto collected = env.FromKafka(config).Collect();
    auto result = env.Execute();
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return CollectedIds(*collected);
  }
};

// A broker of the test's own goes down for a few seconds (controlled shutdown) and
// comes back on the same ports while an unbounded at-least-once job with checkpoints
// runs: the job neither fails nor loses a record, and checkpoints complete again.
// Discovery runs every 500 ms, so some rounds fall into the outage: they must not fail
// the job.
TEST(KafkaSourceBrokerRestartTest, JobSurvivesABrokerRestart) {
  // Like the tests on the shared broker: no Kafka set up, no Kafka tests.
  if (KafkaBootstrap().empty()) GTEST_SKIP() << "SABOT_KAFKA_BOOTSTRAP_FILE is not set";
  auto started = testing::PrivateBroker::Start();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  testing::PrivateBroker& broker = **started;
  const std::string bootstrap = broker.bootstrap();
  const std::string in = UniqueTopic("restart-in");
  const std::string out = UniqueTopic("restart-out");
  ASSERT_TRUE(CreateTopic(bootstrap, in, 2).ok());
  ASSERT_TRUE(CreateTopic(bootstrap, out, 2).ok());

  testing::TempDirectory checkpoints;
  StreamEnvironment env;
  env.EnableCheckpointing({.directory = checkpoints.path(), .interval_ms = 200});
  KafkaSourceConfig source = IdSource(bootstrap, in);
  // Discovery re-reads metadata while the broker is down, too.
  source.partition_discovery_interval_ms = 500;
  env.FromKafka(source).Filter(col("id") >= lit(0)).WriteKafka(IdSink(bootstrap, out));
  auto job = env.ExecuteAsync();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  // Declared after the broker: cancelled and joined before the broker is killed.
  JobWatch watch(*job);

  ASSERT_TRUE(KcatProduce(bootstrap, in, IdLines(0, 500), false).ok());
  std::multiset<int64_t> ids =
      WaitForIds(bootstrap, out, IdRange(0, 500), std::chrono::seconds(20), &watch);
  ASSERT_TRUE(ContainsAll(ids, IdRange(0, 500)))
      << "batch 1: " << ids.size()
      << " rows; job: " << (watch.ended() ? watch.CancelAndWait().ToString() : "running");

  ASSERT_TRUE(broker.Stop().ok());
  const int64_t checkpoints_before_restart = watch.job().checkpoints()->num_completed();
  // The outage: long enough for librdkafka to see every connection fail, and for
  // discovery and checkpoints to run into it.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  Status restarted = broker.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  ASSERT_EQ(broker.bootstrap(), bootstrap);

  ASSERT_TRUE(KcatProduce(bootstrap, in, IdLines(500, 500), false).ok());
  ids = WaitForIds(bootstrap, out, IdRange(0, 1000), std::chrono::seconds(60), &watch);
  // The job still runs: had a task failed, Wait() would return its error.
  ASSERT_FALSE(watch.ended()) << watch.CancelAndWait().ToString();
  std::vector<int64_t> missing;
  for (int64_t id = 0; id < 1000; ++id) {
    if (ids.count(id) == 0) missing.push_back(id);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " ids missing, the first "
                               << missing.front();
  // Checkpoints (whose barriers flush the sink) complete again after the outage.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return watch.job().checkpoints()->num_completed() >
               checkpoints_before_restart + 2;
      },
      std::chrono::seconds(20)))
      << "completed before the restart " << checkpoints_before_restart << ", now "
      << watch.job().checkpoints()->num_completed();

  Status status = watch.CancelAndWait();
  EXPECT_TRUE(status.IsCancelled()) << status.ToString();
  // The broker's destructor kills it.
}

// kLatest: records produced before the job starts are never read, later ones are. The
// job resolves "latest" when it first assigns its partitions, at a moment the test
// cannot see, so it produces probes until one arrives and only then the real records.
TEST_F(KafkaSourceTest, LatestSkipsRecordsProducedBeforeTheStart) {
  const std::string topic = NewTopic("latest", 2);
  ASSERT_TRUE(KcatProduce(bootstrap_, topic, IdLines(0, 100), false).ok());

  StreamEnvironment env;
  KafkaSourceConfig source = IdSource(bootstrap_, topic);
  source.start = KafkaStartOffset::kLatest;
  auto collected = env.FromKafka(source).Collect();
  auto job = env.ExecuteAsync();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  JobWatch watch(*job);

  int64_t probe = 1000;
  ASSERT_TRUE(WaitUntil(
      [&] {
        EXPECT_TRUE(KcatProduce(bootstrap_, topic, {IdJson(probe++)}, false).ok());
        return collected->num_rows() > 0 || watch.ended();
      },
      std::chrono::seconds(20)));
  ASSERT_TRUE(KcatProduce(bootstrap_, topic, IdLines(2000, 100), false).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return ContainsAll(CollectedIds(*collected), IdRange(2000, 100)) || watch.ended();
      },
      std::chrono::seconds(20)));
  Status status = watch.CancelAndWait();
  EXPECT_TRUE(status.IsCancelled()) << status.ToString();

  for (int64_t id : CollectedIds(*collected)) {
    EXPECT_TRUE((id >= 1000 && id < probe) || (id >= 2000 && id < 2100))
        << "read id " << id << ", produced before the job started";
  }
}

// kTimestamp: in each partition the job starts at the first record whose timestamp is
// at least start_timestamp_ms (that record included); a partition whose records are
// all older is read from its end.
TEST_F(KafkaSourceTest, TimestampStartReadsRecordsAtOrAfterTheTimestamp) {
  const std::string topic = NewTopic("timestamp", 3);
  const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() -
                       600'000;
  std::vector<testing::TimestampedRecord> records;
  std::map<int64_t, int64_t> timestamps;  // id -> record timestamp
  for (int64_t id = 0; id < 60; ++id) {
    records.push_back({static_cast<int32_t>(id % 2), base + id * 1000, IdJson(id)});
    timestamps[id] = base + id * 1000;
  }
  for (int64_t id = 100; id < 110; ++id) {
    records.push_back({2, base + (id - 100) * 1000, IdJson(id)});
    timestamps[id] = base + (id - 100) * 1000;
  }
  Status produced = testing::ProduceWithTimestamps(bootstrap_, topic, records);
  ASSERT_TRUE(produced.ok()) << produced.ToString();

  KafkaSourceConfig source = IdSource(bootstrap_, topic);
  source.start = KafkaStartOffset::kTimestamp;
  source.start_timestamp_ms = base + 30 * 1000;
  source.metadata.timestamp = true;
  source.bounded = true;
  StreamEnvironment env;
  auto collected = env.FromKafka(source).Collect();
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();

  EXPECT_EQ(CollectedIds(*collected), IdRange(30, 30));
  // The record timestamps come through as written.
  for (const auto& batch : collected->batches()) {
    const auto& ids =
        static_cast<const arrow::Int64Array&>(*batch->GetColumnByName("id"));
    const auto& times =
        static_cast<const arrow::TimestampArray&>(*batch->GetColumnByName("_timestamp"));
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      EXPECT_EQ(times.Value(i), timestamps[ids.Value(i)]) << "id " << ids.Value(i);
    }
  }
}

// kGroupOffsets: each partition starts at the group's committed offset; one without a
// commit starts at the earliest offset; one committed at its end yields nothing.
TEST_F(KafkaSourceTest, GroupOffsetsStartAtTheCommittedOffsets) {
  const std::string topic = NewTopic("group", 4);
  for (int partition = 0; partition < 4; ++partition) {
    ASSERT_TRUE(
        KcatProduce(bootstrap_, topic, IdLines(partition * 100, 10), false, partition)
            .ok());
  }
  const std::string group = UniqueTopic("group-offsets");
  Status committed =
      testing::CommitGroupOffsets(bootstrap_, group, topic, {{0, 4}, {1, 7}, {3, 10}});
  ASSERT_TRUE(committed.ok()) << committed.ToString();

  KafkaSourceConfig source = IdSource(bootstrap_, topic);
  source.start = KafkaStartOffset::kGroupOffsets;
  source.group_id = group;
  std::multiset<int64_t> expected = IdRange(4, 6);
  expected.merge(IdRange(107, 3));
  expected.merge(IdRange(200, 10));
  EXPECT_EQ(ReadBounded(source), expected);
}

// A job with a group id commits the positions of completed checkpoints to the group, so
// a later job started from the group's offsets reads only what came after.
TEST_F(KafkaSourceTest, CompletedCheckpointsCommitPositionsToTheGroup) {
  const std::string topic = NewTopic("group-commit", 2);
  ASSERT_TRUE(KcatProduce(bootstrap_, topic, IdLines(0, 200), false).ok());
  const std::string group = UniqueTopic("group-commit");

  testing::TempDirectory checkpoints;
  StreamEnvironment env;
  env.EnableCheckpointing({.directory = checkpoints.path(), .interval_ms = 100});
  KafkaSourceConfig source = IdSource(bootstrap_, topic);
  source.group_id = group;
  auto collected = env.FromKafka(source).Collect();
  auto job = env.ExecuteAsync();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  JobWatch watch(*job);
  ASSERT_TRUE(WaitUntil([&] { return collected->num_rows() >= 200 || watch.ended(); },
                        std::chrono::seconds(20)));
  // Checkpoints after the last row carry its position; the commits are asynchronous,
  // so wait for a few.
  const int64_t done = watch.job().checkpoints()->num_completed();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return watch.job().checkpoints()->num_completed() >= done + 3 || watch.ended();
      },
      std::chrono::seconds(20)));
  Status status = watch.CancelAndWait();
  EXPECT_TRUE(status.IsCancelled()) << status.ToString();
  EXPECT_EQ(CollectedIds(*collected), IdRange(0, 200));

  ASSERT_TRUE(KcatProduce(bootstrap_, topic, IdLines(200, 50), false).ok());
  KafkaSourceConfig from_group = IdSource(bootstrap_, topic);
  from_group.start = KafkaStartOffset::kGroupOffsets;
  from_group.group_id = group;
  EXPECT_EQ(ReadBounded(from_group), IdRange(200, 50));
}

// topic_pattern with discovery every 500 ms: a matching topic created while the job
// runs, and partitions added to a matching topic, are read from their earliest offset;
// topics that do not match the whole pattern are never read.
TEST_F(KafkaSourceTest, DiscoveryFindsNewTopicsAndPartitionsOfThePattern) {
  const std::string prefix = UniqueTopic("disc");
  const std::string first = prefix + "-a";
  ASSERT_TRUE(CreateTopic(bootstrap_, first, 1).ok());
  // Near misses: the prefix without the dash, and the pattern not at the start.
  const std::string no_dash = prefix + "_b";
  const std::string inner = "x" + prefix + "-c";
  ASSERT_TRUE(CreateTopic(bootstrap_, no_dash, 1).ok());
  ASSERT_TRUE(CreateTopic(bootstrap_, inner, 1).ok());
  ASSERT_TRUE(KcatProduce(bootstrap_, first, IdLines(0, 10), false).ok());
  ASSERT_TRUE(KcatProduce(bootstrap_, no_dash, IdLines(900, 10), false).ok());
  ASSERT_TRUE(KcatProduce(bootstrap_, inner, IdLines(950, 10), false).ok());

  StreamEnvironment env;
  env.SetParallelism(2);
  KafkaSourceConfig source;
  source.bootstrap_servers = bootstrap_;
  source.topic_pattern = "^" + prefix + "-.*";
  source.schema = IdSchema();
  source.partition_discovery_interval_ms = 500;
  source.max_batch_delay_ms = 20;
  auto collected = env.FromKafka(source).Collect();
  auto job = env.ExecuteAsync();
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  JobWatch watch(*job);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return ContainsAll(CollectedIds(*collected), IdRange(0, 10)) || watch.ended();
      },
      std::chrono::seconds(20)));

  // A new matching topic: its records produced before discovery finds it count too.
  const std::string second = prefix + "-d";
  ASSERT_TRUE(CreateTopic(bootstrap_, second, 2).ok());
  ASSERT_TRUE(KcatProduce(bootstrap_, second, IdLines(100, 10), false, 0).ok());
  ASSERT_TRUE(KcatProduce(bootstrap_, second, IdLines(110, 10), false, 1).ok());
  // Two more partitions of the first topic.
  Status added = testing::CreatePartitions(bootstrap_, first, 3);
  ASSERT_TRUE(added.ok()) << added.ToString();
  ASSERT_TRUE(KcatProduce(bootstrap_, first, IdLines(200, 10), false, 1).ok());
  ASSERT_TRUE(KcatProduce(bootstrap_, first, IdLines(210, 10), false, 2).ok());
  ASSERT_TRUE(KcatProduce(bootstrap_, no_dash, IdLines(910, 10), false).ok());

  std::multiset<int64_t> expected = IdRange(0, 10);
  expected.merge(IdRange(100, 20));
  expected.merge(IdRange(200, 20));
  EXPECT_TRUE(
      WaitUntil([&] { return CollectedIds(*collected) == expected || watch.ended(); },
                std::chrono::seconds(20)));
  Status status = watch.CancelAndWait();
  EXPECT_TRUE(status.IsCancelled()) << status.ToString();
  EXPECT_EQ(CollectedIds(*collected), expected);
}

// An exactly-once Kafka -> Sabot -> Kafka job is cancelled after some checkpoints;
// more input arrives; the same job (same checkpoint directory and transactional ids)
// restarts bounded from its newest checkpoint. A read_committed consumer then sees
// every input id exactly once.
TEST_F(KafkaSourceTest, PositionsSurviveARestartExactlyOnce) {
  const std::string in = NewTopic("positions-in", 2);
  const std::string out = NewTopic("positions-out", 2);
  const std::string prefix = UniqueTopic("positions-txn");
  testing::TempDirectory checkpoints;
  const auto make_env = [&](StreamEnvironment& env, bool bounded) {
    env.SetParallelism(2);
    env.EnableCheckpointing(
        {.directory = checkpoints.path(), .interval_ms = 200, .restore = true});
    KafkaSourceConfig source = IdSource(bootstrap_, in);
    source.bounded = bounded;
    source.batch_size = 50;
    KafkaSinkConfig sink = IdSink(bootstrap_, out);
    sink.guarantee = KafkaDeliveryGuarantee::kExactlyOnce;
    sink.transactional_id_prefix = prefix;
    sink.transaction_timeout_ms = 60'000;
    env.FromKafka(source).Filter(col("id") >= lit(0)).WriteKafka(sink);
  };

  ASSERT_TRUE(KcatProduce(bootstrap_, in, IdLines(0, 1000), false).ok());
  {
    StreamEnvironment env;
    make_env(env, /*bounded=*/false);
    auto job = env.ExecuteAsync();
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    JobWatch watch(*job);
    // Committed output appears only as checkpoints complete.
    const std::multiset<int64_t> first =
        WaitForIds(bootstrap_, out, IdRange(0, 1000), std::chrono::seconds(20), &watch);
    ASSERT_EQ(first, IdRange(0, 1000));
    ASSERT_GE(watch.job().checkpoints()->num_completed(), 1);
    // More input, then the cancellation while the job is reading it: some of it is in
    // an open transaction or not read yet.
    ASSERT_TRUE(KcatProduce(bootstrap_, in, IdLines(1000, 1000), false).ok());
    Status status = watch.CancelAndWait();
    EXPECT_TRUE(status.IsCancelled()) << status.ToString();
  }
  ASSERT_TRUE(KcatProduce(bootstrap_, in, IdLines(2000, 1000), false).ok());
  {
    StreamEnvironment env;
    make_env(env, /*bounded=*/true);
    auto job = env.ExecuteAsync();
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    Status status = (*job)->Wait();
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_GT((*job)->restored_checkpoint(), 0);
  }
  auto lines = KcatConsume(bootstrap_, out, "%s");
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  const std::multiset<int64_t> ids = IdsOfLines(*lines);
  std::vector<int64_t> duplicated, missing;
  for (int64_t id = 0; id < 3000; ++id) {
    if (ids.count(id) > 1) duplicated.push_back(id);
    if (ids.count(id) == 0) missing.push_back(id);
  }
  EXPECT_EQ(ids.size(), 3000u);
  EXPECT_TRUE(duplicated.empty())
      << duplicated.size() << " duplicated, the first " << duplicated.front();
  EXPECT_TRUE(missing.empty()) << missing.size() << " missing, the first "
                               << missing.front();
}

// Avro end to end: the sink registers the writer schema under "<topic>-value" and writes
// Confluent-framed records; the source looks the schema up by id and decodes them.
TEST_F(KafkaSourceTest, AvroRoundTripThroughTheSchemaRegistry) {
  const std::string topic = NewTopic("avro", 2);
  testing::FakeSchemaRegistry registry;
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("name", arrow::utf8()),
                               arrow::field("score", arrow::float64())});
  std::string json = "[";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) json += ", ";
    json += std::string("{\"id\": ") + std::to_string(i) + std::string(", \"name\": ") +
            (i % 7 == 0 ? std::string("null")
                        : std::string("\"n") + std::to_string(i) + "\"") +
            std::string(", \"score\": ") + std::to_string(i) + ".25}";
  }
  json += "]";
  auto batch = testing::BatchFromJson(schema, json);
  {
    StreamEnvironment env;
    KafkaSinkConfig sink = IdSink(bootstrap_, topic);
    sink.codec.kind = CodecKind::kAvro;
    sink.codec.schema_registry_url = registry.url();
    env.FromBatches(schema, {batch}).WriteKafka(sink);
    auto result = env.Execute();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  }
  KafkaSourceConfig source = IdSource(bootstrap_, topic);
  source.schema = schema;
  source.codec.kind = CodecKind::kAvro;
  source.codec.schema_registry_url = registry.url();
  source.bounded = true;
  StreamEnvironment env;
  auto collected = env.FromKafka(source).Collect();
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto table = collected->ToTable();
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto expected = arrow::Table::FromRecordBatches({batch});
  ASSERT_TRUE(expected.ok());
  Status same = testing::CheckSameRows(*expected, *table);
  EXPECT_TRUE(same.ok()) << same.ToString();

  bool registered = false;
  for (const auto& request : registry.requests()) {
    registered |= request.method == "POST" &&
                  request.path == std::string("/subjects/") + topic + "-value/versions";
  }
  EXPECT_TRUE(registered);
}

}  // namespace
}  // namespace sabot
