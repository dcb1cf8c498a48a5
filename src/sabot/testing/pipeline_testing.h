// Test support: temporary directories, DuckDB reference results, and order-insensitive
// table comparison. Reference answers come from DuckDB (in the project venv) running
// SQL over the same input files, never from Sabot itself.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"
#include "sabot/connectors/generator_source.h"

namespace arrow {
class Table;
}  // namespace arrow

namespace sabot::testing {

/// A fresh directory, removed with its contents on destruction.
class TempDirectory {
 public:
  TempDirectory();
  ~TempDirectory();
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  const std::string& path() const { return path_; }
  /// Returns path() + "/" + name.
  std::string Child(const std::string& name) const;

 private:
  std::string path_;
};

/// Returns `text` quoted for /bin/sh (single quotes).
std::string ShellQuote(const std::string& text);

/// Runs `sql` (one or more statements) in DuckDB with the venv's Python
/// (tests/reference/duckdb_query.py) and returns the last statement's result.
Result<std::shared_ptr<arrow::Table>> QueryDuckDb(const std::string& sql);

/// Runs a generator alone, without its rate limit, and returns every row it produces:
/// the input of an independent reference computation.
Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> GeneratedRows(
    GeneratorConfig config);

/// Returns OK when both tables hold the same multiset of rows (order ignored). Columns
/// are matched by position; `expected` is cast to the types of `actual` first, since
/// DuckDB may choose wider types. Doubles compare exactly.
Status CheckSameRows(const std::shared_ptr<arrow::Table>& expected,
                     const std::shared_ptr<arrow::Table>& actual);

}  // namespace sabot::testing
