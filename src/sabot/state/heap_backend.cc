#include "sabot/state/heap_backend.h"

namespace sabot {

Result<int64_t> HeapBackend::CleanupExpired(int64_t budget) {
  const int64_t now = Now();
  int64_t removed = 0;
  for (auto& [name, table] : tables_) removed += table->CleanupExpired(now, budget);
  return removed;
}

}  // namespace sabot
