#include "sabot/connectors/file/file_options.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <arrow/type.h>

#include "sabot/connectors/file/batch_assembler.h"
#include "sabot/connectors/file/columnar_files.h"
#include "sabot/connectors/file/csv_records.h"
#include "sabot/connectors/file/file_readers.h"
#include "sabot/connectors/file/file_sink.h"
#include "sabot/connectors/file/schema_inference.h"
#include "sabot/connectors/json_lines_format.h"
#include "sabot/runtime/operator_registry.h"

namespace sabot {
namespace {

Status CheckPath(const std::string& path, const char* what) {
  if (path.empty()) return Status::Invalid(what, " is empty; set it to a file path");
  if (path.find('\0') != std::string::npos) {
    return Status::Invalid(what, " '", path.c_str(),
                           "...' contains a NUL character; file paths cannot");
  }
  return Status::OK();
}

// Expands a glob(3) pattern to the regular files it matches, in byte order of their
// names. A path without wildcards matches itself when it exists.
Result<std::vector<std::string>> ExpandGlob(const std::string& pattern) {
  glob_t matches{};
  const int result = ::glob(pattern.c_str(), GLOB_MARK, nullptr, &matches);
  std::vector<std::string> files;
  bool matched_directory = false;
  if (result == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) {
      std::string match = matches.gl_pathv[i];
      // GLOB_MARK appends '/' to directories.
      if (!match.empty() && match.back() == '/') {
        matched_directory = true;
      } else {
        files.push_back(std::move(match));
      }
    }
  }
  ::globfree(&matches);
  if (result == GLOB_NOSPACE) return Status::OutOfMemory("expanding '", pattern, "'");
  if (result == GLOB_ABORTED) {
    return Status::IOError("cannot read a directory while expanding '", pattern,
                           "'; check its permissions");
  }
  if (files.empty()) {
    std::string relative_to;
    if (pattern.front() != '/') {
      std::error_code error;
      relative_to = " (relative to the working directory '" +
                    std::filesystem::current_path(error).string() + "')";
    }
    return Status::Invalid(
        "no file matches '", pattern, "'; check the path", relative_to,
        matched_directory ? "; only directories match, add a file pattern such as 'dir/*'"
                          : "");
  }
  std::sort(files.begin(), files.end());
  return files;
}

Status CheckRejectsDirectory(const std::string& rejects_path) {
  const std::filesystem::path parent = std::filesystem::path(rejects_path).parent_path();
  if (parent.empty()) return Status::OK();
  std::error_code error;
  if (!std::filesystem::is_directory(parent, error)) {
    return Status::Invalid("the directory of rejects_path '", rejects_path,
                           "' does not exist; create it or choose another rejects_path");
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::Schema>> InferSchema(const FileSourceConfig& config,
                                                   const std::string& first_file) {
  switch (config.format) {
    case FileFormat::kJsonLines:
      return InferJsonLinesSchema(first_file, config.on_bad_record);
    case FileFormat::kCsv:
      return InferCsvSchema(first_file, config.csv_delimiter, config.on_bad_record);
    case FileFormat::kParquet:
    case FileFormat::kArrowIpc:
      return ReadFileSchema(first_file, config.format);
  }
  return Status::Invalid("unknown file format");
}

// Checks a given schema against what the first file can provide.
Status CheckGivenSchema(const FileSourceConfig& config, const std::string& first_file) {
  const arrow::Schema& schema = *config.schema;
  switch (config.format) {
    case FileFormat::kJsonLines:
      return CheckTextSourceSchema(schema);
    case FileFormat::kCsv: {
      ARROW_RETURN_NOT_OK(CheckTextSourceSchema(schema));
      CsvFileReader reader(config.csv_delimiter);
      ARROW_RETURN_NOT_OK(reader.Open(first_file));
      ARROW_ASSIGN_OR_RAISE(std::vector<std::string> header, ReadCsvHeader(&reader));
      return MapCsvColumns(first_file, header, schema).status();
    }
    case FileFormat::kParquet:
    case FileFormat::kArrowIpc: {
      ARROW_ASSIGN_OR_RAISE(auto file_schema, ReadFileSchema(first_file, config.format));
      return CheckFileSchema(first_file, schema, *file_schema);
    }
  }
  return Status::OK();
}

Status CheckSourceConfig(const FileSourceConfig& config) {
  ARROW_RETURN_NOT_OK(CheckPath(config.path, "file source path"));
  if (config.batch_size <= 0) {
    return Status::Invalid("file source batch_size must be positive, got ",
                           config.batch_size);
  }
  if (config.on_bad_record == BadRecordPolicy::kSkip) {
    if (config.rejects_path.empty()) {
      return Status::Invalid(
          "on_bad_record is kSkip but rejects_path is empty; set rejects_path to the "
          "file "
          "that should receive the rejected records");
    }
    ARROW_RETURN_NOT_OK(CheckPath(config.rejects_path, "rejects_path"));
    ARROW_RETURN_NOT_OK(CheckRejectsDirectory(config.rejects_path));
  }
  if (config.format == FileFormat::kCsv &&
      (config.csv_delimiter == '"' || config.csv_delimiter == '\n' ||
       config.csv_delimiter == '\r')) {
    return Status::Invalid("csv_delimiter cannot be a quote or a line break");
  }
  return Status::OK();
}

}  // namespace

const char* FileFormatExtension(FileFormat format) {
  switch (format) {
    case FileFormat::kJsonLines:
      return "jsonl";
    case FileFormat::kCsv:
      return "csv";
    case FileFormat::kParquet:
      return "parquet";
    case FileFormat::kArrowIpc:
      return "arrow";
  }
  return "unknown";
}

FileSourceOptions::FileSourceOptions(FileSourceConfig config,
                                     std::vector<std::string> files,
                                     std::shared_ptr<arrow::Schema> schema)
    : config_(std::move(config)), files_(std::move(files)), schema_(std::move(schema)) {}

Result<std::shared_ptr<FileSourceOptions>> FileSourceOptions::Make(
    FileSourceConfig config) {
  ARROW_RETURN_NOT_OK(CheckSourceConfig(config));
  ARROW_ASSIGN_OR_RAISE(std::vector<std::string> files, ExpandGlob(config.path));
  std::shared_ptr<arrow::Schema> schema = config.schema;
  if (schema) {
    ARROW_RETURN_NOT_OK(CheckGivenSchema(config, files.front()));
  } else {
    ARROW_ASSIGN_OR_RAISE(schema, InferSchema(config, files.front()));
  }
  return std::shared_ptr<FileSourceOptions>(
      new FileSourceOptions(std::move(config), std::move(files), std::move(schema)));
}

std::string FileSourceOptions::Describe() const {
  return std::string("file_source(") + FileFormatExtension(config_.format) + ", " +
         config_.path + ", " + std::to_string(files_.size()) +
         (files_.size() == 1 ? " file)" : " files)");
}

FileSinkOptions::FileSinkOptions(FileSinkConfig config,
                                 std::shared_ptr<arrow::Schema> schema)
    : config_(std::move(config)), schema_(std::move(schema)) {}

Result<std::shared_ptr<FileSinkOptions>> FileSinkOptions::Make(
    FileSinkConfig config, std::shared_ptr<arrow::Schema> schema) {
  ARROW_RETURN_NOT_OK(CheckPath(config.path, "file sink path"));
  if (!schema) return Status::Invalid("the file sink needs the schema of its input");
  if (config.format == FileFormat::kCsv) {
    for (const auto& field : schema->fields()) {
      if (arrow::is_nested(field->type()->id())) {
        return Status::Invalid("CSV cannot hold field '", field->name(),
                               "' of nested type ", field->type()->ToString(),
                               "; write JSON lines, Parquet or Arrow IPC, or flatten it");
      }
    }
  }
  if (config.format == FileFormat::kJsonLines) {
    ARROW_RETURN_NOT_OK(CheckJsonLinesSupport(*schema));
  }
  std::error_code error;
  std::filesystem::create_directories(config.path, error);
  if (error || !std::filesystem::is_directory(config.path, error)) {
    return Status::IOError("cannot create the output directory '", config.path,
                           "': ", error ? error.message() : "a file of that name exists");
  }
  return std::shared_ptr<FileSinkOptions>(
      new FileSinkOptions(std::move(config), std::move(schema)));
}

std::string FileSinkOptions::Describe() const {
  return std::string("file_sink(") + FileFormatExtension(config_.format) + ", " +
         config_.path + ")";
}

std::vector<std::string> FilesOfSubtask(const std::vector<std::string>& files,
                                        int subtask, int parallelism) {
  std::vector<std::string> assigned;
  for (size_t i = static_cast<size_t>(subtask); i < files.size();
       i += static_cast<size_t>(parallelism)) {
    assigned.push_back(files[i]);
  }
  return assigned;
}

Status RegisterFileConnectors(OperatorRegistry* registry) {
  ARROW_RETURN_NOT_OK(registry->AddSource(
      "file_source",
      [](const NodeOptions& options,
         const SourceContext& context) -> Result<std::unique_ptr<SourceReader>> {
        ARROW_ASSIGN_OR_RAISE(auto* file, CheckedOptionsCast<FileSourceOptions>(options));
        switch (file->config().format) {
          case FileFormat::kJsonLines:
            return MakeJsonLinesReader(*file, context);
          case FileFormat::kCsv:
            return MakeCsvReader(*file, context);
          case FileFormat::kParquet:
          case FileFormat::kArrowIpc:
            return MakeColumnarFileReader(*file, context);
        }
        return Status::Invalid("unknown file format");
      }));
  return registry->AddOperator(
      "file_sink", [](const NodeOptions& options) -> Result<std::unique_ptr<Operator>> {
        ARROW_ASSIGN_OR_RAISE(auto* file, CheckedOptionsCast<FileSinkOptions>(options));
        return MakeFileSinkOperator(*file);
      });
}

}  // namespace sabot
