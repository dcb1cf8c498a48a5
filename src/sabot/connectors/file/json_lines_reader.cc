// The JSON lines source reader: one JsonLineParser pass per line, values staged in a
// BatchAssembler and committed when the whole line converted.
#include <cstring>
#include <unordered_map>

#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/file/bad_records.h"
#include "sabot/connectors/file/batch_assembler.h"
#include "sabot/connectors/file/file_buffer.h"
#include "sabot/connectors/file/file_position.h"
#include "sabot/connectors/file/file_readers.h"
#include "sabot/connectors/file/json_line_parser.h"

namespace sabot {
namespace {

// Compares keys eight bytes at a time, inline: a memcmp call per key costs more than
// the comparison of a short key.
bool SameText(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    uint64_t word_a;
    uint64_t word_b;
    std::memcpy(&word_a, a.data() + i, sizeof(word_a));
    std::memcpy(&word_b, b.data() + i, sizeof(word_b));
    if (word_a != word_b) return false;
  }
  for (; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

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
    for (int i = 0; i < schema_->num_fields(); ++i) {
      names_.push_back(schema_->field(i)->name());
      field_index_.emplace(names_.back(), i);
    }
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
    if (!parser_.Parse(line)) {
      return bad_records_.Reject(lines_.path(), lines_.line_number(), parser_.error(),
                                 line);
    }
    assembler_->BeginRow();
    // Lines usually list their keys in one order, so the field after the previous one is
    // tried before the hash lookup.
    int expected = 0;
    for (const JsonMember& member : parser_.members()) {
      const int index = FieldIndex(member.key, expected);
      if (index < 0) continue;
      expected = index + 1;
      if (!StageValue(index, member.value)) {
        const arrow::Field& field = *schema_->field(index);
        reason_ = "field '" + field.name() +
                  "': " + CannotParseMessage(member.value.raw, *field.type());
        return bad_records_.Reject(lines_.path(), lines_.line_number(), reason_, line);
      }
    }
    return assembler_->CommitRow();
  }

  int FieldIndex(std::string_view key, int expected) const {
    if (static_cast<size_t>(expected) < names_.size() &&
        SameText(names_[expected], key)) {
      return expected;
    }
    auto it = field_index_.find(key);
    return it == field_index_.end() ? -1 : it->second;
  }

  // A string field takes any value as its JSON text; strings convert to other types by
  // the text rules (so "12" fills an int64 field).
  bool StageValue(int index, const JsonValue& value) {
    const bool to_string = assembler_->is_string(index);
    switch (value.type) {
      case JsonType::kNull:
        return true;
      case JsonType::kBool:
        return to_string ? assembler_->StageText(index, value.text)
                         : assembler_->StageBool(index, value.boolean);
      case JsonType::kInteger:
        return to_string ? assembler_->StageText(index, value.text)
                         : assembler_->StageInt64(index, value.integer);
      case JsonType::kUnsignedInteger:
        return to_string ? assembler_->StageText(index, value.text)
                         : assembler_->StageUInt64(index, value.unsigned_integer);
      case JsonType::kFloat:
        return to_string ? assembler_->StageText(index, value.text)
                         : assembler_->StageDouble(index, value.real);
      case JsonType::kString:
        return assembler_->StageText(index, value.text);
      case JsonType::kArray:
      case JsonType::kObject:
        return to_string && assembler_->StageText(index, value.text);
    }
    return false;
  }

  const std::vector<std::string> files_;
  const std::shared_ptr<arrow::Schema> schema_;
  const int64_t batch_size_;
  BadRecordHandler bad_records_;
  std::unique_ptr<BatchAssembler> assembler_;
  // Field names (views into schema_) by index, and the index of each name.
  std::vector<std::string_view> names_;
  std::unordered_map<std::string_view, int> field_index_;
  JsonLineParser parser_;
  LineReader lines_;
  const int subtask_;
  const int parallelism_;
  // The index of the next file to open; the file open (file_open_) is the one before.
  size_t next_file_ = 0;
  bool file_open_ = false;
  std::string reason_;
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
