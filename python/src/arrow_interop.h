// Arrow data between Python and the engine through the Arrow C Data Interface PyCapsule
// protocol (__arrow_c_schema__, __arrow_c_array__, __arrow_c_stream__): zero-copy, and
// any producer or consumer works (pyarrow, polars, duckdb, nanoarrow), without linking
// pyarrow's libarrow_python.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <memory>
#include <vector>

#include "bindings.h"

namespace sabot::python {

/// Reads every batch of `object`, which implements __arrow_c_stream__ (a table, a
/// reader, a polars DataFrame, ...) or __arrow_c_array__ (one record batch).
Result<std::shared_ptr<arrow::RecordBatchReader>> ImportReader(nb::handle object);

/// Imports a schema from an object implementing __arrow_c_schema__.
Result<std::shared_ptr<arrow::Schema>> ImportSchema(nb::handle object);

/// Imports a data type from an object implementing __arrow_c_schema__ (pyarrow.int64()).
Result<std::shared_ptr<arrow::DataType>> ImportType(nb::handle object);

/// Imports one record batch from an object implementing __arrow_c_array__ (or
/// __arrow_c_stream__, whose batches are concatenated).
Result<std::shared_ptr<arrow::RecordBatch>> ImportBatch(nb::handle object);

/// Returns a pyarrow.RecordBatch viewing `batch` (no copy). Needs the GIL.
nb::object ToPyArrowBatch(const std::shared_ptr<arrow::RecordBatch>& batch);

/// Returns a pyarrow.Table of `batches` (no copy). Needs the GIL.
nb::object ToPyArrowTable(std::shared_ptr<arrow::Schema> schema,
                          std::vector<std::shared_ptr<arrow::RecordBatch>> batches);

/// Returns a pyarrow.Schema. Needs the GIL.
nb::object ToPyArrowSchema(const std::shared_ptr<arrow::Schema>& schema);

}  // namespace sabot::python
