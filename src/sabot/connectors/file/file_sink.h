// The "file_sink" operator. Plain mode: subtask i writes <path>/part-<i>.<extension>.
// Exactly-once mode (FileSinkConfig::exactly_once): transactional_file_sink.h. Both
// write their files through PartFileWriter.
#pragma once

#include <memory>
#include <string>

#include "sabot/common/status.h"
#include "sabot/connectors/file/file_options.h"
#include "sabot/runtime/operator.h"

namespace arrow {
class RecordBatch;
class Schema;
namespace io {
class FileOutputStream;
}  // namespace io
namespace ipc {
class RecordBatchWriter;
}  // namespace ipc
}  // namespace arrow

namespace parquet::arrow {
class FileWriter;
}  // namespace parquet::arrow

namespace sabot {

/// Writes batches of one schema to one file in one format: JSON lines, CSV with a
/// header, Parquet (Snappy, with the Arrow schema stored) or the Arrow IPC file format.
/// Owned and called by one sink subtask; not thread-safe. Errors name the file.
class PartFileWriter {
 public:
  /// Creates or truncates `path` and starts the format (CSV header, Parquet / IPC
  /// schema).
  static Result<std::unique_ptr<PartFileWriter>> Open(
      std::string path, FileFormat format, std::shared_ptr<arrow::Schema> schema);
  ~PartFileWriter();
  PartFileWriter(const PartFileWriter&) = delete;
  PartFileWriter& operator=(const PartFileWriter&) = delete;

  /// Appends the rows of `batch`.
  Status Write(const arrow::RecordBatch& batch);
  /// Writes the footer (Parquet, IPC), flushes and closes the file: readers can then
  /// read it whole. Not durable by itself: the caller fsyncs if it needs to.
  Status Complete();
  /// Closes the file as it is, without a footer (after a failure). Does nothing after
  /// Complete() or a previous Abandon().
  Status Abandon();

  const std::string& path() const { return path_; }
  /// Returns `status` with the file's path in its message; OK stays OK.
  Status NameFile(const Status& status) const;

 private:
  PartFileWriter(std::string path, FileFormat format);

  const std::string path_;
  const FileFormat format_;
  std::shared_ptr<arrow::io::FileOutputStream> file_;
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer_;
  std::unique_ptr<parquet::arrow::FileWriter> parquet_writer_;
  // Reused between batches so that JSON rendering does not allocate in the steady state.
  std::string text_;
};

/// Returns the "file_sink" operator of `options`: the exactly-once sink of
/// transactional_file_sink.h when `exactly_once` is set, else the plain sink, which
/// opens its part file in Open(), appends every batch in ProcessBatch() and completes
/// the file (footer, flush) in Finish(). Close() after a failure closes the file as it
/// is.
std::unique_ptr<Operator> MakeFileSinkOperator(const FileSinkOptions& options);

}  // namespace sabot
