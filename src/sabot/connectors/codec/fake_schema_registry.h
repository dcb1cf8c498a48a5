// Test support: an in-process HTTP server on 127.0.0.1 that answers the three Confluent
// Schema Registry endpoints the client uses, with the registry's response bodies and
// error bodies, and records every request. Header-only so that it is compiled into the
// test binary alone.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sabot/connectors/file/json_line_parser.h"
#include "sabot/connectors/json_lines_format.h"

namespace sabot::testing {

class FakeSchemaRegistry {
 public:
  struct Request {
    std::string method;
    /// As decoded by the server; target is as sent (percent-encoded).
    std::string path;
    std::string target;
    std::string content_type;
    std::string body;
  };

  FakeSchemaRegistry() {
    server_.Post(R"(/subjects/([^/]+)/versions)",
                 [this](const httplib::Request& request, httplib::Response& response) {
                   Record(request);
                   Register(request.matches[1], request.body, &response);
                 });
    server_.Get(R"(/schemas/ids/(\d+))",
                [this](const httplib::Request& request, httplib::Response& response) {
                  Record(request);
                  GetById(std::stoi(request.matches[1]), &response);
                });
    server_.Get(R"(/subjects/([^/]+)/versions/latest)",
                [this](const httplib::Request& request, httplib::Response& response) {
                  Record(request);
                  GetLatest(request.matches[1], &response);
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() does nothing to a server that is not running yet, which would leave the
    // destructor waiting for a thread that never stops.
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~FakeSchemaRegistry() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Stores `schema` under `subject` as the registry would and returns its id.
  int32_t Add(const std::string& subject, const std::string& schema) {
    std::lock_guard<std::mutex> lock(mutex_);
    return AddLocked(subject, schema);
  }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  static constexpr char kContentType[] = "application/vnd.schemaregistry.v1+json";

  static std::string Quoted(const std::string& text) {
    std::string quoted;
    AppendJsonString(text, &quoted);
    return quoted;
  }

  static void Error(int http_status, int error_code, const std::string& message,
                    httplib::Response* response) {
    response->status = http_status;
    response->set_content("{\"error_code\":" + std::to_string(error_code) +
                              ",\"message\":" + Quoted(message) + "}",
                          kContentType);
  }

  void Record(const httplib::Request& request) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(Request{request.method, request.path, request.target,
                                request.get_header_value("Content-Type"), request.body});
  }

  int32_t AddLocked(const std::string& subject, const std::string& schema) {
    int32_t id = 0;
    for (const auto& [existing_id, text] : schemas_) {
      if (text == schema) id = existing_id;
    }
    if (id == 0) {
      id = static_cast<int32_t>(schemas_.size()) + 1;
      schemas_[id] = schema;
    }
    auto& versions = subjects_[subject];
    if (std::find(versions.begin(), versions.end(), id) == versions.end()) {
      versions.push_back(id);
    }
    return id;
  }

  void Register(const std::string& subject, const std::string& body,
                httplib::Response* response) {
    JsonLineParser parser;
    const JsonValue* schema = nullptr;
    if (parser.Parse(body)) {
      for (const JsonMember& member : parser.members()) {
        if (member.key == "schema" && member.value.type == JsonType::kString) {
          schema = &member.value;
        }
      }
    }
    if (schema == nullptr) {
      return Error(422, 42201, "Either the input schema or one its references is invalid",
                   response);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const int32_t id = AddLocked(subject, std::string(schema->text));
    response->set_content("{\"id\":" + std::to_string(id) + "}", kContentType);
  }

  void GetById(int32_t id, httplib::Response* response) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = schemas_.find(id);
    if (found == schemas_.end()) {
      return Error(404, 40403, "Schema " + std::to_string(id) + " not found", response);
    }
    response->set_content("{\"schema\":" + Quoted(found->second) + "}", kContentType);
  }

  void GetLatest(const std::string& subject, httplib::Response* response) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = subjects_.find(subject);
    if (found == subjects_.end()) {
      return Error(404, 40401, "Subject '" + subject + "' not found.", response);
    }
    const int32_t id = found->second.back();
    response->set_content("{\"subject\":" + Quoted(subject) +
                              ",\"version\":" + std::to_string(found->second.size()) +
                              ",\"id\":" + std::to_string(id) +
                              ",\"schema\":" + Quoted(schemas_[id]) + "}",
                          kContentType);
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<int32_t, std::string> schemas_;
  std::map<std::string, std::vector<int32_t>> subjects_;
  std::vector<Request> requests_;
};

}  // namespace sabot::testing
