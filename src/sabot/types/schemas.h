#pragma once

#include <arrow/type_fwd.h>

namespace sabot {

/// Returns true when both schemas have the same column names and types in the same
/// order. Nullability and metadata are ignored: a stream's rows do not change meaning
/// because one producer declared a column not-null and another did not.
bool SameNamesAndTypes(const arrow::Schema& left, const arrow::Schema& right);

}  // namespace sabot
