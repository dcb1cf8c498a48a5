// Selecting the rows of a batch where a boolean mask is true, faster than Arrow's
// filter kernel on unpredictable masks: the mask is turned into row indices once (word
// at a time), then every column is gathered with those indices — fixed-width columns
// and strings without nulls by tight loops, anything else by Arrow's take kernel.
#pragma once

#include <memory>

#include "sabot/common/status.h"

#include <arrow/type_fwd.h>

namespace sabot {

/// Returns the rows of `batch` where `mask` (a boolean array of the same length) is true;
/// null mask entries count as false, as in SQL WHERE.
Result<std::shared_ptr<arrow::RecordBatch>> SelectRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, const arrow::ArrayData& mask);

/// Returns the rows of `batch` at `indices` (valid, in range), in that order.
Result<std::shared_ptr<arrow::RecordBatch>> TakeRows(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Int32Array>& indices);

}  // namespace sabot
