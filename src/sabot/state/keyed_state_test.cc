#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "sabot/state/state_factory.h"
#include "sabot/testing/arrow_testing.h"
#include "sabot/testing/pipeline_testing.h"
#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

constexpr int32_t kMaxParallelism = 128;

// Runs every test on both backends.
class KeyedStateTest : public ::testing::TestWithParam<StateBackendKind> {
 protected:
  void SetUp() override {
    StateBackendConfig config;
    config.kind = GetParam();
    config.directory = directory_.Child("db");
    auto backend =
        KeyedStateBackend::Make(config, kMaxParallelism, {0, kMaxParallelism - 1});
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::move(*backend);
    backend_->SetClock([this] { return now_; });
  }

  // A key with its own bytes; the key group does not depend on the bytes here.
  StateKey Key(const std::string& bytes, int32_t key_group = 7) {
    keys_.push_back(std::make_unique<std::string>(bytes));
    return {key_group, *keys_.back()};
  }

  testing::TempDirectory directory_;
  std::unique_ptr<KeyedStateBackend> backend_;
  std::vector<std::unique_ptr<std::string>> keys_;
  int64_t now_ = 1'000;
};

TEST_P(KeyedStateTest, ValueStateGetUpdateClear) {
  auto state = MakeValueState<int64_t>(backend_.get(), {"count"}).ValueOrDie();
  const StateKey a = Key("a"), b = Key("b"), a_other_group = Key("a", 9);
  EXPECT_FALSE(state->Get(a).ValueOrDie().has_value());
  ASSERT_TRUE(state->Update(a, 5).ok());
  ASSERT_TRUE(state->Update(b, 7).ok());
  ASSERT_TRUE(state->Update(a, 6).ok());
  EXPECT_EQ(state->Get(a).ValueOrDie(), 6);
  EXPECT_EQ(state->Get(b).ValueOrDie(), 7);
  // The same bytes in another key group are another key.
  EXPECT_FALSE(state->Get(a_other_group).ValueOrDie().has_value());
  ASSERT_TRUE(state->Clear(a).ok());
  EXPECT_FALSE(state->Get(a).ValueOrDie().has_value());
  EXPECT_EQ(state->Get(b).ValueOrDie(), 7);

  auto names = MakeValueState<std::string>(backend_.get(), {"name"}).ValueOrDie();
  ASSERT_TRUE(names->Update(a, std::string("x\0y", 3)).ok());
  EXPECT_EQ(names->Get(a).ValueOrDie(), std::string("x\0y", 3));
}

TEST_P(KeyedStateTest, BatchedAccessMatchesSingleAccess) {
  auto batched =
      MakeValueState<int64_t>(backend_.get(), {"batched", {1000}}).ValueOrDie();
  auto single = MakeValueState<int64_t>(backend_.get(), {"single", {1000}}).ValueOrDie();
  std::vector<StateKey> keys;
  std::vector<int64_t> values;
  for (int i = 0; i < 3000; ++i) {
    std::ostringstream name;
    name << "key" << (i % 1700);  // repeated keys: the last value wins
    keys.push_back(Key(name.str(), (i * 7) % kMaxParallelism));
    values.push_back(i);
  }
  // Key groups of repeated bytes must agree for them to be the same key.
  for (int i = 1700; i < 3000; ++i) keys[i].key_group = keys[i - 1700].key_group;
  ASSERT_TRUE(batched->UpdateBatch(keys.data(), 2000, values.data()).ok());
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(single->Update(keys[i], values[i]).ok());
  now_ += 500;
  std::vector<std::optional<int64_t>> got(3000);
  ASSERT_TRUE(batched->GetBatch(keys.data(), 3000, got.data()).ok());
  for (int i = 0; i < 3000; ++i) {
    EXPECT_EQ(got[i], single->Get(keys[i]).ValueOrDie()) << i;
    EXPECT_TRUE(got[i].has_value());
  }
  now_ += 600;  // past the TTL: batched reads see nothing either
  ASSERT_TRUE(batched->GetBatch(keys.data(), 3000, got.data()).ok());
  for (const auto& value : got) EXPECT_FALSE(value.has_value());
}

TEST_P(KeyedStateTest, MapStatePutGetRemoveEntriesClear) {
  auto state = MakeMapState<std::string, double>(backend_.get(), {"prices"}).ValueOrDie();
  const StateKey a = Key("a"), ab = Key("ab");
  ASSERT_TRUE(state->Put(a, "x", 1.5).ok());
  ASSERT_TRUE(state->Put(a, "y", 2.5).ok());
  ASSERT_TRUE(state->Put(ab, "x", 9).ok());  // a key whose bytes extend another's
  ASSERT_TRUE(state->Put(a, "x", 3.5).ok());
  EXPECT_EQ(state->Get(a, "x").ValueOrDie(), 3.5);
  EXPECT_FALSE(state->Get(a, "z").ValueOrDie().has_value());
  auto entries = state->Entries(a).ValueOrDie();
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries,
            (std::vector<std::pair<std::string, double>>{{"x", 3.5}, {"y", 2.5}}));
  ASSERT_TRUE(state->Remove(a, "x").ok());
  EXPECT_EQ(state->Entries(a).ValueOrDie().size(), 1u);
  ASSERT_TRUE(state->Clear(a).ok());
  EXPECT_TRUE(state->Entries(a).ValueOrDie().empty());
  EXPECT_EQ(state->Get(ab, "x").ValueOrDie(), 9);
}

TEST_P(KeyedStateTest, ListReducingAndAggregatingState) {
  const StateKey a = Key("a");
  auto list = MakeListState<std::string>(backend_.get(), {"events"}).ValueOrDie();
  ASSERT_TRUE(list->Add(a, "one").ok());
  ASSERT_TRUE(list->Add(a, "two").ok());
  EXPECT_EQ(list->Get(a).ValueOrDie(), (std::vector<std::string>{"one", "two"}));
  ASSERT_TRUE(list->Update(a, {"three"}).ok());
  EXPECT_EQ(list->Get(a).ValueOrDie(), (std::vector<std::string>{"three"}));
  ASSERT_TRUE(list->Clear(a).ok());
  EXPECT_TRUE(list->Get(a).ValueOrDie().empty());

  auto max =
      MakeReducingState<int64_t>(backend_.get(), {"max"}, [](int64_t x, int64_t y) {
        return std::max(x, y);
      }).ValueOrDie();
  for (int64_t v : {4, 9, 2}) ASSERT_TRUE(max->Add(a, v).ok());
  EXPECT_EQ(max->Get(a).ValueOrDie(), 9);

  // Average over a (sum, count) accumulator encoded as a string for RocksDB.
  AggregateFunction<double, std::string, double> average{
      [] { return std::string(16, '\0'); },
      [](std::string* acc, const double& v) {
        double sum;
        int64_t count;
        std::memcpy(&sum, acc->data(), 8);
        std::memcpy(&count, acc->data() + 8, 8);
        sum += v;
        ++count;
        std::memcpy(acc->data(), &sum, 8);
        std::memcpy(acc->data() + 8, &count, 8);
      },
      [](const std::string& acc) {
        double sum;
        int64_t count;
        std::memcpy(&sum, acc.data(), 8);
        std::memcpy(&count, acc.data() + 8, 8);
        return sum / static_cast<double>(count);
      }};
  auto avg = MakeAggregatingState(backend_.get(), {"avg"}, average).ValueOrDie();
  EXPECT_FALSE(avg->Get(a).ValueOrDie().has_value());
  for (double v : {1.0, 2.0, 6.0}) ASSERT_TRUE(avg->Add(a, v).ok());
  EXPECT_DOUBLE_EQ(*avg->Get(a).ValueOrDie(), 3.0);
}

TEST_P(KeyedStateTest, TtlExpiresAfterWriteUnlessRefreshedByRead) {
  StateDescriptor on_write{"session",
                           {/*ttl_ms=*/100, StateTtl::Update::kOnCreateAndWrite}};
  StateDescriptor on_read{"seen", {/*ttl_ms=*/100, StateTtl::Update::kOnReadAndWrite}};
  auto written = MakeValueState<int64_t>(backend_.get(), on_write).ValueOrDie();
  auto read = MakeValueState<int64_t>(backend_.get(), on_read).ValueOrDie();
  const StateKey a = Key("a");
  ASSERT_TRUE(written->Update(a, 1).ok());
  ASSERT_TRUE(read->Update(a, 1).ok());
  now_ += 60;
  EXPECT_TRUE(written->Get(a).ValueOrDie().has_value());
  EXPECT_TRUE(read->Get(a).ValueOrDie().has_value());  // refreshes to now
  now_ += 60;  // 120 ms after the write, 60 ms after the read
  EXPECT_FALSE(written->Get(a).ValueOrDie().has_value());
  EXPECT_TRUE(read->Get(a).ValueOrDie().has_value());
  now_ += 100;
  EXPECT_FALSE(read->Get(a).ValueOrDie().has_value());
  // A write after expiry starts a fresh entry.
  ASSERT_TRUE(written->Update(a, 2).ok());
  EXPECT_EQ(written->Get(a).ValueOrDie(), 2);

  auto map = MakeMapState<int64_t, int64_t>(backend_.get(), {"map", {100}}).ValueOrDie();
  ASSERT_TRUE(map->Put(a, 1, 10).ok());
  now_ += 50;
  ASSERT_TRUE(map->Put(a, 2, 20).ok());
  now_ += 60;  // entry 1 expired, entry 2 not
  EXPECT_EQ(map->Entries(a).ValueOrDie(),
            (std::vector<std::pair<int64_t, int64_t>>{{2, 20}}));
}

TEST_P(KeyedStateTest, BackgroundCleanupRemovesExpiredEntries) {
  auto state = MakeValueState<int64_t>(backend_.get(), {"ttl", {100}}).ValueOrDie();
  auto kept = MakeValueState<int64_t>(backend_.get(), {"kept"}).ValueOrDie();
  std::vector<StateKey> keys;
  for (int i = 0; i < 500; ++i) {
    std::ostringstream name;
    name << "k" << i;
    keys.push_back(Key(name.str(), i % kMaxParallelism));
    ASSERT_TRUE(state->Update(keys.back(), i).ok());
    ASSERT_TRUE(kept->Update(keys.back(), i).ok());
  }
  now_ += 200;
  for (int round = 0; round < 100; ++round)
    ASSERT_TRUE(backend_->CleanupExpired(1000).ok());
  // Look underneath the TTL check: the entries must be gone from storage, not merely
  // hidden on access.
  if (GetParam() == StateBackendKind::kRocksDb) {
    auto* rocks = static_cast<RocksDbBackend*>(backend_.get());
    // "kept" has no TTL, so its values sit in the write-back cache until flushed.
    ASSERT_TRUE(rocks->FlushCaches(/*drop=*/false).ok());
    RocksStateCodec ttl_codec(rocks, rocks->ColumnFamily({"ttl", {100}}).ValueOrDie(),
                              {});
    RocksStateCodec kept_codec(rocks, rocks->ColumnFamily({"kept"}).ValueOrDie(), {});
    std::string value;
    for (const StateKey& key : keys) {
      EXPECT_FALSE(rocks->Get(ttl_codec.cf(), ttl_codec.Key(key), &value).ValueOrDie());
      EXPECT_TRUE(rocks->Get(kept_codec.cf(), kept_codec.Key(key), &value).ValueOrDie());
    }
  } else {
    auto* heap = static_cast<HeapBackend*>(backend_.get());
    // Cleaning again finds nothing more to remove.
    EXPECT_EQ(heap->CleanupExpired(100000).ValueOrDie(), 0);
  }
  for (const StateKey& key : keys) {
    EXPECT_FALSE(state->Get(key).ValueOrDie().has_value());
    EXPECT_TRUE(kept->Get(key).ValueOrDie().has_value());
  }
}

TEST_P(KeyedStateTest, KeyOutsideTheBackendsRangeIsAnError) {
  StateBackendConfig config;
  config.kind = GetParam();
  config.directory = directory_.Child("ranged");
  auto backend = KeyedStateBackend::Make(config, kMaxParallelism, {0, 63}).ValueOrDie();
  auto state = MakeValueState<int64_t>(backend.get(), {"v"}).ValueOrDie();
  auto status = state->Update(Key("a", 64), 1);
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("key group 64"), std::string::npos);
}

TEST_P(KeyedStateTest, OneNameOneType) {
  ASSERT_TRUE(MakeValueState<int64_t>(backend_.get(), {"v"}).ok());
  if (GetParam() == StateBackendKind::kMemory) {
    auto other = MakeValueState<std::string>(backend_.get(), {"v"});
    ASSERT_FALSE(other.ok());
    EXPECT_NE(other.status().message().find("another type"), std::string::npos);
  }
}

TEST_P(KeyedStateTest, SnapshotsRestoreIntoSubtasksByKeyGroup) {
  auto counts = MakeValueState<int64_t>(backend_.get(), {"count"}).ValueOrDie();
  auto tags = MakeMapState<std::string, int64_t>(backend_.get(), {"tags"}).ValueOrDie();
  auto seen = MakeListState<int64_t>(backend_.get(), {"seen"}).ValueOrDie();
  auto expiring =
      MakeValueState<int64_t>(backend_.get(), {"expiring", {500}}).ValueOrDie();
  constexpr int kKeys = 600;
  std::vector<StateKey> keys;
  for (int i = 0; i < kKeys; ++i) {
    std::ostringstream name;
    name << "key" << i;
    keys.push_back(Key(name.str(), (i * 37) % kMaxParallelism));
    ASSERT_TRUE(counts->Update(keys[i], i * 10).ok());
    ASSERT_TRUE(tags->Put(keys[i], "t" + name.str(), i).ok());
    ASSERT_TRUE(seen->Add(keys[i], i).ok());
    ASSERT_TRUE(seen->Add(keys[i], -i).ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(expiring->Update(keys[i], i).ok());
    }
  }
  ASSERT_TRUE(counts->Clear(keys[5]).ok());
  now_ += 200;
  std::string snapshot;
  ASSERT_TRUE(backend_->Snapshot(&snapshot).ok());

  // Restored at parallelism 3: each subtask holds exactly its key groups' entries.
  for (int32_t subtask = 0; subtask < 3; ++subtask) {
    const KeyGroupRange range = KeyGroupRange::ForSubtask(kMaxParallelism, 3, subtask);
    StateBackendConfig config;
    config.kind = GetParam();
    std::ostringstream dir;
    dir << "restored" << subtask;
    config.directory = directory_.Child(dir.str());
    auto restored = KeyedStateBackend::Make(config, kMaxParallelism, range).ValueOrDie();
    restored->SetClock([this] { return now_; });
    auto r_counts = MakeValueState<int64_t>(restored.get(), {"count"}).ValueOrDie();
    auto r_tags =
        MakeMapState<std::string, int64_t>(restored.get(), {"tags"}).ValueOrDie();
    auto r_seen = MakeListState<int64_t>(restored.get(), {"seen"}).ValueOrDie();
    auto r_expiring =
        MakeValueState<int64_t>(restored.get(), {"expiring", {500}}).ValueOrDie();
    ASSERT_TRUE(restored->Restore(snapshot).ok());
    for (int i = 0; i < kKeys; ++i) {
      if (!range.Contains(keys[i].key_group)) continue;
      const std::optional<int64_t> count = r_counts->Get(keys[i]).ValueOrDie();
      if (i == 5) {
        EXPECT_FALSE(count.has_value());
      } else {
        EXPECT_EQ(count, i * 10) << i;
      }
      auto entries = r_tags->Entries(keys[i]).ValueOrDie();
      ASSERT_EQ(entries.size(), 1u);
      EXPECT_EQ(entries[0].second, i);
      EXPECT_EQ(r_seen->Get(keys[i]).ValueOrDie(), (std::vector<int64_t>{i, -i}));
      // TTL times survive the snapshot: written 200 ms before it, gone 300 ms after.
      EXPECT_EQ(r_expiring->Get(keys[i]).ValueOrDie().has_value(), i % 2 == 0);
    }
    now_ += 300;
    for (int i = 0; i < kKeys; i += 2) {
      if (range.Contains(keys[i].key_group)) {
        EXPECT_FALSE(r_expiring->Get(keys[i]).ValueOrDie().has_value());
      }
    }
    now_ -= 300;
    // A key group of another subtask is refused, not silently served.
    for (int i = 0; i < kKeys; ++i) {
      if (!range.Contains(keys[i].key_group)) {
        EXPECT_FALSE(r_counts->Get(keys[i]).ok());
        break;
      }
    }
  }
}

TEST_P(KeyedStateTest, RestoringUnknownStatesOrAnotherBackendsSnapshotFails) {
  auto counts = MakeValueState<int64_t>(backend_.get(), {"count"}).ValueOrDie();
  ASSERT_TRUE(counts->Update(Key("a"), 1).ok());
  std::string snapshot;
  ASSERT_TRUE(backend_->Snapshot(&snapshot).ok());
  StateBackendConfig config;
  config.kind = GetParam();
  config.directory = directory_.Child("other");
  auto restored =
      KeyedStateBackend::Make(config, kMaxParallelism, {0, kMaxParallelism - 1})
          .ValueOrDie();
  Status unknown = restored->Restore(snapshot);
  EXPECT_TRUE(unknown.IsInvalid()) << unknown.ToString();
  EXPECT_NE(unknown.message().find("'count'"), std::string::npos);

  StateBackendConfig other_kind;
  other_kind.kind = GetParam() == StateBackendKind::kMemory ? StateBackendKind::kRocksDb
                                                            : StateBackendKind::kMemory;
  other_kind.directory = directory_.Child("other-kind");
  auto other =
      KeyedStateBackend::Make(other_kind, kMaxParallelism, {0, kMaxParallelism - 1})
          .ValueOrDie();
  ASSERT_TRUE(MakeValueState<int64_t>(other.get(), {"count"}).ok());
  EXPECT_TRUE(other->Restore(snapshot).IsInvalid());
  EXPECT_TRUE(other->Restore(snapshot.substr(0, snapshot.size() / 2)).IsInvalid());
  EXPECT_FALSE(restored->Restore("garbage").ok());
  ASSERT_TRUE(MakeValueState<int64_t>(restored.get(), {"count"}).ok());
  EXPECT_TRUE(restored->Restore(snapshot.substr(0, snapshot.size() - 3)).IsIOError());
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyedStateTest,
                         ::testing::Values(StateBackendKind::kMemory,
                                           StateBackendKind::kRocksDb),
                         [](const auto& info) {
                           return info.param == StateBackendKind::kMemory ? "Memory"
                                                                          : "RocksDb";
                         });

// Incremental checkpoints hand over the instance's SST files by unique names; a second
// checkpoint refers to the first one's files again and adds only the new ones.
TEST(RocksDbBackendTest, IncrementalCheckpointsReuseFilesAndRestoreAtAnyRange) {
  testing::TempDirectory directory;
  const std::string shared = directory.Child("shared");
  std::filesystem::create_directories(shared);
  StateBackendConfig config;
  config.kind = StateBackendKind::kRocksDb;
  config.directory = directory.Child("db");
  auto backend =
      KeyedStateBackend::Make(config, kMaxParallelism, {0, kMaxParallelism - 1})
          .ValueOrDie();
  auto counts = MakeValueState<int64_t>(backend.get(), {"count"}).ValueOrDie();
  std::vector<std::string> names;
  std::vector<StateKey> keys;
  for (int i = 0; i < 30'000; ++i) {
    std::ostringstream name;
    name << "key" << i;
    names.push_back(name.str());
  }
  for (int i = 0; i < 30'000; ++i) keys.push_back({(i * 31) % kMaxParallelism, names[i]});
  auto upload = [&](const std::vector<SharedStateFile>& files) {
    std::set<std::string> uploaded;
    for (const auto& file : files) {
      std::filesystem::copy_file(file.local_path, shared + "/" + file.name,
                                 std::filesystem::copy_options::skip_existing);
      uploaded.insert(file.name);
    }
    return uploaded;
  };
  for (int i = 0; i < 20'000; ++i) ASSERT_TRUE(counts->Update(keys[i], i).ok());
  std::string first_handle, second_handle;
  std::vector<SharedStateFile> first_files, second_files;
  ASSERT_TRUE(backend->SnapshotForCheckpoint(1, &first_handle, &first_files).ok());
  const auto first = upload(first_files);
  ASSERT_FALSE(first.empty());
  for (int i = 20'000; i < 30'000; ++i) ASSERT_TRUE(counts->Update(keys[i], i).ok());
  ASSERT_TRUE(counts->Update(keys[0], -1).ok());
  ASSERT_TRUE(backend->SnapshotForCheckpoint(2, &second_handle, &second_files).ok());
  const auto second = upload(second_files);
  for (const auto& name : first) EXPECT_EQ(second.count(name), 1u) << name;
  EXPECT_GT(second.size(), first.size());
  backend->NotifyCheckpointComplete(2);
  EXPECT_FALSE(std::filesystem::exists(config.directory + ".checkpoints/1"));

  auto expect_values = [&](std::string_view handle, int64_t rows, int parallelism) {
    for (int32_t subtask = 0; subtask < parallelism; ++subtask) {
      StateBackendConfig restored_config = config;
      std::ostringstream dir;
      dir << "restored-" << rows << "-" << parallelism << "-" << subtask;
      restored_config.directory = directory.Child(dir.str());
      const KeyGroupRange range =
          KeyGroupRange::ForSubtask(kMaxParallelism, parallelism, subtask);
      auto restored =
          KeyedStateBackend::Make(restored_config, kMaxParallelism, range).ValueOrDie();
      restored->set_shared_directory(shared);
      auto values = MakeValueState<int64_t>(restored.get(), {"count"}).ValueOrDie();
      ASSERT_TRUE(restored->Restore(handle).ok());
      for (int i = 0; i < 30'000; ++i) {
        if (!range.Contains(keys[i].key_group)) continue;
        const auto value = values->Get(keys[i]).ValueOrDie();
        if (i >= rows) {
          EXPECT_FALSE(value.has_value()) << i;
        } else {
          EXPECT_EQ(value, i == 0 && rows == 30'000 ? -1 : i) << i;
        }
      }
    }
  };
  expect_values(first_handle, 20'000, 1);  // reopened from the files
  expect_values(second_handle, 30'000, 1);
  expect_values(second_handle, 30'000, 3);  // entries copied per key-group range

  auto lost =
      KeyedStateBackend::Make({StateBackendKind::kRocksDb, directory.Child("lost")},
                              kMaxParallelism, {0, kMaxParallelism - 1})
          .ValueOrDie();
  ASSERT_TRUE(MakeValueState<int64_t>(lost.get(), {"count"}).ok());
  EXPECT_TRUE(lost->Restore(second_handle).IsInvalid());  // no shared directory given
}

// The write-back cache is invisible: random updates, clears and reads over more keys
// than a tiny cache holds (so it flushes and empties many times) agree with a model,
// and a snapshot holds every cached write.
TEST(RocksDbBackendTest, ValueCacheAgreesWithAModelAndReachesSnapshots) {
  testing::TempDirectory directory;
  StateBackendConfig config;
  config.kind = StateBackendKind::kRocksDb;
  config.directory = directory.Child("db");
  config.value_cache_bytes = 8 * 1024;
  const KeyGroupRange all{0, kMaxParallelism - 1};
  auto backend = KeyedStateBackend::Make(config, kMaxParallelism, all).ValueOrDie();
  auto values = MakeValueState<std::string>(backend.get(), {"values"}).ValueOrDie();
  std::vector<std::string> names;
  for (int i = 0; i < 2000; ++i) {
    std::ostringstream name;
    name << "key" << i;
    names.push_back(name.str());
  }
  auto key = [&](int i) { return StateKey{i % kMaxParallelism, names[i]}; };
  std::map<int, std::string> model;
  std::mt19937 random(3);
  std::vector<StateKey> batch_keys;
  std::vector<std::optional<std::string>> batch_values(64);
  for (int step = 0; step < 20'000; ++step) {
    const int i = static_cast<int>(random() % names.size());
    switch (random() % 4) {
      case 0:
      case 1: {
        std::ostringstream value;
        value << "v" << step;
        ASSERT_TRUE(values->Update(key(i), value.str()).ok());
        model[i] = value.str();
        break;
      }
      case 2:
        ASSERT_TRUE(values->Clear(key(i)).ok());
        model.erase(i);
        break;
      default: {
        auto got = values->Get(key(i)).ValueOrDie();
        auto it = model.find(i);
        ASSERT_EQ(got.has_value(), it != model.end()) << step;
        if (got) {
          ASSERT_EQ(*got, it->second) << step;
        }
      }
    }
  }
  batch_keys.clear();
  for (int i = 0; i < 64; ++i) batch_keys.push_back(key(i * 31));
  ASSERT_TRUE(values->GetBatch(batch_keys.data(), 64, batch_values.data()).ok());
  for (int i = 0; i < 64; ++i) {
    auto it = model.find(i * 31);
    EXPECT_EQ(batch_values[i],
              it == model.end() ? std::nullopt : std::optional<std::string>(it->second));
  }
  std::string snapshot;
  ASSERT_TRUE(backend->Snapshot(&snapshot).ok());
  StateBackendConfig restored_config = config;
  restored_config.directory = directory.Child("restored");
  restored_config.value_cache_bytes = 0;
  auto restored =
      KeyedStateBackend::Make(restored_config, kMaxParallelism, all).ValueOrDie();
  auto restored_values =
      MakeValueState<std::string>(restored.get(), {"values"}).ValueOrDie();
  ASSERT_TRUE(restored->Restore(snapshot).ok());
  for (int i = 0; i < static_cast<int>(names.size()); ++i) {
    auto got = restored_values->Get(key(i)).ValueOrDie();
    auto it = model.find(i);
    ASSERT_EQ(got.has_value(), it != model.end()) << i;
    if (got) {
      EXPECT_EQ(*got, it->second) << i;
    }
  }
}

TEST(RocksDbBackendTest, ConfigurationErrorsSayWhatToChange) {
  StateBackendConfig config;
  config.kind = StateBackendKind::kRocksDb;
  auto missing = KeyedStateBackend::Make(config, kMaxParallelism, {0, 127});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("directory"), std::string::npos);

  testing::TempDirectory directory;
  std::filesystem::create_directories(directory.Child("used"));
  std::ofstream(directory.Child("used/file")) << "x";
  config.directory = directory.Child("used");
  auto used = KeyedStateBackend::Make(config, kMaxParallelism, {0, 127});
  ASSERT_FALSE(used.ok());
  EXPECT_NE(used.status().message().find("not empty"), std::string::npos);
}

TEST(KeyGroupRangeTest, RangesPartitionKeyGroupsLikeTheExchange) {
  for (int32_t parallelism : {1, 3, 4, 7, 128}) {
    std::vector<int> owner(kMaxParallelism, -1);
    for (int32_t s = 0; s < parallelism; ++s) {
      auto range = KeyGroupRange::ForSubtask(kMaxParallelism, parallelism, s);
      for (int32_t g = range.first; g <= range.last; ++g) owner[g] = s;
    }
    for (int32_t g = 0; g < kMaxParallelism; ++g) {
      EXPECT_EQ(owner[g], SubtaskForKeyGroup(g, kMaxParallelism, parallelism))
          << "key group " << g << " at parallelism " << parallelism;
    }
  }
}

TEST(KeyEncoderTest, EqualKeysEncodeEquallyAndRouteLikeKeyBy) {
  auto schema = arrow::schema({arrow::field("city", arrow::utf8()),
                               arrow::field("id", arrow::int64()),
                               arrow::field("x", arrow::float64())});
  auto batch = testing::BatchFromJson(schema, R"([
    ["Paris", 1, 0.5], ["Rome", 1, 0.5], ["Paris", 1, 9.0], [null, 1, 0.0], ["Paris", 2, 0]
  ])");
  auto encoder = KeyEncoder::Make(*schema, {0, 1}, kMaxParallelism).ValueOrDie();
  ASSERT_TRUE(encoder.Encode(*batch).ok());
  EXPECT_EQ(encoder.key(0).bytes, encoder.key(2).bytes);
  EXPECT_NE(encoder.key(0).bytes, encoder.key(1).bytes);
  EXPECT_NE(encoder.key(0).bytes, encoder.key(3).bytes);
  EXPECT_NE(encoder.key(0).bytes, encoder.key(4).bytes);
  std::vector<uint64_t> hashes;
  ASSERT_TRUE(HashKeyColumns(*batch, {0, 1}, &hashes).ok());
  for (int64_t i = 0; i < batch->num_rows(); ++i) {
    EXPECT_EQ(encoder.key(i).key_group, KeyGroupForHash(hashes[i], kMaxParallelism));
  }
  // "Paris", 1: valid flag, length 5, bytes, valid flag, little-endian 1.
  EXPECT_EQ(encoder.key(0).bytes, std::string("\1\5\0\0\0Paris\1\1\0\0\0\0\0\0\0", 19));
}

}  // namespace
}  // namespace sabot
