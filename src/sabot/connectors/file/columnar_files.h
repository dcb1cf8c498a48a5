// Opening Parquet and Arrow IPC files as batch readers, and checking their schemas.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sabot/common/status.h"

namespace arrow {
class RecordBatchReader;
class Schema;
}  // namespace arrow

namespace sabot {

/// Opens a Parquet file whose batches have at most `batch_size` rows and are decoded on
/// the calling thread. Errors name the file.
Result<std::unique_ptr<arrow::RecordBatchReader>> OpenParquetBatches(
    const std::string& path, int64_t batch_size);

/// Opens an Arrow IPC file (random access format), or failing that an Arrow IPC stream.
/// Errors name the file.
Result<std::unique_ptr<arrow::RecordBatchReader>> OpenArrowIpcBatches(
    const std::string& path);

/// Returns OK when `actual` (the schema of file `path`) has the fields of `expected`:
/// same names and types in the same order. Otherwise Invalid naming the file and the
/// first differing field.
Status CheckFileSchema(const std::string& path, const arrow::Schema& expected,
                       const arrow::Schema& actual);

}  // namespace sabot
