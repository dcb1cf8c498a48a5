// What travels on a channel between tasks: record batches and, in band, the control
// elements that must stay ordered with them.
#pragma once

#include <cstdint>
#include <memory>

namespace arrow {
class RecordBatch;
}  // namespace arrow

namespace sabot {

struct StreamElement {
  enum class Kind : uint8_t {
    kBatch,
    /// Event time has reached `value` on this channel.
    kWatermark,
    /// Checkpoint barrier with id `value`.
    kBarrier,
    /// The producer subtask has no more data for this channel.
    kEndOfInput,
    /// The channel became idle (`value` 1) or active again (0); see
    /// Collector::EmitIdleStatus.
    kIdleStatus,
  };

  Kind kind = Kind::kBatch;
  int64_t value = 0;
  std::shared_ptr<arrow::RecordBatch> batch;

  static StreamElement Batch(std::shared_ptr<arrow::RecordBatch> batch) {
    return {Kind::kBatch, 0, std::move(batch)};
  }
  static StreamElement Watermark(int64_t watermark) {
    return {Kind::kWatermark, watermark, {}};
  }
  static StreamElement Barrier(int64_t checkpoint_id) {
    return {Kind::kBarrier, checkpoint_id, {}};
  }
  static StreamElement EndOfInput() { return {Kind::kEndOfInput, 0, {}}; }
  static StreamElement IdleStatus(bool idle) {
    return {Kind::kIdleStatus, idle ? 1 : 0, {}};
  }
};

}  // namespace sabot
