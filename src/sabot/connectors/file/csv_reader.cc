// The CSV source reader: RFC 4180 records mapped to schema fields by header name,
// values converted with the BatchAssembler's text rules.
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/file/bad_records.h"
#include "sabot/connectors/file/batch_assembler.h"
#include "sabot/connectors/file/csv_records.h"
#include "sabot/connectors/file/file_position.h"
#include "sabot/connectors/file/file_readers.h"

namespace sabot {
namespace {

class CsvReader : public SourceReader {
 public:
  CsvReader(std::vector<std::string> files, std::shared_ptr<arrow::Schema> schema,
            int64_t batch_size, char delimiter, BadRecordHandler bad_records, int subtask,
            int parallelism)
      : files_(std::move(files)),
        schema_(std::move(schema)),
        batch_size_(batch_size),
        records_(delimiter),
        bad_records_(std::move(bad_records)),
        subtask_(subtask),
        parallelism_(parallelism) {}

  Status Open() override {
    ARROW_ASSIGN_OR_RAISE(assembler_, BatchAssembler::Make(schema_, batch_size_));
    return Status::OK();
  }

  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    while (assembler_->num_rows() < batch_size_) {
      if (!file_open_) {
        if (next_file_ == files_.size()) break;
        ARROW_RETURN_NOT_OK(OpenFile(files_[next_file_++]));
        file_open_ = true;
      }
      ARROW_ASSIGN_OR_RAISE(bool has_record, records_.NextRecord());
      if (!has_record) {
        file_open_ = false;
        continue;
      }
      ARROW_RETURN_NOT_OK(ReadRecord());
    }
    if (assembler_->num_rows() == 0) return nullptr;
    return assembler_->Flush();
  }

  // Position: the offset after the last record read, as in the JSON lines reader
  // (Next() stops right after the record that fills a batch and emits it). A restore
  // reads the file's header again, for the column mapping, and continues there.
  Result<std::string> SnapshotPosition() override {
    return EncodeTextFilePosition(FileFormat::kCsv, subtask_, parallelism_,
                                  assembler_ != nullptr ? assembler_->num_rows() : 0,
                                  file_open_, next_file_, files_, records_.offset(),
                                  records_.lines_before_offset());
  }

  Status RestorePosition(const std::string& bytes) override {
    ARROW_ASSIGN_OR_RAISE(
        FilePosition position,
        DecodeFilePosition(bytes, FileFormat::kCsv, subtask_, parallelism_, files_));
    next_file_ = static_cast<size_t>(position.file_index);
    file_open_ = false;
    if (position.offset == 0 && position.line_or_row == 0) return Status::OK();
    ARROW_RETURN_NOT_OK(OpenFile(position.path));
    if (position.offset < records_.offset() ||
        position.line_or_row < records_.lines_before_offset()) {
      return Status::Invalid("the checkpointed position of '", position.path, "' (byte ",
                             position.offset, ", after line ", position.line_or_row,
                             ") lies inside its header: the file changed since the "
                             "checkpoint, or the checkpoint is corrupt");
    }
    ARROW_RETURN_NOT_OK(records_.Seek(position.offset, position.line_or_row));
    file_open_ = true;
    ++next_file_;
    return Status::OK();
  }

 private:
  Status OpenFile(const std::string& path) {
    ARROW_RETURN_NOT_OK(records_.Open(path));
    ARROW_ASSIGN_OR_RAISE(std::vector<std::string> header, ReadCsvHeader(&records_));
    ARROW_ASSIGN_OR_RAISE(field_of_column_, MapCsvColumns(path, header, *schema_));
    return Status::OK();
  }

  Status ReadRecord() {
    const CsvRecordParser& record = records_.record();
    if (records_.unterminated_quote()) {
      return Reject("a quoted field lacks its closing quote");
    }
    if (record.num_fields() != field_of_column_.size()) {
      reason_ = "expected " + std::to_string(field_of_column_.size()) +
                " fields as in the header, found " + std::to_string(record.num_fields());
      return Reject(reason_);
    }
    assembler_->BeginRow();
    for (size_t column = 0; column < field_of_column_.size(); ++column) {
      const int index = field_of_column_[column];
      if (index < 0) continue;
      const std::string_view text = record.field(column);
      // An empty field is null, except "" (quoted) in a string field: an empty string.
      if (text.empty() && !(record.quoted(column) && assembler_->is_string(index))) {
        continue;
      }
      if (!assembler_->StageText(index, text)) {
        const arrow::Field& field = *schema_->field(index);
        std::string shown = "\"";
        shown.append(text);
        shown.push_back('"');
        reason_ =
            "field '" + field.name() + "': " + CannotParseMessage(shown, *field.type());
        return Reject(reason_);
      }
    }
    return assembler_->CommitRow();
  }

  Status Reject(std::string_view reason) {
    return bad_records_.Reject(records_.path(), records_.line_number(), reason,
                               records_.record().record());
  }

  const std::vector<std::string> files_;
  const std::shared_ptr<arrow::Schema> schema_;
  const int64_t batch_size_;
  CsvFileReader records_;
  BadRecordHandler bad_records_;
  std::unique_ptr<BatchAssembler> assembler_;
  // For each column of the current file's header: the schema field it fills, or -1.
  std::vector<int> field_of_column_;
  const int subtask_;
  const int parallelism_;
  // The index of the next file to open; the file open (file_open_) is the one before.
  size_t next_file_ = 0;
  bool file_open_ = false;
  std::string reason_;
};

}  // namespace

Result<std::vector<int>> MapCsvColumns(const std::string& path,
                                       const std::vector<std::string>& header,
                                       const arrow::Schema& schema) {
  std::vector<int> field_of_column(header.size(), -1);
  for (int i = 0; i < schema.num_fields(); ++i) {
    const std::string& name = schema.field(i)->name();
    bool found = false;
    for (size_t column = 0; column < header.size(); ++column) {
      if (header[column] == name) {
        field_of_column[column] = i;
        found = true;
        break;
      }
    }
    if (!found) {
      std::string columns;
      for (const std::string& column : header) {
        if (!columns.empty()) columns.append(", ");
        columns.append(column);
      }
      return Status::Invalid("'", path, "' has no column '", name,
                             "' in its header (columns: ", columns,
                             "); rename the column or remove the field from the schema");
    }
  }
  return field_of_column;
}

Result<std::unique_ptr<SourceReader>> MakeCsvReader(const FileSourceOptions& options,
                                                    const SourceContext& context) {
  const FileSourceConfig& config = options.config();
  return std::make_unique<CsvReader>(
      FilesOfSubtask(options.files(), context.subtask, context.parallelism),
      options.schema(), config.batch_size, config.csv_delimiter,
      BadRecordHandler(config.on_bad_record, config.rejects_path, context.metrics),
      context.subtask, context.parallelism);
}

}  // namespace sabot
