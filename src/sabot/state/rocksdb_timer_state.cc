// Timers of the RocksDB backend: one column family per timer state whose keys sort by
// key group, then timestamp (timer_state_internal.h). The earliest timestamp of every
// key group is cached in memory, so that NextTimestamp() and a PopDue() with nothing due
// read no disk; PopDue() merges the due key groups' ranges in timestamp order with one
// iterator per group. Deleted and fired timers leave tombstones at the front of their
// group's range: iterators start at the cached earliest timestamp to skip them.
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "sabot/state/rocksdb_backend_internal.h"
#include "sabot/state/timer_state_internal.h"

namespace sabot {

// A RocksStateCache only to hear of restores (which write the column family directly):
// they make the cached earliest timestamps stale until the next call rebuilds them.
class RocksTimerState : public TimerState, public RocksStateCache {
 public:
  static Result<std::unique_ptr<TimerState>> Make(RocksDbBackend* backend,
                                                  const StateDescriptor& descriptor) {
    ARROW_ASSIGN_OR_RAISE(int cf, backend->AddColumnFamily(descriptor, /*timers=*/true));
    return std::unique_ptr<TimerState>(new RocksTimerState(backend, cf));
  }

  RocksTimerState(RocksDbBackend* backend, int cf)
      : backend_(backend),
        cf_(cf),
        earliest_(static_cast<size_t>(backend->range().size())) {
    backend_->RegisterCache(this);
  }
  ~RocksTimerState() override {
    if (backend_alive_) backend_->UnregisterCache(this);
  }

  Status Register(const StateKey& key, int64_t timestamp, int64_t name_space) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    key_.clear();
    internal::AppendTimerKey(key, timestamp, name_space, &key_);
    ARROW_RETURN_NOT_OK(backend_->Put(cf_, key_, {}));
    if (!stale_) {
      std::optional<int64_t>& earliest = Earliest(key.key_group);
      if (!earliest || timestamp < *earliest) earliest = timestamp;
    }
    return Status::OK();
  }

  Status Delete(const StateKey& key, int64_t timestamp, int64_t name_space) override {
    ARROW_RETURN_NOT_OK(backend_->CheckKeyGroup(key));
    key_.clear();
    internal::AppendTimerKey(key, timestamp, name_space, &key_);
    ARROW_RETURN_NOT_OK(backend_->Delete(cf_, key_));
    if (!stale_ && Earliest(key.key_group) == timestamp) {
      // No timer of the group is earlier: seek from the timestamp, past the tombstones
      // of earlier timers.
      start_.clear();
      internal::AppendTimerGroupPrefix(key.key_group, &start_);
      internal::AppendOrderedInt64(timestamp, &start_);
      ARROW_ASSIGN_OR_RAISE(Earliest(key.key_group),
                            FirstTimestamp(key.key_group, start_));
    }
    return Status::OK();
  }

  Result<std::vector<KeyedTimer>> PopDue(int64_t time, int64_t limit) override {
    std::vector<KeyedTimer> due;
    if (limit <= 0) return due;
    ARROW_RETURN_NOT_OK(Refresh());
    // One cursor per key group with due timers, in a min-heap by (timestamp, group):
    // the order of the keys across groups.
    std::vector<std::unique_ptr<Cursor>> cursors;
    std::vector<Cursor*> heap;
    const auto later = [](const Cursor* a, const Cursor* b) {
      return std::tie(a->timestamp, a->group) > std::tie(b->timestamp, b->group);
    };
    for (size_t i = 0; i < earliest_.size(); ++i) {
      if (!earliest_[i] || *earliest_[i] > time) continue;
      const int32_t group = backend_->range().first + static_cast<int32_t>(i);
      start_.clear();
      internal::AppendTimerGroupPrefix(group, &start_);
      internal::AppendOrderedInt64(*earliest_[i], &start_);
      cursors.push_back(std::make_unique<Cursor>(group));
      Cursor* cursor = cursors.back().get();
      cursor->iterator = NewGroupIterator(cursor);
      cursor->iterator->Seek(start_);
      ARROW_ASSIGN_OR_RAISE(std::optional<int64_t> first, CurrentTimestamp(cursor));
      Earliest(group) = first;
      if (!first || *first > time) continue;
      cursor->timestamp = *first;
      heap.push_back(cursor);
      std::push_heap(heap.begin(), heap.end(), later);
    }
    std::vector<std::string> popped;
    while (!heap.empty() && static_cast<int64_t>(due.size()) < limit) {
      std::pop_heap(heap.begin(), heap.end(), later);
      Cursor* cursor = heap.back();
      heap.pop_back();
      const rocksdb::Slice key = cursor->iterator->key();
      ARROW_ASSIGN_OR_RAISE(KeyedTimer timer,
                            internal::DecodeTimerKey({key.data(), key.size()}));
      due.push_back(std::move(timer));
      popped.emplace_back(key.data(), key.size());
      cursor->iterator->Next();
      ARROW_ASSIGN_OR_RAISE(std::optional<int64_t> next, CurrentTimestamp(cursor));
      Earliest(cursor->group) = next;
      if (next && *next <= time) {
        cursor->timestamp = *next;
        heap.push_back(cursor);
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
    ARROW_RETURN_NOT_OK(backend_->WriteBatch(cf_, {}, {}, popped));
    return due;
  }

  Result<std::optional<int64_t>> NextTimestamp() override {
    ARROW_RETURN_NOT_OK(Refresh());
    std::optional<int64_t> next;
    for (const auto& earliest : earliest_) {
      if (earliest && (!next || *earliest < *next)) next = earliest;
    }
    return next;
  }

  Status Flush(bool drop) override {
    if (drop) stale_ = true;
    return Status::OK();
  }
  void Detach() override { backend_alive_ = false; }

 private:
  // An iterator over one key group's range; the bound must outlive the iterator.
  struct Cursor {
    explicit Cursor(int32_t group) : group(group) {}
    int32_t group;
    int64_t timestamp = 0;
    std::string upper;
    rocksdb::Slice upper_slice;
    std::unique_ptr<rocksdb::Iterator> iterator;
  };

  RocksDbBackend::Impl& impl() { return *backend_->impl_; }

  std::optional<int64_t>& Earliest(int32_t group) {
    return earliest_[static_cast<size_t>(group - backend_->range().first)];
  }

  std::unique_ptr<rocksdb::Iterator> NewGroupIterator(Cursor* cursor) {
    rocksdb::ReadOptions read = impl().read;
    if (cursor->group < 0xffff) {
      internal::AppendTimerGroupPrefix(cursor->group + 1, &cursor->upper);
      cursor->upper_slice = rocksdb::Slice(cursor->upper);
      read.iterate_upper_bound = &cursor->upper_slice;
    }
    return std::unique_ptr<rocksdb::Iterator>(
        impl().db->NewIterator(read, impl().families[cf_]));
  }

  // The timestamp of the cursor's current timer; nullopt past its group's range.
  static Result<std::optional<int64_t>> CurrentTimestamp(Cursor* cursor) {
    rocksdb::Iterator* it = cursor->iterator.get();
    if (!it->Valid()) {
      ARROW_RETURN_NOT_OK(FromRocks(it->status(), "timer scan"));
      return std::optional<int64_t>();
    }
    if (it->key().size() < internal::kTimerKeyHeader) {
      return Status::IOError("timer key is truncated");
    }
    return std::optional<int64_t>(internal::ReadOrderedInt64(it->key().data() + 2));
  }

  // The earliest timestamp of `group` at or after key `from`.
  Result<std::optional<int64_t>> FirstTimestamp(int32_t group, std::string_view from) {
    Cursor cursor(group);
    cursor.iterator = NewGroupIterator(&cursor);
    cursor.iterator->Seek(rocksdb::Slice(from.data(), from.size()));
    return CurrentTimestamp(&cursor);
  }

  // Rebuilds the earliest timestamp of every key group after a restore: one seek per
  // key group that has timers.
  Status Refresh() {
    if (!stale_) return Status::OK();
    std::fill(earliest_.begin(), earliest_.end(), std::nullopt);
    std::unique_ptr<rocksdb::Iterator> it(
        impl().db->NewIterator(impl().read, impl().families[cf_]));
    const KeyGroupRange& range = backend_->range();
    for (int32_t group = range.first; group <= range.last;) {
      start_.clear();
      internal::AppendTimerGroupPrefix(group, &start_);
      it->Seek(start_);
      if (!it->Valid()) break;
      const rocksdb::Slice key = it->key();
      if (key.size() < internal::kTimerKeyHeader) {
        return Status::IOError("timer key is truncated");
      }
      const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
      const int32_t found = static_cast<int32_t>(bytes[0]) << 8 | bytes[1];
      if (found > range.last) break;
      Earliest(found) = internal::ReadOrderedInt64(key.data() + 2);
      group = found + 1;
    }
    ARROW_RETURN_NOT_OK(FromRocks(it->status(), "timer scan"));
    stale_ = false;
    return Status::OK();
  }

  RocksDbBackend* backend_;
  int cf_;
  // Earliest timestamp per key group (index: group - range().first); nullopt: none.
  std::vector<std::optional<int64_t>> earliest_;
  bool stale_ = true;  // rebuilt on first use, as the column family may hold timers
  bool backend_alive_ = true;
  std::string key_;
  std::string start_;
};

namespace internal {

Result<std::unique_ptr<TimerState>> MakeRocksTimerState(
    KeyedStateBackend* backend, const StateDescriptor& descriptor) {
  return RocksTimerState::Make(static_cast<RocksDbBackend*>(backend), descriptor);
}

}  // namespace internal
}  // namespace sabot
