#include "sabot/connectors/file/schema_inference.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/file/batch_assembler.h"
#include "sabot/connectors/file/columnar_files.h"
#include "sabot/connectors/file/csv_records.h"
#include "sabot/connectors/file/file_buffer.h"
#include "sabot/connectors/file/json_line_parser.h"

namespace sabot {
namespace {

// The kinds of JSON values seen in one field, as bits.
enum JsonShape : uint8_t {
  kBoolShape = 1,
  kIntegerShape = 2,
  kFloatShape = 4,
  kStringShape = 8,
};

struct JsonFieldEvidence {
  std::string name;
  uint8_t shapes = 0;
};

uint8_t ShapeOf(JsonType type) {
  switch (type) {
    case JsonType::kBool:
      return kBoolShape;
    case JsonType::kInteger:
      return kIntegerShape;
    // Beyond int64: only a double holds it.
    case JsonType::kUnsignedInteger:
    case JsonType::kFloat:
      return kFloatShape;
    case JsonType::kString:
      return kStringShape;
    case JsonType::kNull:
    case JsonType::kArray:
    case JsonType::kObject:
      break;
  }
  return 0;
}

std::shared_ptr<arrow::DataType> TypeOfShapes(uint8_t shapes) {
  switch (shapes) {
    case kBoolShape:
      return arrow::boolean();
    case kIntegerShape:
      return arrow::int64();
    case kFloatShape:
    case kIntegerShape | kFloatShape:
      return arrow::float64();
    default:
      // Only nulls, strings, or a mix that only text can hold.
      return arrow::utf8();
  }
}

struct CsvColumnEvidence {
  bool any_value = false;
  bool all_integers = true;
  bool all_floats = true;
  bool all_bools = true;

  std::shared_ptr<arrow::DataType> type() const {
    if (!any_value) return arrow::utf8();
    if (all_integers) return arrow::int64();
    if (all_floats) return arrow::float64();
    if (all_bools) return arrow::boolean();
    return arrow::utf8();
  }
};

Status NoRecords(const std::string& path) {
  return Status::Invalid("cannot infer a schema: '", path,
                         "' has no records to look at; give a schema");
}

}  // namespace

Result<std::shared_ptr<arrow::Schema>> InferJsonLinesSchema(const std::string& path,
                                                            BadRecordPolicy policy) {
  LineReader lines;
  ARROW_RETURN_NOT_OK(lines.Open(path));
  JsonLineParser parser;
  std::vector<JsonFieldEvidence> fields;
  std::unordered_map<std::string, size_t> field_index;
  std::string_view line;
  int64_t num_records = 0;
  while (num_records < kSchemaInferenceRecords) {
    ARROW_ASSIGN_OR_RAISE(bool has_line, lines.NextLine(&line));
    if (!has_line) break;
    if (IsBlankLine(line)) continue;
    if (!parser.Parse(line)) {
      if (policy == BadRecordPolicy::kSkip) continue;
      return Status::Invalid(path, ":", lines.line_number(), ": ", parser.error(),
                             " (found while inferring the schema)");
    }
    ++num_records;
    for (const JsonMember& member : parser.members()) {
      if (member.value.type == JsonType::kArray ||
          member.value.type == JsonType::kObject) {
        return Status::Invalid(
            path, ":", lines.line_number(), ": field '", member.key,
            "' holds a nested JSON value; schema inference handles scalars only, so "
            "give a schema (a string field keeps a nested value as JSON text)");
      }
      auto [it, inserted] =
          field_index.try_emplace(std::string(member.key), fields.size());
      if (inserted) fields.push_back(JsonFieldEvidence{it->first, 0});
      fields[it->second].shapes |= ShapeOf(member.value.type);
    }
  }
  if (num_records == 0) return NoRecords(path);
  arrow::FieldVector schema_fields;
  schema_fields.reserve(fields.size());
  for (const JsonFieldEvidence& field : fields) {
    schema_fields.push_back(arrow::field(field.name, TypeOfShapes(field.shapes)));
  }
  return arrow::schema(std::move(schema_fields));
}

Result<std::shared_ptr<arrow::Schema>> InferCsvSchema(const std::string& path,
                                                      char delimiter,
                                                      BadRecordPolicy policy) {
  CsvFileReader reader(delimiter);
  ARROW_RETURN_NOT_OK(reader.Open(path));
  ARROW_ASSIGN_OR_RAISE(std::vector<std::string> names, ReadCsvHeader(&reader));
  std::vector<CsvColumnEvidence> columns(names.size());
  int64_t num_records = 0;
  while (num_records < kSchemaInferenceRecords) {
    ARROW_ASSIGN_OR_RAISE(bool has_record, reader.NextRecord());
    if (!has_record) break;
    const CsvRecordParser& record = reader.record();
    if (reader.unterminated_quote() || record.num_fields() != names.size()) {
      if (policy == BadRecordPolicy::kSkip) continue;
      if (reader.unterminated_quote()) {
        return Status::Invalid(path, ":", reader.line_number(),
                               ": a quoted field lacks its closing quote (found while "
                               "inferring the schema)");
      }
      return Status::Invalid(path, ":", reader.line_number(), ": expected ", names.size(),
                             " fields as in the header, found ", record.num_fields(),
                             " (found while inferring the schema)");
    }
    ++num_records;
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string_view text = record.field(i);
      if (text.empty()) continue;
      CsvColumnEvidence& column = columns[i];
      int64_t integer;
      double real;
      bool boolean;
      column.any_value = true;
      column.all_integers = column.all_integers && ParseIntegerText(text, &integer);
      column.all_floats = column.all_floats && ParseFloatText(text, &real);
      column.all_bools = column.all_bools && ParseBoolText(text, &boolean);
    }
  }
  // A header without records still names the columns; they are inferred as strings.
  arrow::FieldVector fields;
  fields.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    fields.push_back(arrow::field(names[i], columns[i].type()));
  }
  return arrow::schema(std::move(fields));
}

Result<std::shared_ptr<arrow::Schema>> ReadFileSchema(const std::string& path,
                                                      FileFormat format) {
  std::unique_ptr<arrow::RecordBatchReader> batches;
  if (format == FileFormat::kParquet) {
    ARROW_ASSIGN_OR_RAISE(batches, OpenParquetBatches(path, /*batch_size=*/1));
  } else {
    ARROW_ASSIGN_OR_RAISE(batches, OpenArrowIpcBatches(path));
  }
  // The file's key-value metadata (e.g. the pandas or Arrow schema blobs) says nothing
  // about the records and would clutter plans and error messages.
  return batches->schema()->RemoveMetadata();
}

}  // namespace sabot
