// The per-format source readers behind the "file_source" registry entry. Each reader
// serves one subtask: it reads files subtask, subtask + p, subtask + 2p, ... of the
// options' sorted file list, one after another, on its task's thread, and records its
// position for checkpoints (file_position.h; README.md, "Checkpoints").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/connectors/file/file_options.h"
#include "sabot/runtime/source.h"

namespace arrow {
class Schema;
}  // namespace arrow

namespace sabot {

/// Returns the files that subtask `subtask` of `parallelism` reads.
std::vector<std::string> FilesOfSubtask(const std::vector<std::string>& files,
                                        int subtask, int parallelism);

/// Returns, for each column of a CSV header, the index of the schema field it fills, or
/// -1 for a column the schema lacks. Errors name the file and a schema field that no
/// column provides.
Result<std::vector<int>> MapCsvColumns(const std::string& path,
                                       const std::vector<std::string>& header,
                                       const arrow::Schema& schema);

Result<std::unique_ptr<SourceReader>> MakeJsonLinesReader(
    const FileSourceOptions& options, const SourceContext& context);
Result<std::unique_ptr<SourceReader>> MakeCsvReader(const FileSourceOptions& options,
                                                    const SourceContext& context);
/// Reads Parquet or Arrow IPC files, whichever the options name.
Result<std::unique_ptr<SourceReader>> MakeColumnarFileReader(
    const FileSourceOptions& options, const SourceContext& context);

}  // namespace sabot
