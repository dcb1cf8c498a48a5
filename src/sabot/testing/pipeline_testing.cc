#include "sabot/testing/pipeline_testing.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "sabot/api/stream_environment.h"

namespace sabot::testing {

namespace cp = arrow::compute;

TempDirectory::TempDirectory() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "sabot-test-XXXXXX").string();
  char* created = mkdtemp(pattern.data());
  path_ = created ? created : "";
}

TempDirectory::~TempDirectory() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

std::string TempDirectory::Child(const std::string& name) const {
  return path_ + "/" + name;
}

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

namespace {

// Sorts all rows by every column, ascending, nulls last.
Result<std::shared_ptr<arrow::Table>> SortByAllColumns(
    const std::shared_ptr<arrow::Table>& table) {
  std::vector<cp::SortKey> keys;
  for (const auto& field : table->schema()->fields()) keys.emplace_back(field->name());
  ARROW_ASSIGN_OR_RAISE(auto indices, cp::SortIndices(table, cp::SortOptions(keys)));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum sorted, cp::Take(table, indices));
  return sorted.table()->CombineChunks();
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> QueryDuckDb(const std::string& sql) {
  const char* python = std::getenv("SABOT_PYTHON");
  const char* source_dir = std::getenv("SABOT_SOURCE_DIR");
  if (python == nullptr) python = SABOT_DEFAULT_PYTHON;
  if (source_dir == nullptr) source_dir = SABOT_DEFAULT_SOURCE_DIR;
  TempDirectory scratch;
  const std::string output = scratch.Child("result.arrow");
  const std::string command =
      ShellQuote(python) + " " +
      ShellQuote(std::string(source_dir) + "/tests/reference/duckdb_query.py") + " " +
      ShellQuote(sql) + " " + ShellQuote(output);
  if (int rc = std::system(command.c_str()); rc != 0) {
    return Status::IOError("DuckDB reference query failed (exit ", rc, "): ", sql);
  }
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(output));
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchFileReader::Open(file));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int i = 0; i < reader->num_record_batches(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->ReadRecordBatch(i));
    batches.push_back(std::move(batch));
  }
  return arrow::Table::FromRecordBatches(reader->schema(), std::move(batches));
}

Status CheckSameRows(const std::shared_ptr<arrow::Table>& expected_table,
                     const std::shared_ptr<arrow::Table>& actual_table) {
  const arrow::Table& expected = *expected_table;
  const arrow::Table& actual = *actual_table;
  if (expected.num_columns() != actual.num_columns()) {
    return Status::Invalid("expected ", expected.num_columns(), " columns, got ",
                           actual.num_columns(), ": ", actual.schema()->ToString());
  }
  if (expected.num_rows() != actual.num_rows()) {
    return Status::Invalid("expected ", expected.num_rows(), " rows, got ",
                           actual.num_rows());
  }
  std::vector<std::shared_ptr<arrow::ChunkedArray>> cast_columns;
  for (int i = 0; i < expected.num_columns(); ++i) {
    ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, cp::Cast(expected.column(i),
                                                      actual.schema()->field(i)->type()));
    cast_columns.push_back(cast.chunked_array());
  }
  auto expected_cast =
      arrow::Table::Make(actual.schema(), cast_columns, expected.num_rows());
  ARROW_ASSIGN_OR_RAISE(auto expected_sorted, SortByAllColumns(expected_cast));
  ARROW_ASSIGN_OR_RAISE(auto actual_sorted, SortByAllColumns(actual_table));
  for (int i = 0; i < actual.num_columns(); ++i) {
    if (!expected_sorted->column(i)->Equals(*actual_sorted->column(i))) {
      return Status::Invalid("column '", actual.schema()->field(i)->name(),
                             "' differs from the reference after sorting");
    }
  }
  return Status::OK();
}

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> GeneratedRows(
    GeneratorConfig config) {
  config.rows_per_second = 0;
  StreamEnvironment env;
  auto rows = env.FromGenerator(std::move(config)).Collect();
  ARROW_RETURN_NOT_OK(env.Execute().status());
  return rows->batches();
}

}  // namespace sabot::testing
