// A client for the REST API of a Confluent-compatible Schema Registry
// (docs.confluent.io/platform/current/schema-registry/develop/api.html): registers
// writer schemas and fetches them by id. Thread-safe: calls may come from several
// threads (cpp-httplib sends one request of a client at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sabot/common/status.h"

namespace sabot {

class SchemaRegistryClient {
 public:
  /// Every request gives up after this long without progress.
  static constexpr int kTimeoutSeconds = 10;

  /// `url` is http://host[:port][/path]; a path is a prefix of every request path (some
  /// registries serve the Confluent API under one, e.g. /apis/ccompat/v7). Fails for
  /// other schemes: https is not supported.
  static Result<std::unique_ptr<SchemaRegistryClient>> Make(std::string_view url);
  ~SchemaRegistryClient();

  /// Registers `schema` (Avro schema JSON) under `subject` and returns its id; a schema
  /// already registered there returns its existing id.
  Result<int32_t> Register(std::string_view subject, std::string_view schema);

  /// Returns the schema JSON with id `id`. Cached: each id is fetched once.
  Result<std::string> GetSchemaById(int32_t id);

  /// Returns the id and the schema JSON of the latest version under `subject`.
  Result<std::pair<int32_t, std::string>> GetLatest(std::string_view subject);

  const std::string& url() const { return url_; }

 private:
  struct Connection;
  SchemaRegistryClient(std::string url, std::string path_prefix,
                       std::unique_ptr<Connection> connection);

  // Sends a request and returns the body of a 200 response; any other outcome becomes
  // an IOError quoting the URL and, when the registry sent one, its error code and
  // message.
  Result<std::string> Send(const char* method, const std::string& path,
                           const std::string& body);

  std::string url_;
  std::string path_prefix_;
  std::unique_ptr<Connection> connection_;
  std::mutex cache_mutex_;
  std::unordered_map<int32_t, std::string> schemas_by_id_;
};

}  // namespace sabot
