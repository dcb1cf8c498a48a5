#include <filesystem>

#include "sabot/runtime/operator.h"

namespace sabot {

Result<std::unique_ptr<KeyedStateBackend>> OpenKeyedStateBackend(
    const OperatorContext& context) {
  StateBackendConfig config = context.state_backend;
  if (config.kind == StateBackendKind::kRocksDb) {
    if (config.directory.empty()) {
      return Status::Invalid("operator '", context.node_name,
                             "' keeps RocksDB state but the job has no state directory: "
                             "set StateBackendConfig.directory");
    }
    std::error_code error;
    std::filesystem::remove_all(config.directory, error);
    if (error) {
      return Status::IOError("cannot clear the state directory '", config.directory,
                             "': ", error.message());
    }
  }
  const int32_t max_parallelism =
      context.max_parallelism > 0 ? context.max_parallelism : kDefaultMaxParallelism;
  KeyGroupRange range = context.key_groups;
  if (range.size() <= 0 || range.last >= max_parallelism) {
    range =
        KeyGroupRange::ForSubtask(max_parallelism, context.parallelism, context.subtask);
  }
  ARROW_ASSIGN_OR_RAISE(auto backend,
                        KeyedStateBackend::Make(config, max_parallelism, range));
  backend->set_shared_directory(context.restore_shared_directory);
  return backend;
}

}  // namespace sabot
