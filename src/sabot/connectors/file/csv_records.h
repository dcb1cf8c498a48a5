// RFC 4180 CSV records: the parser that splits text into fields, and the per-file reader
// that feeds it from a FileBuffer and numbers lines. Not thread-safe: each source
// subtask owns its own instances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/connectors/file/file_buffer.h"

namespace sabot {

/// Splits CSV text into records and fields. Fields are separated by the delimiter,
/// records by "\n", "\r\n" or "\r". A field starting with '"' is quoted: it may contain
/// delimiters and line breaks, and "" stands for one quote. Text between a closing quote
/// and the next delimiter is kept, as most CSV readers do. Memory is reused between
/// records, so parsing allocates only while records grow.
class CsvRecordParser {
 public:
  enum class Outcome {
    /// A whole record was parsed; fields and sizes below describe it.
    kRecord,
    /// The record continues past the given bytes; call again with more of them.
    kNeedMoreData,
    /// The file ended inside a quoted field; record() holds the rest of the file.
    kUnterminatedQuote,
  };

  explicit CsvRecordParser(char delimiter) : delimiter_(delimiter) {}

  /// Parses the record at the start of [data, data + size). `at_eof` says that no bytes
  /// follow them. The results refer to `data` until the next call.
  Outcome Parse(const char* data, size_t size, bool at_eof);

  size_t num_fields() const { return fields_.size(); }
  /// Returns the text of field i with quotes removed and "" unescaped.
  std::string_view field(size_t i) const {
    const Span& span = fields_[i];
    return std::string_view((span.quoted ? unescaped_.data() : data_) + span.offset,
                            span.length);
  }
  /// Returns true when field i was quoted (so "" is an empty string, not a null).
  bool quoted(size_t i) const { return fields_[i].quoted; }
  /// Returns the record's original text without its terminator.
  std::string_view record() const { return std::string_view(data_, record_length_); }
  /// Returns the bytes the record occupies, terminator included.
  size_t consumed() const { return consumed_; }
  /// Returns the number of line breaks in the record, terminator included.
  int64_t num_line_breaks() const { return num_line_breaks_; }

 private:
  // A field's place in data_ (unquoted) or in unescaped_ (quoted).
  struct Span {
    size_t offset;
    size_t length;
    bool quoted;
  };

  char delimiter_;
  const char* data_ = nullptr;
  std::vector<Span> fields_;
  std::string unescaped_;
  size_t record_length_ = 0;
  size_t consumed_ = 0;
  int64_t num_line_breaks_ = 0;
};

/// Reads the records of one CSV file after another (the buffer is reused), skipping
/// blank lines and keeping the 1-based line number where each record starts.
class CsvFileReader {
 public:
  explicit CsvFileReader(char delimiter) : parser_(delimiter) {}

  Status Open(const std::string& path);
  /// Continues the open file at byte `offset`, which must start a record (a position
  /// offset() returned), with `lines_before` lines before it.
  Status Seek(int64_t offset, int64_t lines_before);

  /// Advances to the next non-blank record and returns true, or returns false at the end
  /// of the file. The record stays valid until the next call.
  Result<bool> NextRecord();

  /// Returns the current record's fields.
  const CsvRecordParser& record() const { return parser_; }
  /// Returns true when the current record is the rest of a file that ends inside quotes.
  bool unterminated_quote() const { return unterminated_quote_; }
  /// Returns the line on which the current record starts.
  int64_t line_number() const { return line_number_; }
  /// Returns the byte offset after the current record: where the next one starts.
  int64_t offset() const { return buffer_.offset(); }
  /// Returns the number of lines before offset().
  int64_t lines_before_offset() const { return next_line_number_ - 1; }
  const std::string& path() const { return buffer_.path(); }

 private:
  FileBuffer buffer_;
  CsvRecordParser parser_;
  bool unterminated_quote_ = false;
  int64_t line_number_ = 0;
  int64_t next_line_number_ = 1;
};

/// Reads the header of an opened CSV file: its first record, the column names. Errors
/// when the file is empty or a name repeats.
Result<std::vector<std::string>> ReadCsvHeader(CsvFileReader* reader);

}  // namespace sabot
