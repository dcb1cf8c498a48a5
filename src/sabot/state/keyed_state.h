// Keyed state primitives, as in Flink: every call names the key (StateKey) whose state it
// reads or writes; state is partitioned by key group. Create them from a backend with
// the Make*State functions (state_factory.h); the same code runs on the memory and the
// RocksDB backend.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/state/state_key.h"

namespace sabot {

/// Time to live of state entries (wall-clock milliseconds from the backend's clock).
struct StateTtl {
  /// 0: entries never expire.
  int64_t ttl_ms = 0;
  enum class Update {
    /// The timer restarts when an entry is created or written.
    kOnCreateAndWrite,
    /// ... and also when it is read.
    kOnReadAndWrite,
  };
  Update update = Update::kOnCreateAndWrite;
  // Expired entries are never returned (Flink's NeverReturnExpired); they are removed
  // when accessed and by the backend's background cleanup.
};

struct StateDescriptor {
  /// Unique per operator; names the column family / table of the state.
  std::string name;
  StateTtl ttl;
};

template <typename T>
class ValueState {
 public:
  virtual ~ValueState() = default;
  /// The key's value, or nullopt if unset or expired.
  virtual Result<std::optional<T>> Get(const StateKey& key) = 0;
  virtual Status Update(const StateKey& key, const T& value) = 0;
  virtual Status Clear(const StateKey& key) = 0;

  /// The values of `count` keys (a batch's rows): backends overlap the lookups
  /// (prefetching, RocksDB MultiGet), which is much faster than one Get per key.
  virtual Status GetBatch(const StateKey* keys, int64_t count, std::optional<T>* values) {
    for (int64_t i = 0; i < count; ++i) {
      ARROW_ASSIGN_OR_RAISE(values[i], Get(keys[i]));
    }
    return Status::OK();
  }
  /// Sets the values of `count` keys, in order (a key listed twice keeps the last).
  virtual Status UpdateBatch(const StateKey* keys, int64_t count, const T* values) {
    for (int64_t i = 0; i < count; ++i) ARROW_RETURN_NOT_OK(Update(keys[i], values[i]));
    return Status::OK();
  }
};

template <typename K, typename V>
class MapState {
 public:
  virtual ~MapState() = default;
  virtual Result<std::optional<V>> Get(const StateKey& key, const K& user_key) = 0;
  virtual Status Put(const StateKey& key, const K& user_key, const V& value) = 0;
  /// Puts `count` entries, in order; RocksDB writes them in one write batch.
  virtual Status PutBatch(const StateKey* keys, const K* user_keys, const V* values,
                          int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      ARROW_RETURN_NOT_OK(Put(keys[i], user_keys[i], values[i]));
    }
    return Status::OK();
  }
  virtual Status Remove(const StateKey& key, const K& user_key) = 0;
  /// All live entries of the key (order unspecified).
  virtual Result<std::vector<std::pair<K, V>>> Entries(const StateKey& key) = 0;
  virtual Status Clear(const StateKey& key) = 0;
};

template <typename T>
class ListState {
 public:
  virtual ~ListState() = default;
  virtual Status Add(const StateKey& key, const T& value) = 0;
  /// The key's elements in insertion order (empty if none or expired).
  virtual Result<std::vector<T>> Get(const StateKey& key) = 0;
  virtual Status Update(const StateKey& key, const std::vector<T>& values) = 0;
  virtual Status Clear(const StateKey& key) = 0;
};

/// Folds added values with a reduce function (sum, max, ...) into one value per key.
template <typename T>
class ReducingState {
 public:
  using ReduceFunction = std::function<T(const T&, const T&)>;
  virtual ~ReducingState() = default;
  virtual Status Add(const StateKey& key, const T& value) = 0;
  virtual Result<std::optional<T>> Get(const StateKey& key) = 0;
  virtual Status Clear(const StateKey& key) = 0;
};

/// Folds inputs into an accumulator and reads a result from it (average, top-k, ...).
template <typename In, typename Acc, typename Out>
struct AggregateFunction {
  std::function<Acc()> create;
  std::function<void(Acc*, const In&)> add;
  std::function<Out(const Acc&)> result;
};

template <typename In, typename Out>
class AggregatingState {
 public:
  virtual ~AggregatingState() = default;
  virtual Status Add(const StateKey& key, const In& value) = 0;
  virtual Result<std::optional<Out>> Get(const StateKey& key) = 0;
  virtual Status Clear(const StateKey& key) = 0;
};

}  // namespace sabot
