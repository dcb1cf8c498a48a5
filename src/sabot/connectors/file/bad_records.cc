#include "sabot/connectors/file/bad_records.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "sabot/connectors/json_lines_format.h"
#include "sabot/runtime/node_metrics.h"

namespace sabot {

/// A rejects file opened in append mode, shared by every handler of the process that
/// names the same path, so that lines of concurrent subtasks never interleave.
class RejectsFile {
 public:
  /// Returns the process's open instance for `path`, opening it when there is none.
  static Result<std::shared_ptr<RejectsFile>> Open(const std::string& path) {
    static std::mutex registry_mutex;
    static std::unordered_map<std::string, std::weak_ptr<RejectsFile>> registry;
    std::lock_guard<std::mutex> lock(registry_mutex);
    std::weak_ptr<RejectsFile>& entry = registry[path];
    if (auto open = entry.lock()) return open;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status::IOError("cannot open the rejects file '", path,
                             "': ", std::strerror(errno), "; check rejects_path");
    }
    auto file = std::shared_ptr<RejectsFile>(new RejectsFile(path, fd));
    entry = file;
    return file;
  }

  ~RejectsFile() { ::close(fd_); }

  /// Writes `line` (which ends with '\n') completely, under the file's mutex.
  Status Append(std::string_view line) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!line.empty()) {
      const ssize_t written = ::write(fd_, line.data(), line.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("cannot write the rejects file '", path_,
                               "': ", std::strerror(errno));
      }
      line.remove_prefix(static_cast<size_t>(written));
    }
    return Status::OK();
  }

 private:
  RejectsFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_;
  std::mutex mutex_;
};

BadRecordHandler::BadRecordHandler(BadRecordPolicy policy, std::string rejects_path,
                                   NodeMetrics* metrics)
    : policy_(policy), rejects_path_(std::move(rejects_path)), metrics_(metrics) {}

Status BadRecordHandler::Reject(std::string_view file, int64_t line,
                                std::string_view reason, std::string_view record) {
  if (policy_ == BadRecordPolicy::kFail) {
    return Status::Invalid(file, ":", line, ": ", reason,
                           " (to drop bad records instead, set on_bad_record to kSkip "
                           "and a rejects_path)");
  }
  if (!rejects_file_) {
    ARROW_ASSIGN_OR_RAISE(rejects_file_, RejectsFile::Open(rejects_path_));
  }
  rejects_line_.clear();
  rejects_line_.append("{\"file\":");
  AppendJsonString(file, &rejects_line_);
  rejects_line_.append(",\"line\":");
  rejects_line_.append(std::to_string(line));
  rejects_line_.append(",\"reason\":");
  AppendJsonString(reason, &rejects_line_);
  rejects_line_.append(",\"record\":");
  AppendJsonString(record, &rejects_line_);
  rejects_line_.append("}\n");
  ARROW_RETURN_NOT_OK(rejects_file_->Append(rejects_line_));
  if (metrics_ != nullptr) metrics_->AddRejected(1);
  return Status::OK();
}

}  // namespace sabot
