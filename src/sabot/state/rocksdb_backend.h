// The RocksDB backend: one RocksDB instance per operator subtask in a local directory,
// one column family per state, keys prefixed by key group so that a key group is one
// contiguous range (for snapshots and redistribution). Values are StateCodec-encoded,
// preceded by the last-touched time when the state has a TTL; a compaction filter drops
// expired entries. The write-ahead log is off: checkpoints provide durability, as in
// Flink.
//
// Key layout: key group (2 bytes, big-endian) | key length (4 bytes, big-endian) | key
// bytes (state_key.h) | user key (MapState only, StateCodec-encoded).
// Timer states (timer_state.h) have column families of their own, with keys sorted by
// key group, then timestamp (layout in timer_state_internal.h), an ordered memtable and
// no prefix extractor, because timers are read by range scans, not point lookups.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sabot/state/bytes_map.h"
#include "sabot/state/keyed_state.h"
#include "sabot/state/state_backend.h"
#include "sabot/state/state_codec.h"

namespace sabot {

/// A write-back cache over one state's entries, registered with its backend.
class RocksStateCache {
 public:
  virtual ~RocksStateCache() = default;
  /// Writes dirty entries; `drop` also empties the cache.
  virtual Status Flush(bool drop) = 0;
  /// The backend is going away: later calls must not reach it.
  virtual void Detach() = 0;
};

class RocksDbBackend : public KeyedStateBackend {
 public:
  static Result<std::unique_ptr<KeyedStateBackend>> Open(const StateBackendConfig& config,
                                                         int32_t max_parallelism,
                                                         KeyGroupRange range);
  ~RocksDbBackend() override;

  StateBackendKind kind() const override { return StateBackendKind::kRocksDb; }
  Result<int64_t> CleanupExpired(int64_t budget) override;
  Status Snapshot(std::string* out) override;
  Status SnapshotForCheckpoint(int64_t checkpoint_id, std::string* out,
                               std::vector<SharedStateFile>* shared_files) override;
  void NotifyCheckpointComplete(int64_t checkpoint_id) override;
  /// Takes a canonical snapshot (state_snapshot.h) or an incremental handle.
  Status Restore(std::string_view snapshot) override;

  /// A state's column family, created on first use; `ttl_ms` > 0 installs the
  /// compaction filter.
  Result<int> ColumnFamily(const StateDescriptor& descriptor);

  // Byte-level operations on column family `cf` (from ColumnFamily()).
  Result<bool> Get(int cf, std::string_view key, std::string* value);
  Status Put(int cf, std::string_view key, std::string_view value);
  Status Delete(int cf, std::string_view key);
  /// Looks `keys` up in one MultiGet; found[i] tells whether values[i] was filled.
  Status MultiGet(int cf, const std::vector<std::string>& keys,
                  std::vector<std::string>* values, std::vector<uint8_t>* found);
  /// Writes all pairs in one write batch.
  Status PutBatch(int cf, const std::vector<std::string>& keys,
                  const std::vector<std::string>& values);
  /// Calls `visit(key, value)` for every entry whose key starts with `prefix`.
  Status Scan(int cf, std::string_view prefix,
              const std::function<Status(std::string_view, std::string_view)>& visit);
  /// Deletes every entry whose key starts with `prefix`.
  Status DeletePrefix(int cf, std::string_view prefix);
  /// Writes puts and deletes in one write batch.
  Status WriteBatch(int cf, const std::vector<std::string>& put_keys,
                    const std::vector<std::string>& put_values,
                    const std::vector<std::string>& delete_keys);

  /// Write-back caches of states; flushed before snapshots, dropped before restores.
  void RegisterCache(RocksStateCache* cache);
  void UnregisterCache(RocksStateCache* cache);
  Status FlushCaches(bool drop);
  int64_t value_cache_bytes() const;

 private:
  struct Impl;
  friend class RocksTimerState;
  RocksDbBackend(int32_t max_parallelism, KeyGroupRange range);
  // ColumnFamily() for a state (`timers` false) or a timer state (true); a name keeps
  // the kind it was created with.
  Result<int> AddColumnFamily(const StateDescriptor& descriptor, bool timers);
  Status ReopenDb();
  void CloseDb();
  Status RestoreIncremental(std::string_view handle);
  // Writes the files of an incremental handle into `directory` (links to shared
  // files, private files' bytes); returns the local names of the shared ones.
  Status MaterializeHandle(std::string_view handle, const std::string& directory,
                           KeyGroupRange* range,
                           std::map<std::string, std::string>* shared_of_local);
  Status CopyEntriesFrom(const std::string& directory);
  std::unique_ptr<Impl> impl_;
};

/// Builds RocksDB keys and TTL-stamped values for one state.
class RocksStateCodec {
 public:
  RocksStateCodec(RocksDbBackend* backend, int cf, StateTtl ttl)
      : backend_(backend), cf_(cf), ttl_(ttl) {}

  /// The key of `key`'s entry (followed by `user_key` bytes for maps).
  const std::string& Key(const StateKey& key, std::string_view user_key = {}) {
    key_.clear();
    key_.push_back(static_cast<char>((key.key_group >> 8) & 0xff));
    key_.push_back(static_cast<char>(key.key_group & 0xff));
    const uint32_t length = static_cast<uint32_t>(key.bytes.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      key_.push_back(static_cast<char>((length >> shift) & 0xff));
    }
    key_.append(key.bytes);
    key_.append(user_key);
    return key_;
  }

  /// Reads the payload of an entry; nullopt when absent or expired (then deleted).
  /// With read-and-write TTL the entry's time is refreshed.
  Result<std::optional<std::string_view>> Read(const std::string& key) {
    ARROW_ASSIGN_OR_RAISE(bool found, backend_->Get(cf_, key, &value_));
    if (!found) return std::optional<std::string_view>();
    return Unwrap(key, value_);
  }

  /// Unwraps a stored value (payload after the time stamp), deleting it if expired.
  Result<std::optional<std::string_view>> Unwrap(std::string_view key,
                                                 std::string_view stored) {
    if (ttl_.ttl_ms <= 0) return std::optional<std::string_view>(stored);
    ARROW_ASSIGN_OR_RAISE(int64_t touched, StateCodec<int64_t>::Read(&stored));
    const int64_t now = backend_->Now();
    if (now - touched >= ttl_.ttl_ms) {
      ARROW_RETURN_NOT_OK(backend_->Delete(cf_, key));
      return std::optional<std::string_view>();
    }
    if (ttl_.update == StateTtl::Update::kOnReadAndWrite) {
      std::string refreshed;
      StateCodec<int64_t>::Append(now, &refreshed);
      refreshed.append(stored);
      ARROW_RETURN_NOT_OK(backend_->Put(cf_, key, refreshed));
    }
    return std::optional<std::string_view>(stored);
  }

  /// `payload` as stored: preceded by the current time when the state has a TTL.
  std::string Stamp(std::string_view payload) const {
    std::string stored;
    if (ttl_.ttl_ms > 0) StateCodec<int64_t>::Append(backend_->Now(), &stored);
    stored.append(payload);
    return stored;
  }

  /// Writes `payload` stamped with the current time when the state has a TTL.
  Status Write(std::string_view key, std::string_view payload) {
    if (ttl_.ttl_ms <= 0) return backend_->Put(cf_, key, payload);
    stamped_.clear();
    StateCodec<int64_t>::Append(backend_->Now(), &stamped_);
    stamped_.append(payload);
    return backend_->Put(cf_, key, stamped_);
  }

  RocksDbBackend* backend() const { return backend_; }
  int cf() const { return cf_; }

 private:
  RocksDbBackend* backend_;
  int cf_;
  StateTtl ttl_;
  std::string key_;
  std::string value_;
  std::string stamped_;
};

// Values of states without TTL go through a write-back cache of decoded values: a hit
// costs a hash lookup instead of a RocksDB read or write, and dirty entries reach
// RocksDB in one write batch when the cache fills (then it is emptied) or before a
// snapshot. States with TTL read and write RocksDB directly (their time stamps live
// there).
template <typename T>
class RocksValueState : public ValueState<T>, public RocksStateCache {
 public:
  RocksValueState(RocksStateCodec codec, StateTtl ttl)
      : codec_(std::move(codec)),
        capacity_(ttl.ttl_ms > 0 ? 0 : codec_.backend()->value_cache_bytes()) {
    if (capacity_ > 0) codec_.backend()->RegisterCache(this);
  }
  ~RocksValueState() override {
    if (capacity_ > 0 && backend_alive_) codec_.backend()->UnregisterCache(this);
  }

  Result<std::optional<T>> Get(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    const std::string& rocks_key = codec_.Key(key);
    if (capacity_ > 0) {
      if (Cached* cached = cache_.Find(rocks_key)) {
        if (!cached->present) return std::optional<T>();
        return std::optional<T>(cached->value);
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto payload, codec_.Read(rocks_key));
    std::optional<T> value;
    if (payload) {
      ARROW_ASSIGN_OR_RAISE(value, DecodeStateValue<T>(*payload));
    }
    if (capacity_ > 0) ARROW_RETURN_NOT_OK(Remember(rocks_key, value, /*dirty=*/false));
    return value;
  }
  Status Update(const StateKey& key, const T& value) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    if (capacity_ > 0) return Remember(codec_.Key(key), value, /*dirty=*/true);
    payload_.clear();
    StateCodec<T>::Append(value, &payload_);
    return codec_.Write(codec_.Key(key), payload_);
  }
  Status Clear(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    if (capacity_ > 0) return Remember(codec_.Key(key), std::nullopt, /*dirty=*/true);
    return codec_.backend()->Delete(codec_.cf(), codec_.Key(key));
  }
  Status GetBatch(const StateKey* keys, int64_t count,
                  std::optional<T>* values) override {
    ARROW_RETURN_NOT_OK(EncodeKeys(keys, count));
    // Cache hits are answered at once; the misses go to RocksDB in one MultiGet.
    misses_.clear();
    miss_keys_.clear();
    for (int64_t i = 0; i < count; ++i) {
      Cached* cached = capacity_ > 0 ? cache_.Find(batch_keys_[i]) : nullptr;
      if (cached == nullptr) {
        misses_.push_back(i);
        miss_keys_.push_back(batch_keys_[i]);
      } else {
        values[i] = cached->present ? std::optional<T>(cached->value) : std::nullopt;
      }
    }
    if (misses_.empty()) return Status::OK();
    ARROW_RETURN_NOT_OK(
        codec_.backend()->MultiGet(codec_.cf(), miss_keys_, &batch_values_, &found_));
    for (size_t m = 0; m < misses_.size(); ++m) {
      std::optional<T>& value = values[misses_[m]];
      value.reset();
      if (found_[m]) {
        ARROW_ASSIGN_OR_RAISE(auto payload,
                              codec_.Unwrap(miss_keys_[m], batch_values_[m]));
        if (payload) {
          ARROW_ASSIGN_OR_RAISE(value, DecodeStateValue<T>(*payload));
        }
      }
      if (capacity_ > 0) ARROW_RETURN_NOT_OK(Remember(miss_keys_[m], value, false));
    }
    return Status::OK();
  }
  Status UpdateBatch(const StateKey* keys, int64_t count, const T* values) override {
    ARROW_RETURN_NOT_OK(EncodeKeys(keys, count));
    if (capacity_ > 0) {
      for (int64_t i = 0; i < count; ++i) {
        ARROW_RETURN_NOT_OK(Remember(batch_keys_[i], values[i], /*dirty=*/true));
      }
      return Status::OK();
    }
    batch_values_.resize(count);
    for (int64_t i = 0; i < count; ++i) {
      payload_.clear();
      StateCodec<T>::Append(values[i], &payload_);
      batch_values_[i] = codec_.Stamp(payload_);
    }
    return codec_.backend()->PutBatch(codec_.cf(), batch_keys_, batch_values_);
  }

  Status Flush(bool drop) override {
    if (dirty_ > 0) {
      std::vector<std::string> put_keys, put_values, delete_keys;
      cache_.ForEach([&](const std::string& key, const Cached& cached) {
        if (!cached.dirty) return;
        if (cached.present) {
          payload_.clear();
          StateCodec<T>::Append(cached.value, &payload_);
          put_keys.push_back(key);
          put_values.push_back(payload_);
        } else {
          delete_keys.push_back(key);
        }
      });
      ARROW_RETURN_NOT_OK(
          codec_.backend()->WriteBatch(codec_.cf(), put_keys, put_values, delete_keys));
      if (!drop) {
        for (const std::string& key : put_keys) cache_.Find(key)->dirty = false;
        for (const std::string& key : delete_keys) cache_.Find(key)->dirty = false;
      }
      dirty_ = 0;
    }
    if (drop) {
      cache_ = BytesMap<Cached>();
      bytes_ = 0;
    }
    return Status::OK();
  }
  void Detach() override { backend_alive_ = false; }

 private:
  struct Cached {
    T value{};
    bool present = false;
    bool dirty = false;
  };

  // Caches `value` (nullopt: absent) for `rocks_key`; a full cache is written back and
  // emptied first.
  Status Remember(const std::string& rocks_key, const std::optional<T>& value,
                  bool dirty) {
    const int64_t entry_bytes = EntryBytes(rocks_key, value);
    if (bytes_ + entry_bytes > capacity_ && cache_.Find(rocks_key) == nullptr) {
      ARROW_RETURN_NOT_OK(Flush(/*drop=*/true));
    }
    bool inserted;
    Cached& cached = cache_.FindOrInsert(rocks_key, &inserted);
    if (inserted) bytes_ += entry_bytes;
    if (dirty && !cached.dirty) ++dirty_;
    cached.present = value.has_value();
    if (value) cached.value = *value;
    cached.dirty = cached.dirty || dirty;
    return Status::OK();
  }

  // Memory an entry costs: its key, the slot (with hash and padding), and the contents
  // of string values (a value's growth after insertion is not tracked).
  static int64_t EntryBytes(const std::string& rocks_key, const std::optional<T>& value) {
    int64_t bytes = static_cast<int64_t>(rocks_key.size() + sizeof(Cached) + 48);
    if constexpr (std::is_same_v<T, std::string>) {
      if (value) bytes += static_cast<int64_t>(value->size());
    }
    return bytes;
  }

  Status EncodeKeys(const StateKey* keys, int64_t count) {
    batch_keys_.resize(count);
    for (int64_t i = 0; i < count; ++i) {
      ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(keys[i]));
      batch_keys_[i] = codec_.Key(keys[i]);
    }
    return Status::OK();
  }
  RocksStateCodec codec_;
  const int64_t capacity_;  // bytes
  int64_t bytes_ = 0;
  bool backend_alive_ = true;
  BytesMap<Cached> cache_;
  int64_t dirty_ = 0;
  std::string payload_;
  std::vector<std::string> batch_keys_;
  std::vector<std::string> batch_values_;
  std::vector<uint8_t> found_;
  std::vector<int64_t> misses_;
  std::vector<std::string> miss_keys_;
};

template <typename K, typename V>
class RocksMapState : public MapState<K, V> {
 public:
  explicit RocksMapState(RocksStateCodec codec) : codec_(std::move(codec)) {}
  Result<std::optional<V>> Get(const StateKey& key, const K& user_key) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    ARROW_ASSIGN_OR_RAISE(auto payload, codec_.Read(codec_.Key(key, UserKey(user_key))));
    if (!payload) return std::optional<V>();
    ARROW_ASSIGN_OR_RAISE(V value, DecodeStateValue<V>(*payload));
    return std::optional<V>(std::move(value));
  }
  Status Put(const StateKey& key, const K& user_key, const V& value) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    payload_.clear();
    StateCodec<V>::Append(value, &payload_);
    return codec_.Write(codec_.Key(key, UserKey(user_key)), payload_);
  }
  Status PutBatch(const StateKey* keys, const K* user_keys, const V* values,
                  int64_t count) override {
    batch_keys_.resize(count);
    batch_values_.resize(count);
    for (int64_t i = 0; i < count; ++i) {
      ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(keys[i]));
      batch_keys_[i] = codec_.Key(keys[i], UserKey(user_keys[i]));
      payload_.clear();
      StateCodec<V>::Append(values[i], &payload_);
      batch_values_[i] = codec_.Stamp(payload_);
    }
    return codec_.backend()->PutBatch(codec_.cf(), batch_keys_, batch_values_);
  }
  Status Remove(const StateKey& key, const K& user_key) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    return codec_.backend()->Delete(codec_.cf(), codec_.Key(key, UserKey(user_key)));
  }
  Result<std::vector<std::pair<K, V>>> Entries(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    const std::string prefix = codec_.Key(key);
    std::vector<std::pair<std::string, std::string>> raw;
    ARROW_RETURN_NOT_OK(codec_.backend()->Scan(
        codec_.cf(), prefix, [&](std::string_view k, std::string_view v) {
          raw.emplace_back(std::string(k), std::string(v));
          return Status::OK();
        }));
    std::vector<std::pair<K, V>> entries;
    for (const auto& [stored_key, stored] : raw) {
      ARROW_ASSIGN_OR_RAISE(auto payload, codec_.Unwrap(stored_key, stored));
      if (!payload) continue;
      ARROW_ASSIGN_OR_RAISE(
          K user_key,
          DecodeStateValue<K>(std::string_view(stored_key).substr(prefix.size())));
      ARROW_ASSIGN_OR_RAISE(V value, DecodeStateValue<V>(*payload));
      entries.emplace_back(std::move(user_key), std::move(value));
    }
    return entries;
  }
  Status Clear(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    return codec_.backend()->DeletePrefix(codec_.cf(), codec_.Key(key));
  }

 private:
  const std::string& UserKey(const K& user_key) {
    user_key_.clear();
    StateCodec<K>::Append(user_key, &user_key_);
    return user_key_;
  }
  RocksStateCodec codec_;
  std::string payload_;
  std::string user_key_;
  std::vector<std::string> batch_keys_;
  std::vector<std::string> batch_values_;
};

// A list is one entry: the concatenated encodings of its elements.
template <typename T>
class RocksListState : public ListState<T> {
 public:
  explicit RocksListState(RocksStateCodec codec) : codec_(std::move(codec)) {}
  Status Add(const StateKey& key, const T& value) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    const std::string entry = codec_.Key(key);
    ARROW_ASSIGN_OR_RAISE(auto payload, codec_.Read(entry));
    buffer_ = payload ? std::string(*payload) : std::string();
    StateCodec<T>::Append(value, &buffer_);
    return codec_.Write(entry, buffer_);
  }
  Result<std::vector<T>> Get(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    ARROW_ASSIGN_OR_RAISE(auto payload, codec_.Read(codec_.Key(key)));
    std::vector<T> values;
    if (!payload) return values;
    std::string_view rest = *payload;
    while (!rest.empty()) {
      ARROW_ASSIGN_OR_RAISE(T value, StateCodec<T>::Read(&rest));
      values.push_back(std::move(value));
    }
    return values;
  }
  Status Update(const StateKey& key, const std::vector<T>& values) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    buffer_.clear();
    for (const T& value : values) StateCodec<T>::Append(value, &buffer_);
    return codec_.Write(codec_.Key(key), buffer_);
  }
  Status Clear(const StateKey& key) override {
    ARROW_RETURN_NOT_OK(codec_.backend()->CheckKeyGroup(key));
    return codec_.backend()->Delete(codec_.cf(), codec_.Key(key));
  }

 private:
  RocksStateCodec codec_;
  std::string buffer_;
};

}  // namespace sabot
