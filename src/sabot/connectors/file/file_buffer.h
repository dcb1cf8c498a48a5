// Sequential reading of local text files through one large reusable buffer, and the
// line splitter of the JSON-lines source. Not thread-safe: each source subtask owns its
// own instances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sabot/common/status.h"

namespace sabot {

/// Holds the not yet consumed bytes of one file, contiguous in memory. The buffer is
/// kept when the next file is opened.
class FileBuffer {
 public:
  FileBuffer() = default;
  ~FileBuffer();
  FileBuffer(const FileBuffer&) = delete;
  FileBuffer& operator=(const FileBuffer&) = delete;

  /// Closes the current file, if any, and opens `path` for reading from byte `offset`
  /// (a position a checkpoint recorded). An offset past the end of the file is an
  /// error naming the file: the file changed since the position was taken.
  Status Open(const std::string& path, int64_t offset = 0);

  const std::string& path() const { return path_; }
  /// Returns the first unconsumed byte.
  const char* data() const { return buffer_.get() + begin_; }
  /// Returns the number of unconsumed bytes in memory.
  size_t size() const { return end_ - begin_; }
  /// Returns true when the file has no bytes beyond those in memory.
  bool at_eof() const { return at_eof_; }
  /// Returns the offset in the file of the first unconsumed byte.
  int64_t offset() const { return buffer_offset_ + static_cast<int64_t>(begin_); }

  void Consume(size_t num_bytes) { begin_ += num_bytes; }

  /// Reads more of the file after the unconsumed bytes. The unconsumed bytes move to the
  /// front of the buffer (views into them become invalid) and the buffer doubles when
  /// they fill it, so a record longer than the buffer still fits. Sets at_eof() at the
  /// end of the file.
  Status ReadMore();

 private:
  void CloseFile();

  std::string path_;
  int fd_ = -1;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  // The offset in the file of buffer_[0].
  int64_t buffer_offset_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool at_eof_ = true;
};

/// Splits a file into lines ("\n" or "\r\n" terminated; the last line may lack it) and
/// numbers them from 1.
class LineReader {
 public:
  /// Opens `path` at byte `offset`, which must start a line; `lines_before` is the
  /// number of lines before it, so that line numbers continue from there.
  Status Open(const std::string& path, int64_t offset = 0, int64_t lines_before = 0);

  /// Sets *line to the next line without its terminator and returns true, or returns
  /// false at the end of the file. The view is valid until the next call.
  Result<bool> NextLine(std::string_view* line);

  /// Returns the 1-based number of the line last returned (0 before the first line).
  int64_t line_number() const { return line_number_; }
  /// Returns the byte offset of the line after the one last returned.
  int64_t offset() const { return buffer_.offset(); }
  const std::string& path() const { return buffer_.path(); }

 private:
  FileBuffer buffer_;
  int64_t line_number_ = 0;
};

}  // namespace sabot
