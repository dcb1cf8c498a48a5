// The Kafka sink operator: at-least-once with the idempotent producer, or exactly-once
// with one Kafka transaction per checkpoint (README.md, "Exactly-once sink").
//
// Exactly-once state (SnapshotState / RestoreState), version 1, little-endian:
//   4 bytes  magic "SBKS"
//   1 byte   version = 1
//   int32    subtask
//   int64    next transaction sequence number
//   uint32   number of pre-committed transactions N
//   N x (int64 checkpoint id, int64 sequence number), in increasing order
// Transaction n of subtask i has the transactional id "<prefix>-<i>-<n>".
#pragma once

#include <memory>

#include "sabot/runtime/operator.h"

namespace sabot {

class KafkaSinkOptions;

std::unique_ptr<Operator> MakeKafkaSinkOperator(const KafkaSinkOptions& options);

}  // namespace sabot
