#include "sabot/connectors/file/csv_records.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "sabot/connectors/file/swar.h"

namespace sabot {

CsvRecordParser::Outcome CsvRecordParser::Parse(const char* data, size_t size,
                                                bool at_eof) {
  data_ = data;
  fields_.clear();
  unescaped_.clear();
  num_line_breaks_ = 0;
  size_t pos = 0;
  const auto ends_field = [this](char c) {
    return c == delimiter_ || c == '\n' || c == '\r';
  };
  while (true) {
    if (pos < size && data[pos] == '"') {
      ++pos;
      const size_t begin = unescaped_.size();
      while (true) {
        const auto* quote =
            pos < size
                ? static_cast<const char*>(std::memchr(data + pos, '"', size - pos))
                : nullptr;
        if (quote == nullptr) {
          if (!at_eof) return Outcome::kNeedMoreData;
          num_line_breaks_ += std::count(data + pos, data + size, '\n');
          record_length_ = size;
          consumed_ = size;
          return Outcome::kUnterminatedQuote;
        }
        const auto quote_pos = static_cast<size_t>(quote - data);
        num_line_breaks_ += std::count(data + pos, quote, '\n');
        unescaped_.append(data + pos, quote_pos - pos);
        if (quote_pos + 1 >= size && !at_eof) return Outcome::kNeedMoreData;
        if (quote_pos + 1 < size && data[quote_pos + 1] == '"') {
          unescaped_.push_back('"');
          pos = quote_pos + 2;
          continue;
        }
        pos = quote_pos + 1;
        break;
      }
      while (pos < size && !ends_field(data[pos])) unescaped_.push_back(data[pos++]);
      fields_.push_back(Span{begin, unescaped_.size() - begin, true});
    } else {
      const size_t begin = pos;
      // Skips eight bytes at a time while none of them ends the field.
      const auto delimiter = static_cast<uint8_t>(delimiter_);
      while (size - pos >= 8) {
        uint64_t word;
        std::memcpy(&word, data + pos, sizeof(word));
        if ((swar::BytesEqual(word, delimiter) | swar::BytesEqual(word, '\n') |
             swar::BytesEqual(word, '\r')) != 0) {
          break;
        }
        pos += 8;
      }
      while (pos < size && !ends_field(data[pos])) ++pos;
      fields_.push_back(Span{begin, pos - begin, false});
    }
    if (pos >= size) {
      if (!at_eof) return Outcome::kNeedMoreData;
      record_length_ = pos;
      consumed_ = pos;
      return Outcome::kRecord;
    }
    if (data[pos] == delimiter_) {
      ++pos;
      continue;
    }
    record_length_ = pos;
    if (data[pos] == '\n') {
      consumed_ = pos + 1;
    } else if (pos + 1 < size) {
      consumed_ = data[pos + 1] == '\n' ? pos + 2 : pos + 1;
    } else if (!at_eof) {
      return Outcome::kNeedMoreData;
    } else {
      consumed_ = pos + 1;
    }
    ++num_line_breaks_;
    return Outcome::kRecord;
  }
}

Status CsvFileReader::Open(const std::string& path) {
  line_number_ = 0;
  next_line_number_ = 1;
  unterminated_quote_ = false;
  return buffer_.Open(path);
}

Status CsvFileReader::Seek(int64_t offset, int64_t lines_before) {
  line_number_ = lines_before;
  next_line_number_ = lines_before + 1;
  unterminated_quote_ = false;
  const std::string path = buffer_.path();
  return buffer_.Open(path, offset);
}

Result<bool> CsvFileReader::NextRecord() {
  while (true) {
    if (buffer_.size() == 0) {
      if (buffer_.at_eof()) return false;
      ARROW_RETURN_NOT_OK(buffer_.ReadMore());
      continue;
    }
    const CsvRecordParser::Outcome outcome =
        parser_.Parse(buffer_.data(), buffer_.size(), buffer_.at_eof());
    if (outcome == CsvRecordParser::Outcome::kNeedMoreData) {
      ARROW_RETURN_NOT_OK(buffer_.ReadMore());
      continue;
    }
    // Consuming only advances an offset: the record's bytes stay in place until the
    // next ReadMore(), which happens in the next call.
    buffer_.Consume(parser_.consumed());
    line_number_ = next_line_number_;
    next_line_number_ += parser_.num_line_breaks();
    unterminated_quote_ = outcome == CsvRecordParser::Outcome::kUnterminatedQuote;
    if (parser_.record().empty() && !unterminated_quote_) continue;
    return true;
  }
}

Result<std::vector<std::string>> ReadCsvHeader(CsvFileReader* reader) {
  ARROW_ASSIGN_OR_RAISE(bool has_header, reader->NextRecord());
  if (!has_header) {
    return Status::Invalid("'", reader->path(),
                           "' is empty; a CSV file starts with a header line naming the "
                           "columns");
  }
  if (reader->unterminated_quote()) {
    return Status::Invalid(reader->path(), ":", reader->line_number(),
                           ": the header has a quoted name without its closing quote");
  }
  const CsvRecordParser& record = reader->record();
  std::vector<std::string> names;
  std::unordered_set<std::string_view> seen;
  names.reserve(record.num_fields());
  for (size_t i = 0; i < record.num_fields(); ++i) {
    if (!seen.insert(record.field(i)).second) {
      return Status::Invalid(reader->path(), ":", reader->line_number(),
                             ": the header names column '", record.field(i),
                             "' twice; column names must be unique");
    }
    names.emplace_back(record.field(i));
  }
  return names;
}

}  // namespace sabot
