#include "sabot/connectors/file/file_sink.h"

#include <arrow/csv/writer.h>
#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "sabot/connectors/file/transactional_file_sink.h"
#include "sabot/connectors/json_lines_format.h"

namespace sabot {

PartFileWriter::PartFileWriter(std::string path, FileFormat format)
    : path_(std::move(path)), format_(format) {}

PartFileWriter::~PartFileWriter() = default;

Result<std::unique_ptr<PartFileWriter>> PartFileWriter::Open(
    std::string path, FileFormat format, std::shared_ptr<arrow::Schema> schema) {
  std::unique_ptr<PartFileWriter> part(new PartFileWriter(std::move(path), format));
  ARROW_RETURN_NOT_OK(
      part->NameFile(arrow::io::FileOutputStream::Open(part->path_).Value(&part->file_)));
  switch (format) {
    case FileFormat::kJsonLines:
      break;
    case FileFormat::kCsv: {
      auto options = arrow::csv::WriteOptions::Defaults();
      options.include_header = true;
      ARROW_RETURN_NOT_OK(part->NameFile(
          arrow::csv::MakeCSVWriter(part->file_, schema, options).Value(&part->writer_)));
      break;
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
      ARROW_RETURN_NOT_OK(part->NameFile(
          parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(),
                                           part->file_, properties, arrow_properties)
              .Value(&part->parquet_writer_)));
      break;
    }
    case FileFormat::kArrowIpc:
      ARROW_RETURN_NOT_OK(part->NameFile(
          arrow::ipc::MakeFileWriter(part->file_, schema).Value(&part->writer_)));
      break;
  }
  return part;
}

Status PartFileWriter::Write(const arrow::RecordBatch& batch) {
  switch (format_) {
    case FileFormat::kJsonLines:
      text_.clear();
      ARROW_RETURN_NOT_OK(AppendJsonLines(batch, &text_));
      return NameFile(file_->Write(text_.data(), static_cast<int64_t>(text_.size())));
    case FileFormat::kParquet:
      return NameFile(parquet_writer_->WriteRecordBatch(batch));
    case FileFormat::kCsv:
    case FileFormat::kArrowIpc:
      return NameFile(writer_->WriteRecordBatch(batch));
  }
  return Status::OK();
}

Status PartFileWriter::Complete() {
  if (parquet_writer_) ARROW_RETURN_NOT_OK(NameFile(parquet_writer_->Close()));
  if (writer_) ARROW_RETURN_NOT_OK(NameFile(writer_->Close()));
  parquet_writer_.reset();
  writer_.reset();
  return NameFile(file_->Close());
}

Status PartFileWriter::Abandon() {
  // The format writers are dropped without their footers: the file is incomplete
  // either way, and the job reports the failure.
  parquet_writer_.reset();
  writer_.reset();
  if (file_ && !file_->closed()) return NameFile(file_->Close());
  return Status::OK();
}

Status PartFileWriter::NameFile(const Status& status) const {
  if (status.ok()) return status;
  return status.WithMessage("file sink '", path_, "': ", status.message());
}

namespace {

class FileSinkOperator : public Operator {
 public:
  FileSinkOperator(FileSinkConfig config, std::shared_ptr<arrow::Schema> schema)
      : config_(std::move(config)), schema_(std::move(schema)) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    std::string path = config_.path;
    path += "/part-";
    path += std::to_string(context.subtask);
    path += '.';
    path += FileFormatExtension(config_.format);
    ARROW_ASSIGN_OR_RAISE(part_,
                          PartFileWriter::Open(std::move(path), config_.format, schema_));
    return Status::OK();
  }

  Status ProcessBatch(int port, std::shared_ptr<arrow::RecordBatch> batch) override {
    return part_->Write(*batch);
  }

  Status Finish() override { return part_->Complete(); }

  Status Close() override { return part_ ? part_->Abandon() : Status::OK(); }

 private:
  const FileSinkConfig config_;
  const std::shared_ptr<arrow::Schema> schema_;
  std::unique_ptr<PartFileWriter> part_;
};

}  // namespace

std::unique_ptr<Operator> MakeFileSinkOperator(const FileSinkOptions& options) {
  if (options.config().exactly_once) return MakeTransactionalFileSinkOperator(options);
  return std::make_unique<FileSinkOperator>(options.config(), options.schema());
}

}  // namespace sabot
