#include "sabot/state/timer_state.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include "sabot/state/state_factory.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

constexpr int32_t kMaxParallelism = 128;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// The documented firing order: timestamp, key group, key (shorter first, then bytes),
// namespace.
using ModelTimer = std::tuple<int64_t, int32_t, size_t, std::string, int64_t>;

ModelTimer Model(int64_t timestamp, int32_t key_group, const std::string& key,
                 int64_t name_space) {
  return {timestamp, key_group, key.size(), key, name_space};
}

ModelTimer Model(const KeyedTimer& timer) {
  return Model(timer.timestamp, timer.key_group, timer.key, timer.name_space);
}

std::vector<ModelTimer> Models(const std::vector<KeyedTimer>& timers) {
  std::vector<ModelTimer> models;
  for (const KeyedTimer& timer : timers) models.push_back(Model(timer));
  return models;
}

// Runs every test on both backends.
class TimerStateTest : public ::testing::TestWithParam<StateBackendKind> {
 protected:
  void SetUp() override { backend_ = MakeBackend("db", {0, kMaxParallelism - 1}); }

  std::unique_ptr<KeyedStateBackend> MakeBackend(const std::string& name,
                                                 KeyGroupRange range) {
    StateBackendConfig config;
    config.kind = GetParam();
    config.directory = directory_.Child(name);
    auto backend = KeyedStateBackend::Make(config, kMaxParallelism, range);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    return backend.ok() ? std::move(*backend) : nullptr;
  }

  static std::unique_ptr<TimerState> Timers(KeyedStateBackend* backend,
                                            const std::string& name = "timers") {
    auto timers = MakeTimerState(backend, {name});
    EXPECT_TRUE(timers.ok()) << timers.status().ToString();
    return timers.ok() ? std::move(*timers) : nullptr;
  }

  // Pops everything due at `time`, `limit` at a time.
  static std::vector<KeyedTimer> PopAll(TimerState* timers, int64_t time,
                                        int64_t limit = 1000) {
    std::vector<KeyedTimer> all;
    while (true) {
      auto due = timers->PopDue(time, limit);
      EXPECT_TRUE(due.ok()) << due.status().ToString();
      if (!due.ok() || due->empty()) return all;
      EXPECT_LE(static_cast<int64_t>(due->size()), limit);
      all.insert(all.end(), due->begin(), due->end());
    }
  }

  static std::string Name(const std::string& prefix, int i) {
    std::ostringstream name;
    name << prefix << i;
    return name.str();
  }

  testing::TempDirectory directory_;
  std::unique_ptr<KeyedStateBackend> backend_;
};

TEST_P(TimerStateTest, RandomRegisterDeletePopAgreeWithAModel) {
  auto timers = Timers(backend_.get());
  // Few keys, groups, timestamps and namespaces, so that ties and duplicates are
  // common; keys of different lengths test the tie order on key bytes.
  const std::vector<std::string> keys = {"a", "b", "ab", std::string("\0", 1), "zzz", ""};
  const std::vector<int32_t> groups = {0, 1, 5, 77, 127};
  std::set<ModelTimer> model;
  std::mt19937 random(7);
  int64_t popped = 0;
  for (int step = 0; step < 20'000; ++step) {
    const std::string& key = keys[random() % keys.size()];
    const int32_t group = groups[random() % groups.size()];
    const int64_t timestamp = static_cast<int64_t>(random() % 200) - 100;
    const int64_t name_space = static_cast<int64_t>(random() % 3) - 1;
    const StateKey state_key{group, key};
    const int action = static_cast<int>(random() % 10);
    if (action < 5) {
      ASSERT_TRUE(timers->Register(state_key, timestamp, name_space).ok());
      model.insert(Model(timestamp, group, key, name_space));
    } else if (action < 8) {
      ASSERT_TRUE(timers->Delete(state_key, timestamp, name_space).ok());
      model.erase(Model(timestamp, group, key, name_space));
    } else {
      const int64_t time = static_cast<int64_t>(random() % 220) - 110;
      const int64_t limit = static_cast<int64_t>(random() % 8);
      auto due = timers->PopDue(time, limit);
      ASSERT_TRUE(due.ok()) << due.status().ToString();
      std::vector<ModelTimer> expected;
      while (static_cast<int64_t>(expected.size()) < limit && !model.empty() &&
             std::get<0>(*model.begin()) <= time) {
        expected.push_back(*model.begin());
        model.erase(model.begin());
      }
      ASSERT_EQ(Models(*due), expected) << "step " << step;
      popped += static_cast<int64_t>(due->size());
    }
    auto next = timers->NextTimestamp();
    ASSERT_TRUE(next.ok());
    if (model.empty()) {
      ASSERT_FALSE(next->has_value()) << "step " << step;
    } else {
      ASSERT_EQ(*next, std::get<0>(*model.begin())) << "step " << step;
    }
  }
  EXPECT_GT(popped, 1000);
  std::vector<ModelTimer> rest(model.begin(), model.end());
  EXPECT_EQ(Models(PopAll(timers.get(), kMax, 3)), rest);
}

TEST_P(TimerStateTest, PopDueHonorsTheLimitAndSeesTimersRegisteredBetweenCalls) {
  auto timers = Timers(backend_.get());
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back(Name("key", i));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(timers->Register({i % kMaxParallelism, keys[i]}, 1000 + i).ok());
  }
  auto first = timers->PopDue(1049, 10).ValueOrDie();
  ASSERT_EQ(first.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(first[i].timestamp, 1000 + i);
    EXPECT_EQ(first[i].key, keys[i]);
    EXPECT_EQ(first[i].key_group, i);
    EXPECT_EQ(first[i].name_space, 0);
  }
  // Registered between calls: an earlier timer comes first, a later one in order, and
  // one after `time` not at all.
  ASSERT_TRUE(timers->Register({99, "early"}, 5).ok());
  ASSERT_TRUE(timers->Register({3, "mid"}, 1020, 4).ok());
  ASSERT_TRUE(timers->Register({3, "late"}, 1050).ok());
  auto second = timers->PopDue(1049, 2).ValueOrDie();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].key, "early");
  EXPECT_EQ(second[1].timestamp, 1010);
  auto rest = PopAll(timers.get(), 1049, 7);
  ASSERT_EQ(rest.size(), 40u);  // 1011..1049 and "mid"
  // At 1020, "mid" (key group 3) comes before keys[20] (key group 20).
  EXPECT_EQ(rest[9].key, "mid");
  EXPECT_EQ(rest[10].key, keys[20]);
  EXPECT_EQ(rest[10].timestamp, 1020);
  EXPECT_TRUE(timers->PopDue(1049, 10).ValueOrDie().empty());
  EXPECT_TRUE(timers->PopDue(kMax, 0).ValueOrDie().empty());
  EXPECT_EQ(timers->NextTimestamp().ValueOrDie(), 1050);
}

TEST_P(TimerStateTest, NextTimestampFollowsRegistrationsDeletionsAndPops) {
  auto timers = Timers(backend_.get());
  EXPECT_FALSE(timers->NextTimestamp().ValueOrDie().has_value());
  ASSERT_TRUE(timers->Register({4, "a"}, 300).ok());
  ASSERT_TRUE(timers->Register({9, "b"}, 200).ok());
  ASSERT_TRUE(timers->Register({9, "c"}, 250).ok());
  ASSERT_TRUE(timers->Register({9, "b"}, 200).ok());  // a duplicate
  EXPECT_EQ(timers->NextTimestamp().ValueOrDie(), 200);
  ASSERT_TRUE(timers->Delete({9, "b"}, 200).ok());
  EXPECT_EQ(timers->NextTimestamp().ValueOrDie(), 250);
  ASSERT_TRUE(timers->Delete({9, "b"}, 200).ok());     // deleting twice is a no-op
  ASSERT_TRUE(timers->Delete({9, "c"}, 250, 1).ok());  // another namespace
  EXPECT_EQ(timers->NextTimestamp().ValueOrDie(), 250);
  EXPECT_TRUE(timers->PopDue(249, 10).ValueOrDie().empty());
  EXPECT_EQ(timers->PopDue(250, 10).ValueOrDie().size(), 1u);
  EXPECT_EQ(timers->NextTimestamp().ValueOrDie(), 300);
  ASSERT_TRUE(timers->Delete({4, "a"}, 300).ok());
  EXPECT_FALSE(timers->NextTimestamp().ValueOrDie().has_value());
  EXPECT_TRUE(timers->PopDue(kMax, 10).ValueOrDie().empty());
}

TEST_P(TimerStateTest, NegativeAndExtremeTimestampsAndNamespacesKeepTheirOrder) {
  auto timers = Timers(backend_.get());
  const std::vector<int64_t> values = {kMax,     1,        0,    -1, kMin,
                                       kMin + 1, kMax - 1, -256, 256};
  std::set<ModelTimer> model;
  for (int64_t timestamp : values) {
    for (int64_t name_space : {kMin, int64_t{-1}, int64_t{0}, kMax}) {
      ASSERT_TRUE(
          timers->Register({kMaxParallelism - 1, "k"}, timestamp, name_space).ok());
      model.insert(Model(timestamp, kMaxParallelism - 1, "k", name_space));
    }
  }
  EXPECT_EQ(timers->NextTimestamp().ValueOrDie(), kMin);
  auto at_min = timers->PopDue(kMin, 100).ValueOrDie();
  ASSERT_EQ(at_min.size(), 4u);
  EXPECT_EQ(at_min[0].name_space, kMin);
  EXPECT_EQ(at_min[3].name_space, kMax);
  for (int i = 0; i < 4; ++i) model.erase(model.begin());
  auto negative = timers->PopDue(-1, 100).ValueOrDie();
  ASSERT_EQ(negative.size(), 12u);  // kMin + 1, -256, -1
  EXPECT_EQ(negative[0].timestamp, kMin + 1);
  EXPECT_EQ(negative[11].timestamp, -1);
  for (int i = 0; i < 12; ++i) model.erase(model.begin());
  std::vector<ModelTimer> rest(model.begin(), model.end());
  EXPECT_EQ(Models(PopAll(timers.get(), kMax)), rest);
  EXPECT_FALSE(timers->NextTimestamp().ValueOrDie().has_value());
}

TEST_P(TimerStateTest, MisuseIsAnError) {
  EXPECT_TRUE(MakeTimerState(backend_.get(), {"ttl", {100}}).status().IsInvalid());
  ASSERT_TRUE(MakeValueState<int64_t>(backend_.get(), {"value"}).ok());
  EXPECT_TRUE(MakeTimerState(backend_.get(), {"value"}).status().IsInvalid());
  auto ranged = MakeBackend("ranged", {0, 63});
  auto timers = Timers(ranged.get());
  EXPECT_TRUE(timers->Register({64, "a"}, 1).IsInvalid());
  EXPECT_TRUE(timers->Delete({64, "a"}, 1).IsInvalid());
  // The timers were created before; a value state cannot take their name.
  EXPECT_FALSE(MakeValueState<int64_t>(ranged.get(), {"timers"}).ok());
}

// Timers of `count` keys spread over every key group, with two namespaces each.
void RegisterSpread(TimerState* timers, const std::vector<std::string>& keys,
                    int32_t first_group, int32_t groups, std::set<ModelTimer>* model) {
  for (size_t i = 0; i < keys.size(); ++i) {
    const int32_t group = first_group + static_cast<int32_t>(i * 7) % groups;
    const int64_t timestamp = static_cast<int64_t>(i % 50) * 10 - 200;
    for (int64_t name_space : {0, 1}) {
      ASSERT_TRUE(timers->Register({group, keys[i]}, timestamp, name_space).ok());
      model->insert(Model(timestamp, group, keys[i], name_space));
    }
  }
}

std::vector<ModelTimer> InRange(const std::set<ModelTimer>& model, KeyGroupRange range) {
  std::vector<ModelTimer> kept;
  for (const ModelTimer& timer : model) {
    if (range.Contains(std::get<1>(timer))) kept.push_back(timer);
  }
  return kept;
}

TEST_P(TimerStateTest, SnapshotAndRestoreKeepEveryTimer) {
  auto timers = Timers(backend_.get());
  auto values = MakeValueState<int64_t>(backend_.get(), {"values"}).ValueOrDie();
  std::vector<std::string> keys;
  for (int i = 0; i < 500; ++i) keys.push_back(Name("key", i));
  std::set<ModelTimer> model;
  RegisterSpread(timers.get(), keys, 0, kMaxParallelism, &model);
  ASSERT_TRUE(values->Update({3, "v"}, 42).ok());
  // Timers fired before the snapshot are not in it.
  for (const KeyedTimer& timer : timers->PopDue(-200, 10).ValueOrDie()) {
    model.erase(Model(timer));
  }
  std::string snapshot;
  ASSERT_TRUE(backend_->Snapshot(&snapshot).ok());
  // Changes after the snapshot are not in it either.
  ASSERT_TRUE(timers->Register({1, "after"}, -1000).ok());

  auto restored = MakeBackend("restored", {0, kMaxParallelism - 1});
  auto restored_timers = Timers(restored.get());
  auto restored_values = MakeValueState<int64_t>(restored.get(), {"values"}).ValueOrDie();
  // A timer state used before the restore sees the restored timers as well.
  ASSERT_TRUE(restored_timers->Register({2, "before"}, -5000).ok());
  EXPECT_EQ(restored_timers->NextTimestamp().ValueOrDie(), -5000);
  ASSERT_TRUE(restored->Restore(snapshot).ok());
  model.insert(Model(-5000, 2, "before", 0));
  EXPECT_EQ(restored_values->Get({3, "v"}).ValueOrDie(), 42);
  EXPECT_EQ(restored_timers->NextTimestamp().ValueOrDie(), -5000);
  std::vector<ModelTimer> expected(model.begin(), model.end());
  EXPECT_EQ(Models(PopAll(restored_timers.get(), kMax, 64)), expected);
}

TEST_P(TimerStateTest, RestoringSnapshotsOfTwoSubtasksSplitsTimersByKeyGroup) {
  // Two subtasks at parallelism 2, restored at parallelism 3: every new subtask reads
  // both snapshots and keeps exactly the timers of its key groups.
  std::vector<std::string> keys;
  for (int i = 0; i < 400; ++i) keys.push_back(Name("key", i));
  std::set<ModelTimer> model;
  std::vector<std::string> snapshots;
  for (int32_t subtask = 0; subtask < 2; ++subtask) {
    const KeyGroupRange range = KeyGroupRange::ForSubtask(kMaxParallelism, 2, subtask);
    auto backend = MakeBackend(Name("old", subtask), range);
    auto timers = Timers(backend.get());
    RegisterSpread(timers.get(), keys, range.first, range.size(), &model);
    snapshots.emplace_back();
    ASSERT_TRUE(backend->Snapshot(&snapshots.back()).ok());
  }
  size_t restored_count = 0;
  for (int32_t subtask = 0; subtask < 3; ++subtask) {
    const KeyGroupRange range = KeyGroupRange::ForSubtask(kMaxParallelism, 3, subtask);
    auto backend = MakeBackend(Name("new", subtask), range);
    auto timers = Timers(backend.get());
    for (const std::string& snapshot : snapshots) {
      ASSERT_TRUE(backend->Restore(snapshot).ok());
    }
    const std::vector<ModelTimer> expected = InRange(model, range);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(timers->NextTimestamp().ValueOrDie(), std::get<0>(expected.front()));
    EXPECT_EQ(Models(PopAll(timers.get(), kMax, 100)), expected) << subtask;
    restored_count += expected.size();
  }
  EXPECT_EQ(restored_count, model.size());
}

INSTANTIATE_TEST_SUITE_P(Backends, TimerStateTest,
                         ::testing::Values(StateBackendKind::kMemory,
                                           StateBackendKind::kRocksDb),
                         [](const auto& info) {
                           return info.param == StateBackendKind::kMemory ? "Memory"
                                                                          : "RocksDb";
                         });

// Incremental checkpoints carry the timers' column family: restored by reopening the
// instance (same key groups) and by copying each new subtask's key groups.
TEST(RocksDbTimerStateTest, IncrementalCheckpointsRestoreTimers) {
  testing::TempDirectory directory;
  const std::string shared = directory.Child("shared");
  std::filesystem::create_directories(shared);
  StateBackendConfig config;
  config.kind = StateBackendKind::kRocksDb;
  config.directory = directory.Child("db");
  const KeyGroupRange all{0, kMaxParallelism - 1};
  auto backend = KeyedStateBackend::Make(config, kMaxParallelism, all).ValueOrDie();
  auto timers = MakeTimerState(backend.get(), {"timers"}).ValueOrDie();
  auto values = MakeValueState<int64_t>(backend.get(), {"values"}).ValueOrDie();
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) {
    std::ostringstream name;
    name << "key" << i;
    keys.push_back(name.str());
  }
  std::set<ModelTimer> model;
  RegisterSpread(timers.get(), keys, 0, kMaxParallelism, &model);
  ASSERT_TRUE(values->Update({5, "v"}, 1).ok());
  auto upload = [&](const std::vector<SharedStateFile>& files) {
    for (const auto& file : files) {
      std::filesystem::copy_file(file.local_path, shared + "/" + file.name,
                                 std::filesystem::copy_options::skip_existing);
    }
  };
  std::string first_handle, second_handle;
  std::vector<SharedStateFile> files;
  ASSERT_TRUE(backend->SnapshotForCheckpoint(1, &first_handle, &files).ok());
  upload(files);
  const std::set<ModelTimer> first_model = model;
  // The second checkpoint adds timers and lacks fired and deleted ones.
  for (const KeyedTimer& timer : timers->PopDue(-150, 500).ValueOrDie()) {
    model.erase(Model(timer));
  }
  ASSERT_TRUE(timers->Delete({7, keys[1]}, -190, 1).ok());
  model.erase(Model(-190, 7, keys[1], 1));
  ASSERT_TRUE(timers->Register({100, "new"}, kMin).ok());
  model.insert(Model(kMin, 100, "new", 0));
  files.clear();
  ASSERT_TRUE(backend->SnapshotForCheckpoint(2, &second_handle, &files).ok());
  upload(files);

  auto expect_timers = [&](const std::string& handle,
                           const std::set<ModelTimer>& expected, int parallelism) {
    size_t restored_count = 0;
    for (int32_t subtask = 0; subtask < parallelism; ++subtask) {
      const KeyGroupRange range =
          KeyGroupRange::ForSubtask(kMaxParallelism, parallelism, subtask);
      StateBackendConfig restored_config = config;
      std::ostringstream dir;
      dir << "restored-" << handle.size() << "-" << parallelism << "-" << subtask;
      restored_config.directory = directory.Child(dir.str());
      auto restored =
          KeyedStateBackend::Make(restored_config, kMaxParallelism, range).ValueOrDie();
      restored->set_shared_directory(shared);
      auto restored_timers = MakeTimerState(restored.get(), {"timers"}).ValueOrDie();
      ASSERT_TRUE(MakeValueState<int64_t>(restored.get(), {"values"}).ok());
      ASSERT_TRUE(restored->Restore(handle).ok());
      const std::vector<ModelTimer> in_range = InRange(expected, range);
      EXPECT_EQ(restored_timers->NextTimestamp().ValueOrDie(),
                std::get<0>(in_range.front()));
      std::vector<KeyedTimer> popped;
      while (true) {
        auto due = restored_timers->PopDue(kMax, 333).ValueOrDie();
        if (due.empty()) break;
        popped.insert(popped.end(), due.begin(), due.end());
      }
      EXPECT_EQ(Models(popped), in_range) << parallelism << " " << subtask;
      restored_count += in_range.size();
    }
    EXPECT_EQ(restored_count, expected.size());
  };
  expect_timers(first_handle, first_model, 1);  // reopened from the files
  expect_timers(second_handle, model, 1);
  expect_timers(second_handle, model, 3);  // entries copied per key-group range
}

}  // namespace
}  // namespace sabot
