#include "sabot/connectors/file/bad_records.h"

#include "sabot/connectors/file/rejects_file.h"

#include "sabot/connectors/json_lines_format.h"
#include "sabot/runtime/node_metrics.h"

namespace sabot {

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
    ARROW_ASSIGN_OR_RAISE(rejects_file_,
                          RejectsFile::Open(rejects_path_, "rejects_path"));
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
