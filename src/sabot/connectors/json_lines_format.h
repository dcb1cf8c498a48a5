// Renders record batches as JSON lines: one JSON object per row, keys are the column
// names. Shared by the JSON-lines file sink, the print sink and the rejects files of the
// file source. Stateless free functions; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

#include "sabot/common/status.h"

namespace arrow {
class RecordBatch;
class Schema;
}  // namespace arrow

namespace sabot {

/// Appends `text` to `out` as a quoted JSON string: '"' and '\' are escaped, control
/// characters become \n, \t, ... or \u00XX, and other bytes (UTF-8) are copied as is.
void AppendJsonString(std::string_view text, std::string* out);

/// Returns OK when AppendJsonLines can render every column of `schema`, otherwise
/// NotImplemented naming the first unsupported column and its type.
Status CheckJsonLinesSupport(const arrow::Schema& schema);

/// Appends one JSON object per row of `batch` to `out`, each line starting with
/// `line_prefix` and ending with '\n'. Nulls are null; NaN and infinities are null (JSON
/// has no literal for them); floating point values use the shortest text that reads back
/// to the same value and always contain '.' or an exponent, so a reader sees a float;
/// timestamps are their integer count of units since the epoch; dates are "YYYY-MM-DD".
/// Supported: null, bool, all integer widths, float, double, string, large_string,
/// string_view, timestamp, date32, date64. Other types return NotImplemented naming the
/// column.
Status AppendJsonLines(const arrow::RecordBatch& batch, std::string* out,
                       std::string_view line_prefix = {});

}  // namespace sabot
