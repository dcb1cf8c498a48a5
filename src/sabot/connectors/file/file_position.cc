#include "sabot/connectors/file/file_position.h"

#include <sstream>

#include "sabot/state/state_codec.h"

namespace sabot {
namespace {

constexpr char kMagic[] = "SBFP";
constexpr size_t kMagicSize = 4;
constexpr uint8_t kVersion = 1;

// Format codes of the layout, independent of the enum's order.
uint8_t FormatCode(FileFormat format) {
  switch (format) {
    case FileFormat::kJsonLines:
      return 0;
    case FileFormat::kCsv:
      return 1;
    case FileFormat::kParquet:
      return 2;
    case FileFormat::kArrowIpc:
      return 3;
  }
  return 255;
}

const char* FormatName(uint8_t code) {
  switch (code) {
    case 0:
      return "JSON lines";
    case 1:
      return "CSV";
    case 2:
      return "Parquet";
    case 3:
      return "Arrow IPC";
    default:
      return "unknown";
  }
}

struct EncodedPosition {
  uint8_t format = 0;
  int32_t subtask = 0;
  int32_t parallelism = 0;
  FilePosition position;
};

Result<EncodedPosition> Parse(std::string_view in) {
  if (in.size() < kMagicSize || in.substr(0, kMagicSize) != kMagic) {
    return Status::Invalid("not a file source position (no SBFP header)");
  }
  in.remove_prefix(kMagicSize);
  ARROW_ASSIGN_OR_RAISE(uint8_t version, StateCodec<uint8_t>::Read(&in));
  if (version != kVersion) {
    return Status::Invalid("file source position has version ", int{version},
                           "; this build reads version ", int{kVersion});
  }
  EncodedPosition encoded;
  ARROW_ASSIGN_OR_RAISE(encoded.format, StateCodec<uint8_t>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(encoded.subtask, StateCodec<int32_t>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(encoded.parallelism, StateCodec<int32_t>::Read(&in));
  FilePosition& position = encoded.position;
  ARROW_ASSIGN_OR_RAISE(position.file_index, StateCodec<int64_t>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(position.path, StateCodec<std::string>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(position.offset, StateCodec<int64_t>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(position.line_or_row, StateCodec<int64_t>::Read(&in));
  if (!in.empty()) return Status::Invalid("file source position has trailing bytes");
  return encoded;
}

}  // namespace

std::string EncodeFilePosition(FileFormat format, int subtask, int parallelism,
                               const FilePosition& position) {
  std::string out(kMagic, kMagicSize);
  StateCodec<uint8_t>::Append(kVersion, &out);
  StateCodec<uint8_t>::Append(FormatCode(format), &out);
  StateCodec<int32_t>::Append(subtask, &out);
  StateCodec<int32_t>::Append(parallelism, &out);
  StateCodec<int64_t>::Append(position.file_index, &out);
  StateCodec<std::string>::Append(position.path, &out);
  StateCodec<int64_t>::Append(position.offset, &out);
  StateCodec<int64_t>::Append(position.line_or_row, &out);
  return out;
}

Result<FilePosition> DecodeFilePosition(std::string_view bytes, FileFormat format,
                                        int subtask, int parallelism,
                                        const std::vector<std::string>& files) {
  auto parsed = Parse(bytes);
  if (!parsed.ok()) {
    // Truncation errors of StateCodec are IOErrors; all of these are a bad position.
    return Status::Invalid("cannot restore the file source position of subtask ", subtask,
                           ": ", parsed.status().message(),
                           "; the checkpoint is corrupt or belongs to another source");
  }
  const EncodedPosition& encoded = *parsed;
  const FilePosition& position = encoded.position;
  if (encoded.format != FormatCode(format)) {
    return Status::Invalid("the checkpointed position belongs to a ",
                           FormatName(encoded.format), " file source, not to this ",
                           FormatName(FormatCode(format)),
                           " one; restore a job with the same sources");
  }
  if (encoded.subtask != subtask || encoded.parallelism != parallelism) {
    return Status::Invalid("the checkpointed file source position belongs to subtask ",
                           encoded.subtask, " of ", encoded.parallelism,
                           ", not to subtask ", subtask, " of ", parallelism,
                           "; restore with the source's parallelism");
  }
  if (position.file_index < 0 || position.offset < 0 || position.line_or_row < 0) {
    return Status::Invalid("the checkpointed file source position of subtask ", subtask,
                           " is out of range (file ", position.file_index, ", offset ",
                           position.offset, ", line/row ", position.line_or_row,
                           "); the checkpoint is corrupt");
  }
  const auto num_files = static_cast<int64_t>(files.size());
  std::ostringstream now;
  if (position.file_index < num_files) {
    now << "'" << files[static_cast<size_t>(position.file_index)] << "'";
  } else {
    now << "beyond the subtask's " << num_files << " files";
  }
  if (position.path.empty()) {
    if (position.offset != 0 || position.line_or_row != 0) {
      return Status::Invalid("the checkpointed file source position of subtask ", subtask,
                             " has an offset but no file; the checkpoint is "
                             "corrupt");
    }
    // All files were read: the subtask must have exactly as many files now.
    if (position.file_index == num_files) return position;
    return Status::Invalid("the checkpoint had read all ", position.file_index,
                           " files of subtask ", subtask, ", but the subtask now reads ",
                           num_files,
                           ": the input files changed since the checkpoint; restore "
                           "with the same files");
  }
  if (position.file_index >= num_files ||
      files[static_cast<size_t>(position.file_index)] != position.path) {
    return Status::Invalid("the checkpoint stopped in file '", position.path, "' (file #",
                           position.file_index, " of subtask ", subtask,
                           "), but that place is now ", now.str(),
                           ": the input files changed since the checkpoint; restore "
                           "with the same files");
  }
  return position;
}

Result<std::string> EncodeTextFilePosition(FileFormat format, int subtask,
                                           int parallelism, int64_t pending_rows,
                                           bool file_open, size_t next_file,
                                           const std::vector<std::string>& files,
                                           int64_t offset, int64_t lines) {
  if (pending_rows > 0) {
    return Status::Invalid("internal error: ", FileFormatExtension(format),
                           " source subtask ", subtask, " holds ", pending_rows,
                           " rows it has not emitted; a position is only taken "
                           "between two Next() calls");
  }
  FilePosition position;
  if (file_open) {
    position.file_index = static_cast<int64_t>(next_file) - 1;
    position.path = files[next_file - 1];
    position.offset = offset;
    position.line_or_row = lines;
  } else {
    position.file_index = static_cast<int64_t>(next_file);
    if (next_file < files.size()) position.path = files[next_file];
  }
  return EncodeFilePosition(format, subtask, parallelism, position);
}

}  // namespace sabot
