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
/// the calling thread, starting at row `first_row` (0-based): decoding starts at the row
/// group that holds it. A first row past the file's rows is an error (the file changed
/// since the position was recorded). Errors name the file.
Result<std::unique_ptr<arrow::RecordBatchReader>> OpenParquetBatches(
    const std::string& path, int64_t batch_size, int64_t first_row = 0);

/// Opens an Arrow IPC file (random access format), or failing that an Arrow IPC stream,
/// starting at record batch `first_batch` (the file format jumps there, a stream reads
/// and drops the batches before it). A first batch past the file's batches is an error.
/// Errors name the file.
Result<std::unique_ptr<arrow::RecordBatchReader>> OpenArrowIpcBatches(
    const std::string& path, int64_t first_batch = 0);

/// Returns OK when `actual` (the schema of file `path`) has the fields of `expected`:
/// same names and types in the same order. Otherwise Invalid naming the file and the
/// first differing field.
Status CheckFileSchema(const std::string& path, const arrow::Schema& expected,
                       const arrow::Schema& actual);

}  // namespace sabot
