#include "sabot/runtime/exchange.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <map>

#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::RecordBatch> Keys(int64_t n) {
  arrow::Int64Builder builder;
  for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(builder.Append(i % 97).ok());
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("k", arrow::int64())}), n,
                                  {builder.Finish().ValueOrDie()});
}

// Drains every batch currently queued in a gate (the writer side has finished).
std::vector<std::shared_ptr<arrow::RecordBatch>> Drain(InputGate* gate) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  EXPECT_TRUE(gate->Push(0, StreamElement::EndOfInput()).ok());
  while (true) {
    auto event = gate->Next();
    EXPECT_TRUE(event.ok());
    if (event->element.kind == StreamElement::Kind::kEndOfInput) break;
    if (event->element.kind == StreamElement::Kind::kBatch)
      batches.push_back(event->element.batch);
  }
  return batches;
}

TEST(ExchangeWriterTest, HashSendsEveryKeyToTheSubtaskOwningItsKeyGroup) {
  const int kConsumers = 3;
  std::vector<std::unique_ptr<InputGate>> gates;
  std::vector<ChannelTarget> targets;
  for (int i = 0; i < kConsumers; ++i) {
    gates.push_back(std::make_unique<InputGate>(std::vector<int>{0}, 64));
    targets.push_back({gates.back().get(), 0});
  }
  ExchangeWriter writer(Partitioning::kHash, targets, {0}, 128, 0);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(writer.Collect(Keys(1000)).ok());

  int64_t total = 0;
  std::map<int64_t, int> owner;
  for (int consumer = 0; consumer < kConsumers; ++consumer) {
    for (const auto& batch : Drain(gates[consumer].get())) {
      std::vector<uint64_t> hashes;
      ASSERT_TRUE(HashKeyColumns(*batch, {0}, &hashes).ok());
      auto keys = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
      for (int64_t row = 0; row < batch->num_rows(); ++row) {
        EXPECT_EQ(SubtaskForKeyGroup(KeyGroupForHash(hashes[row], 128), 128, kConsumers),
                  consumer);
        auto [it, inserted] = owner.emplace(keys->Value(row), consumer);
        EXPECT_EQ(it->second, consumer)
            << "key " << keys->Value(row) << " went to two subtasks";
      }
      total += batch->num_rows();
    }
  }
  EXPECT_EQ(total, 4000);
  EXPECT_EQ(owner.size(), 97u);
}

TEST(ExchangeWriterTest, RebalanceRotatesWholeBatchesAndBroadcastCopiesToAll) {
  InputGate a({0}, 16), b({0}, 16);
  ExchangeWriter rebalance(Partitioning::kRebalance, {{&a, 0}, {&b, 0}}, {}, 128, 0);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(rebalance.Collect(Keys(10)).ok());
  EXPECT_EQ(Drain(&a).size(), 2u);
  EXPECT_EQ(Drain(&b).size(), 2u);

  InputGate c({0}, 16), d({0}, 16);
  ExchangeWriter broadcast(Partitioning::kBroadcast, {{&c, 0}, {&d, 0}}, {}, 128, 0);
  ASSERT_TRUE(broadcast.Collect(Keys(10)).ok());
  EXPECT_EQ(Drain(&c).size(), 1u);
  EXPECT_EQ(Drain(&d).size(), 1u);
}

}  // namespace
}  // namespace sabot
