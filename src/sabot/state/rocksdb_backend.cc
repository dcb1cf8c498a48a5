#include "sabot/state/rocksdb_backend.h"

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>

#include <map>
#include "sabot/state/rocksdb_backend_internal.h"
#include "sabot/state/state_snapshot.h"

namespace sabot {

Status FromRocks(const rocksdb::Status& status, const char* what) {
  if (status.ok()) return Status::OK();
  return Status::IOError("RocksDB ", what, ": ", status.ToString());
}

// Drops entries whose time stamp (the first 8 bytes of the value) is older than the TTL.
class TtlCompactionFilter : public rocksdb::CompactionFilter {
 public:
  TtlCompactionFilter(int64_t ttl_ms, std::function<int64_t()> clock)
      : ttl_ms_(ttl_ms), clock_(std::move(clock)) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    if (value.size() < sizeof(int64_t)) return false;
    int64_t touched;
    std::memcpy(&touched, value.data(), sizeof(touched));
    return clock_() - touched >= ttl_ms_;
  }
  const char* Name() const override { return "sabot.TtlCompactionFilter"; }

 private:
  int64_t ttl_ms_;
  std::function<int64_t()> clock_;
};

namespace {

// The prefix of a state key is its StateKey part: key group, length and key bytes
// (without a MapState user key). Hashing the memtable by it makes a point lookup a hash
// probe plus a search among that key's entries instead of a search of the whole
// memtable, and a MapState scan reads one hash bucket.
class StateKeyPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "sabot.StateKeyPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), kHeader + Length(key));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() >= kHeader && key.size() >= kHeader + Length(key);
  }

 private:
  static constexpr size_t kHeader = 6;  // key group (2) + length (4)
  static size_t Length(const rocksdb::Slice& key) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
    return static_cast<size_t>(bytes[2]) << 24 | static_cast<size_t>(bytes[3]) << 16 |
           static_cast<size_t>(bytes[4]) << 8 | static_cast<size_t>(bytes[5]);
  }
};

}  // namespace

RocksDbBackend::RocksDbBackend(int32_t max_parallelism, KeyGroupRange range)
    : KeyedStateBackend(max_parallelism, range), impl_(std::make_unique<Impl>()) {}

RocksDbBackend::~RocksDbBackend() {
  for (RocksStateCache* cache : impl_->caches) cache->Detach();
  CloseDb();
  std::error_code error;
  std::filesystem::remove_all(impl_->staging, error);
}

void RocksDbBackend::CloseDb() {
  if (!impl_->db) return;
  for (auto* family : impl_->families) {
    if (family != nullptr) {
      impl_->db->DestroyColumnFamilyHandle(family).PermitUncheckedError();
    }
  }
  if (impl_->default_family != nullptr) {
    impl_->db->DestroyColumnFamilyHandle(impl_->default_family).PermitUncheckedError();
    impl_->default_family = nullptr;
  }
  std::fill(impl_->families.begin(), impl_->families.end(), nullptr);
  impl_->db->Close().PermitUncheckedError();
  impl_->db.reset();
}

Result<std::unique_ptr<KeyedStateBackend>> RocksDbBackend::Open(
    const StateBackendConfig& config, int32_t max_parallelism, KeyGroupRange range) {
  if (config.directory.empty()) {
    return Status::Invalid(
        "the RocksDB state backend needs a directory: set StateBackendConfig.directory");
  }
  std::error_code error;
  std::filesystem::create_directories(config.directory, error);
  if (error) {
    return Status::IOError("cannot create state directory '", config.directory,
                           "': ", error.message());
  }
  if (!std::filesystem::is_empty(config.directory)) {
    return Status::Invalid("state directory '", config.directory,
                           "' is not empty; each subtask needs a fresh directory");
  }
  std::unique_ptr<RocksDbBackend> backend(new RocksDbBackend(max_parallelism, range));
  Impl& impl = *backend->impl_;
  impl.directory = config.directory;
  impl.incremental = config.incremental_checkpoints;
  impl.value_cache_bytes = std::max<int64_t>(0, config.value_cache_bytes);
  impl.staging = config.directory + ".checkpoints";
  std::filesystem::remove_all(impl.staging, error);
  impl.instance = RandomInstanceId();
  impl.options.create_if_missing = true;
  impl.options.write_buffer_size = static_cast<size_t>(config.write_buffer_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(config.block_cache_bytes));
  // State is read by point lookups: bloom filters on SST files and on the memtable let
  // a lookup skip files (and memtable levels) that cannot hold the key.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  impl.options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  impl.options.memtable_whole_key_filtering = true;
  impl.options.memtable_prefix_bloom_size_ratio = 0.05;
  impl.options.prefix_extractor = std::make_shared<StateKeyPrefix>();
  impl.options.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory());
  impl.options.allow_concurrent_memtable_write = false;
  // Durability comes from checkpoints, not from a log of every write.
  impl.write.disableWAL = true;
  rocksdb::DB* db = nullptr;
  ARROW_RETURN_NOT_OK(
      FromRocks(rocksdb::DB::Open(impl.options, config.directory, &db), "open"));
  impl.db.reset(db);
  return std::unique_ptr<KeyedStateBackend>(std::move(backend));
}

Result<int> RocksDbBackend::ColumnFamily(const StateDescriptor& descriptor) {
  return AddColumnFamily(descriptor, /*timers=*/false);
}

Result<int> RocksDbBackend::AddColumnFamily(const StateDescriptor& descriptor,
                                            bool timers) {
  auto it = impl_->family_of_state.find(descriptor.name);
  if (it != impl_->family_of_state.end()) {
    if (impl_->is_timers[it->second] != timers) {
      return Status::Invalid("state '", descriptor.name,
                             "' was already registered as another kind of state");
    }
    return it->second;
  }
  rocksdb::ColumnFamilyOptions options(impl_->options);
  if (timers) {
    // Timers are read by ordered range scans within a key group, which the state key
    // prefix (and the hash memtable built on it) cannot serve.
    options.prefix_extractor.reset();
    options.memtable_factory = std::make_shared<rocksdb::SkipListFactory>();
    options.memtable_prefix_bloom_size_ratio = 0;
    options.memtable_whole_key_filtering = false;
  } else if (descriptor.ttl.ttl_ms > 0) {
    impl_->filters.push_back(std::make_unique<TtlCompactionFilter>(
        descriptor.ttl.ttl_ms, [this] { return Now(); }));
    options.compaction_filter = impl_->filters.back().get();
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  ARROW_RETURN_NOT_OK(FromRocks(
      impl_->db->CreateColumnFamily(options, descriptor.name, &handle), "create state"));
  impl_->families.push_back(handle);
  impl_->family_options.push_back(options);
  impl_->family_names.push_back(descriptor.name);
  impl_->has_ttl.push_back(!timers && descriptor.ttl.ttl_ms > 0);
  impl_->is_timers.push_back(timers);
  const int index = static_cast<int>(impl_->families.size()) - 1;
  impl_->family_of_state.emplace(descriptor.name, index);
  return index;
}

Result<bool> RocksDbBackend::Get(int cf, std::string_view key, std::string* value) {
  const rocksdb::Status status = impl_->db->Get(
      impl_->read, impl_->families[cf], rocksdb::Slice(key.data(), key.size()), value);
  if (status.IsNotFound()) return false;
  ARROW_RETURN_NOT_OK(FromRocks(status, "get"));
  return true;
}

Status RocksDbBackend::Put(int cf, std::string_view key, std::string_view value) {
  return FromRocks(impl_->db->Put(impl_->write, impl_->families[cf],
                                  rocksdb::Slice(key.data(), key.size()),
                                  rocksdb::Slice(value.data(), value.size())),
                   "put");
}

Status RocksDbBackend::Delete(int cf, std::string_view key) {
  return FromRocks(impl_->db->Delete(impl_->write, impl_->families[cf],
                                     rocksdb::Slice(key.data(), key.size())),
                   "delete");
}

Status RocksDbBackend::MultiGet(int cf, const std::vector<std::string>& keys,
                                std::vector<std::string>* values,
                                std::vector<uint8_t>* found) {
  const size_t count = keys.size();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> pinned(count);
  std::vector<rocksdb::Status> statuses(count);
  impl_->db->MultiGet(impl_->read, impl_->families[cf], count, slices.data(),
                      pinned.data(), statuses.data());
  values->resize(count);
  found->assign(count, 0);
  for (size_t i = 0; i < count; ++i) {
    if (statuses[i].IsNotFound()) continue;
    ARROW_RETURN_NOT_OK(FromRocks(statuses[i], "multi-get"));
    (*values)[i].assign(pinned[i].data(), pinned[i].size());
    (*found)[i] = 1;
  }
  return Status::OK();
}

Status RocksDbBackend::PutBatch(int cf, const std::vector<std::string>& keys,
                                const std::vector<std::string>& values) {
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < keys.size(); ++i) {
    ARROW_RETURN_NOT_OK(
        FromRocks(batch.Put(impl_->families[cf], keys[i], values[i]), "batch put"));
  }
  return FromRocks(impl_->db->Write(impl_->write, &batch), "write batch");
}

Status RocksDbBackend::WriteBatch(int cf, const std::vector<std::string>& put_keys,
                                  const std::vector<std::string>& put_values,
                                  const std::vector<std::string>& delete_keys) {
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < put_keys.size(); ++i) {
    ARROW_RETURN_NOT_OK(FromRocks(
        batch.Put(impl_->families[cf], put_keys[i], put_values[i]), "batch put"));
  }
  for (const std::string& key : delete_keys) {
    ARROW_RETURN_NOT_OK(
        FromRocks(batch.Delete(impl_->families[cf], key), "batch delete"));
  }
  return FromRocks(impl_->db->Write(impl_->write, &batch), "write batch");
}

void RocksDbBackend::RegisterCache(RocksStateCache* cache) {
  impl_->caches.push_back(cache);
}

void RocksDbBackend::UnregisterCache(RocksStateCache* cache) {
  auto& caches = impl_->caches;
  caches.erase(std::remove(caches.begin(), caches.end(), cache), caches.end());
}

Status RocksDbBackend::FlushCaches(bool drop) {
  for (RocksStateCache* cache : impl_->caches) ARROW_RETURN_NOT_OK(cache->Flush(drop));
  return Status::OK();
}

int64_t RocksDbBackend::value_cache_bytes() const { return impl_->value_cache_bytes; }

Status RocksDbBackend::Scan(
    int cf, std::string_view prefix,
    const std::function<Status(std::string_view, std::string_view)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(impl_->read, impl_->families[cf]));
  const rocksdb::Slice start(prefix.data(), prefix.size());
  for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
    ARROW_RETURN_NOT_OK(visit(std::string_view(it->key().data(), it->key().size()),
                              std::string_view(it->value().data(), it->value().size())));
  }
  return FromRocks(it->status(), "scan");
}

// Point tombstones in one write batch, not a range tombstone: every iterator
// RocksDB 7.8 opens re-fragments the memtable's range tombstones, so thousands of them
// (one per cleared window pane and key group) made every later scan slow.
Status RocksDbBackend::DeletePrefix(int cf, std::string_view prefix) {
  rocksdb::WriteBatch batch;
  ARROW_RETURN_NOT_OK(Scan(cf, prefix, [&](std::string_view key, std::string_view) {
    return FromRocks(
        batch.Delete(impl_->families[cf], rocksdb::Slice(key.data(), key.size())),
        "batch delete");
  }));
  if (batch.Count() == 0) return Status::OK();
  return FromRocks(impl_->db->Write(impl_->write, &batch), "write batch");
}

Status RocksDbBackend::Snapshot(std::string* out) {
  ARROW_RETURN_NOT_OK(FlushCaches(/*drop=*/false));
  StateSnapshotWriter writer(kind(), out);
  // One consistent view of every column family; the hash memtable iterates in key
  // order only with total_order_seek.
  const rocksdb::Snapshot* snapshot = impl_->db->GetSnapshot();
  rocksdb::ReadOptions read = impl_->read;
  read.snapshot = snapshot;
  read.total_order_seek = true;
  Status status;
  for (const auto& [name, cf] : impl_->family_of_state) {
    writer.BeginState(name);
    std::unique_ptr<rocksdb::Iterator> it(
        impl_->db->NewIterator(read, impl_->families[cf]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const rocksdb::Slice key = it->key();
      if (key.size() < 2) continue;
      const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
      const int32_t key_group = static_cast<int32_t>(bytes[0]) << 8 | bytes[1];
      writer.Entry(key_group, std::string_view(key.data(), key.size()),
                   std::string_view(it->value().data(), it->value().size()));
    }
    status = FromRocks(it->status(), "snapshot scan");
    writer.EndState();
    if (!status.ok()) break;
  }
  impl_->db->ReleaseSnapshot(snapshot);
  writer.End();
  return status;
}

Status RocksDbBackend::Restore(std::string_view snapshot) {
  ARROW_RETURN_NOT_OK(FlushCaches(/*drop=*/true));
  if (snapshot.substr(0, 4) == "SBRI") return RestoreIncremental(snapshot);
  ARROW_ASSIGN_OR_RAISE(auto reader, StateSnapshotReader::Make(snapshot, kind()));
  constexpr size_t kBatchBytes = size_t{4} << 20;
  std::string_view name;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(bool more, reader.NextState(&name));
    if (!more) return Status::OK();
    auto it = impl_->family_of_state.find(std::string(name));
    if (it == impl_->family_of_state.end()) {
      return Status::Invalid("the snapshot holds state '", name,
                             "', which the operator did not create before restoring");
    }
    rocksdb::ColumnFamilyHandle* family = impl_->families[it->second];
    rocksdb::WriteBatch batch;
    int32_t key_group;
    std::string_view key, value;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(bool entry, reader.NextEntry(&key_group, &key, &value));
      if (!entry) break;
      if (!range().Contains(key_group)) continue;
      ARROW_RETURN_NOT_OK(
          FromRocks(batch.Put(family, rocksdb::Slice(key.data(), key.size()),
                              rocksdb::Slice(value.data(), value.size())),
                    "restore"));
      if (batch.GetDataSize() >= kBatchBytes) {
        ARROW_RETURN_NOT_OK(FromRocks(impl_->db->Write(impl_->write, &batch), "restore"));
        batch.Clear();
      }
    }
    ARROW_RETURN_NOT_OK(FromRocks(impl_->db->Write(impl_->write, &batch), "restore"));
  }
}

Result<int64_t> RocksDbBackend::CleanupExpired(int64_t) {
  for (size_t i = 0; i < impl_->families.size(); ++i) {
    if (!impl_->has_ttl[i]) continue;
    rocksdb::CompactRangeOptions options;
    ARROW_RETURN_NOT_OK(
        FromRocks(impl_->db->CompactRange(options, impl_->families[i], nullptr, nullptr),
                  "compact"));
  }
  return 0;
}

}  // namespace sabot
