#include "sabot/operators/process/keyed_process.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "sabot/api/stream_environment.h"
#include "sabot/state/state_factory.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::Schema> Events() {
  return arrow::schema(
      {arrow::field("user", arrow::utf8()), arrow::field("_time", arrow::int64())});
}

std::shared_ptr<arrow::Schema> Alerts() {
  return arrow::schema({arrow::field("user", arrow::utf8()),
                        arrow::field("last_seen", arrow::int64()),
                        arrow::field("fired_at", arrow::int64())});
}

// Emits (user, last event time, timer time) when a user has been inactive for 100 ms
// of event time: each event moves the user's timer, the old one is deleted.
class InactivityAlert : public KeyedProcessFunction {
 public:
  Status Open(KeyedProcessContext& context) override {
    ARROW_ASSIGN_OR_RAISE(
        last_seen_, MakeValueState<int64_t>(context.state_backend(), {"last_seen"}));
    return Status::OK();
  }

  Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch,
                      const uint32_t* key_ids, KeyedProcessContext& context) override {
    const int64_t* times = batch->column_data(1)->GetValues<int64_t>(1);
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      const uint32_t key = key_ids[i];
      ARROW_ASSIGN_OR_RAISE(auto seen, last_seen_->Get(context.state_key(key)));
      const int64_t previous = seen.value_or(INT64_MIN);
      if (times[i] <= previous) continue;
      if (previous != INT64_MIN) context.DeleteEventTimeTimer(key, previous + 100);
      ARROW_RETURN_NOT_OK(last_seen_->Update(context.state_key(key), times[i]));
      context.RegisterEventTimeTimer(key, times[i] + 100);
    }
    return Status::OK();
  }

  Status OnTimer(TimeDomain domain, const Timer& timer,
                 KeyedProcessContext& context) override {
    EXPECT_EQ(domain, TimeDomain::kEventTime);
    EXPECT_GE(context.watermark(), timer.timestamp);
    ARROW_ASSIGN_OR_RAISE(auto keys, context.Keys({timer.key}));
    arrow::Int64Builder last, fired;
    ARROW_ASSIGN_OR_RAISE(auto seen, last_seen_->Get(context.state_key(timer.key)));
    ARROW_RETURN_NOT_OK(last.Append(seen.value_or(0)));
    ARROW_RETURN_NOT_OK(fired.Append(timer.timestamp));
    ARROW_ASSIGN_OR_RAISE(auto last_array, last.Finish());
    ARROW_ASSIGN_OR_RAISE(auto fired_array, fired.Finish());
    return context.Emit(
        arrow::RecordBatch::Make(Alerts(), 1, {keys[0], last_array, fired_array}));
  }

 private:
  std::unique_ptr<ValueState<int64_t>> last_seen_;
};

TEST(KeyedProcessTest, EventTimeTimersPerKeyFireInOrderAndCanBeDeleted) {
  for (int parallelism : {1, 3}) {
    StreamEnvironment env;
    env.SetParallelism(parallelism);
    auto input = testing::BatchFromJson(Events(), R"([
      ["a", 0], ["b", 10], ["a", 50], ["c", 60], ["a", 120], ["b", 300], ["c", 90]
    ])");
    auto collected = env.FromBatches(Events(), {input})
                         .AssignTimestampsAndWatermarks(
                             WatermarkStrategy::BoundedOutOfOrderness("_time", 50))
                         .KeyBy({"user"})
                         .Process(
                             "inactivity",
                             [] { return std::make_unique<InactivityAlert>(); }, Alerts())
                         .Collect();
    auto result = env.Execute();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    auto table = collected->ToTable().ValueOrDie()->CombineChunks().ValueOrDie();
    // Independent expectation: per user, the timer of the last event survives; a's
    // timers at 100 and 150 were deleted when later events arrived.
    std::map<std::string, std::pair<int64_t, int64_t>> expected = {
        {"a", {120, 220}}, {"b", {300, 400}}, {"c", {90, 190}}};
    ASSERT_EQ(table->num_rows(), 3) << table->ToString();
    for (int64_t i = 0; i < table->num_rows(); ++i) {
      const std::string user = table->column(0)->GetScalar(i).ValueOrDie()->ToString();
      const auto last = std::static_pointer_cast<arrow::Int64Scalar>(
                            table->column(1)->GetScalar(i).ValueOrDie())
                            ->value;
      const auto fired = std::static_pointer_cast<arrow::Int64Scalar>(
                             table->column(2)->GetScalar(i).ValueOrDie())
                             ->value;
      EXPECT_EQ(expected[user], std::make_pair(last, fired)) << user;
    }
  }
}

// Counts rows per key and emits the counts from a processing-time timer 20 ms after a
// key's first row.
class DelayedCount : public KeyedProcessFunction {
 public:
  Status Open(KeyedProcessContext& context) override {
    ARROW_ASSIGN_OR_RAISE(counts_,
                          MakeValueState<int64_t>(context.state_backend(), {"counts"}));
    return Status::OK();
  }

  Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch,
                      const uint32_t* key_ids, KeyedProcessContext& context) override {
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      const StateKey key = context.state_key(key_ids[i]);
      ARROW_ASSIGN_OR_RAISE(auto count, counts_->Get(key));
      if (!count) {
        context.RegisterProcessingTimeTimer(key_ids[i], context.processing_time() + 20);
      }
      ARROW_RETURN_NOT_OK(counts_->Update(key, count.value_or(0) + 1));
    }
    return Status::OK();
  }

  Status OnTimer(TimeDomain domain, const Timer& timer,
                 KeyedProcessContext& context) override {
    EXPECT_EQ(domain, TimeDomain::kProcessingTime);
    EXPECT_GE(context.processing_time(), timer.timestamp);
    ++fired_;
    return Status::OK();
  }

  Status Finish(KeyedProcessContext& context) override {
    EXPECT_EQ(fired_, static_cast<int>(context.num_keys()));
    return Status::OK();
  }

 private:
  std::unique_ptr<ValueState<int64_t>> counts_;
  int fired_ = 0;
};

TEST(KeyedProcessTest, ProcessingTimeTimersFireWhileTheTaskWaits) {
  StreamEnvironment env;
  GeneratorConfig config = TransactionsGenerator(2000);
  config.rows_per_second = 20'000;  // 100 ms: the timers come due before the end
  config.batch_size = 100;
  env.FromGenerator(config)
      .KeyBy({"city"})
      .Process(
          "delayed", [] { return std::make_unique<DelayedCount>(); }, Alerts())
      .Blackhole();
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
}

// Timers that change the timers while they fire. Key k gets a timer at (k % 100) * 10
// (namespace 0) and one at 5000 + k (namespace 2). When a namespace-0 timer of key k
// fires, it registers (ts + 5, k, 1), earlier than other due timers; keys k % 3 == 0
// delete the namespace-0 timer of key k + 1 (due 10 later), and keys k % 6 == 0
// register it again; even keys delete their namespace-2 timer.
using FiredTimer = std::tuple<int64_t, int64_t, int64_t>;  // timestamp, key, namespace

class Cascade : public KeyedProcessFunction {
 public:
  explicit Cascade(std::shared_ptr<std::vector<FiredTimer>> fired)
      : fired_(std::move(fired)) {}

  Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch,
                      const uint32_t* key_ids, KeyedProcessContext& context) override {
    const int64_t* keys = batch->column_data(0)->GetValues<int64_t>(1);
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      id_of_key_[keys[i]] = key_ids[i];
      key_of_id_[key_ids[i]] = keys[i];
      context.RegisterEventTimeTimer(key_ids[i], (keys[i] % 100) * 10);
      context.RegisterEventTimeTimer(key_ids[i], 5000 + keys[i], 2);
    }
    return Status::OK();
  }

  Status OnTimer(TimeDomain, const Timer& timer, KeyedProcessContext& context) override {
    const int64_t key = key_of_id_.at(timer.key);
    fired_->emplace_back(timer.timestamp, key, timer.name_space);
    if (timer.name_space != 0) return Status::OK();
    context.RegisterEventTimeTimer(timer.key, timer.timestamp + 5, 1);
    auto next = id_of_key_.find(key + 1);
    if (key % 3 == 0 && next != id_of_key_.end()) {
      context.DeleteEventTimeTimer(next->second, timer.timestamp + 10);
      if (key % 6 == 0)
        context.RegisterEventTimeTimer(next->second, timer.timestamp + 10);
    }
    if (key % 2 == 0) context.DeleteEventTimeTimer(timer.key, 5000 + key, 2);
    return Status::OK();
  }

 private:
  std::shared_ptr<std::vector<FiredTimer>> fired_;
  std::map<int64_t, uint32_t> id_of_key_;
  std::map<uint32_t, int64_t> key_of_id_;
};

// The same rules, one timer at a time from an ordered set.
std::multiset<FiredTimer> CascadeModel(int64_t keys) {
  std::set<FiredTimer> timers;
  for (int64_t key = 0; key < keys; ++key) {
    timers.emplace((key % 100) * 10, key, 0);
    timers.emplace(5000 + key, key, 2);
  }
  std::multiset<FiredTimer> fired;
  while (!timers.empty()) {
    const auto [timestamp, key, name_space] = *timers.begin();
    timers.erase(timers.begin());
    fired.emplace(timestamp, key, name_space);
    if (name_space != 0) continue;
    timers.emplace(timestamp + 5, key, 1);
    if (key % 3 == 0 && key + 1 < keys) {
      timers.erase({timestamp + 10, key + 1, 0});
      if (key % 6 == 0) timers.emplace(timestamp + 10, key + 1, 0);
    }
    if (key % 2 == 0) timers.erase({5000 + key, key, 2});
  }
  return fired;
}

class KeyedProcessBackendTest : public ::testing::TestWithParam<StateBackendKind> {};

TEST_P(KeyedProcessBackendTest, TimersChangedWhileFiringFireLikeOneAtATime) {
  constexpr int64_t kKeys = 3000;  // several chunks of due timers
  auto schema = arrow::schema(
      {arrow::field("key", arrow::int64()), arrow::field("_time", arrow::int64())});
  arrow::Int64Builder keys, times;
  for (int64_t key = 0; key < kKeys; ++key) {
    ASSERT_TRUE(keys.Append(key).ok());
    ASSERT_TRUE(times.Append(key).ok());
  }
  auto batch = arrow::RecordBatch::Make(
      schema, kKeys, {keys.Finish().ValueOrDie(), times.Finish().ValueOrDie()});
  testing::TempDirectory directory;
  StreamEnvironment env;
  StateBackendConfig backend;
  backend.kind = GetParam();
  backend.directory = directory.Child("state");
  env.SetStateBackend(backend);
  auto fired = std::make_shared<std::vector<FiredTimer>>();
  // No timer is due before the input ends: then the final watermark fires them all.
  env.FromBatches(schema, {batch})
      .AssignTimestampsAndWatermarks(
          WatermarkStrategy::BoundedOutOfOrderness("_time", 1'000'000))
      .KeyBy({"key"})
      .Process(
          "cascade", [fired] { return std::make_unique<Cascade>(fired); }, Alerts())
      .Blackhole();
  auto result = env.Execute();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  for (size_t i = 1; i < fired->size(); ++i) {
    ASSERT_LE(std::get<0>((*fired)[i - 1]), std::get<0>((*fired)[i])) << i;
  }
  const std::multiset<FiredTimer> actual(fired->begin(), fired->end());
  const std::multiset<FiredTimer> expected = CascadeModel(kKeys);
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyedProcessBackendTest,
                         ::testing::Values(StateBackendKind::kMemory,
                                           StateBackendKind::kRocksDb),
                         [](const auto& info) {
                           return info.param == StateBackendKind::kMemory ? "Memory"
                                                                          : "RocksDb";
                         });

TEST(KeyedProcessTest, EmittingAnotherSchemaIsAnError) {
  class Wrong : public KeyedProcessFunction {
   public:
    Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch, const uint32_t*,
                        KeyedProcessContext& context) override {
      return context.Emit(batch);
    }
  };
  StreamEnvironment env;
  env.FromBatches(Events(), {testing::BatchFromJson(Events(), R"([["a", 1]])")})
      .KeyBy({"user"})
      .Process(
          "wrong", [] { return std::make_unique<Wrong>(); }, Alerts())
      .Blackhole();
  auto result = env.Execute();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("declared"), std::string::npos)
      << result.status().ToString();
}

}  // namespace
}  // namespace sabot
