#include "sabot/connectors/codec/schema_registry.h"

#include <charconv>

#include <httplib.h>

#include "sabot/connectors/file/json_line_parser.h"
#include "sabot/connectors/json_lines_format.h"

namespace sabot {
namespace {

constexpr char kContentType[] = "application/vnd.schemaregistry.v1+json";
// Longer error bodies that are not the registry's JSON are cut in messages.
constexpr size_t kMaxShownBodyLength = 200;

// Percent-encodes a path segment: subjects are free text ("orders-value", but also
// names with '/' or spaces).
std::string EncodePathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (char c : segment) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '_' || c == '.' || c == '~') {
      encoded.push_back(c);
    } else {
      encoded.push_back('%');
      encoded.push_back(kHex[byte >> 4]);
      encoded.push_back(kHex[byte & 0x0f]);
    }
  }
  return encoded;
}

// Reads the top-level members of a registry response. Registry responses are flat
// objects, which the JSON lines parser reads.
class Response {
 public:
  Status Parse(std::string_view body, const std::string& where) {
    if (!parser_.Parse(body)) {
      return Status::IOError("schema registry: ", where,
                             ": response is not a JSON object: ", parser_.error());
    }
    return Status::OK();
  }

  const JsonValue* Find(std::string_view key) const {
    for (const JsonMember& member : parser_.members()) {
      if (member.key == key) return &member.value;
    }
    return nullptr;
  }

  Result<int32_t> Int32(std::string_view key, const std::string& where) const {
    const JsonValue* value = Find(key);
    if (value == nullptr || value->type != JsonType::kInteger || value->integer < 0 ||
        value->integer > INT32_MAX) {
      return Status::IOError("schema registry: ", where, ": response has no \"", key,
                             "\" that is a schema id");
    }
    return static_cast<int32_t>(value->integer);
  }

  Result<std::string> String(std::string_view key, const std::string& where) const {
    const JsonValue* value = Find(key);
    if (value == nullptr || value->type != JsonType::kString) {
      return Status::IOError("schema registry: ", where, ": response has no \"", key,
                             "\" string");
    }
    return std::string(value->text);
  }

 private:
  JsonLineParser parser_;
};

}  // namespace

struct SchemaRegistryClient::Connection {
  Connection(const std::string& host, int port) : client(host, port) {}
  httplib::Client client;
};

SchemaRegistryClient::SchemaRegistryClient(std::string url, std::string path_prefix,
                                           std::unique_ptr<Connection> connection)
    : url_(std::move(url)),
      path_prefix_(std::move(path_prefix)),
      connection_(std::move(connection)) {}

SchemaRegistryClient::~SchemaRegistryClient() = default;

Result<std::unique_ptr<SchemaRegistryClient>> SchemaRegistryClient::Make(
    std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return Status::NotImplemented(
        "schema registry URL '", url,
        "' is not supported: only http://host[:port][/path] URLs are (no https)");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);

  std::string_view host = authority;
  int port = 80;
  // A bracketed IPv6 address holds colons of its own.
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos &&
      (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    std::string_view digits = authority.substr(colon + 1);
    auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size() ||
        port <= 0 || port > 65535) {
      return Status::Invalid("schema registry URL '", url, "' has an invalid port");
    }
  }
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return Status::Invalid("schema registry URL '", url, "' has no host");

  auto connection = std::make_unique<Connection>(std::string(host), port);
  httplib::Client& client = connection->client;
  client.set_connection_timeout(kTimeoutSeconds, 0);
  client.set_read_timeout(kTimeoutSeconds, 0);
  client.set_write_timeout(kTimeoutSeconds, 0);
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::unique_ptr<SchemaRegistryClient>(new SchemaRegistryClient(
      std::string(url), std::string(path), std::move(connection)));
}

Result<std::string> SchemaRegistryClient::Send(const char* method,
                                               const std::string& path,
                                               const std::string& body) {
  const std::string full_path = path_prefix_ + path;
  const std::string where = std::string(method) + " " + url_ + path;
  const httplib::Headers headers = {
      {"Accept",
       "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, "
       "application/json"}};
  httplib::Result result =
      std::string_view(method) == "POST"
          ? connection_->client.Post(full_path, headers, body, kContentType)
          : connection_->client.Get(full_path, headers);
  if (!result) {
    return Status::IOError("schema registry: ", where,
                           " failed: ", httplib::to_string(result.error()));
  }
  if (result->status == 200) return std::move(result->body);

  // Errors carry {"error_code": 40403, "message": "Schema not found"}.
  Response response;
  if (response.Parse(result->body, where).ok()) {
    const JsonValue* code = response.Find("error_code");
    const JsonValue* message = response.Find("message");
    if (code != nullptr && code->type == JsonType::kInteger && message != nullptr &&
        message->type == JsonType::kString) {
      return Status::IOError("schema registry: ", where, " returned error ",
                             code->integer, ": ", message->text);
    }
  }
  std::string shown = result->body.substr(0, kMaxShownBodyLength);
  if (result->body.size() > kMaxShownBodyLength) shown += "...";
  return Status::IOError("schema registry: ", where, " returned HTTP ", result->status,
                         ": ", shown);
}

Result<int32_t> SchemaRegistryClient::Register(std::string_view subject,
                                               std::string_view schema) {
  const std::string path = "/subjects/" + EncodePathSegment(subject) + "/versions";
  std::string body = "{\"schema\":";
  AppendJsonString(schema, &body);
  body += "}";
  ARROW_ASSIGN_OR_RAISE(std::string text, Send("POST", path, body));
  Response response;
  const std::string where = "POST " + url_ + path;
  ARROW_RETURN_NOT_OK(response.Parse(text, where));
  ARROW_ASSIGN_OR_RAISE(int32_t id, response.Int32("id", where));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  schemas_by_id_.emplace(id, std::string(schema));
  return id;
}

Result<std::string> SchemaRegistryClient::GetSchemaById(int32_t id) {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto found = schemas_by_id_.find(id); found != schemas_by_id_.end()) {
      return found->second;
    }
  }
  const std::string path = "/schemas/ids/" + std::to_string(id);
  ARROW_ASSIGN_OR_RAISE(std::string text, Send("GET", path, ""));
  Response response;
  const std::string where = "GET " + url_ + path;
  ARROW_RETURN_NOT_OK(response.Parse(text, where));
  ARROW_ASSIGN_OR_RAISE(std::string schema, response.String("schema", where));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  // Two threads may fetch the same id at once; both got the same schema.
  return schemas_by_id_.emplace(id, std::move(schema)).first->second;
}

Result<std::pair<int32_t, std::string>> SchemaRegistryClient::GetLatest(
    std::string_view subject) {
  const std::string path = "/subjects/" + EncodePathSegment(subject) + "/versions/latest";
  ARROW_ASSIGN_OR_RAISE(std::string text, Send("GET", path, ""));
  Response response;
  const std::string where = "GET " + url_ + path;
  ARROW_RETURN_NOT_OK(response.Parse(text, where));
  ARROW_ASSIGN_OR_RAISE(int32_t id, response.Int32("id", where));
  ARROW_ASSIGN_OR_RAISE(std::string schema, response.String("schema", where));
  return std::make_pair(id, std::move(schema));
}

}  // namespace sabot
