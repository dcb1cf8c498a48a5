#include "sabot/connectors/file/columnar_files.h"

#include <algorithm>

#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <parquet/arrow/reader.h>
#include <parquet/properties.h>

namespace sabot {
namespace {

Status NameFile(const Status& status, const std::string& path, const char* format) {
  if (status.ok()) return status;
  return status.WithMessage("cannot read ", format, " file '", path,
                            "': ", status.message());
}

// Keeps the Parquet FileReader alive for as long as its batch reader, as Parquet
// requires, and names the file in decoding errors.
class ParquetBatches : public arrow::RecordBatchReader {
 public:
  ParquetBatches(std::string path, std::unique_ptr<parquet::arrow::FileReader> file,
                 std::unique_ptr<arrow::RecordBatchReader> batches)
      : path_(std::move(path)), file_(std::move(file)), batches_(std::move(batches)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return batches_->schema(); }

  Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    return NameFile(batches_->ReadNext(batch), path_, "Parquet");
  }

 private:
  std::string path_;
  std::unique_ptr<parquet::arrow::FileReader> file_;
  std::unique_ptr<arrow::RecordBatchReader> batches_;
};

// Presents the batches of an IPC file (random access) in order.
class IpcFileBatches : public arrow::RecordBatchReader {
 public:
  IpcFileBatches(std::string path,
                 std::shared_ptr<arrow::ipc::RecordBatchFileReader> file)
      : path_(std::move(path)), file_(std::move(file)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return file_->schema(); }

  Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    if (next_ == file_->num_record_batches()) {
      batch->reset();
      return Status::OK();
    }
    auto read = file_->ReadRecordBatch(next_++);
    ARROW_RETURN_NOT_OK(NameFile(read.status(), path_, "Arrow IPC"));
    *batch = std::move(read).ValueOrDie();
    return Status::OK();
  }

 private:
  std::string path_;
  std::shared_ptr<arrow::ipc::RecordBatchFileReader> file_;
  int next_ = 0;
};

// Names the stream in decoding errors.
class IpcStreamBatches : public arrow::RecordBatchReader {
 public:
  IpcStreamBatches(std::string path, std::shared_ptr<arrow::RecordBatchReader> stream)
      : path_(std::move(path)), stream_(std::move(stream)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return stream_->schema(); }

  Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    return NameFile(stream_->ReadNext(batch), path_, "Arrow IPC");
  }

 private:
  std::string path_;
  std::shared_ptr<arrow::RecordBatchReader> stream_;
};

}  // namespace

Result<std::unique_ptr<arrow::RecordBatchReader>> OpenParquetBatches(
    const std::string& path, int64_t batch_size) {
  parquet::ArrowReaderProperties properties(/*use_threads=*/false);
  properties.set_batch_size(batch_size);
  parquet::arrow::FileReaderBuilder builder;
  ARROW_RETURN_NOT_OK(NameFile(builder.OpenFile(path), path, "Parquet"));
  auto file = builder.properties(properties)->Build();
  ARROW_RETURN_NOT_OK(NameFile(file.status(), path, "Parquet"));
  std::unique_ptr<parquet::arrow::FileReader> reader = std::move(file).ValueOrDie();
  auto batches = reader->GetRecordBatchReader();
  ARROW_RETURN_NOT_OK(NameFile(batches.status(), path, "Parquet"));
  return std::make_unique<ParquetBatches>(path, std::move(reader),
                                          std::move(batches).ValueOrDie());
}

Result<std::unique_ptr<arrow::RecordBatchReader>> OpenArrowIpcBatches(
    const std::string& path) {
  auto input = arrow::io::ReadableFile::Open(path);
  ARROW_RETURN_NOT_OK(NameFile(input.status(), path, "Arrow IPC"));
  std::shared_ptr<arrow::io::ReadableFile> file = std::move(input).ValueOrDie();
  auto random_access = arrow::ipc::RecordBatchFileReader::Open(file);
  if (random_access.ok()) {
    return std::make_unique<IpcFileBatches>(path, std::move(random_access).ValueOrDie());
  }
  // Not the file format (no footer): the stream format starts at the first byte.
  ARROW_RETURN_NOT_OK(NameFile(file->Seek(0), path, "Arrow IPC"));
  auto stream = arrow::ipc::RecordBatchStreamReader::Open(file);
  if (!stream.ok()) {
    return Status::Invalid("cannot read Arrow IPC file '", path,
                           "': it is neither an IPC file (",
                           random_access.status().message(), ") nor an IPC stream (",
                           stream.status().message(), ")");
  }
  return std::make_unique<IpcStreamBatches>(path, std::move(stream).ValueOrDie());
}

Status CheckFileSchema(const std::string& path, const arrow::Schema& expected,
                       const arrow::Schema& actual) {
  const int num_fields = std::min(expected.num_fields(), actual.num_fields());
  for (int i = 0; i < num_fields; ++i) {
    const arrow::Field& want = *expected.field(i);
    const arrow::Field& have = *actual.field(i);
    if (want.name() != have.name() || !want.type()->Equals(*have.type())) {
      return Status::Invalid("file '", path, "' does not match the schema: field ", i,
                             " is '", have.name(), "' of type ", have.type()->ToString(),
                             " but the schema expects '", want.name(), "' of type ",
                             want.type()->ToString());
    }
  }
  if (expected.num_fields() != actual.num_fields()) {
    const bool file_has_more = actual.num_fields() > expected.num_fields();
    const arrow::Field& extra =
        *(file_has_more ? actual.field(num_fields) : expected.field(num_fields));
    return Status::Invalid(
        "file '", path, "' does not match the schema: ",
        file_has_more ? "the file has a field '" : "the file lacks field '", extra.name(),
        "' (", actual.num_fields(), " fields in the file, ", expected.num_fields(),
        " in the schema)");
  }
  return Status::OK();
}

}  // namespace sabot
