#include "sabot/connectors/json_lines_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <vector>

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/checked_cast.h>

namespace sabot {
namespace {

using arrow::internal::checked_cast;

// The JSON text of one column's values, rendered before rows are interleaved so that the
// type dispatch happens once per column instead of once per cell: row i is
// text[ends[i - 1], ends[i]).
struct RenderedColumn {
  std::string key;
  std::string text;
  std::vector<size_t> ends;
};

// Calls render(array, i, &text) for every non-null row; nulls render as null.
template <typename ArrayType, typename Render>
void RenderEach(const arrow::Array& untyped, RenderedColumn* column, Render render) {
  const auto& array = checked_cast<const ArrayType&>(untyped);
  const int64_t num_rows = array.length();
  const bool may_have_nulls = array.null_count() > 0;
  column->ends.resize(num_rows);
  for (int64_t i = 0; i < num_rows; ++i) {
    if (may_have_nulls && array.IsNull(i)) {
      column->text.append("null");
    } else {
      render(array, i, &column->text);
    }
    column->ends[i] = column->text.size();
  }
}

template <typename T>
void AppendInteger(T value, std::string* out) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, result.ptr);
}

template <typename T>
void AppendFloat(T value, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char digits[32];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, result.ptr);
  // std::to_chars prints 3.0 as "3"; keep it a float for readers that infer types.
  if (std::none_of(digits, result.ptr, [](char c) { return c == '.' || c == 'e'; })) {
    out->append(".0");
  }
}

void AppendTwoDigits(unsigned value, std::string* out) {
  out->push_back(static_cast<char>('0' + value / 10));
  out->push_back(static_cast<char>('0' + value % 10));
}

// Appends "YYYY-MM-DD" for a count of days since 1970-01-01 (proleptic Gregorian
// calendar; H. Hinnant's civil_from_days).
void AppendDate(int64_t days, std::string* out) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t day_of_era = z - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  const auto day = static_cast<unsigned>(day_of_year - (153 * month_index + 2) / 5 + 1);
  const auto month =
      static_cast<unsigned>(month_index < 10 ? month_index + 3 : month_index - 9);
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  out->push_back('"');
  if (year >= 0 && year <= 9999) {
    AppendTwoDigits(static_cast<unsigned>(year / 100), out);
    AppendTwoDigits(static_cast<unsigned>(year % 100), out);
  } else {
    AppendInteger(year, out);
  }
  out->push_back('-');
  AppendTwoDigits(month, out);
  out->push_back('-');
  AppendTwoDigits(day, out);
  out->push_back('"');
}

int64_t FloorDivide(int64_t value, int64_t divisor) {
  const int64_t quotient = value / divisor;
  return (value % divisor != 0 && value < 0) ? quotient - 1 : quotient;
}

bool IsSupported(arrow::Type::type id) {
  switch (id) {
    case arrow::Type::NA:
    case arrow::Type::BOOL:
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
      return true;
    default:
      return false;
  }
}

Status Unsupported(const std::string& column, const arrow::DataType& type) {
  return Status::NotImplemented("JSON lines output cannot render column '", column,
                                "' of type ", type.ToString(),
                                "; cast it to a string or a number first");
}

template <typename ArrayType>
void RenderIntegers(const arrow::Array& array, RenderedColumn* column) {
  RenderEach<ArrayType>(array, column,
                        [](const ArrayType& a, int64_t i, std::string* out) {
                          AppendInteger(a.Value(i), out);
                        });
}

template <typename ArrayType>
void RenderFloats(const arrow::Array& array, RenderedColumn* column) {
  RenderEach<ArrayType>(array, column,
                        [](const ArrayType& a, int64_t i, std::string* out) {
                          AppendFloat(a.Value(i), out);
                        });
}

template <typename ArrayType>
void RenderStrings(const arrow::Array& array, RenderedColumn* column) {
  RenderEach<ArrayType>(array, column,
                        [](const ArrayType& a, int64_t i, std::string* out) {
                          AppendJsonString(a.GetView(i), out);
                        });
}

Status RenderColumn(const arrow::Array& array, const std::string& name,
                    RenderedColumn* column) {
  column->text.reserve(static_cast<size_t>(array.length()) * 8);
  switch (array.type_id()) {
    case arrow::Type::NA:
      column->ends.resize(array.length());
      for (int64_t i = 0; i < array.length(); ++i) {
        column->text.append("null");
        column->ends[i] = column->text.size();
      }
      return Status::OK();
    case arrow::Type::BOOL:
      RenderEach<arrow::BooleanArray>(
          array, column, [](const arrow::BooleanArray& a, int64_t i, std::string* out) {
            out->append(a.Value(i) ? "true" : "false");
          });
      return Status::OK();
    case arrow::Type::INT8:
      RenderIntegers<arrow::Int8Array>(array, column);
      return Status::OK();
    case arrow::Type::INT16:
      RenderIntegers<arrow::Int16Array>(array, column);
      return Status::OK();
    case arrow::Type::INT32:
      RenderIntegers<arrow::Int32Array>(array, column);
      return Status::OK();
    case arrow::Type::INT64:
      RenderIntegers<arrow::Int64Array>(array, column);
      return Status::OK();
    case arrow::Type::UINT8:
      RenderIntegers<arrow::UInt8Array>(array, column);
      return Status::OK();
    case arrow::Type::UINT16:
      RenderIntegers<arrow::UInt16Array>(array, column);
      return Status::OK();
    case arrow::Type::UINT32:
      RenderIntegers<arrow::UInt32Array>(array, column);
      return Status::OK();
    case arrow::Type::UINT64:
      RenderIntegers<arrow::UInt64Array>(array, column);
      return Status::OK();
    case arrow::Type::FLOAT:
      RenderFloats<arrow::FloatArray>(array, column);
      return Status::OK();
    case arrow::Type::DOUBLE:
      RenderFloats<arrow::DoubleArray>(array, column);
      return Status::OK();
    case arrow::Type::STRING:
      RenderStrings<arrow::StringArray>(array, column);
      return Status::OK();
    case arrow::Type::LARGE_STRING:
      RenderStrings<arrow::LargeStringArray>(array, column);
      return Status::OK();
    case arrow::Type::STRING_VIEW:
      RenderStrings<arrow::StringViewArray>(array, column);
      return Status::OK();
    case arrow::Type::TIMESTAMP:
      RenderIntegers<arrow::TimestampArray>(array, column);
      return Status::OK();
    case arrow::Type::DATE32:
      RenderEach<arrow::Date32Array>(
          array, column, [](const arrow::Date32Array& a, int64_t i, std::string* out) {
            AppendDate(a.Value(i), out);
          });
      return Status::OK();
    case arrow::Type::DATE64:
      RenderEach<arrow::Date64Array>(
          array, column, [](const arrow::Date64Array& a, int64_t i, std::string* out) {
            AppendDate(FloorDivide(a.Value(i), 86400000), out);
          });
      return Status::OK();
    default:
      return Unsupported(name, *array.type());
  }
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  out->push_back('"');
  size_t run_begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + run_begin, i - run_begin);
    run_begin = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHexDigits[c >> 4]);
        out->push_back(kHexDigits[c & 0xf]);
        break;
    }
  }
  out->append(text.data() + run_begin, text.size() - run_begin);
  out->push_back('"');
}

Status CheckJsonLinesSupport(const arrow::Schema& schema) {
  for (const auto& field : schema.fields()) {
    if (!IsSupported(field->type()->id()))
      return Unsupported(field->name(), *field->type());
  }
  return Status::OK();
}

Status AppendJsonLines(const arrow::RecordBatch& batch, std::string* out,
                       std::string_view line_prefix) {
  const int num_columns = batch.num_columns();
  const int64_t num_rows = batch.num_rows();
  std::vector<RenderedColumn> columns(num_columns);
  size_t rendered_size = 0;
  for (int c = 0; c < num_columns; ++c) {
    const std::string& name = batch.schema()->field(c)->name();
    AppendJsonString(name, &columns[c].key);
    columns[c].key.push_back(':');
    ARROW_RETURN_NOT_OK(RenderColumn(*batch.column(c), name, &columns[c]));
    rendered_size += columns[c].text.size() + columns[c].key.size() * num_rows;
  }
  out->reserve(out->size() + rendered_size +
               num_rows * (line_prefix.size() + num_columns + 3));
  for (int64_t row = 0; row < num_rows; ++row) {
    out->append(line_prefix);
    out->push_back('{');
    for (int c = 0; c < num_columns; ++c) {
      const RenderedColumn& column = columns[c];
      if (c > 0) out->push_back(',');
      out->append(column.key);
      const size_t begin = row == 0 ? 0 : column.ends[row - 1];
      out->append(column.text, begin, column.ends[row] - begin);
    }
    out->append("}\n");
  }
  return Status::OK();
}

}  // namespace sabot
