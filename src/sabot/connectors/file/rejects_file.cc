#include "sabot/connectors/file/rejects_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

namespace sabot {

Result<std::shared_ptr<RejectsFile>> RejectsFile::Open(const std::string& path,
                                                       std::string_view setting) {
  static std::mutex registry_mutex;
  static std::unordered_map<std::string, std::weak_ptr<RejectsFile>> registry;
  std::lock_guard<std::mutex> lock(registry_mutex);
  std::weak_ptr<RejectsFile>& entry = registry[path];
  if (auto open = entry.lock()) return open;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot open '", path, "': ", std::strerror(errno), "; check ",
                           setting);
  }
  auto file = std::shared_ptr<RejectsFile>(new RejectsFile(path, fd));
  entry = file;
  return file;
}

RejectsFile::~RejectsFile() { ::close(fd_); }

Status RejectsFile::Append(std::string_view line) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (!line.empty()) {
    const ssize_t written = ::write(fd_, line.data(), line.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot write '", path_, "': ", std::strerror(errno));
    }
    line.remove_prefix(static_cast<size_t>(written));
  }
  return Status::OK();
}

Status RejectsFile::Sync() {
  if (::fsync(fd_) != 0) {
    return Status::IOError("cannot sync '", path_, "': ", std::strerror(errno));
  }
  return Status::OK();
}

}  // namespace sabot
