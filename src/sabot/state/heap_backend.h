// The memory backend: typed values in one hash map per key group and state, so that
// state operations cost a hash lookup and no encoding. Entries of states with a TTL carry
// their last-touched time; expired ones are dropped when accessed and, incrementally, by
// CleanupExpired().
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sabot/state/bytes_map.h"
#include "sabot/state/keyed_state.h"
#include "sabot/state/state_backend.h"
#include "sabot/state/state_codec.h"
#include "sabot/state/state_snapshot.h"

namespace sabot {

class HeapTableBase {
 public:
  virtual ~HeapTableBase() = default;
  /// Removes expired entries, visiting about `budget` entries from where the previous
  /// call stopped; returns the number removed.
  virtual int64_t CleanupExpired(int64_t now, int64_t budget) = 0;
  /// Appends every live entry (state_snapshot.h); `first_group` is the backend's first
  /// key group.
  virtual void Snapshot(int64_t now, StateSnapshotWriter* writer) const = 0;
  /// Adds one entry of a snapshot (its key group is in the backend's range).
  virtual Status RestoreEntry(int32_t key_group, std::string_view key,
                              std::string_view value) = 0;
};

class HeapBackend : public KeyedStateBackend {
 public:
  HeapBackend(int32_t max_parallelism, KeyGroupRange range)
      : KeyedStateBackend(max_parallelism, range) {}

  StateBackendKind kind() const override { return StateBackendKind::kMemory; }
  Result<int64_t> CleanupExpired(int64_t budget) override;
  Status Snapshot(std::string* out) override;
  Status Restore(std::string_view snapshot) override;

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
    Entry* entry = map.Find(key.bytes);
    if (entry == nullptr || ttl_.ttl_ms <= 0) return entry;
    const int64_t now = backend_->Now();
    if (now - entry->touched >= ttl_.ttl_ms) {
      map.Erase(key.bytes);
      return nullptr;
    }
    if (ttl_.update == StateTtl::Update::kOnReadAndWrite) entry->touched = now;
    return entry;
  }

  /// The entry of `key`, created empty if absent (or expired), marked as written.
  Entry& Upsert(const StateKey& key) {
    auto& map = maps_[key.key_group - backend_->range().first];
    bool inserted;
    Entry& entry = map.FindOrInsert(key.bytes, &inserted);
    if (ttl_.ttl_ms > 0) {
      const int64_t now = backend_->Now();
      if (!inserted && now - entry.touched >= ttl_.ttl_ms) entry = Entry{};
      entry.touched = now;
    }
    return entry;
  }

  void Erase(const StateKey& key) {
    maps_[key.key_group - backend_->range().first].Erase(key.bytes);
  }

  /// Calls fn(i, entry or null) for each of `count` keys, prefetching ahead.
  template <typename Fn>
  void FindBatch(const StateKey* keys, int64_t count, Fn&& fn) {
    VisitPrefetched(keys, count, [&](int64_t i, BytesMap<Entry>& map, uint64_t hash) {
      Entry* entry = map.Find(keys[i].bytes, hash);
      if (entry != nullptr && ttl_.ttl_ms > 0) entry = Find(keys[i]);  // TTL rules
      fn(i, entry);
    });
  }

  /// Upserts `count` keys like Upsert(), prefetching ahead; fn(i, entry) writes.
  template <typename Fn>
  void UpsertBatch(const StateKey* keys, int64_t count, Fn&& fn) {
    if (ttl_.ttl_ms > 0) {
      for (int64_t i = 0; i < count; ++i) fn(i, Upsert(keys[i]));
      return;
    }
    VisitPrefetched(keys, count, [&](int64_t i, BytesMap<Entry>& map, uint64_t hash) {
      bool inserted;
      fn(i, map.FindOrInsert(keys[i].bytes, hash, &inserted));
    });
  }

  void Snapshot(int64_t now, StateSnapshotWriter* writer) const override {
    std::string value;
    for (size_t group = 0; group < maps_.size(); ++group) {
      const int32_t key_group = backend_->range().first + static_cast<int32_t>(group);
      maps_[group].ForEach([&](const std::string& key, const Entry& entry) {
        if (ttl_.ttl_ms > 0 && now - entry.touched >= ttl_.ttl_ms) return;
        value.clear();
        StateCodec<int64_t>::Append(entry.touched, &value);
        StateCodec<V>::Append(entry.value, &value);
        writer->Entry(key_group, key, value);
      });
    }
  }

  Status RestoreEntry(int32_t key_group, std::string_view key,
                      std::string_view value) override {
    ARROW_ASSIGN_OR_RAISE(int64_t touched, StateCodec<int64_t>::Read(&value));
    ARROW_ASSIGN_OR_RAISE(V decoded, DecodeStateValue<V>(value));
    bool inserted;
    Entry& entry =
        maps_[key_group - backend_->range().first].FindOrInsert(key, &inserted);
    entry.value = std::move(decoded);
    entry.touched = touched;
    return Status::OK();
  }

  int64_t CleanupExpired(int64_t now, int64_t budget) override {
    if (ttl_.ttl_ms <= 0) return 0;
    int64_t removed = 0;
    int64_t visited = 0;
    // Walks slots from a cursor so that each call does bounded work.
    for (size_t groups = 0; groups <= maps_.size() && visited < budget; ++groups) {
      auto& map = maps_[cursor_group_];
      for (; cursor_slot_ < map.capacity() && visited < budget;
           ++cursor_slot_, ++visited) {
        removed += map.EraseSlotIf(cursor_slot_, [&](const Entry& entry) {
          return now - entry.touched >= ttl_.ttl_ms;
        });
      }
      if (cursor_slot_ >= map.capacity()) {
        cursor_slot_ = 0;
        cursor_group_ = (cursor_group_ + 1) % maps_.size();
      }
    }
    return removed;
  }

 private:
  HeapBackend* backend_;
  StateTtl ttl_;
  static constexpr int64_t kPrefetchDistance = 8;

  // Calls visit(i, map, hash) for each key. Keys are hashed first and their slots
  // prefetched a few keys ahead, so that cache misses overlap instead of following one
  // another.
  template <typename Visit>
  void VisitPrefetched(const StateKey* keys, int64_t count, Visit&& visit) {
    hashes_.resize(count);
    for (int64_t i = 0; i < count; ++i) hashes_[i] = BytesMap<Entry>::Hash(keys[i].bytes);
    const int64_t first = backend_->range().first;
    for (int64_t i = 0; i < std::min<int64_t>(kPrefetchDistance, count); ++i) {
      maps_[keys[i].key_group - first].Prefetch(hashes_[i]);
    }
    for (int64_t i = 0; i < count; ++i) {
      if (i + kPrefetchDistance < count) {
        const StateKey& ahead = keys[i + kPrefetchDistance];
        maps_[ahead.key_group - first].Prefetch(hashes_[i + kPrefetchDistance]);
      }
      visit(i, maps_[keys[i].key_group - first], hashes_[i]);
    }
  }

  std::vector<BytesMap<Entry>> maps_;  // by key group - range().first
  std::vector<uint64_t> hashes_;       // reused by the batch calls
  size_t cursor_group_ = 0;
  size_t cursor_slot_ = 0;
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
  Status GetBatch(const StateKey* keys, int64_t count,
                  std::optional<T>* values) override {
    ARROW_RETURN_NOT_OK(CheckKeyGroups(keys, count));
    table_->FindBatch(keys, count, [&](int64_t i, typename HeapTable<T>::Entry* entry) {
      values[i] = entry == nullptr ? std::optional<T>() : std::optional<T>(entry->value);
    });
    return Status::OK();
  }
  Status UpdateBatch(const StateKey* keys, int64_t count, const T* values) override {
    ARROW_RETURN_NOT_OK(CheckKeyGroups(keys, count));
    table_->UpsertBatch(keys, count, [&](int64_t i, typename HeapTable<T>::Entry& entry) {
      entry.value = values[i];
    });
    return Status::OK();
  }

 private:
  Status CheckKeyGroups(const StateKey* keys, int64_t count) const {
    for (int64_t i = 0; i < count; ++i)
      ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(keys[i]));
    return Status::OK();
  }
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
