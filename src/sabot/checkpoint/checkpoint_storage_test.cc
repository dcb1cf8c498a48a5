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
