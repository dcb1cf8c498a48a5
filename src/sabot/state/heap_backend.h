// The memory backend: typed values in one hash map per key group and state, so that
// state operations cost a hash lookup and no encoding. Entries of states with a TTL carry
// their last-touched time; expired ones are dropped when accessed and, incrementally, by
// CleanupExpired().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sabot/state/keyed_state.h"
#include "sabot/state/state_backend.h"

namespace sabot {

struct StateKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view bytes) const {
    return std::hash<std::string_view>{}(bytes);
  }
};
struct StateKeyEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

class HeapTableBase {
 public:
  virtual ~HeapTableBase() = default;
  /// Removes expired entries, visiting about `budget` entries from where the previous
  /// call stopped; returns the number removed.
  virtual int64_t CleanupExpired(int64_t now, int64_t budget) = 0;
};

class HeapBackend : public KeyedStateBackend {
 public:
  HeapBackend(int32_t max_parallelism, KeyGroupRange range)
      : KeyedStateBackend(max_parallelism, range) {}

  StateBackendKind kind() const override { return StateBackendKind::kMemory; }
  Result<int64_t> CleanupExpired(int64_t budget) override;

  /// The table of state `name` (created on first use); one value type per name.
  template <typename Table>
  Result<Table*> GetTable(const StateDescriptor& descriptor) {
    auto it = tables_.find(descriptor.name);
    if (it != tables_.end()) {
      auto* table = dynamic_cast<Table*>(it->second.get());
      if (table == nullptr) {
        return Status::Invalid("state '", descriptor.name,
                               "' was already registered with another type");
      }
      return table;
    }
    auto table = std::make_unique<Table>(this, descriptor.ttl);
    Table* raw = table.get();
    tables_.emplace(descriptor.name, std::move(table));
    return raw;
  }

 private:
  std::map<std::string, std::unique_ptr<HeapTableBase>> tables_;
};

template <typename V>
class HeapTable : public HeapTableBase {
 public:
  struct Entry {
    V value{};
    int64_t touched = 0;
  };

  HeapTable(HeapBackend* backend, StateTtl ttl)
      : backend_(backend), ttl_(ttl), maps_(backend->range().size()) {}

  /// The live entry of `key`, or null; an expired entry is removed.
  Entry* Find(const StateKey& key) {
    auto& map = maps_[key.key_group - backend_->range().first];
    auto it = map.find(key.bytes);
    if (it == map.end()) return nullptr;
    if (ttl_.ttl_ms > 0) {
      const int64_t now = backend_->Now();
      if (now - it->second.touched >= ttl_.ttl_ms) {
        map.erase(it);
        return nullptr;
      }
      if (ttl_.update == StateTtl::Update::kOnReadAndWrite) it->second.touched = now;
    }
    return &it->second;
  }

  /// The entry of `key`, created empty if absent (or expired), marked as written.
  Entry& Upsert(const StateKey& key) {
    auto& map = maps_[key.key_group - backend_->range().first];
    auto it = map.find(key.bytes);
    if (it == map.end()) {
      it = map.emplace(std::string(key.bytes), Entry{}).first;
    } else if (ttl_.ttl_ms > 0 && backend_->Now() - it->second.touched >= ttl_.ttl_ms) {
      it->second = Entry{};
    }
    if (ttl_.ttl_ms > 0) it->second.touched = backend_->Now();
    return it->second;
  }

  void Erase(const StateKey& key) {
    auto& map = maps_[key.key_group - backend_->range().first];
    auto it = map.find(key.bytes);
    if (it != map.end()) map.erase(it);
  }

  int64_t CleanupExpired(int64_t now, int64_t budget) override {
    if (ttl_.ttl_ms <= 0) return 0;
    int64_t removed = 0;
    int64_t visited = 0;
    // Walks buckets from a cursor so that each call does bounded work.
    for (size_t groups = 0; groups <= maps_.size() && visited < budget; ++groups) {
      auto& map = maps_[cursor_group_];
      while (cursor_bucket_ < map.bucket_count() && visited < budget) {
        std::vector<std::string> expired;
        for (auto it = map.begin(cursor_bucket_); it != map.end(cursor_bucket_); ++it) {
          ++visited;
          if (now - it->second.touched >= ttl_.ttl_ms) expired.push_back(it->first);
        }
        for (const auto& key : expired) map.erase(key);
        removed += static_cast<int64_t>(expired.size());
        ++cursor_bucket_;
      }
      if (cursor_bucket_ >= map.bucket_count()) {
        cursor_bucket_ = 0;
        cursor_group_ = (cursor_group_ + 1) % maps_.size();
      }
    }
    return removed;
  }

 private:
  HeapBackend* backend_;
  StateTtl ttl_;
  std::vector<std::unordered_map<std::string, Entry, StateKeyHash, StateKeyEqual>> maps_;
  size_t cursor_group_ = 0;
  size_t cursor_bucket_ = 0;
};

template <typename T>
class HeapValueState : public ValueState<T> {
 public:
  explicit HeapValueState(HeapTable<T>* table, HeapBackend* backend)
      : table_(table), backend_(backend) {}
  Result<std::optional<T>> Get(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    auto* entry = table_->Find(key);
    if (entry == nullptr) return std::optional<T>();
    return std::optional<T>(entry->value);
  }
  Status Update(const StateKey& key, const T& value) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Upsert(key).value = value;
    return Status::OK();
  }
  Status Clear(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Erase(key);
    return Status::OK();
  }

 private:
  HeapTable<T>* table_;
  HeapBackend* backend_;
};

// Map entries expire one by one, as in Flink: the inner map keeps a touched time per
// user key, the outer table none.
template <typename K, typename V>
class HeapMapState : public MapState<K, V> {
 public:
  using Inner = std::unordered_map<K, std::pair<V, int64_t>>;
  HeapMapState(HeapTable<Inner>* table, HeapBackend* backend, StateTtl ttl)
      : table_(table), backend_(backend), ttl_(ttl) {}

  Result<std::optional<V>> Get(const StateKey& key, const K& user_key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    auto* entry = table_->Find(key);
    if (entry == nullptr) return std::optional<V>();
    auto it = entry->value.find(user_key);
    if (it == entry->value.end()) return std::optional<V>();
    if (Expired(it->second.second)) {
      entry->value.erase(it);
      return std::optional<V>();
    }
    if (ttl_.ttl_ms > 0 && ttl_.update == StateTtl::Update::kOnReadAndWrite) {
      it->second.second = backend_->Now();
    }
    return std::optional<V>(it->second.first);
  }
  Status Put(const StateKey& key, const K& user_key, const V& value) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Upsert(key).value[user_key] = {value, ttl_.ttl_ms > 0 ? backend_->Now() : 0};
    return Status::OK();
  }
  Status Remove(const StateKey& key, const K& user_key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    if (auto* entry = table_->Find(key)) entry->value.erase(user_key);
    return Status::OK();
  }
  Result<std::vector<std::pair<K, V>>> Entries(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    std::vector<std::pair<K, V>> entries;
    auto* entry = table_->Find(key);
    if (entry == nullptr) return entries;
    for (auto it = entry->value.begin(); it != entry->value.end();) {
      if (Expired(it->second.second)) {
        it = entry->value.erase(it);
      } else {
        entries.emplace_back(it->first, it->second.first);
        ++it;
      }
    }
    return entries;
  }
  Status Clear(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Erase(key);
    return Status::OK();
  }

 private:
  bool Expired(int64_t touched) const {
    return ttl_.ttl_ms > 0 && backend_->Now() - touched >= ttl_.ttl_ms;
  }
  HeapTable<Inner>* table_;
  HeapBackend* backend_;
  StateTtl ttl_;
};

template <typename T>
class HeapListState : public ListState<T> {
 public:
  HeapListState(HeapTable<std::vector<T>>* table, HeapBackend* backend)
      : table_(table), backend_(backend) {}
  Status Add(const StateKey& key, const T& value) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Upsert(key).value.push_back(value);
    return Status::OK();
  }
  Result<std::vector<T>> Get(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    auto* entry = table_->Find(key);
    return entry == nullptr ? std::vector<T>() : entry->value;
  }
  Status Update(const StateKey& key, const std::vector<T>& values) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Upsert(key).value = values;
    return Status::OK();
  }
  Status Clear(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Erase(key);
    return Status::OK();
  }

 private:
  HeapTable<std::vector<T>>* table_;
  HeapBackend* backend_;
};

template <typename T>
class HeapReducingState : public ReducingState<T> {
 public:
  HeapReducingState(HeapTable<std::optional<T>>* table, HeapBackend* backend,
                    typename ReducingState<T>::ReduceFunction reduce)
      : table_(table), backend_(backend), reduce_(std::move(reduce)) {}
  Status Add(const StateKey& key, const T& value) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    auto& slot = table_->Upsert(key).value;
    slot = slot ? reduce_(*slot, value) : value;
    return Status::OK();
  }
  Result<std::optional<T>> Get(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    auto* entry = table_->Find(key);
    return entry == nullptr ? std::optional<T>() : entry->value;
  }
  Status Clear(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Erase(key);
    return Status::OK();
  }

 private:
  HeapTable<std::optional<T>>* table_;
  HeapBackend* backend_;
  typename ReducingState<T>::ReduceFunction reduce_;
};

template <typename In, typename Acc, typename Out>
class HeapAggregatingState : public AggregatingState<In, Out> {
 public:
  HeapAggregatingState(HeapTable<std::optional<Acc>>* table, HeapBackend* backend,
                       AggregateFunction<In, Acc, Out> function)
      : table_(table), backend_(backend), function_(std::move(function)) {}
  Status Add(const StateKey& key, const In& value) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    auto& slot = table_->Upsert(key).value;
    if (!slot) slot = function_.create();
    function_.add(&*slot, value);
    return Status::OK();
  }
  Result<std::optional<Out>> Get(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    auto* entry = table_->Find(key);
    if (entry == nullptr || !entry->value) return std::optional<Out>();
    return std::optional<Out>(function_.result(*entry->value));
  }
  Status Clear(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    table_->Erase(key);
    return Status::OK();
  }

 private:
  HeapTable<std::optional<Acc>>* table_;
  HeapBackend* backend_;
  AggregateFunction<In, Acc, Out> function_;
};

}  // namespace sabot
