// An append-only file of rejected records (one JSON line each), shared by every
// writer of the process that names the same path, so that lines of concurrent subtasks
// never interleave. Used by the file source's rejects file and Kafka's dead-letter file.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "sabot/common/status.h"

namespace sabot {

class RejectsFile {
 public:
  /// Returns the process's open instance for `path`, opening it (append mode) when
  /// there is none. `setting` names the option that set the path, for errors.
  static Result<std::shared_ptr<RejectsFile>> Open(const std::string& path,
                                                   std::string_view setting);
  ~RejectsFile();

  /// Writes `line` (which ends with '\n') completely, under the file's mutex.
  Status Append(std::string_view line);

  /// Makes what was appended durable (fsync), e.g. before a checkpoint completes.
  Status Sync();

 private:
  RejectsFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  std::mutex mutex_;
};

}  // namespace sabot
