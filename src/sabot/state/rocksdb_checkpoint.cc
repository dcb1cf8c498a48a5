// Incremental checkpoints of the RocksDB backend. The synchronous part is RocksDB's
// native checkpoint: memtables are flushed and the instance's files are hard-linked
// into a staging directory, which costs a flush, not a copy. The handle written into the
// checkpoint names every SST file by a unique shared name; the checkpoint storage copies
// only files it does not hold yet (asynchronously, on the coordinator's thread), so
// each checkpoint uploads what changed since the previous one, as Flink's incremental
// RocksDB checkpoints do. The small private files (MANIFEST, CURRENT, OPTIONS) travel
// inside the handle.
//
// Handle layout (little-endian; "bytes" is a uint32 length and the bytes):
//   "SBRI" | version (u8, 1) | first key group (i32) | last key group (i32) |
//   file count (u32) | per file: local name (bytes) | u8 1 + shared name (bytes)
//                                                   | u8 0 + content (bytes)
//
// Restoring a handle whose key groups are exactly this backend's into an empty backend
// reopens the instance from the files (no copy of entries). Otherwise (rescaling, or a
// second handle) the files are opened read-only and the entries of this backend's key
// groups are copied.
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>

#include "sabot/state/rocksdb_backend_internal.h"
#include "sabot/state/state_codec.h"

namespace sabot {
namespace {

namespace fs = std::filesystem;

constexpr char kHandleMagic[] = "SBRI";

bool IsSstFile(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".sst") == 0;
}

Status ReadLocalFile(const std::string& path, std::string* out) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) return Status::IOError("cannot read '", path, "': ", error.message());
  out->resize(size);
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Status::IOError("cannot open '", path, "'");
  const size_t read = std::fread(out->data(), 1, out->size(), file);
  std::fclose(file);
  if (read != out->size()) return Status::IOError("cannot read '", path, "'");
  return Status::OK();
}

Status WriteLocalFile(const std::string& path, std::string_view bytes) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return Status::IOError("cannot create '", path, "'");
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), file);
  const bool closed = std::fclose(file) == 0;
  if (written != bytes.size() || !closed) {
    return Status::IOError("cannot write '", path, "'");
  }
  return Status::OK();
}

Result<std::string_view> ReadBytes(std::string_view* in) {
  ARROW_ASSIGN_OR_RAISE(uint32_t length, StateCodec<uint32_t>::Read(in));
  if (in->size() < length) return Status::IOError("RocksDB state handle is truncated");
  std::string_view bytes = in->substr(0, length);
  in->remove_prefix(length);
  return bytes;
}

void AppendBytes(std::string_view bytes, std::string* out) {
  StateCodec<uint32_t>::Append(static_cast<uint32_t>(bytes.size()), out);
  out->append(bytes);
}

// A file name from a handle must stay inside the directory it is written to.
bool SafeFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

}  // namespace

std::string RandomInstanceId() {
  std::random_device device;
  const uint64_t id = static_cast<uint64_t>(device()) << 32 | device();
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(id));
  return hex;
}

Status RocksDbBackend::SnapshotForCheckpoint(int64_t checkpoint_id, std::string* out,
                                             std::vector<SharedStateFile>* shared_files) {
  if (!impl_->incremental) return Snapshot(out);
  ARROW_RETURN_NOT_OK(FlushCaches(/*drop=*/false));
  std::ostringstream name;
  name << impl_->staging << "/" << checkpoint_id;
  const std::string directory = name.str();
  std::error_code error;
  fs::remove_all(directory, error);
  fs::create_directories(impl_->staging, error);
  if (error) {
    return Status::IOError("cannot create '", impl_->staging, "': ", error.message());
  }
  rocksdb::Checkpoint* raw = nullptr;
  ARROW_RETURN_NOT_OK(
      FromRocks(rocksdb::Checkpoint::Create(impl_->db.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = 0: always flush, so that the SST files hold every write (the
  // write-ahead log is off).
  ARROW_RETURN_NOT_OK(
      FromRocks(checkpoint->CreateCheckpoint(directory, 0), "checkpoint"));

  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  out->append(kHandleMagic, 4);
  out->push_back(1);
  StateCodec<int32_t>::Append(range().first, out);
  StateCodec<int32_t>::Append(range().last, out);
  StateCodec<uint32_t>::Append(static_cast<uint32_t>(files.size()), out);
  std::map<std::string, std::string> shared_of_local;
  std::string content;
  for (const std::string& file : files) {
    AppendBytes(file, out);
    if (IsSstFile(file)) {
      auto known = impl_->shared_of_local.find(file);
      const std::string shared = known != impl_->shared_of_local.end()
                                     ? known->second
                                     : impl_->instance + "-" + file;
      shared_of_local[file] = shared;
      out->push_back(1);
      AppendBytes(shared, out);
      shared_files->push_back({shared, directory + "/" + file});
    } else {
      out->push_back(0);
      ARROW_RETURN_NOT_OK(ReadLocalFile(directory + "/" + file, &content));
      AppendBytes(content, out);
    }
  }
  // Only files of the newest checkpoint matter for the next one.
  impl_->shared_of_local = std::move(shared_of_local);
  return Status::OK();
}

void RocksDbBackend::NotifyCheckpointComplete(int64_t checkpoint_id) {
  // Staging directories up to this checkpoint were copied; newer ones may still be.
  std::error_code error;
  std::vector<fs::path> done;
  for (const auto& entry : fs::directory_iterator(impl_->staging, error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (std::stoll(name) <= checkpoint_id) done.push_back(entry.path());
  }
  for (const auto& path : done) fs::remove_all(path, error);
}

Status RocksDbBackend::MaterializeHandle(
    std::string_view handle, const std::string& directory, KeyGroupRange* range,
    std::map<std::string, std::string>* shared_of_local) {
  std::string_view in = handle.substr(5);
  ARROW_ASSIGN_OR_RAISE(range->first, StateCodec<int32_t>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(range->last, StateCodec<int32_t>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(uint32_t count, StateCodec<uint32_t>::Read(&in));
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) return Status::IOError("cannot create '", directory, "': ", error.message());
  for (uint32_t i = 0; i < count; ++i) {
    ARROW_ASSIGN_OR_RAISE(std::string_view local, ReadBytes(&in));
    ARROW_ASSIGN_OR_RAISE(uint8_t is_shared, StateCodec<uint8_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(std::string_view payload, ReadBytes(&in));
    if (!SafeFileName(local) || (is_shared != 0 && !SafeFileName(payload))) {
      return Status::IOError("RocksDB state handle names an invalid file");
    }
    const std::string target = directory + "/" + std::string(local);
    if (is_shared == 0) {
      ARROW_RETURN_NOT_OK(WriteLocalFile(target, payload));
      continue;
    }
    if (shared_directory().empty()) {
      return Status::Invalid(
          "incremental RocksDB state refers to shared checkpoint files, but no "
          "checkpoint directory to read them from was given");
    }
    const std::string source = shared_directory() + "/" + std::string(payload);
    // SST files are immutable: a hard link shares them with the checkpoint storage.
    fs::create_hard_link(source, target, error);
    if (error) {
      error.clear();
      fs::copy_file(source, target, error);
      if (error) {
        return Status::IOError("cannot restore state file '", source,
                               "': ", error.message());
      }
    }
    if (shared_of_local != nullptr) {
      (*shared_of_local)[std::string(local)] = std::string(payload);
    }
  }
  if (!in.empty()) return Status::IOError("RocksDB state handle has trailing bytes");
  return Status::OK();
}

Status RocksDbBackend::RestoreIncremental(std::string_view handle) {
  if (handle.size() < 13 || handle[4] != 1) {
    return Status::IOError("unsupported or truncated RocksDB state handle");
  }
  std::string_view header = handle.substr(5);
  ARROW_ASSIGN_OR_RAISE(int32_t first, StateCodec<int32_t>::Read(&header));
  ARROW_ASSIGN_OR_RAISE(int32_t last, StateCodec<int32_t>::Read(&header));
  KeyGroupRange range_of_handle;
  if (!impl_->restored && first == range().first && last == range().last) {
    CloseDb();
    std::error_code error;
    fs::remove_all(impl_->directory, error);
    std::map<std::string, std::string> shared_of_local;
    ARROW_RETURN_NOT_OK(
        MaterializeHandle(handle, impl_->directory, &range_of_handle, &shared_of_local));
    impl_->shared_of_local = std::move(shared_of_local);
    ARROW_RETURN_NOT_OK(ReopenDb());
  } else {
    std::ostringstream name;
    name << impl_->staging << "/restore-" << impl_->restores++;
    const std::string directory = name.str();
    ARROW_RETURN_NOT_OK(MaterializeHandle(handle, directory, &range_of_handle, nullptr));
    Status copied = CopyEntriesFrom(directory);
    std::error_code error;
    fs::remove_all(directory, error);
    ARROW_RETURN_NOT_OK(copied);
  }
  impl_->restored = true;
  return Status::OK();
}

// Reopens the instance in impl_->directory with every column family it has; states
// registered before but missing from the files get new, empty column families.
Status RocksDbBackend::ReopenDb() {
  std::vector<std::string> names;
  ARROW_RETURN_NOT_OK(
      FromRocks(rocksdb::DB::ListColumnFamilies(impl_->options, impl_->directory, &names),
                "list states"));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    if (name == rocksdb::kDefaultColumnFamilyName) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(impl_->options));
      continue;
    }
    auto it = impl_->family_of_state.find(name);
    if (it == impl_->family_of_state.end()) {
      return Status::Invalid("the snapshot holds state '", name,
                             "', which the operator did not create before restoring");
    }
    descriptors.emplace_back(name, impl_->family_options[it->second]);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ARROW_RETURN_NOT_OK(
      FromRocks(rocksdb::DB::Open(rocksdb::DBOptions(impl_->options), impl_->directory,
                                  descriptors, &handles, &db),
                "reopen from checkpoint"));
  impl_->db.reset(db);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      impl_->default_family = handles[i];
    } else {
      impl_->families[impl_->family_of_state[names[i]]] = handles[i];
    }
  }
  for (size_t index = 0; index < impl_->families.size(); ++index) {
    if (impl_->families[index] != nullptr) continue;
    ARROW_RETURN_NOT_OK(
        FromRocks(impl_->db->CreateColumnFamily(impl_->family_options[index],
                                                impl_->family_names[index],
                                                &impl_->families[index]),
                  "create state"));
  }
  return Status::OK();
}

Status RocksDbBackend::CopyEntriesFrom(const std::string& directory) {
  std::vector<std::string> names;
  ARROW_RETURN_NOT_OK(FromRocks(
      rocksdb::DB::ListColumnFamilies(impl_->options, directory, &names), "list states"));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    // A state's own options: timer states' keys do not fit the state key prefix.
    auto mine = impl_->family_of_state.find(name);
    descriptors.emplace_back(name, mine == impl_->family_of_state.end()
                                       ? rocksdb::ColumnFamilyOptions(impl_->options)
                                       : impl_->family_options[mine->second]);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ARROW_RETURN_NOT_OK(
      FromRocks(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(impl_->options),
                                             directory, descriptors, &handles, &raw),
                "open checkpoint"));
  std::unique_ptr<rocksdb::DB> source(raw);
  Status status;
  rocksdb::ReadOptions read;
  read.total_order_seek = true;
  constexpr size_t kBatchBytes = size_t{4} << 20;
  for (size_t i = 0; i < names.size() && status.ok(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) continue;
    auto mine = impl_->family_of_state.find(names[i]);
    if (mine == impl_->family_of_state.end()) {
      status = Status::Invalid("the snapshot holds state '", names[i],
                               "', which the operator did not create before restoring");
      break;
    }
    rocksdb::ColumnFamilyHandle* target = impl_->families[mine->second];
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(source->NewIterator(read, handles[i]));
    for (it->SeekToFirst(); it->Valid() && status.ok(); it->Next()) {
      const rocksdb::Slice key = it->key();
      if (key.size() < 2) continue;
      const auto* bytes = reinterpret_cast<const unsigned char*>(key.data());
      if (!range().Contains(static_cast<int32_t>(bytes[0]) << 8 | bytes[1])) continue;
      status = FromRocks(batch.Put(target, key, it->value()), "restore");
      if (status.ok() && batch.GetDataSize() >= kBatchBytes) {
        status = FromRocks(impl_->db->Write(impl_->write, &batch), "restore");
        batch.Clear();
      }
    }
    if (status.ok()) status = FromRocks(it->status(), "restore scan");
    if (status.ok())
      status = FromRocks(impl_->db->Write(impl_->write, &batch), "restore");
  }
  for (auto* handle : handles)
    source->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  source->Close().PermitUncheckedError();
  return status;
}

}  // namespace sabot
