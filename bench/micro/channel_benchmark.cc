// The cost of moving one batch across a channel between two threads (one hop of an
// exchange), and of hash-partitioning a batch over subtasks.
#include <arrow/api.h>
#include <benchmark/benchmark.h>

#include <thread>

#include "sabot/runtime/exchange.h"
#include "sabot/runtime/input_gate.h"
#include "sabot/types/key_groups.h"

namespace sabot {
namespace {

std::shared_ptr<arrow::RecordBatch> Keys(int64_t rows, int64_t distinct) {
  arrow::Int64Builder builder;
  for (int64_t i = 0; i < rows; ++i) {
    if (!builder.Append((i * 2654435761LL) % distinct).ok()) std::abort();
  }
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("k", arrow::int64())}),
                                  rows, {builder.Finish().ValueOrDie()});
}

// Producer thread pushes batches, the benchmark thread consumes them: time per batch.
void BM_ChannelHop(benchmark::State& state) {
  const int capacity = static_cast<int>(state.range(0));
  constexpr int64_t kBatchesPerIteration = 10'000;
  auto batch = Keys(1024, 1024);
  for (auto _ : state) {
    InputGate gate({0}, capacity);
    std::thread producer([&] {
      for (int64_t i = 0; i < kBatchesPerIteration; ++i) {
        if (!gate.Push(0, StreamElement::Batch(batch)).ok()) std::abort();
      }
      if (!gate.Push(0, StreamElement::EndOfInput()).ok()) std::abort();
    });
    int64_t received = 0;
    while (true) {
      auto event = gate.Next();
      if (event->element.kind == StreamElement::Kind::kEndOfInput) break;
      ++received;
    }
    producer.join();
    if (received != kBatchesPerIteration) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * kBatchesPerIteration);
}
BENCHMARK(BM_ChannelHop)->Arg(4)->Arg(64)->UseRealTime();

void BM_HashKeyColumns(benchmark::State& state) {
  auto batch = Keys(64 * 1024, state.range(0));
  std::vector<uint64_t> hashes;
  for (auto _ : state) {
    if (!HashKeyColumns(*batch, {0}, &hashes).ok()) std::abort();
    benchmark::DoNotOptimize(hashes.data());
  }
  state.SetItemsProcessed(state.iterations() * batch->num_rows());
}
BENCHMARK(BM_HashKeyColumns)->Arg(1000)->Arg(1'000'000);

// Hash exchange into 4 consumers whose queues are drained inline.
void BM_HashPartition(benchmark::State& state) {
  auto batch = Keys(64 * 1024, 1'000'000);
  std::vector<std::unique_ptr<InputGate>> gates;
  std::vector<ChannelTarget> targets;
  for (int i = 0; i < 4; ++i) {
    gates.push_back(std::make_unique<InputGate>(std::vector<int>{0}, 8));
    targets.push_back({gates.back().get(), 0});
  }
  ExchangeWriter writer(Partitioning::kHash, targets, {0}, 128, 0);
  for (auto _ : state) {
    if (!writer.Collect(batch).ok()) std::abort();
    for (auto& gate : gates) benchmark::DoNotOptimize(gate->Next());
  }
  state.SetItemsProcessed(state.iterations() * batch->num_rows());
}
BENCHMARK(BM_HashPartition);

}  // namespace
}  // namespace sabot
