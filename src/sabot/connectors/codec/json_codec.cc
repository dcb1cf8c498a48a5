// The JSON codec: one JSON object per message, parsed by the JSON lines parser and staged
// by field name (file/json_object_stager.h); encoding renders rows like the JSON lines
// sink and cuts the text at its line breaks.
#include <cstring>

#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/codec/codec_factories.h"
#include "sabot/connectors/file/batch_assembler.h"
#include "sabot/connectors/file/json_object_stager.h"
#include "sabot/connectors/json_lines_format.h"

namespace sabot {
namespace {

class JsonDecoder : public Decoder {
 public:
  explicit JsonDecoder(std::unique_ptr<BatchAssembler> assembler)
      : assembler_(std::move(assembler)), stager_(assembler_.get()) {}

  Result<int64_t> Append(std::string_view payload) override {
    if (!stager_.StageLine(payload)) return Status::Invalid(stager_.error());
    ARROW_RETURN_NOT_OK(assembler_->CommitRow());
    return 1;
  }

  int64_t num_rows() const override { return assembler_->num_rows(); }

  Result<std::shared_ptr<arrow::RecordBatch>> Flush() override {
    return assembler_->Flush();
  }

 private:
  std::unique_ptr<BatchAssembler> assembler_;
  JsonObjectStager stager_;
};

class JsonEncoder : public Encoder {
 public:
  Status Encode(const arrow::RecordBatch& batch, EncodedMessages* out) override {
    out->Clear();
    ARROW_RETURN_NOT_OK(AppendJsonLines(batch, &out->data));
    // Rendered strings escape line breaks, so every '\n' ends a row. Rows move left
    // over the line breaks so that messages stay contiguous.
    out->offsets.resize(batch.num_rows() + 1);
    char* data = out->data.data();
    const int64_t size = static_cast<int64_t>(out->data.size());
    int64_t read = 0;
    int64_t write = 0;
    for (int64_t row = 0; row < batch.num_rows(); ++row) {
      const char* newline =
          static_cast<const char*>(std::memchr(data + read, '\n', size - read));
      const int64_t length = newline - (data + read);
      std::memmove(data + write, data + read, length);
      out->offsets[row] = write;
      write += length;
      read += length + 1;
    }
    out->offsets[batch.num_rows()] = write;
    out->data.resize(write);
    return Status::OK();
  }
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeJsonDecoder(std::shared_ptr<arrow::Schema> schema,
                                                 int64_t batch_size) {
  ARROW_RETURN_NOT_OK(CheckTextSourceSchema(*schema));
  ARROW_ASSIGN_OR_RAISE(auto assembler, BatchAssembler::Make(schema, batch_size));
  return std::make_unique<JsonDecoder>(std::move(assembler));
}

Result<std::unique_ptr<Encoder>> MakeJsonEncoder(std::shared_ptr<arrow::Schema> schema) {
  ARROW_RETURN_NOT_OK(CheckJsonLinesSupport(*schema));
  return std::make_unique<JsonEncoder>();
}

}  // namespace sabot
