#include "sabot/types/schemas.h"

#include <arrow/type.h>

namespace sabot {

bool SameNamesAndTypes(const arrow::Schema& left, const arrow::Schema& right) {
  if (left.num_fields() != right.num_fields()) return false;
  for (int i = 0; i < left.num_fields(); ++i) {
    const auto& a = *left.field(i);
    const auto& b = *right.field(i);
    if (a.name() != b.name() || !a.type()->Equals(*b.type())) return false;
  }
  return true;
}

}  // namespace sabot
