#include "sabot/state/state_backend.h"

#include "sabot/common/time.h"
#include "sabot/state/heap_backend.h"
#include "sabot/state/rocksdb_backend.h"

namespace sabot {

KeyedStateBackend::KeyedStateBackend(int32_t max_parallelism, KeyGroupRange range)
    : max_parallelism_(max_parallelism), range_(range), clock_(&WallClockMillis) {}

Status KeyedStateBackend::CheckKeyGroup(const StateKey& key) const {
  if (range_.Contains(key.key_group)) return Status::OK();
  return Status::Invalid("key group ", key.key_group,
                         " is outside this backend's range [", range_.first, ", ",
                         range_.last, "]: the key was routed to the wrong subtask");
}

Result<std::unique_ptr<KeyedStateBackend>> KeyedStateBackend::Make(
    const StateBackendConfig& config, int32_t max_parallelism, KeyGroupRange range) {
  if (range.first < 0 || range.last >= max_parallelism || range.first > range.last) {
    return Status::Invalid("key group range [", range.first, ", ", range.last,
                           "] does not fit max parallelism ", max_parallelism);
  }
  switch (config.kind) {
    case StateBackendKind::kMemory:
      return std::unique_ptr<KeyedStateBackend>(new HeapBackend(max_parallelism, range));
    case StateBackendKind::kRocksDb:
      return RocksDbBackend::Open(config, max_parallelism, range);
  }
  return Status::Invalid("unknown state backend kind");
}

}  // namespace sabot
