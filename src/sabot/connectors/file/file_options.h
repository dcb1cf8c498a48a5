// Options of the file source and file sink nodes: JSON lines, CSV, Parquet and Arrow
// IPC files, a path or a glob, schema given or inferred, and a bad-record policy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"

namespace arrow {
class Schema;
}  // namespace arrow

namespace sabot {

class OperatorRegistry;

enum class FileFormat { kJsonLines, kCsv, kParquet, kArrowIpc };

/// Returns "jsonl", "csv", "parquet" or "arrow": the file name extension of a format.
const char* FileFormatExtension(FileFormat format);

/// What a source does with a record it cannot parse.
enum class BadRecordPolicy {
  /// Stop the job with an error naming file, line and field.
  kFail,
  /// Count the record (rows_rejected) and append it with the reason to a rejects file.
  kSkip,
};

struct FileSourceConfig {
  FileFormat format = FileFormat::kJsonLines;
  /// A file path or a glob pattern (e.g. "data/*.csv"); matches are read in name order.
  std::string path;
  /// Schema of the records; null means inferred from the first file.
  std::shared_ptr<arrow::Schema> schema;
  BadRecordPolicy on_bad_record = BadRecordPolicy::kFail;
  /// JSON lines file that receives rejected records under kSkip (required then).
  std::string rejects_path;
  /// Rows per emitted batch.
  int64_t batch_size = 64 * 1024;
  /// CSV only: field delimiter; the first line is a header naming the columns.
  char csv_delimiter = ',';
};

class FileSourceOptions : public NodeOptions {
 public:
  /// Expands the glob (error if nothing matches), validates the configuration and
  /// infers the schema when none is given. Errors say what to change.
  static Result<std::shared_ptr<FileSourceOptions>> Make(FileSourceConfig config);

  std::string kind() const override { return "file_source"; }
  std::string Describe() const override;

  const FileSourceConfig& config() const { return config_; }
  /// The matched files, sorted; subtask i of p reads files i, i + p, i + 2p, ...
  const std::vector<std::string>& files() const { return files_; }
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }

 private:
  FileSourceOptions(FileSourceConfig config, std::vector<std::string> files,
                    std::shared_ptr<arrow::Schema> schema);
  FileSourceConfig config_;
  std::vector<std::string> files_;
  std::shared_ptr<arrow::Schema> schema_;
};

struct FileSinkConfig {
  FileFormat format = FileFormat::kJsonLines;
  /// Output directory (created if missing); subtask i writes part-<i>.<extension>.
  std::string path;
  /// Two-phase commit with the job's checkpoints, as Flink's FileSink: subtask i
  /// writes hidden in-progress files .part-<i>-<seq>.<extension>.inprogress, completes
  /// the current one at each checkpoint barrier and renames it to the visible
  /// part-<i>-<seq>.<extension> once that checkpoint is complete (or at the end of the
  /// input). A job restored from a checkpoint then shows every row exactly once.
  /// Without checkpoints, files become visible only at the end of the input. Readers
  /// must ignore dot-files. See connectors/file/README.md, "Exactly-once mode".
  bool exactly_once = false;
};

class FileSinkOptions : public NodeOptions {
 public:
  /// Validates the configuration for records of `schema` (e.g. CSV cannot hold nested
  /// types) and creates the directory.
  static Result<std::shared_ptr<FileSinkOptions>> Make(
      FileSinkConfig config, std::shared_ptr<arrow::Schema> schema);

  std::string kind() const override { return "file_sink"; }
  std::string Describe() const override;

  const FileSinkConfig& config() const { return config_; }
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }

 private:
  FileSinkOptions(FileSinkConfig config, std::shared_ptr<arrow::Schema> schema);
  FileSinkConfig config_;
  std::shared_ptr<arrow::Schema> schema_;
};

/// Registers the "file_source" source and "file_sink" operator.
Status RegisterFileConnectors(OperatorRegistry* registry);

}  // namespace sabot
