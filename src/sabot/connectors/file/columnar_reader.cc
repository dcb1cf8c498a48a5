// The Parquet and Arrow IPC source reader: batches come decoded from the file and are
// checked against, and relabelled with, the source's schema.
#include <algorithm>

#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/file/columnar_files.h"
#include "sabot/connectors/file/file_readers.h"

namespace sabot {
namespace {

class ColumnarFileReader : public SourceReader {
 public:
  ColumnarFileReader(FileFormat format, std::vector<std::string> files,
                     std::shared_ptr<arrow::Schema> schema, int64_t batch_size)
      : format_(format),
        files_(std::move(files)),
        schema_(std::move(schema)),
        batch_size_(batch_size) {}

  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    while (true) {
      if (pending_ && pending_offset_ < pending_->num_rows()) return TakePending();
      if (!batches_) {
        if (next_file_ == files_.size()) return nullptr;
        ARROW_RETURN_NOT_OK(OpenFile(files_[next_file_++]));
      }
      ARROW_RETURN_NOT_OK(batches_->ReadNext(&pending_));
      pending_offset_ = 0;
      if (!pending_) batches_.reset();
    }
  }

  Status Close() override {
    batches_.reset();
    pending_.reset();
    return Status::OK();
  }

 private:
  Status OpenFile(const std::string& path) {
    if (format_ == FileFormat::kParquet) {
      ARROW_ASSIGN_OR_RAISE(batches_, OpenParquetBatches(path, batch_size_));
    } else {
      ARROW_ASSIGN_OR_RAISE(batches_, OpenArrowIpcBatches(path));
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
    return arrow::RecordBatch::Make(schema_, length, rows->columns());
  }

  const FileFormat format_;
  const std::vector<std::string> files_;
  const std::shared_ptr<arrow::Schema> schema_;
  const int64_t batch_size_;
  std::unique_ptr<arrow::RecordBatchReader> batches_;
  std::shared_ptr<arrow::RecordBatch> pending_;
  int64_t pending_offset_ = 0;
  size_t next_file_ = 0;
};

}  // namespace

Result<std::unique_ptr<SourceReader>> MakeColumnarFileReader(
    const FileSourceOptions& options, const SourceContext& context) {
  return std::make_unique<ColumnarFileReader>(
      options.config().format,
      FilesOfSubtask(options.files(), context.subtask, context.parallelism),
      options.schema(), options.config().batch_size);
}

}  // namespace sabot
