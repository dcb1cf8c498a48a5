// State benchmark: keyed state operations per CPU second on the memory and RocksDB
// backends, printed as JSON. Keys are 100 K distinct 9-byte encoded int64 keys spread
// over all key groups, visited in a shuffled order; values are int64 (ValueState) and
// (int64 → double) entries, 4 per key (MapState). The RocksDB instance lives in a fresh
// directory under the system temp directory with its default 64 MB block cache.
//
// Usage: state_benchmark [memory operations (default 20000000)] [keys (default 100000)]
#include <sabot/common/time.h>
#include <sabot/state/state_factory.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int32_t kMaxParallelism = 128;
// Distinct keys (second argument); 100 K by default.
int64_t kKeys = 100'000;

struct Measurement {
  std::string backend;
  std::string operation;
  int64_t operations;
  double wall_seconds;
  double cpu_seconds;
};

struct Keys {
  std::vector<std::string> bytes;
  std::vector<sabot::StateKey> keys;  // in visiting order
};

Keys MakeKeys() {
  Keys keys;
  keys.bytes.reserve(kKeys);
  for (int64_t i = 0; i < kKeys; ++i) {
    std::string bytes(1, '\1');
    bytes.append(reinterpret_cast<const char*>(&i), sizeof(i));
    keys.bytes.push_back(std::move(bytes));
  }
  std::vector<int64_t> order(kKeys);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  for (int64_t i : order) {
    keys.keys.push_back({static_cast<int32_t>(i % kMaxParallelism), keys.bytes[i]});
  }
  return keys;
}

template <typename Fn>
arrow::Result<Measurement> Time(const std::string& backend, const std::string& operation,
                                int64_t operations, Fn&& fn) {
  const int64_t start = sabot::MonotonicNanos();
  const double cpu_start = sabot::ProcessCpuSeconds();
  for (int64_t i = 0; i < operations; ++i) ARROW_RETURN_NOT_OK(fn(i));
  return Measurement{backend, operation, operations,
                     (sabot::MonotonicNanos() - start) / 1e9,
                     sabot::ProcessCpuSeconds() - cpu_start};
}

arrow::Status Run(sabot::StateBackendKind kind, int64_t operations, const Keys& keys,
                  std::vector<Measurement>* results) {
  const std::string name =
      kind == sabot::StateBackendKind::kMemory ? "memory" : "rocksdb";
  const std::string directory =
      (std::filesystem::temp_directory_path() /
       ("sabot-state-benchmark-" + std::to_string(sabot::MonotonicNanos())))
          .string();
  sabot::StateBackendConfig config;
  config.kind = kind;
  config.directory = directory;
  ARROW_ASSIGN_OR_RAISE(
      auto backend,
      sabot::KeyedStateBackend::Make(config, kMaxParallelism, {0, kMaxParallelism - 1}));
  ARROW_ASSIGN_OR_RAISE(auto value,
                        sabot::MakeValueState<int64_t>(backend.get(), {"value"}));
  ARROW_ASSIGN_OR_RAISE(auto map,
                        (sabot::MakeMapState<int64_t, double>(backend.get(), {"map"})));
  const auto& k = keys.keys;
  auto key = [&](int64_t i) -> const sabot::StateKey& { return k[i % kKeys]; };
  int64_t sink = 0;
  ARROW_ASSIGN_OR_RAISE(auto update,
                        Time(name, "value_update", operations,
                             [&](int64_t i) { return value->Update(key(i), i); }));
  results->push_back(update);
  ARROW_ASSIGN_OR_RAISE(auto get, Time(name, "value_get", operations, [&](int64_t i) {
                          ARROW_ASSIGN_OR_RAISE(auto v, value->Get(key(i)));
                          sink += v.value_or(0);
                          return arrow::Status::OK();
                        }));
  results->push_back(get);
  // Batched, as operators use state: one call per 1024 rows of a batch.
  constexpr int64_t kBatch = 1024;
  std::vector<sabot::StateKey> batch_keys(kBatch);
  std::vector<int64_t> batch_values(kBatch);
  std::vector<std::optional<int64_t>> batch_results(kBatch);
  ARROW_ASSIGN_OR_RAISE(
      auto update_batch,
      Time(name, "value_update_batched", operations / kBatch, [&](int64_t b) {
        for (int64_t j = 0; j < kBatch; ++j) {
          batch_keys[j] = key(b * kBatch + j);
          batch_values[j] = b * kBatch + j;
        }
        return value->UpdateBatch(batch_keys.data(), kBatch, batch_values.data());
      }));
  update_batch.operations *= kBatch;
  results->push_back(update_batch);
  ARROW_ASSIGN_OR_RAISE(
      auto get_batch,
      Time(name, "value_get_batched", operations / kBatch, [&](int64_t b) {
        for (int64_t j = 0; j < kBatch; ++j) batch_keys[j] = key(b * kBatch + j);
        ARROW_RETURN_NOT_OK(
            value->GetBatch(batch_keys.data(), kBatch, batch_results.data()));
        sink += batch_results[0].value_or(0);
        return arrow::Status::OK();
      }));
  get_batch.operations *= kBatch;
  results->push_back(get_batch);
  ARROW_ASSIGN_OR_RAISE(auto put, Time(name, "map_put", operations, [&](int64_t i) {
                          return map->Put(key(i), (i / kKeys) % 4, 0.5 * i);
                        }));
  results->push_back(put);
  ARROW_ASSIGN_OR_RAISE(auto map_get, Time(name, "map_get", operations, [&](int64_t i) {
                          ARROW_ASSIGN_OR_RAISE(auto v,
                                                map->Get(key(i), (i / kKeys) % 4));
                          sink += static_cast<int64_t>(v.value_or(0));
                          return arrow::Status::OK();
                        }));
  results->push_back(map_get);
  backend.reset();
  std::filesystem::remove_all(directory);
  if (sink == 42) std::fprintf(stderr, " ");  // keeps the reads from being optimized out
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t operations = argc > 1 ? std::atoll(argv[1]) : 20'000'000;
  if (argc > 2) kKeys = std::atoll(argv[2]);
  const Keys keys = MakeKeys();
  std::vector<Measurement> results;
  for (auto kind :
       {sabot::StateBackendKind::kMemory, sabot::StateBackendKind::kRocksDb}) {
    // RocksDB operations cost microseconds: a tenth of the count keeps the run short.
    const int64_t n =
        kind == sabot::StateBackendKind::kMemory ? operations : operations / 10;
    auto status = Run(kind, n, keys, &results);
    if (!status.ok()) {
      std::fprintf(stderr, "state benchmark failed: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  std::printf("{\n  \"benchmark\": \"state\",\n  \"keys\": %lld,\n  \"results\": [\n",
              static_cast<long long>(kKeys));
  for (size_t i = 0; i < results.size(); ++i) {
    const Measurement& m = results[i];
    std::printf(
        "    {\"backend\": \"%s\", \"operation\": \"%s\", \"operations\": %lld, "
        "\"wall_seconds\": %.3f, \"cpu_seconds\": %.3f, \"ops_per_second\": %.0f, "
        "\"ops_per_cpu_second\": %.0f}%s\n",
        m.backend.c_str(), m.operation.c_str(), static_cast<long long>(m.operations),
        m.wall_seconds, m.cpu_seconds, m.operations / m.wall_seconds,
        m.operations / m.cpu_seconds, i + 1 < results.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
  return 0;
}
