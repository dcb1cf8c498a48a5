// The Parquet and Arrow IPC source reader: batches come decoded from the file and are
// checked against, and relabelled with, the source's schema.
#include <algorithm>

#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/file/columnar_files.h"
#include "sabot/connectors/file/file_position.h"
#include "sabot/connectors/file/file_readers.h"

namespace sabot {
namespace {

class ColumnarFileReader : public SourceReader {
 public:
  ColumnarFileReader(FileFormat format, std::vector<std::string> files,
                     std::shared_ptr<arrow::Schema> schema, int64_t batch_size,
                     int subtask, int parallelism)
      : format_(format),
        files_(std::move(files)),
        schema_(std::move(schema)),
        batch_size_(batch_size),
        subtask_(subtask),
        parallelism_(parallelism) {}

  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    while (true) {
      if (pending_ && pending_offset_ < pending_->num_rows()) return TakePending();
      if (!batches_) {
        if (next_file_ == files_.size()) return nullptr;
        ARROW_RETURN_NOT_OK(OpenFile(files_[next_file_++], 0));
      }
      ARROW_RETURN_NOT_OK(batches_->ReadNext(&pending_));
      pending_offset_ = 0;
      if (pending_) {
        ++file_batches_;
      } else {
        batches_.reset();
      }
    }
  }

  Status Close() override {
    batches_.reset();
    pending_.reset();
    return Status::OK();
  }

  // Position: in the open file, the rows emitted so far. Parquet records the next row,
  // so it does not depend on how the file's reader cut batches; Arrow IPC records the
  // next record batch of the file and the next row in it, since its batches are the
  // file's own and a file can jump to one. Rows of a read batch not yet emitted (the
  // rest of a batch larger than batch_size) lie after the position and are read again.
  Result<std::string> SnapshotPosition() override {
    FilePosition position;
    if (batches_) {
      position.file_index = static_cast<int64_t>(next_file_) - 1;
      position.path = files_[next_file_ - 1];
      if (format_ == FileFormat::kParquet) {
        position.offset = file_rows_;
      } else if (pending_ && pending_offset_ < pending_->num_rows()) {
        position.offset = file_batches_ - 1;
        position.line_or_row = pending_offset_;
      } else {
        position.offset = file_batches_;
      }
    } else {
      position.file_index = static_cast<int64_t>(next_file_);
      if (next_file_ < files_.size()) position.path = files_[next_file_];
    }
    return EncodeFilePosition(format_, subtask_, parallelism_, position);
  }

  Status RestorePosition(const std::string& bytes) override {
    ARROW_ASSIGN_OR_RAISE(
        FilePosition position,
        DecodeFilePosition(bytes, format_, subtask_, parallelism_, files_));
    batches_.reset();
    pending_.reset();
    pending_offset_ = 0;
    next_file_ = static_cast<size_t>(position.file_index);
    if (position.offset == 0 && position.line_or_row == 0) return Status::OK();
    if (format_ == FileFormat::kParquet && position.line_or_row != 0) {
      return Status::Invalid("the checkpointed position of Parquet file '", position.path,
                             "' names a row within a batch (", position.line_or_row,
                             "); the checkpoint is corrupt");
    }
    ARROW_RETURN_NOT_OK(OpenFile(position.path, position.offset));
    ++next_file_;
    if (position.line_or_row > 0) {
      // Arrow IPC: the batch at the position, of which the first rows were emitted.
      ARROW_RETURN_NOT_OK(batches_->ReadNext(&pending_));
      if (!pending_ || pending_->num_rows() <= position.line_or_row) {
        return Status::Invalid("Arrow IPC file '", position.path, "' has no row ",
                               position.line_or_row, " in record batch ", position.offset,
                               ": the file changed since the position was recorded");
      }
      ++file_batches_;
      pending_offset_ = position.line_or_row;
    }
    return Status::OK();
  }

 private:
  // Opens `path` at `first`: the first row (Parquet) or record batch (Arrow IPC).
  Status OpenFile(const std::string& path, int64_t first) {
    file_rows_ = 0;
    file_batches_ = 0;
    if (format_ == FileFormat::kParquet) {
      ARROW_ASSIGN_OR_RAISE(batches_, OpenParquetBatches(path, batch_size_, first));
      file_rows_ = first;
    } else {
      ARROW_ASSIGN_OR_RAISE(batches_, OpenArrowIpcBatches(path, first));
      file_batches_ = first;
    }
    return CheckFileSchema(path, *schema_, *batches_->schema());
  }

  // Returns up to batch_size rows of the pending batch under the source's schema (the
  // file's may differ in metadata and nullability only).
  std::shared_ptr<arrow::RecordBatch> TakePending() {
    const int64_t length = std::min(batch_size_, pending_->num_rows() - pending_offset_);
    std::shared_ptr<arrow::RecordBatch> rows =
        length == pending_->num_rows() ? pending_
                                       : pending_->Slice(pending_offset_, length);
    pending_offset_ += length;
    file_rows_ += length;
    return arrow::RecordBatch::Make(schema_, length, rows->columns());
  }

  const FileFormat format_;
  const std::vector<std::string> files_;
  const std::shared_ptr<arrow::Schema> schema_;
  const int64_t batch_size_;
  const int subtask_;
  const int parallelism_;
  std::unique_ptr<arrow::RecordBatchReader> batches_;
  std::shared_ptr<arrow::RecordBatch> pending_;
  int64_t pending_offset_ = 0;
  // The index of the next file to open; the open file (batches_) is the one before.
  size_t next_file_ = 0;
  // Of the open file: the rows emitted, counted from its first row (Parquet), and the
  // record batches read, counted from its first batch (Arrow IPC).
  int64_t file_rows_ = 0;
  int64_t file_batches_ = 0;
};

}  // namespace

Result<std::unique_ptr<SourceReader>> MakeColumnarFileReader(
    const FileSourceOptions& options, const SourceContext& context) {
  return std::make_unique<ColumnarFileReader>(
      options.config().format,
      FilesOfSubtask(options.files(), context.subtask, context.parallelism),
      options.schema(), options.config().batch_size, context.subtask,
      context.parallelism);
}

}  // namespace sabot
