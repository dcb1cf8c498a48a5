#include "sabot/types/key_groups.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <set>

#include "sabot/testing/arrow_testing.h"

namespace sabot {
namespace {

using testing::BatchFromJson;

std::shared_ptr<arrow::Schema> KeySchema() {
  return arrow::schema({arrow::field("user", arrow::utf8()),
                        arrow::field("id", arrow::int64()),
                        arrow::field("score", arrow::float64())});
}

TEST(KeyGroupsTest, EqualKeysHashEqualAcrossBatchesAndSlices) {
  auto a = BatchFromJson(KeySchema(), R"([{"user": "x", "id": 1, "score": 0.0},
                                          {"user": "y", "id": 2, "score": -0.0},
                                          {"user": "x", "id": 1, "score": 1.0}])");
  auto b = BatchFromJson(KeySchema(), R"([{"user": "q", "id": 9, "score": 2.0},
                                          {"user": "x", "id": 1, "score": -0.0}])");
  std::vector<uint64_t> ha, hb;
  ASSERT_TRUE(HashKeyColumns(*a, {0, 1}, &ha).ok());
  ASSERT_TRUE(HashKeyColumns(*b->Slice(1), {0, 1}, &hb).ok());
  EXPECT_EQ(ha[0], ha[2]);
  EXPECT_EQ(ha[0], hb[0]);
  EXPECT_NE(ha[0], ha[1]);
  // 0.0 and -0.0 are the same key.
  std::vector<uint64_t> hs;
  ASSERT_TRUE(HashKeyColumns(*a, {2}, &hs).ok());
  EXPECT_EQ(hs[0], hs[1]);
}

TEST(KeyGroupsTest, NullKeysHashAlikeAndDifferFromValues) {
  auto schema = arrow::schema({arrow::field("k", arrow::int64())});
  auto batch = BatchFromJson(schema, R"([{"k": null}, {"k": 0}, {"k": null}])");
  std::vector<uint64_t> hashes;
  ASSERT_TRUE(HashKeyColumns(*batch, {0}, &hashes).ok());
  EXPECT_EQ(hashes[0], hashes[2]);
  EXPECT_NE(hashes[0], hashes[1]);
}

TEST(KeyGroupsTest, SubtasksOwnContiguousKeyGroupRangesCoveringAll) {
  const int32_t max_parallelism = 128;
  for (int parallelism : {1, 3, 4, 7, 128}) {
    std::set<int32_t> owners;
    int32_t previous = 0;
    for (int32_t group = 0; group < max_parallelism; ++group) {
      int32_t owner = SubtaskForKeyGroup(group, max_parallelism, parallelism);
      ASSERT_GE(owner, previous);
      ASSERT_LT(owner, parallelism);
      previous = owner;
      owners.insert(owner);
    }
    EXPECT_EQ(static_cast<int>(owners.size()), parallelism);
  }
}

TEST(KeyGroupsTest, KeysSpreadOverKeyGroups) {
  arrow::Int64Builder builder;
  for (int64_t i = 0; i < 10000; ++i) ASSERT_TRUE(builder.Append(i).ok());
  auto batch =
      arrow::RecordBatch::Make(arrow::schema({arrow::field("k", arrow::int64())}), 10000,
                               {builder.Finish().ValueOrDie()});
  std::vector<uint64_t> hashes;
  ASSERT_TRUE(HashKeyColumns(*batch, {0}, &hashes).ok());
  std::vector<int> per_group(128, 0);
  for (uint64_t h : hashes) ++per_group[KeyGroupForHash(h, 128)];
  for (int count : per_group) {
    EXPECT_GT(count, 40);  // 78 expected per group; a broken mixer leaves groups empty
    EXPECT_LT(count, 130);
  }
}

TEST(KeyGroupsTest, UnsupportedKeyTypeIsNamed) {
  auto schema = arrow::schema({arrow::field("tags", arrow::list(arrow::utf8()))});
  auto batch = BatchFromJson(schema, R"([{"tags": ["a"]}])");
  std::vector<uint64_t> hashes;
  auto status = HashKeyColumns(*batch, {0}, &hashes);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("list<item: string>"), std::string::npos)
      << status.message();
}

TEST(KeyGroupsTest, ResolveKeyColumnsNamesMissingColumn) {
  auto resolved = ResolveKeyColumns(*KeySchema(), {"user", "usr"});
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.status().message().find("'usr'"), std::string::npos);
  EXPECT_NE(resolved.status().message().find("user, id, score"), std::string::npos);
  EXPECT_EQ(*ResolveKeyColumns(*KeySchema(), {"score", "user"}),
            (std::vector<int>{2, 0}));
}

}  // namespace
}  // namespace sabot
