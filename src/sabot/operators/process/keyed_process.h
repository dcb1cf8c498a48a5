// The keyed process function: user C++ code that sees whole batches of a keyed stream
// together with a dense key id per row, keeps per-key state in the job's keyed state
// backend (ValueState, MapState, ... keyed by state_key(id)) and sets event-time and
// processing-time timers per key, like Flink's KeyedProcessFunction. Built-in operators
// cover the common patterns; this is for the rest (pattern detection, custom expiry,
// per-key alerts). Timers are timer states of the backend (timer_state.h), so
// checkpoints snapshot the backend (state and timers) and the keys, and restore them at
// any parallelism (keys and timers move with their key groups).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "sabot/common/status.h"
#include "sabot/plan/logical_plan.h"
#include "sabot/state/state_backend.h"
#include "sabot/state/state_key.h"
#include "sabot/time/timer_service.h"

namespace sabot {

class OperatorRegistry;

/// What a KeyedProcessFunction can do besides reading its input.
class KeyedProcessContext {
 public:
  virtual ~KeyedProcessContext() = default;

  /// The current event-time watermark (INT64_MIN before the first one).
  virtual int64_t watermark() const = 0;
  /// Wall-clock milliseconds.
  virtual int64_t processing_time() const = 0;
  /// Number of distinct keys seen; key ids are 0 .. num_keys() - 1.
  virtual uint32_t num_keys() const = 0;
  /// Key column values of `key_ids`, in order.
  virtual Result<std::vector<std::shared_ptr<arrow::Array>>> Keys(
      const std::vector<uint32_t>& key_ids) = 0;

  /// The subtask's keyed state backend (memory or RocksDB, as the job is configured).
  /// Create states with the Make*State functions (state/state_factory.h) in Open():
  /// checkpoints snapshot and restore every state created there. Key ids are local to
  /// one run; state is keyed by state_key(id), which is stable.
  virtual KeyedStateBackend* state_backend() = 0;
  /// The state key of key id `key`.
  virtual StateKey state_key(uint32_t key) const = 0;

  /// Timers fire OnTimer once time reaches them, in timestamp order; re-registering is
  /// a no-op. They live in the state backend as the timer states
  /// "process.event_timers" and "process.processing_timers" (names functions must not
  /// use). A timer that cannot be stored fails the task when the calling function
  /// (ProcessBatch, OnTimer, ...) returns.
  virtual void RegisterEventTimeTimer(uint32_t key, int64_t timestamp,
                                      int64_t name_space = 0) = 0;
  virtual void DeleteEventTimeTimer(uint32_t key, int64_t timestamp,
                                    int64_t name_space = 0) = 0;
  virtual void RegisterProcessingTimeTimer(uint32_t key, int64_t timestamp,
                                           int64_t name_space = 0) = 0;
  virtual void DeleteProcessingTimeTimer(uint32_t key, int64_t timestamp,
                                         int64_t name_space = 0) = 0;

  /// Emits a batch with the function's declared output schema.
  virtual Status Emit(std::shared_ptr<arrow::RecordBatch> batch) = 0;
};

class KeyedProcessFunction {
 public:
  virtual ~KeyedProcessFunction() = default;
  virtual Status Open(KeyedProcessContext& context) { return Status::OK(); }
  /// Processes a batch; `key_ids[i]` is the key id of row i.
  virtual Status ProcessBatch(const std::shared_ptr<arrow::RecordBatch>& batch,
                              const uint32_t* key_ids, KeyedProcessContext& context) = 0;
  /// A timer of `key` fired; event-time timers fire before the watermark that reached
  /// them is forwarded, so results they emit are not late downstream.
  virtual Status OnTimer(TimeDomain domain, const Timer& timer,
                         KeyedProcessContext& context) {
    return Status::OK();
  }
  /// All input has ended (after the final watermark fired the event-time timers).
  virtual Status Finish(KeyedProcessContext& context) { return Status::OK(); }
};

/// Creates one function instance per subtask.
using KeyedProcessFunctionFactory =
    std::function<std::unique_ptr<KeyedProcessFunction>()>;

class KeyedProcessOptions : public NodeOptions {
 public:
  static Result<std::shared_ptr<KeyedProcessOptions>> Make(
      std::string name, KeyedProcessFunctionFactory factory,
      std::vector<std::string> key_columns,
      const std::shared_ptr<arrow::Schema>& input_schema,
      std::shared_ptr<arrow::Schema> output_schema);

  std::string kind() const override { return "keyed_process"; }
  std::string Describe() const override { return "keyed_process(" + name_ + ")"; }

  const KeyedProcessFunctionFactory& factory() const { return factory_; }
  const std::vector<int>& key_indices() const { return key_indices_; }
  const std::shared_ptr<arrow::Schema>& input_schema() const { return input_schema_; }
  const std::shared_ptr<arrow::Schema>& output_schema() const { return output_schema_; }

 private:
  KeyedProcessOptions() = default;
  std::string name_;
  KeyedProcessFunctionFactory factory_;
  std::vector<int> key_indices_;
  std::shared_ptr<arrow::Schema> input_schema_;
  std::shared_ptr<arrow::Schema> output_schema_;
};

/// Registers "keyed_process".
Status RegisterKeyedProcess(OperatorRegistry* registry);

}  // namespace sabot
