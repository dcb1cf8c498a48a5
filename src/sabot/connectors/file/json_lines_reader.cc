// The JSON lines source reader: each line parsed and staged by a JsonObjectStager in a
// BatchAssembler and committed when the whole line converted.
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/file/bad_records.h"
#include "sabot/connectors/file/batch_assembler.h"
#include "sabot/connectors/file/file_buffer.h"
#include "sabot/connectors/file/file_position.h"
#include "sabot/connectors/file/file_readers.h"
#include "sabot/connectors/file/json_object_stager.h"

namespace sabot {
namespace {

class JsonLinesReader : public SourceReader {
 public:
  JsonLinesReader(std::vector<std::string> files, std::shared_ptr<arrow::Schema> schema,
                  int64_t batch_size, BadRecordHandler bad_records, int subtask,
                  int parallelism)
      : files_(std::move(files)),
        schema_(std::move(schema)),
        batch_size_(batch_size),
        bad_records_(std::move(bad_records)),
        subtask_(subtask),
        parallelism_(parallelism) {}

  Status Open() override {
    ARROW_ASSIGN_OR_RAISE(assembler_, BatchAssembler::Make(schema_, batch_size_));
    stager_ = std::make_unique<JsonObjectStager>(assembler_.get());
    return Status::OK();
  }

  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    std::string_view line;
    while (assembler_->num_rows() < batch_size_) {
      if (!file_open_) {
        if (next_file_ == files_.size()) break;
        ARROW_RETURN_NOT_OK(lines_.Open(files_[next_file_++]));
        file_open_ = true;
      }
      ARROW_ASSIGN_OR_RAISE(bool has_line, lines_.NextLine(&line));
      if (!has_line) {
        file_open_ = false;
        continue;
      }
      if (IsBlankLine(line)) continue;
      ARROW_RETURN_NOT_OK(ReadRecord(line));
    }
    if (assembler_->num_rows() == 0) return nullptr;
    return assembler_->Flush();
  }

  // Position: the offset after the last line read. Next() stops right after the line
  // that fills a batch and emits every row it committed, so between two calls every
  // line before the offset was emitted (or skipped: blank or rejected) and no line
  // after it was read. A batch that spans files needs nothing more: its rows of the
  // earlier file lie before the position's file.
  Result<std::string> SnapshotPosition() override {
    return EncodeTextFilePosition(FileFormat::kJsonLines, subtask_, parallelism_,
                                  assembler_ != nullptr ? assembler_->num_rows() : 0,
                                  file_open_, next_file_, files_, lines_.offset(),
                                  lines_.line_number());
  }

  Status RestorePosition(const std::string& bytes) override {
    ARROW_ASSIGN_OR_RAISE(FilePosition position,
                          DecodeFilePosition(bytes, FileFormat::kJsonLines, subtask_,
                                             parallelism_, files_));
    next_file_ = static_cast<size_t>(position.file_index);
    file_open_ = false;
    if (position.offset == 0 && position.line_or_row == 0) return Status::OK();
    ARROW_RETURN_NOT_OK(
        lines_.Open(position.path, position.offset, position.line_or_row));
    file_open_ = true;
    ++next_file_;
    return Status::OK();
  }

 private:
  Status ReadRecord(std::string_view line) {
    if (!stager_->StageLine(line)) {
      return bad_records_.Reject(lines_.path(), lines_.line_number(), stager_->error(),
                                 line);
    }
    return assembler_->CommitRow();
  }

  const std::vector<std::string> files_;
  const std::shared_ptr<arrow::Schema> schema_;
  const int64_t batch_size_;
  BadRecordHandler bad_records_;
  std::unique_ptr<BatchAssembler> assembler_;
  std::unique_ptr<JsonObjectStager> stager_;
  LineReader lines_;
  const int subtask_;
  const int parallelism_;
  // The index of the next file to open; the file open (file_open_) is the one before.
  size_t next_file_ = 0;
  bool file_open_ = false;
};

}  // namespace

Result<std::unique_ptr<SourceReader>> MakeJsonLinesReader(
    const FileSourceOptions& options, const SourceContext& context) {
  const FileSourceConfig& config = options.config();
  return std::make_unique<JsonLinesReader>(
      FilesOfSubtask(options.files(), context.subtask, context.parallelism),
      options.schema(), config.batch_size,
      BadRecordHandler(config.on_bad_record, config.rejects_path, context.metrics),
      context.subtask, context.parallelism);
}

}  // namespace sabot
