#include "sabot/connectors/file/file_buffer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sabot {
namespace {

// Large enough that read() calls are rare and a typical record never spans two reads.
constexpr size_t kInitialCapacity = 1 << 20;

std::string_view WithoutCarriageReturn(const char* data, size_t size) {
  if (size > 0 && data[size - 1] == '\r') --size;
  return std::string_view(data, size);
}

}  // namespace

FileBuffer::~FileBuffer() { CloseFile(); }

void FileBuffer::CloseFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Status FileBuffer::Open(const std::string& path, int64_t offset) {
  CloseFile();
  path_ = path;
  buffer_offset_ = 0;
  begin_ = 0;
  end_ = 0;
  at_eof_ = false;
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    return Status::IOError("cannot open '", path_, "': ", std::strerror(errno));
  }
  if (offset != 0) {
    struct stat info;
    if (::fstat(fd_, &info) != 0) {
      return Status::IOError("cannot read '", path_, "': ", std::strerror(errno));
    }
    if (offset < 0 || offset > info.st_size) {
      return Status::Invalid("'", path_, "' has ", info.st_size,
                             " bytes, so it cannot continue at byte ", offset,
                             ": the file changed since the position was recorded");
    }
    if (::lseek(fd_, offset, SEEK_SET) < 0) {
      return Status::IOError("cannot seek in '", path_, "': ", std::strerror(errno));
    }
    buffer_offset_ = offset;
  }
  ::posix_fadvise(fd_, offset, 0, POSIX_FADV_SEQUENTIAL);
  return Status::OK();
}

Status FileBuffer::ReadMore() {
  if (at_eof_) return Status::OK();
  const size_t unconsumed = size();
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, unconsumed);
    buffer_offset_ += static_cast<int64_t>(begin_);
    begin_ = 0;
    end_ = unconsumed;
  }
  if (end_ == capacity_) {
    const size_t capacity = capacity_ == 0 ? kInitialCapacity : capacity_ * 2;
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (end_ > 0) std::memcpy(grown.get(), buffer_.get(), end_);
    buffer_ = std::move(grown);
    capacity_ = capacity;
  }
  while (true) {
    const ssize_t num_read = ::read(fd_, buffer_.get() + end_, capacity_ - end_);
    if (num_read > 0) {
      end_ += static_cast<size_t>(num_read);
      return Status::OK();
    }
    if (num_read == 0) {
      at_eof_ = true;
      CloseFile();
      return Status::OK();
    }
    if (errno != EINTR) {
      return Status::IOError("cannot read '", path_, "': ", std::strerror(errno));
    }
  }
}

Status LineReader::Open(const std::string& path, int64_t offset, int64_t lines_before) {
  line_number_ = lines_before;
  return buffer_.Open(path, offset);
}

Result<bool> LineReader::NextLine(std::string_view* line) {
  size_t scanned = 0;
  while (true) {
    const char* data = buffer_.data();
    const size_t size = buffer_.size();
    const auto* newline =
        size > scanned
            ? static_cast<const char*>(std::memchr(data + scanned, '\n', size - scanned))
            : nullptr;
    if (newline != nullptr) {
      const auto length = static_cast<size_t>(newline - data);
      *line = WithoutCarriageReturn(data, length);
      buffer_.Consume(length + 1);
      ++line_number_;
      return true;
    }
    if (buffer_.at_eof()) {
      if (size == 0) return false;
      *line = WithoutCarriageReturn(data, size);
      buffer_.Consume(size);
      ++line_number_;
      return true;
    }
    scanned = size;
    ARROW_RETURN_NOT_OK(buffer_.ReadMore());
  }
}

}  // namespace sabot
