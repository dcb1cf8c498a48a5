#include "sabot/checkpoint/checkpoint_storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sabot {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManifest = "_MANIFEST";
constexpr const char* kMagic = "sabot-checkpoint 1";

bool ValidName(const std::string& name) {
  if (name.empty() || name == kManifest || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
           c == '#' || c == '-';
  });
}

uint64_t Checksum(const std::string& bytes) {
  return XXH64(bytes.data(), bytes.size(), 0);
}

// Writes `bytes` to `path` and fsyncs it.
Status WriteDurably(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot create '", path, "': ", std::strerror(errno));
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return Status::IOError("cannot write '", path, "': ", std::strerror(error));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::IOError("cannot sync '", path, "': ", std::strerror(errno));
  }
  return Status::OK();
}

Status SyncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open '", path, "': ", std::strerror(errno));
  const int result = ::fsync(fd);
  ::close(fd);
  if (result != 0)
    return Status::IOError("cannot sync '", path, "': ", std::strerror(errno));
  return Status::OK();
}

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read '", path, "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Parses "chk-<id>"; -1 if the name is not a checkpoint directory.
int64_t IdOfDirectory(const std::string& name) {
  if (name.rfind("chk-", 0) != 0 || name.size() == 4) return -1;
  int64_t id = 0;
  for (size_t i = 4; i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
    id = id * 10 + (name[i] - '0');
  }
  return id;
}

}  // namespace

Status CheckpointWriter::WriteFile(const std::string& name, const std::string& bytes) {
  if (!ValidName(name)) {
    return Status::Invalid("checkpoint file name '", name,
                           "' is not allowed: use letters, digits and . _ # -");
  }
  ARROW_RETURN_NOT_OK(WriteDurably(directory_ + "/" + name, bytes));
  files_[name] = {static_cast<int64_t>(bytes.size()), Checksum(bytes)};
  return Status::OK();
}

Status CheckpointWriter::AddSharedFile(const SharedStateFile& file) {
  if (!ValidName(file.name)) {
    return Status::Invalid("shared file name '", file.name,
                           "' is not allowed: use letters, digits and . _ # -");
  }
  std::error_code error;
  const auto size = fs::file_size(file.local_path, error);
  if (error) {
    return Status::IOError("cannot read '", file.local_path, "': ", error.message());
  }
  const std::string directory = storage_->SharedDirectory();
  const std::string target = directory + "/" + file.name;
  const auto existing = fs::file_size(target, error);
  if (error || existing != size) {
    fs::create_directories(directory, error);
    const std::string temp = target + ".tmp";
    fs::copy_file(file.local_path, temp, fs::copy_options::overwrite_existing, error);
    if (error) {
      return Status::IOError("cannot copy '", file.local_path, "' to '", temp,
                             "': ", error.message());
    }
    const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      return Status::IOError("cannot sync '", temp, "': ", std::strerror(errno));
    }
    ::close(fd);
    fs::rename(temp, target, error);
    if (error) {
      return Status::IOError("cannot rename '", temp, "': ", error.message());
    }
    ARROW_RETURN_NOT_OK(SyncDirectory(directory));
  }
  shared_[file.name] = static_cast<int64_t>(size);
  return Status::OK();
}

Result<CompletedCheckpoint> CheckpointWriter::Commit(
    std::map<std::string, std::string> metadata) {
  std::ostringstream manifest;
  manifest << kMagic << "\nid " << id_ << "\n";
  for (const auto& [key, value] : metadata) {
    if (!ValidName(key) || value.find('\n') != std::string::npos ||
        value.find(' ') != std::string::npos) {
      return Status::Invalid("checkpoint metadata '", key, "' = '", value,
                             "' must be a name and a value without spaces");
    }
    manifest << "meta " << key << " " << value << "\n";
  }
  for (const auto& [name, info] : files_) {
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx",
                  static_cast<unsigned long long>(info.second));
    manifest << "file " << name << " " << info.first << " " << hex << "\n";
  }
  for (const auto& [name, size] : shared_) {
    manifest << "shared " << name << " " << size << "\n";
  }
  manifest << "end\n";
  const std::string temp = directory_ + "/_MANIFEST.tmp";
  ARROW_RETURN_NOT_OK(WriteDurably(temp, manifest.str()));
  std::error_code error;
  fs::rename(temp, directory_ + "/" + kManifest, error);
  if (error) {
    return Status::IOError("cannot complete checkpoint ", id_, ": ", error.message());
  }
  ARROW_RETURN_NOT_OK(SyncDirectory(directory_));
  ARROW_RETURN_NOT_OK(storage_->ApplyRetention());
  CompletedCheckpoint completed;
  completed.id = id_;
  completed.directory = directory_;
  for (const auto& [name, info] : files_)
    completed.files[name] = {info.first, info.second};
  completed.shared_files = shared_;
  completed.metadata = std::move(metadata);
  return completed;
}

Result<std::unique_ptr<CheckpointStorage>> CheckpointStorage::Open(std::string root,
                                                                   int retain) {
  if (retain < 1) {
    return Status::Invalid("checkpoint retention must keep at least 1 checkpoint, got ",
                           retain);
  }
  std::error_code error;
  fs::create_directories(root, error);
  if (error) {
    return Status::IOError("cannot create checkpoint directory '", root,
                           "': ", error.message());
  }
  return std::unique_ptr<CheckpointStorage>(
      new CheckpointStorage(std::move(root), retain));
}

std::string CheckpointStorage::DirectoryOf(int64_t id) const {
  return root_ + "/chk-" + std::to_string(id);
}

Result<std::unique_ptr<CheckpointWriter>> CheckpointStorage::Begin(int64_t id) {
  if (id < 1) return Status::Invalid("checkpoint ids start at 1, got ", id);
  const std::string directory = DirectoryOf(id);
  std::error_code error;
  if (fs::exists(directory + "/" + kManifest, error)) {
    return Status::Invalid("checkpoint ", id, " already completed in '", directory, "'");
  }
  fs::remove_all(directory, error);
  fs::create_directories(directory, error);
  if (error) {
    return Status::IOError("cannot create '", directory, "': ", error.message());
  }
  return std::unique_ptr<CheckpointWriter>(new CheckpointWriter(this, id, directory));
}

Result<CompletedCheckpoint> CheckpointStorage::Load(int64_t id, bool verify_checksums) {
  CompletedCheckpoint checkpoint;
  checkpoint.id = id;
  checkpoint.directory = DirectoryOf(id);
  const std::string manifest_path = checkpoint.directory + "/" + kManifest;
  std::error_code error;
  if (!fs::exists(manifest_path, error)) {
    return Status::IOError("checkpoint ", id, " is incomplete (no manifest)");
  }
  ARROW_ASSIGN_OR_RAISE(std::string manifest, ReadWhole(manifest_path));
  std::istringstream lines(manifest);
  std::string line;
  if (!std::getline(lines, line) || line != kMagic) {
    return Status::IOError("checkpoint ", id, " has an unknown manifest format");
  }
  bool ended = false;
  int64_t manifest_id = -1;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string kind;
    fields >> kind;
    if (kind == "id") {
      fields >> manifest_id;
    } else if (kind == "meta") {
      std::string key, value;
      fields >> key >> value;
      checkpoint.metadata[key] = value;
    } else if (kind == "file") {
      std::string name, hex;
      int64_t size = -1;
      fields >> name >> size >> hex;
      if (!ValidName(name) || size < 0 || hex.size() != 16) {
        return Status::IOError("checkpoint ", id, " has a corrupt manifest line '", line,
                               "'");
      }
      const std::string path = checkpoint.directory + "/" + name;
      const auto actual = fs::file_size(path, error);
      if (error || static_cast<int64_t>(actual) != size) {
        return Status::IOError("checkpoint ", id, ": file '", name,
                               "' is missing or has ", error ? 0 : actual,
                               " bytes instead of ", size);
      }
      const uint64_t checksum = std::strtoull(hex.c_str(), nullptr, 16);
      if (verify_checksums) {
        ARROW_ASSIGN_OR_RAISE(std::string bytes, ReadWhole(path));
        if (Checksum(bytes) != checksum) {
          return Status::IOError("checkpoint ", id, ": file '", name,
                                 "' does not match its checksum");
        }
      }
      checkpoint.files[name] = {size, checksum};
    } else if (kind == "shared") {
      std::string name;
      int64_t size = -1;
      fields >> name >> size;
      if (!ValidName(name) || size < 0) {
        return Status::IOError("checkpoint ", id, " has a corrupt manifest line '", line,
                               "'");
      }
      const auto actual = fs::file_size(SharedDirectory() + "/" + name, error);
      if (error || static_cast<int64_t>(actual) != size) {
        return Status::IOError("checkpoint ", id, ": shared file '", name,
                               "' is missing or has ", error ? 0 : actual,
                               " bytes instead of ", size);
      }
      checkpoint.shared_files[name] = size;
    } else if (kind == "end") {
      ended = true;
    } else {
      return Status::IOError("checkpoint ", id, " has a corrupt manifest line '", line,
                             "'");
    }
  }
  if (!ended || manifest_id != id) {
    return Status::IOError("checkpoint ", id, " has a truncated or foreign manifest");
  }
  return checkpoint;
}

Result<std::vector<int64_t>> CheckpointStorage::Ids() const {
  std::vector<int64_t> ids;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root_, error)) {
    const int64_t id = IdOfDirectory(entry.path().filename().string());
    if (id > 0 && entry.is_directory()) ids.push_back(id);
  }
  if (error) {
    return Status::IOError("cannot list checkpoints in '", root_, "': ", error.message());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::vector<CompletedCheckpoint>> CheckpointStorage::List(
    std::vector<std::string>* skipped) {
  ARROW_ASSIGN_OR_RAISE(auto ids, Ids());
  std::vector<CompletedCheckpoint> complete;
  for (int64_t id : ids) {
    auto checkpoint = Load(id, /*verify_checksums=*/false);
    if (checkpoint.ok()) {
      complete.push_back(std::move(*checkpoint));
    } else if (skipped != nullptr) {
      skipped->push_back(checkpoint.status().message());
    }
  }
  return complete;
}

Result<std::optional<CompletedCheckpoint>> CheckpointStorage::Latest(
    std::vector<std::string>* skipped) {
  ARROW_ASSIGN_OR_RAISE(auto ids, Ids());
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    auto checkpoint = Load(*it, /*verify_checksums=*/true);
    if (checkpoint.ok())
      return std::optional<CompletedCheckpoint>(std::move(*checkpoint));
    if (skipped != nullptr) skipped->push_back(checkpoint.status().message());
  }
  return std::optional<CompletedCheckpoint>();
}

Result<std::string> CheckpointStorage::ReadFile(const CompletedCheckpoint& checkpoint,
                                                const std::string& name) {
  if (checkpoint.files.count(name) == 0) {
    return Status::KeyError("checkpoint ", checkpoint.id, " has no file '", name, "'");
  }
  ARROW_ASSIGN_OR_RAISE(std::string bytes, ReadWhole(checkpoint.directory + "/" + name));
  const CompletedCheckpoint::File& file = checkpoint.files.at(name);
  if (static_cast<int64_t>(bytes.size()) != file.size ||
      Checksum(bytes) != file.checksum) {
    return Status::IOError("checkpoint ", checkpoint.id, ": file '", name,
                           "' does not match its checksum");
  }
  return bytes;
}

Status CheckpointStorage::DeleteUnreferencedSharedFiles() {
  std::error_code error;
  if (!fs::exists(SharedDirectory(), error)) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto complete, List(nullptr));
  std::set<std::string> referenced;
  for (const CompletedCheckpoint& checkpoint : complete) {
    for (const auto& [name, size] : checkpoint.shared_files) referenced.insert(name);
  }
  std::vector<fs::path> unreferenced;
  for (const auto& entry : fs::directory_iterator(SharedDirectory(), error)) {
    if (referenced.count(entry.path().filename().string()) == 0) {
      unreferenced.push_back(entry.path());
    }
  }
  for (const auto& path : unreferenced) fs::remove(path, error);
  return Status::OK();
}

Status CheckpointStorage::ApplyRetention() {
  ARROW_ASSIGN_OR_RAISE(auto complete, List(nullptr));
  if (static_cast<int>(complete.size()) <= retain_) return Status::OK();
  const int64_t oldest_kept = complete[complete.size() - retain_].id;
  // Shared files of the removed checkpoints that no kept one refers to. Files that no
  // complete checkpoint refers to yet may belong to one in progress: they stay.
  std::set<std::string> unused;
  for (const CompletedCheckpoint& checkpoint : complete) {
    if (checkpoint.id >= oldest_kept) continue;
    for (const auto& [name, size] : checkpoint.shared_files) unused.insert(name);
  }
  for (const CompletedCheckpoint& checkpoint : complete) {
    if (checkpoint.id < oldest_kept) continue;
    for (const auto& [name, size] : checkpoint.shared_files) unused.erase(name);
  }
  std::error_code error;
  for (const std::string& name : unused)
    fs::remove(SharedDirectory() + "/" + name, error);
  for (const auto& entry : fs::directory_iterator(root_, error)) {
    const int64_t id = IdOfDirectory(entry.path().filename().string());
    // Older checkpoints go, complete or not; newer incomplete ones may be in progress.
    if (id > 0 && id < oldest_kept) fs::remove_all(entry.path(), error);
  }
  return Status::OK();
}

}  // namespace sabot
