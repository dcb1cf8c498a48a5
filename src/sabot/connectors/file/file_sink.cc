#include "sabot/connectors/file/file_sink.h"

#include <arrow/csv/writer.h>
#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "sabot/connectors/json_lines_format.h"

namespace sabot {
namespace {

class FileSinkOperator : public Operator {
 public:
  FileSinkOperator(FileSinkConfig config, std::shared_ptr<arrow::Schema> schema)
      : config_(std::move(config)), schema_(std::move(schema)) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    path_ = config_.path + "/part-" + std::to_string(context.subtask) + "." +
            FileFormatExtension(config_.format);
    ARROW_ASSIGN_OR_RAISE(file_, arrow::io::FileOutputStream::Open(path_));
    switch (config_.format) {
      case FileFormat::kJsonLines:
        return Status::OK();
      case FileFormat::kCsv: {
        auto options = arrow::csv::WriteOptions::Defaults();
        options.include_header = true;
        return NameFile(
            arrow::csv::MakeCSVWriter(file_, schema_, options).Value(&writer_));
      }
      case FileFormat::kParquet: {
        // The stored Arrow schema lets readers restore types Parquet lacks (e.g.
        // large_string) exactly.
        auto arrow_properties =
            parquet::ArrowWriterProperties::Builder().store_schema()->build();
        // Snappy, as pyarrow and Spark default to: cheap to decode, about half the size.
        auto properties = parquet::WriterProperties::Builder()
                              .compression(parquet::Compression::SNAPPY)
                              ->build();
        return NameFile(
            parquet::arrow::FileWriter::Open(*schema_, arrow::default_memory_pool(),
                                             file_, properties, arrow_properties)
                .Value(&parquet_writer_));
      }
      case FileFormat::kArrowIpc:
        return NameFile(arrow::ipc::MakeFileWriter(file_, schema_).Value(&writer_));
    }
    return Status::OK();
  }

  Status ProcessBatch(int port, std::shared_ptr<arrow::RecordBatch> batch) override {
    switch (config_.format) {
      case FileFormat::kJsonLines:
        text_.clear();
        ARROW_RETURN_NOT_OK(AppendJsonLines(*batch, &text_));
        return NameFile(file_->Write(text_.data(), static_cast<int64_t>(text_.size())));
      case FileFormat::kParquet:
        return NameFile(parquet_writer_->WriteRecordBatch(*batch));
      case FileFormat::kCsv:
      case FileFormat::kArrowIpc:
        return NameFile(writer_->WriteRecordBatch(*batch));
    }
    return Status::OK();
  }

  Status Finish() override {
    if (parquet_writer_) ARROW_RETURN_NOT_OK(NameFile(parquet_writer_->Close()));
    if (writer_) ARROW_RETURN_NOT_OK(NameFile(writer_->Close()));
    parquet_writer_.reset();
    writer_.reset();
    return NameFile(file_->Close());
  }

  Status Close() override {
    // After a failure the format writers are dropped without their footers: the file
    // is incomplete either way, and the job reports the failure.
    parquet_writer_.reset();
    writer_.reset();
    if (file_ && !file_->closed()) return NameFile(file_->Close());
    return Status::OK();
  }

 private:
  Status NameFile(const Status& status) const {
    if (status.ok()) return status;
    return status.WithMessage("file sink '", path_, "': ", status.message());
  }

  const FileSinkConfig config_;
  const std::shared_ptr<arrow::Schema> schema_;
  std::string path_;
  std::shared_ptr<arrow::io::FileOutputStream> file_;
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer_;
  std::unique_ptr<parquet::arrow::FileWriter> parquet_writer_;
  // Reused between batches so that JSON rendering does not allocate in the steady state.
  std::string text_;
};

}  // namespace

std::unique_ptr<Operator> MakeFileSinkOperator(const FileSinkOptions& options) {
  return std::make_unique<FileSinkOperator>(options.config(), options.schema());
}

}  // namespace sabot
