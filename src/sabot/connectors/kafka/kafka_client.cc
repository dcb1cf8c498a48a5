#include "sabot/connectors/kafka/kafka_client.h"

namespace sabot {
namespace {

Status Set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
      RD_KAFKA_CONF_OK) {
    return Status::Invalid("Kafka property ", name, "=", value, ": ", error);
  }
  return Status::OK();
}

}  // namespace

Result<KafkaConf> MakeKafkaConf(const std::map<std::string, std::string>& user,
                                const std::map<std::string, std::string>& sabot) {
  KafkaConf conf(rd_kafka_conf_new());
  for (const auto& [name, value] : user)
    ARROW_RETURN_NOT_OK(Set(conf.get(), name, value));
  for (const auto& [name, value] : sabot) {
    ARROW_RETURN_NOT_OK(Set(conf.get(), name, value));
  }
  return conf;
}

Result<KafkaHandle> NewKafkaClient(rd_kafka_type_t type, KafkaConf conf) {
  char error[512];
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), error, sizeof(error));
  if (handle == nullptr) {
    return Status::Invalid("cannot create the Kafka ",
                           type == RD_KAFKA_PRODUCER ? "producer" : "consumer", ": ",
                           error);
  }
  conf.release();  // rd_kafka_new() took it
  return KafkaHandle(handle);
}

Status KafkaStatus(rd_kafka_resp_err_t error, std::string_view context) {
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  return Status::IOError(context, ": ", rd_kafka_err2str(error));
}

Status KafkaStatus(rd_kafka_error_t* error, std::string_view context) {
  if (error == nullptr) return Status::OK();
  Status status = Status::IOError(context, ": ", rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  return status;
}

}  // namespace sabot
