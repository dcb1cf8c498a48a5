#include "sabot/checkpoint/checkpoint_storage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

namespace fs = std::filesystem;

Result<CompletedCheckpoint> Write(CheckpointStorage* storage, int64_t id,
                                  const std::string& payload) {
  ARROW_ASSIGN_OR_RAISE(auto writer, storage->Begin(id));
  ARROW_RETURN_NOT_OK(writer->WriteFile("window#3-0.state", payload));
  ARROW_RETURN_NOT_OK(writer->WriteFile("source#0-0.state", "offset=" + payload));
  return writer->Commit({{"parallelism", "2"}});
}

TEST(CheckpointStorageTest, CommittedCheckpointIsLatestAndReadsBack) {
  testing::TempDirectory directory;
  auto storage = CheckpointStorage::Open(directory.Child("checkpoints"), 3).ValueOrDie();
  ASSERT_TRUE(Write(storage.get(), 1, "one").ok());
  ASSERT_TRUE(Write(storage.get(), 2, "two").ok());
  std::vector<std::string> skipped;
  auto latest = storage->Latest(&skipped).ValueOrDie();
  ASSERT_TRUE(latest.has_value());
  EXPECT_TRUE(skipped.empty());
  EXPECT_EQ(latest->id, 2);
  EXPECT_EQ(latest->metadata.at("parallelism"), "2");
  EXPECT_EQ(storage->ReadFile(*latest, "window#3-0.state").ValueOrDie(), "two");
  EXPECT_EQ(storage->ReadFile(*latest, "source#0-0.state").ValueOrDie(), "offset=two");
  EXPECT_TRUE(storage->ReadFile(*latest, "missing").status().IsKeyError());
}

TEST(CheckpointStorageTest, IncompleteTruncatedAndCorruptCheckpointsAreSkipped) {
  testing::TempDirectory directory;
  auto storage = CheckpointStorage::Open(directory.Child("checkpoints"), 10).ValueOrDie();
  ASSERT_TRUE(Write(storage.get(), 1, "good").ok());
  ASSERT_TRUE(Write(storage.get(), 2, "truncated").ok());
  ASSERT_TRUE(Write(storage.get(), 3, "flipped").ok());
  // 4: files written, crash before the manifest.
  auto writer = storage->Begin(4).ValueOrDie();
  ASSERT_TRUE(writer->WriteFile("window#3-0.state", "partial").ok());
  // 2: a state file cut short; 3: same size, different bytes.
  fs::resize_file(directory.Child("checkpoints/chk-2/window#3-0.state"), 3);
  std::ofstream(directory.Child("checkpoints/chk-3/window#3-0.state"),
                std::ios::binary | std::ios::trunc)
      << "FLIPPED";
  std::vector<std::string> skipped;
  auto latest = storage->Latest(&skipped).ValueOrDie();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id, 1);
  EXPECT_EQ(storage->ReadFile(*latest, "window#3-0.state").ValueOrDie(), "good");
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_NE(skipped[0].find("checkpoint 4 is incomplete"), std::string::npos)
      << skipped[0];
  EXPECT_NE(skipped[1].find("checksum"), std::string::npos) << skipped[1];
  EXPECT_NE(skipped[2].find("bytes instead of"), std::string::npos) << skipped[2];
}

TEST(CheckpointStorageTest, TruncatedManifestIsSkipped) {
  testing::TempDirectory directory;
  auto storage = CheckpointStorage::Open(directory.Child("checkpoints"), 10).ValueOrDie();
  ASSERT_TRUE(Write(storage.get(), 1, "good").ok());
  ASSERT_TRUE(Write(storage.get(), 2, "cut").ok());
  const std::string manifest = directory.Child("checkpoints/chk-2/_MANIFEST");
  fs::resize_file(manifest, fs::file_size(manifest) - 4);
  std::vector<std::string> skipped;
  EXPECT_EQ(storage->Latest(&skipped).ValueOrDie()->id, 1);
  ASSERT_EQ(skipped.size(), 1u);
}

TEST(CheckpointStorageTest, RetentionKeepsTheNewestComplete) {
  testing::TempDirectory directory;
  auto storage = CheckpointStorage::Open(directory.Child("checkpoints"), 2).ValueOrDie();
  for (int64_t id = 1; id <= 5; ++id) ASSERT_TRUE(Write(storage.get(), id, "x").ok());
  auto listed = storage->List(nullptr).ValueOrDie();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, 4);
  EXPECT_EQ(listed[1].id, 5);
  EXPECT_FALSE(fs::exists(directory.Child("checkpoints/chk-3")));
}

TEST(CheckpointStorageTest, SharedFilesAreCopiedOnceAndDeletedWhenNoCheckpointNeedsThem) {
  testing::TempDirectory directory;
  auto storage = CheckpointStorage::Open(directory.Child("checkpoints"), 2).ValueOrDie();
  auto local = [&](const std::string& name, const std::string& content) {
    const std::string path = directory.Child(name);
    std::ofstream(path) << content;
    return SharedStateFile{name, path};
  };
  const SharedStateFile a = local("a.sst", "aaaa"), b = local("b.sst", "bb"),
                        c = local("c.sst", "c");
  auto commit = [&](int64_t id, std::vector<SharedStateFile> files) {
    auto writer = storage->Begin(id).ValueOrDie();
    EXPECT_TRUE(writer->WriteFile("op-0.state", "handle").ok());
    for (const auto& file : files) EXPECT_TRUE(writer->AddSharedFile(file).ok());
    return writer->Commit().ValueOrDie();
  };
  const std::string shared = storage->SharedDirectory();
  auto first = commit(1, {a, b});
  EXPECT_EQ(first.shared_files.at("a.sst"), 4);
  // The second checkpoint reuses a.sst: a file of that name and size is not copied
  // again (names are unique for their content).
  std::ofstream(a.local_path) << "zzzz";
  commit(2, {a, c});
  std::ifstream stored(shared + "/a.sst");
  std::string content;
  stored >> content;
  EXPECT_EQ(content, "aaaa");
  // Checkpoint 3 retires checkpoint 1: b.sst is no longer needed, a.sst still is.
  commit(3, {a});
  EXPECT_TRUE(fs::exists(shared + "/a.sst"));
  EXPECT_FALSE(fs::exists(shared + "/b.sst"));
  EXPECT_TRUE(fs::exists(shared + "/c.sst"));
  auto latest = storage->Latest(nullptr).ValueOrDie();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->shared_files.size(), 1u);

  // A checkpoint whose shared file went missing is skipped with the reason.
  fs::remove(shared + "/a.sst");
  std::vector<std::string> skipped;
  auto after_loss = storage->Latest(&skipped).ValueOrDie();
  EXPECT_FALSE(after_loss.has_value());
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("shared file 'a.sst'"), std::string::npos) << skipped[0];
  auto writer = storage->Begin(4).ValueOrDie();
  EXPECT_TRUE(writer->AddSharedFile({"../escape.sst", a.local_path}).IsInvalid());
}

TEST(CheckpointStorageTest, SharedFilesOfCheckpointsThatNeverCompletedAreDeletedAtStart) {
  testing::TempDirectory directory;
  auto storage = CheckpointStorage::Open(directory.Child("checkpoints"), 3).ValueOrDie();
  const std::string local = directory.Child("x.sst");
  std::ofstream(local) << "x";
  auto complete = storage->Begin(1).ValueOrDie();
  ASSERT_TRUE(complete->AddSharedFile({"kept.sst", local}).ok());
  ASSERT_TRUE(complete->Commit().ok());
  auto crashed = storage->Begin(2).ValueOrDie();  // a run died before its manifest
  ASSERT_TRUE(crashed->AddSharedFile({"orphan.sst", local}).ok());
  ASSERT_TRUE(storage->DeleteUnreferencedSharedFiles().ok());
  EXPECT_TRUE(fs::exists(storage->SharedDirectory() + "/kept.sst"));
  EXPECT_FALSE(fs::exists(storage->SharedDirectory() + "/orphan.sst"));
}

TEST(CheckpointStorageTest, NamesAndArgumentsAreValidated) {
  testing::TempDirectory directory;
  EXPECT_TRUE(CheckpointStorage::Open(directory.Child("c"), 0).status().IsInvalid());
  auto storage = CheckpointStorage::Open(directory.Child("c"), 1).ValueOrDie();
  EXPECT_TRUE(storage->Begin(0).status().IsInvalid());
  auto writer = storage->Begin(1).ValueOrDie();
  for (const char* bad : {"../escape", "a/b", "_MANIFEST", "", ".."}) {
    EXPECT_TRUE(writer->WriteFile(bad, "x").IsInvalid()) << bad;
  }
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_TRUE(storage->Begin(1).status().IsInvalid());  // completed ids are final
}

}  // namespace
}  // namespace sabot
