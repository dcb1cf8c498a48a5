// Infers the schema of a file source from the first records of its first file. The
// rules are in README.md ("Schema inference").
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sabot/common/status.h"
#include "sabot/connectors/file/file_options.h"

namespace arrow {
class Schema;
}  // namespace arrow

namespace sabot {

/// How many records schema inference looks at.
constexpr int64_t kSchemaInferenceRecords = 1000;

/// Infers a schema from the first records of a JSON lines file: fields in order of first
/// appearance. Under kFail an invalid line is an error naming file and line; under kSkip
/// it is ignored here (the reader rejects it later).
Result<std::shared_ptr<arrow::Schema>> InferJsonLinesSchema(const std::string& path,
                                                            BadRecordPolicy policy);

/// Infers a schema from the header and first records of a CSV file (all strings when
/// the header is the only line). Records with the wrong number of fields are errors
/// under kFail and ignored under kSkip.
Result<std::shared_ptr<arrow::Schema>> InferCsvSchema(const std::string& path,
                                                      char delimiter,
                                                      BadRecordPolicy policy);

/// Returns the schema stored in a Parquet or Arrow IPC file.
Result<std::shared_ptr<arrow::Schema>> ReadFileSchema(const std::string& path,
                                                      FileFormat format);

}  // namespace sabot
