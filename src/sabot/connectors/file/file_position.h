// The checkpoint position of a file source reader and its binary layout, shared by the
// JSON lines, CSV, Parquet and Arrow IPC readers (README.md, "Checkpoints").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/connectors/file/file_options.h"

namespace sabot {

/// Where a reader stands in its subtask's files: every row before it was emitted,
/// none after it. A plain value; the reader that owns it is used from one task thread.
struct FilePosition {
  /// Index into the subtask's files of the file being read; the number of files once
  /// all are read.
  int64_t file_index = 0;
  /// The path of that file (empty once all are read); a restore checks that the
  /// subtask's file list still holds it at `file_index`.
  std::string path;
  /// JSON lines / CSV: the byte offset of the next unread record. Parquet: the next row
  /// (0-based). Arrow IPC: the next record batch.
  int64_t offset = 0;
  /// JSON lines / CSV: the number of lines before `offset`, so that line numbers in
  /// error messages continue. Arrow IPC: the next row within record batch `offset`.
  /// Parquet: 0.
  int64_t line_or_row = 0;
};

/// Encodes the position of a `format` reader that is subtask `subtask` of
/// `parallelism`. Layout (integers little-endian, by StateCodec):
///
///   "SBFP"  magic, 4 bytes
///   uint8   version, 1
///   uint8   format: 0 JSON lines, 1 CSV, 2 Parquet, 3 Arrow IPC
///   int32   subtask
///   int32   parallelism
///   int64   file_index
///   uint32  path length, then the path's bytes
///   int64   offset
///   int64   line_or_row
std::string EncodeFilePosition(FileFormat format, int subtask, int parallelism,
                               const FilePosition& position);

/// Decodes bytes EncodeFilePosition() returned and checks them against the reader that
/// restores them: the same format, subtask and parallelism, and `files` (the subtask's
/// files now) holding the position's path at its index. Errors (Invalid) say what does
/// not match, name the file, and tell what to do.
Result<FilePosition> DecodeFilePosition(std::string_view bytes, FileFormat format,
                                        int subtask, int parallelism,
                                        const std::vector<std::string>& files);

/// The encoded position of a text (JSON lines / CSV) reader: in file `next_file - 1`
/// at `offset` after `lines` lines when a file is open, else before `next_file`.
/// `pending_rows` (rows read but not emitted) must be 0: a text reader emits a batch
/// right after the record that fills it, so positions fall between records.
Result<std::string> EncodeTextFilePosition(FileFormat format, int subtask,
                                           int parallelism, int64_t pending_rows,
                                           bool file_open, size_t next_file,
                                           const std::vector<std::string>& files,
                                           int64_t offset, int64_t lines);

}  // namespace sabot
