// A minimal client of the Kafka protocol for the transaction requests librdkafka does
// not expose: DescribeTransactions and EndTxn for a transaction another producer
// started. The exactly-once sink needs them after a restart, to commit the transaction
// a completed checkpoint pre-committed (librdkafka can only commit its own, and
// initializing a producer with that transactional id would abort it) and to abort what
// the failed run left open. README.md, "Exactly-once sink", explains when each is used.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sabot/common/status.h"

namespace sabot {

/// Transaction states as DescribeTransactions names them.
struct KafkaTransaction {
  std::string transactional_id;
  /// False when the broker does not know the id (never used, or expired).
  bool found = false;
  /// "Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit",
  /// "CompleteAbort", "Dead" or "PrepareEpochFence".
  std::string state;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

class KafkaConnection;

class KafkaTransactionAdmin {
 public:
  /// Connects lazily; `bootstrap_servers` is host:port[,host:port...].
  KafkaTransactionAdmin(std::string bootstrap_servers, int64_t timeout_ms);
  ~KafkaTransactionAdmin();

  /// Describes each id (asking each id's transaction coordinator).
  Result<std::vector<KafkaTransaction>> Describe(const std::vector<std::string>& ids);

  /// Commits or aborts the open transaction `transaction` describes, as its producer
  /// would have. Retries while the coordinator is busy.
  Status End(const KafkaTransaction& transaction, bool commit);

 private:
  Result<KafkaConnection*> Coordinator(const std::string& transactional_id);
  Result<KafkaConnection*> Connect(const std::string& host, int port);

  std::string bootstrap_servers_;
  int64_t timeout_ms_;
  // Connections by "host:port".
  std::map<std::string, std::unique_ptr<KafkaConnection>> connections_;
};

}  // namespace sabot
