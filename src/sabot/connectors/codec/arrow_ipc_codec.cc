// Arrow IPC codec: each message is a complete IPC stream (schema, record batches, end of
// stream), so a message carries whole batches and needs no per-row conversion.
#include <algorithm>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/codec/codec_factories.h"

namespace sabot {
namespace {

class ArrowIpcDecoder : public Decoder {
 public:
  explicit ArrowIpcDecoder(std::shared_ptr<arrow::Schema> schema)
      : schema_(std::move(schema)) {}

  Result<int64_t> Append(std::string_view payload) override {
    // Batches read from a buffer point into it, and the payload is only lent for this
    // call: the stream is read from a copy that the batches keep alive.
    ARROW_ASSIGN_OR_RAISE(auto buffer, arrow::AllocateBuffer(payload.size()));
    std::copy(payload.begin(), payload.end(), buffer->mutable_data_as<char>());
    auto input = std::make_shared<arrow::io::BufferReader>(std::move(buffer));
    auto opened = arrow::ipc::RecordBatchStreamReader::Open(input);
    if (!opened.ok()) {
      return Status::Invalid(
          "arrow: message of ", payload.size(),
          " bytes is not an Arrow IPC stream: ", opened.status().message());
    }
    std::shared_ptr<arrow::ipc::RecordBatchStreamReader> reader = *std::move(opened);
    ARROW_ASSIGN_OR_RAISE(std::vector<int> columns, MatchColumns(*reader->schema()));

    // Read everything first: a stream that breaks halfway appends nothing.
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    int64_t num_rows = 0;
    while (true) {
      auto next = reader->Next();
      if (!next.ok()) {
        return Status::Invalid("arrow: cannot read record batch ", batches.size(),
                               " of the IPC stream: ", next.status().message());
      }
      if (*next == nullptr) break;
      std::vector<std::shared_ptr<arrow::Array>> arrays;
      arrays.reserve(columns.size());
      for (int column : columns) arrays.push_back((*next)->column(column));
      num_rows += (*next)->num_rows();
      batches.push_back(
          arrow::RecordBatch::Make(schema_, (*next)->num_rows(), std::move(arrays)));
    }
    for (auto& batch : batches) batches_.push_back(std::move(batch));
    num_rows_ += num_rows;
    return num_rows;
  }

  int64_t num_rows() const override { return num_rows_; }

  Result<std::shared_ptr<arrow::RecordBatch>> Flush() override {
    std::shared_ptr<arrow::RecordBatch> batch;
    if (batches_.empty()) {
      ARROW_ASSIGN_OR_RAISE(batch, arrow::RecordBatch::MakeEmpty(schema_));
    } else if (batches_.size() == 1) {
      batch = std::move(batches_.front());
    } else {
      ARROW_ASSIGN_OR_RAISE(batch, arrow::ConcatenateRecordBatches(batches_));
    }
    batches_.clear();
    num_rows_ = 0;
    return batch;
  }

 private:
  // Returns, for each column of the decoder's schema, the index of the stream's column of
  // the same name. Extra stream columns are ignored.
  Result<std::vector<int>> MatchColumns(const arrow::Schema& stream_schema) const {
    std::vector<int> columns;
    columns.reserve(schema_->num_fields());
    for (const auto& field : schema_->fields()) {
      const int index = stream_schema.GetFieldIndex(field->name());
      if (index < 0) {
        return Status::Invalid("arrow: the IPC stream has no column '", field->name(),
                               "' (or more than one); its schema is ",
                               stream_schema.ToString());
      }
      const auto& stream_type = stream_schema.field(index)->type();
      if (!stream_type->Equals(*field->type())) {
        return Status::Invalid("arrow: column '", field->name(),
                               "' of the IPC stream is ", stream_type->ToString(),
                               ", expected ", field->type()->ToString());
      }
      columns.push_back(index);
    }
    return columns;
  }

  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches_;
  int64_t num_rows_ = 0;
};

class ArrowIpcEncoder : public Encoder {
 public:
  explicit ArrowIpcEncoder(std::shared_ptr<arrow::Schema> schema)
      : schema_(std::move(schema)) {}

  bool one_message_per_row() const override { return false; }

  Status Encode(const arrow::RecordBatch& batch, EncodedMessages* out) override {
    out->Clear();
    // An empty batch would make a message without rows; consumers gain nothing from it.
    if (batch.num_rows() == 0) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
    ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeStreamWriter(sink, schema_));
    ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(batch));
    ARROW_RETURN_NOT_OK(writer->Close());
    ARROW_ASSIGN_OR_RAISE(auto stream, sink->Finish());
    out->data.assign(stream->data_as<char>(), static_cast<size_t>(stream->size()));
    out->offsets.push_back(static_cast<int64_t>(out->data.size()));
    return Status::OK();
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeArrowIpcDecoder(
    std::shared_ptr<arrow::Schema> schema, int64_t /*batch_size*/) {
  // Messages carry whole batches, which the decoder keeps as they are: a batch size
  // would only split them.
  return std::make_unique<ArrowIpcDecoder>(std::move(schema));
}

Result<std::unique_ptr<Encoder>> MakeArrowIpcEncoder(
    std::shared_ptr<arrow::Schema> schema) {
  return std::make_unique<ArrowIpcEncoder>(std::move(schema));
}

}  // namespace sabot
