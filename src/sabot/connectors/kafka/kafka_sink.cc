#include "sabot/connectors/kafka/kafka_sink.h"

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include "sabot/connectors/codec/codec.h"
#include "sabot/connectors/kafka/kafka_client.h"
#include "sabot/connectors/kafka/kafka_options.h"
#include "sabot/connectors/kafka/transaction_admin.h"
#include "sabot/runtime/node_metrics.h"

namespace sabot {
namespace {

constexpr char kStateMagic[4] = {'S', 'B', 'K', 'S'};
constexpr uint8_t kStateVersion = 1;
constexpr int kFlushTimeoutMs = 120'000;
// Transactional ids asked about per DescribeTransactions round while looking for
// transactions a failed run left open.
constexpr int kProbeBatch = 16;

// Delivery outcome of one producer, filled by librdkafka's delivery report callback,
// which runs on the task thread inside rd_kafka_poll() / rd_kafka_flush().
struct DeliveryReports {
  int64_t failed = 0;
  std::string first_error;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* reports = static_cast<DeliveryReports*>(opaque);
  if (reports->failed++ == 0) {
    reports->first_error = std::string(rd_kafka_err2str(message->err)) + " (partition " +
                           std::to_string(message->partition) + ")";
  }
}

// A producer with its delivery reports; exactly-once uses one per transaction.
struct Producer {
  KafkaHandle handle;
  std::unique_ptr<DeliveryReports> reports = std::make_unique<DeliveryReports>();
  std::string transactional_id;
  int64_t sequence = -1;
  int64_t messages = 0;
};

struct Pending {
  int64_t checkpoint_id;
  int64_t sequence;
  // Null after a restore: the transaction of a failed run, committed through
  // KafkaTransactionAdmin.
  std::unique_ptr<Producer> producer;
};

class KafkaSinkOperator : public Operator {
 public:
  explicit KafkaSinkOperator(const KafkaSinkOptions& options)
      : config_(options.config()),
        key_indices_(options.key_indices()),
        value_indices_(options.value_indices()),
        partition_index_(options.partition_index()),
        exactly_once_(config_.guarantee == KafkaDeliveryGuarantee::kExactlyOnce),
        prefix_(config_.transactional_id_prefix.empty()
                    ? "sabot-" + config_.topic
                    : config_.transactional_id_prefix) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    const auto& schema = context.input_schemas.at(0);
    arrow::FieldVector value_fields;
    for (int index : value_indices_) value_fields.push_back(schema->field(index));
    all_columns_ = static_cast<int>(value_indices_.size()) == schema->num_fields();
    ARROW_ASSIGN_OR_RAISE(encoder_,
                          MakeEncoder(config_.codec, arrow::schema(value_fields)));
    raw_key_ = key_indices_.size() == 1 &&
               (schema->field(key_indices_[0])->type()->id() == arrow::Type::STRING ||
                schema->field(key_indices_[0])->type()->id() == arrow::Type::BINARY);
    if (!key_indices_.empty() && !raw_key_) {
      arrow::FieldVector key_fields;
      for (int index : key_indices_) key_fields.push_back(schema->field(index));
      ARROW_ASSIGN_OR_RAISE(key_encoder_,
                            MakeEncoder(CodecConfig(), arrow::schema(key_fields)));
    }
    if (!exactly_once_) {
      ARROW_ASSIGN_OR_RAISE(current_, NewProducer(-1));
    }
    return Status::OK();
  }

  Status ProcessBatch(int, std::shared_ptr<arrow::RecordBatch> batch) override {
    if (batch->num_rows() == 0) return Status::OK();
    if (!current_) {
      ARROW_RETURN_NOT_OK(Recover());
      ARROW_ASSIGN_OR_RAISE(current_, NewProducer(next_sequence_++));
    }
    if (all_columns_) {
      ARROW_RETURN_NOT_OK(encoder_->Encode(*batch, &values_));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto values, batch->SelectColumns(value_indices_));
      ARROW_RETURN_NOT_OK(encoder_->Encode(*values, &values_));
    }
    const bool per_row = encoder_->one_message_per_row();
    if (per_row && key_encoder_) {
      ARROW_ASSIGN_OR_RAISE(auto keys, batch->SelectColumns(key_indices_));
      ARROW_RETURN_NOT_OK(key_encoder_->Encode(*keys, &keys_));
    }
    const arrow::BinaryArray* raw_keys =
        per_row && raw_key_
            ? static_cast<const arrow::BinaryArray*>(batch->column(key_indices_[0]).get())
            : nullptr;
    const arrow::ArrayData* partition_column =
        per_row && partition_index_ >= 0 ? batch->column_data(partition_index_).get()
                                         : nullptr;
    const int32_t* partitions =
        partition_column != nullptr ? partition_column->GetValues<int32_t>(1) : nullptr;
    for (int64_t i = 0; i < values_.size(); ++i) {
      std::string_view key;
      if (raw_keys != nullptr && raw_keys->IsValid(i)) {
        key = raw_keys->GetView(i);
      } else if (per_row && key_encoder_) {
        key = keys_.message(i);
      }
      const int32_t partition = partitions != nullptr && partition_column->IsValid(i)
                                    ? partitions[i]
                                    : RD_KAFKA_PARTITION_UA;
      ARROW_RETURN_NOT_OK(Produce(key, values_.message(i), partition));
    }
    current_->messages += values_.size();
    rd_kafka_poll(current_->handle.get(), 0);
    return CheckDelivery(*current_);
  }

  // Pre-commit: everything written so far is acknowledged by the broker (at-least-once:
  // durable; exactly-once: durable in the open transaction, which is then set aside
  // until the checkpoint completes).
  Result<std::string> SnapshotState(int64_t checkpoint_id) override {
    if (current_) {
      ARROW_RETURN_NOT_OK(FlushProducer(*current_));
    }
    if (!exactly_once_) return std::string();
    ARROW_RETURN_NOT_OK(Recover());
    if (current_ && current_->messages > 0) {
      const int64_t sequence = current_->sequence;
      pending_.push_back({checkpoint_id, sequence, std::move(current_)});
    }
    current_.reset();
    return EncodeState();
  }

  Status NotifyCheckpointComplete(int64_t checkpoint_id) override {
    while (!pending_.empty() && pending_.front().checkpoint_id <= checkpoint_id) {
      ARROW_RETURN_NOT_OK(Commit(&pending_.front()));
      pending_.pop_front();
    }
    return Status::OK();
  }

  Status RestoreState(const std::string& state) override {
    if (!exactly_once_) return Status::OK();
    ARROW_RETURN_NOT_OK(DecodeState(state));
    return Recover();
  }

  // End of input: no checkpoint follows, so what is pending and open commits now.
  Status Finish() override {
    if (!exactly_once_) {
      return current_ ? FlushProducer(*current_) : Status::OK();
    }
    ARROW_RETURN_NOT_OK(Recover());
    for (Pending& pending : pending_) ARROW_RETURN_NOT_OK(Commit(&pending));
    pending_.clear();
    if (current_) {
      ARROW_RETURN_NOT_OK(FlushProducer(*current_));
      ARROW_RETURN_NOT_OK(KafkaStatus(
          rd_kafka_commit_transaction(current_->handle.get(), kFlushTimeoutMs),
          "cannot commit Kafka transaction " + current_->transactional_id));
      current_.reset();
    }
    return Status::OK();
  }

  // After a failure, open transactions are left to the broker: the restored job commits
  // the pre-committed ones and aborts the rest (Recover()).
  Status Close() override {
    current_.reset();
    pending_.clear();
    return Status::OK();
  }

 private:
  std::string TransactionalId(int64_t sequence) const {
    return prefix_ + "-" + std::to_string(context().subtask) + "-" +
           std::to_string(sequence);
  }

  Result<std::unique_ptr<Producer>> NewProducer(int64_t sequence) {
    auto producer = std::make_unique<Producer>();
    std::map<std::string, std::string> settings = {
        {"bootstrap.servers", config_.bootstrap_servers},
        {"enable.idempotence", "true"},
        {"compression.codec", config_.compression},
        {"partitioner", "murmur2_random"},
        {"linger.ms", "5"},
        {"batch.num.messages", "10000"},
        {"queue.buffering.max.kbytes", "262144"},
        {"client.id",
         "sabot-" + context().node_name + "-" + std::to_string(context().subtask)}};
    if (exactly_once_) {
      producer->sequence = sequence;
      producer->transactional_id = TransactionalId(sequence);
      settings["transactional.id"] = producer->transactional_id;
      settings["transaction.timeout.ms"] = std::to_string(config_.transaction_timeout_ms);
    }
    ARROW_ASSIGN_OR_RAISE(KafkaConf conf, MakeKafkaConf(config_.properties, settings));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), OnDelivery);
    rd_kafka_conf_set_opaque(conf.get(), producer->reports.get());
    ARROW_ASSIGN_OR_RAISE(producer->handle,
                          NewKafkaClient(RD_KAFKA_PRODUCER, std::move(conf)));
    if (exactly_once_) {
      ARROW_RETURN_NOT_OK(KafkaStatus(
          rd_kafka_init_transactions(producer->handle.get(), kFlushTimeoutMs),
          "cannot initialize Kafka transactions for " + producer->transactional_id));
      // A new producer learns the topic's leaders only at librdkafka's next periodic
      // metadata scan (up to 1 s); a barrier in that second would wait for it in
      // flush. Asking now costs one round trip.
      rd_kafka_topic_t* topic =
          rd_kafka_topic_new(producer->handle.get(), config_.topic.c_str(), nullptr);
      const rd_kafka_metadata_t* metadata = nullptr;
      const rd_kafka_resp_err_t error =
          rd_kafka_metadata(producer->handle.get(), 0, topic, &metadata, kFlushTimeoutMs);
      if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
      rd_kafka_topic_destroy(topic);
      ARROW_RETURN_NOT_OK(
          KafkaStatus(error, "cannot read the metadata of Kafka topic " + config_.topic));
      ARROW_RETURN_NOT_OK(
          KafkaStatus(rd_kafka_begin_transaction(producer->handle.get()),
                      "cannot begin Kafka transaction " + producer->transactional_id));
    }
    return producer;
  }

  Status Produce(std::string_view key, std::string_view value, int32_t partition) {
    while (true) {
      const rd_kafka_resp_err_t error = rd_kafka_producev(
          current_->handle.get(), RD_KAFKA_V_TOPIC(config_.topic.c_str()),
          RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()),
                         key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_END);
      if (error == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
      // The local queue is full: serve delivery reports until there is room. This is
      // the sink's backpressure.
      if (error == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(current_->handle.get(), 5);
        continue;
      }
      return KafkaStatus(error, "cannot write to Kafka topic " + config_.topic);
    }
  }

  Status CheckDelivery(const Producer& producer) const {
    if (producer.reports->failed == 0) return Status::OK();
    return Status::IOError(producer.reports->failed, " messages to Kafka topic ",
                           config_.topic,
                           " were not delivered: ", producer.reports->first_error);
  }

  Status FlushProducer(Producer& producer) {
    ARROW_RETURN_NOT_OK(
        KafkaStatus(rd_kafka_flush(producer.handle.get(), kFlushTimeoutMs),
                    "cannot flush messages to Kafka topic " + config_.topic));
    return CheckDelivery(producer);
  }

  Status Commit(Pending* pending) {
    if (pending->producer) {
      return KafkaStatus(
          rd_kafka_commit_transaction(pending->producer->handle.get(), kFlushTimeoutMs),
          "cannot commit Kafka transaction " + pending->producer->transactional_id);
    }
    return CommitRecovered(*pending);
  }

  // Commits the transaction a failed run pre-committed for a checkpoint that completed.
  Status CommitRecovered(const Pending& pending) {
    const std::string id = TransactionalId(pending.sequence);
    ARROW_ASSIGN_OR_RAISE(auto described, admin().Describe({id}));
    const KafkaTransaction& transaction = described.front();
    if (transaction.state == "Ongoing") return admin().End(transaction, /*commit=*/true);
    // Committed before the failure (or being committed), or never written to.
    if (transaction.state == "PrepareCommit" || transaction.state == "CompleteCommit" ||
        transaction.state == "Empty") {
      return Status::OK();
    }
    return Status::IOError(
        "Kafka transaction ", id, " of checkpoint ", pending.checkpoint_id, " is ",
        transaction.found ? transaction.state : std::string("unknown to the broker"),
        ": the broker aborted it before it could be committed, so that checkpoint's "
        "output is lost. Raise transaction_timeout_ms above the time a restart takes");
  }

  // Once per run, before the first new transaction: commits what the restored state
  // lists as pre-committed, then aborts every transaction of this subtask from the
  // next sequence number on that a failed run left open. Ids are used in sequence, so
  // the first id the broker does not know ends the search.
  Status Recover() {
    if (!exactly_once_ || recovered_) return Status::OK();
    recovered_ = true;
    for (Pending& pending : pending_) ARROW_RETURN_NOT_OK(CommitRecovered(pending));
    pending_.clear();
    for (int64_t first = next_sequence_;; first += kProbeBatch) {
      std::vector<std::string> ids;
      for (int64_t s = first; s < first + kProbeBatch; ++s)
        ids.push_back(TransactionalId(s));
      ARROW_ASSIGN_OR_RAISE(auto described, admin().Describe(ids));
      for (const KafkaTransaction& transaction : described) {
        if (!transaction.found) return Status::OK();
        if (transaction.state == "Ongoing") {
          ARROW_RETURN_NOT_OK(admin().End(transaction, /*commit=*/false));
        }
      }
    }
  }

  KafkaTransactionAdmin& admin() {
    if (!admin_) {
      admin_ = std::make_unique<KafkaTransactionAdmin>(config_.bootstrap_servers, 30'000);
    }
    return *admin_;
  }

  std::string EncodeState() const {
    std::string out(kStateMagic, sizeof(kStateMagic));
    out.push_back(static_cast<char>(kStateVersion));
    const auto put = [&out](const auto& value) {
      out.append(reinterpret_cast<const char*>(&value), sizeof(value));
    };
    put(static_cast<int32_t>(context().subtask));
    put(next_sequence_);
    put(static_cast<uint32_t>(pending_.size()));
    for (const Pending& pending : pending_) {
      put(pending.checkpoint_id);
      put(pending.sequence);
    }
    return out;
  }

  Status DecodeState(const std::string& state) {
    const auto corrupt = [&]() {
      return Status::Invalid("Kafka sink state of subtask ", context().subtask,
                             " is corrupt");
    };
    if (state.size() < 21 || std::memcmp(state.data(), kStateMagic, 4) != 0) {
      return corrupt();
    }
    if (static_cast<uint8_t>(state[4]) != kStateVersion) {
      return Status::Invalid("Kafka sink state version ",
                             static_cast<int>(static_cast<uint8_t>(state[4])),
                             " is not supported");
    }
    size_t at = 5;
    const auto get = [&](auto* value) {
      if (at + sizeof(*value) > state.size()) return false;
      std::memcpy(value, state.data() + at, sizeof(*value));
      at += sizeof(*value);
      return true;
    };
    int32_t subtask = 0;
    uint32_t count = 0;
    if (!get(&subtask) || !get(&next_sequence_) || !get(&count)) return corrupt();
    if (subtask != context().subtask) {
      return Status::Invalid("Kafka sink state of subtask ", subtask,
                             " restored into subtask ", context().subtask,
                             "; restore the job at the parallelism it was saved with");
    }
    pending_.clear();
    for (uint32_t i = 0; i < count; ++i) {
      Pending pending;
      if (!get(&pending.checkpoint_id) || !get(&pending.sequence)) return corrupt();
      pending_.push_back(std::move(pending));
    }
    recovered_ = false;
    return Status::OK();
  }

  const KafkaSinkConfig config_;
  const std::vector<int> key_indices_;
  const std::vector<int> value_indices_;
  bool all_columns_ = true;
  const int partition_index_;
  const bool exactly_once_;
  const std::string prefix_;
  std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<Encoder> key_encoder_;
  bool raw_key_ = false;
  EncodedMessages values_;
  EncodedMessages keys_;

  std::unique_ptr<Producer> current_;
  std::deque<Pending> pending_;
  int64_t next_sequence_ = 0;
  bool recovered_ = false;
  std::unique_ptr<KafkaTransactionAdmin> admin_;
};

}  // namespace

std::unique_ptr<Operator> MakeKafkaSinkOperator(const KafkaSinkOptions& options) {
  return std::make_unique<KafkaSinkOperator>(options);
}

}  // namespace sabot
