// The bad-record policy of the file source: fail with an error naming file, line and
// cause, or count the record and append it to a rejects file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sabot/common/status.h"
#include "sabot/connectors/file/file_options.h"

namespace sabot {

struct NodeMetrics;
class RejectsFile;

/// Applies a source's BadRecordPolicy. One handler per source subtask, used from its
/// task thread only; the rejects file behind it is shared by all subtasks (and sources)
/// that name the same path, and every rejected record is one whole line written under
/// the file's mutex.
class BadRecordHandler {
 public:
  /// `metrics` may be null (nothing is counted then).
  BadRecordHandler(BadRecordPolicy policy, std::string rejects_path,
                   NodeMetrics* metrics);

  /// Under kFail returns Invalid "<file>:<line>: <reason>". Under kSkip adds one to
  /// rows_rejected, appends {"file", "line", "reason", "record"} as a JSON line to the
  /// rejects file (opened on first use, in append mode) and returns OK.
  Status Reject(std::string_view file, int64_t line, std::string_view reason,
                std::string_view record);

 private:
  BadRecordPolicy policy_;
  std::string rejects_path_;
  NodeMetrics* metrics_;
  std::shared_ptr<RejectsFile> rejects_file_;
  std::string rejects_line_;
};

}  // namespace sabot
