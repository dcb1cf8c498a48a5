#include "sabot/connectors/file/columnar_files.h"

#include <algorithm>
#include <vector>

#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>

namespace sabot {
namespace {

Status NameFile(const Status& status, const std::string& path, const char* format) {
  if (status.ok()) return status;
  return status.WithMessage("cannot read ", format, " file '", path,
                            "': ", status.message());
}

// Keeps the Parquet FileReader alive for as long as its batch reader, as Parquet
// requires, drops the first `skip_rows` rows, and names the file in decoding errors.
class ParquetBatches : public arrow::RecordBatchReader {
 public:
  ParquetBatches(std::string path, std::unique_ptr<parquet::arrow::FileReader> file,
                 std::unique_ptr<arrow::RecordBatchReader> batches, int64_t skip_rows)
      : path_(std::move(path)),
        file_(std::move(file)),
        batches_(std::move(batches)),
        skip_rows_(skip_rows) {}

  std::shared_ptr<arrow::Schema> schema() const override { return batches_->schema(); }

  Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    while (true) {
      ARROW_RETURN_NOT_OK(NameFile(batches_->ReadNext(batch), path_, "Parquet"));
      if (skip_rows_ == 0 || *batch == nullptr) return Status::OK();
      const int64_t num_rows = (*batch)->num_rows();
      if (num_rows > skip_rows_) {
        *batch = (*batch)->Slice(skip_rows_);
        skip_rows_ = 0;
        return Status::OK();
      }
      skip_rows_ -= num_rows;
    }
  }

 private:
  std::string path_;
  std::unique_ptr<parquet::arrow::FileReader> file_;
  std::unique_ptr<arrow::RecordBatchReader> batches_;
  int64_t skip_rows_;
};

// Presents the batches of an IPC file (random access) in order.
class IpcFileBatches : public arrow::RecordBatchReader {
 public:
  IpcFileBatches(std::string path,
                 std::shared_ptr<arrow::ipc::RecordBatchFileReader> file, int first_batch)
      : path_(std::move(path)), file_(std::move(file)), next_(first_batch) {}

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
    const std::string& path, int64_t batch_size, int64_t first_row) {
  parquet::ArrowReaderProperties properties(/*use_threads=*/false);
  properties.set_batch_size(batch_size);
  parquet::arrow::FileReaderBuilder builder;
  ARROW_RETURN_NOT_OK(NameFile(builder.OpenFile(path), path, "Parquet"));
  auto file = builder.properties(properties)->Build();
  ARROW_RETURN_NOT_OK(NameFile(file.status(), path, "Parquet"));
  std::unique_ptr<parquet::arrow::FileReader> reader = std::move(file).ValueOrDie();
  // The row groups from the one holding first_row on; the rows before first_row in
  // that group are decoded and dropped.
  std::vector<int> row_groups;
  int64_t skip_rows = first_row;
  const std::shared_ptr<parquet::FileMetaData> metadata =
      reader->parquet_reader()->metadata();
  for (int group = 0; group < metadata->num_row_groups(); ++group) {
    const int64_t num_rows = metadata->RowGroup(group)->num_rows();
    if (row_groups.empty() && skip_rows >= num_rows) {
      skip_rows -= num_rows;
      continue;
    }
    row_groups.push_back(group);
  }
  if (first_row < 0 || (row_groups.empty() && skip_rows > 0)) {
    return Status::Invalid("Parquet file '", path, "' has ", metadata->num_rows(),
                           " rows, so it cannot continue at row ", first_row,
                           ": the file changed since the position was recorded");
  }
  auto batches = reader->GetRecordBatchReader(row_groups);
  ARROW_RETURN_NOT_OK(NameFile(batches.status(), path, "Parquet"));
  return std::make_unique<ParquetBatches>(path, std::move(reader),
                                          std::move(batches).ValueOrDie(), skip_rows);
}

Result<std::unique_ptr<arrow::RecordBatchReader>> OpenArrowIpcBatches(
    const std::string& path, int64_t first_batch) {
  auto input = arrow::io::ReadableFile::Open(path);
  ARROW_RETURN_NOT_OK(NameFile(input.status(), path, "Arrow IPC"));
  std::shared_ptr<arrow::io::ReadableFile> file = std::move(input).ValueOrDie();
  const auto past_the_end = [&](int64_t num_batches) {
    return Status::Invalid("Arrow IPC file '", path, "' has ", num_batches,
                           " record batches, so it cannot continue at batch ",
                           first_batch,
                           ": the file changed since the position was recorded");
  };
  auto random_access = arrow::ipc::RecordBatchFileReader::Open(file);
  if (random_access.ok()) {
    std::shared_ptr<arrow::ipc::RecordBatchFileReader> reader =
        std::move(random_access).ValueOrDie();
    if (first_batch < 0 || first_batch > reader->num_record_batches()) {
      return past_the_end(reader->num_record_batches());
    }
    return std::make_unique<IpcFileBatches>(path, std::move(reader),
                                            static_cast<int>(first_batch));
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
  if (first_batch < 0) return past_the_end(0);
  auto batches = std::make_unique<IpcStreamBatches>(path, std::move(stream).ValueOrDie());
  for (int64_t skipped = 0; skipped < first_batch; ++skipped) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(batches->ReadNext(&batch));
    if (batch == nullptr) return past_the_end(skipped);
  }
  return batches;
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
