#include "sabot/connectors/kafka/transaction_admin.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <thread>

#include "sabot/common/time.h"

namespace sabot {
namespace {

// Kafka protocol API keys and the (flexible) versions used here.
constexpr int16_t kFindCoordinator = 10;
constexpr int16_t kFindCoordinatorVersion = 3;
constexpr int16_t kEndTxn = 26;
constexpr int16_t kEndTxnVersion = 3;
constexpr int16_t kDescribeTransactions = 65;
constexpr int16_t kDescribeTransactionsVersion = 0;

// Error codes the client handles.
constexpr int16_t kCoordinatorLoadInProgress = 14;
constexpr int16_t kCoordinatorNotAvailable = 15;
constexpr int16_t kNotCoordinator = 16;
constexpr int16_t kConcurrentTransactions = 51;
constexpr int16_t kTransactionalIdNotFound = 105;

bool Retriable(int16_t error) {
  return error == kCoordinatorLoadInProgress || error == kCoordinatorNotAvailable ||
         error == kNotCoordinator || error == kConcurrentTransactions;
}

// Big-endian writer of the Kafka wire format (flexible versions: compact strings and
// arrays, empty tagged-field sections).
class Writer {
 public:
  void Int8(int8_t v) { out_.push_back(static_cast<char>(v)); }
  void Int16(int16_t v) { Big(static_cast<uint16_t>(v), 2); }
  void Int32(int32_t v) { Big(static_cast<uint32_t>(v), 4); }
  void Int64(int64_t v) { Big(static_cast<uint64_t>(v), 8); }
  void UnsignedVarint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void CompactString(std::string_view s) {
    UnsignedVarint(s.size() + 1);
    out_.append(s);
  }
  void String(std::string_view s) {
    Int16(static_cast<int16_t>(s.size()));
    out_.append(s);
  }
  void NoTaggedFields() { UnsignedVarint(0); }
  std::string& bytes() { return out_; }

 private:
  void Big(uint64_t v, int size) {
    for (int i = size - 1; i >= 0; --i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  size_t position() const { return at_; }
  int8_t Int8() { return static_cast<int8_t>(Big(1)); }
  int16_t Int16() { return static_cast<int16_t>(Big(2)); }
  int32_t Int32() { return static_cast<int32_t>(Big(4)); }
  int64_t Int64() { return static_cast<int64_t>(Big(8)); }
  uint64_t UnsignedVarint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= in_.size()) break;
      const uint8_t byte = static_cast<uint8_t>(in_[at_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  // Compact (nullable) string; null reads as empty.
  std::string CompactString() {
    const uint64_t n = UnsignedVarint();
    if (n == 0) return std::string();
    return std::string(Take(n - 1));
  }
  // Compact array length (null reads as 0).
  uint64_t CompactArrayLength() {
    const uint64_t n = UnsignedVarint();
    return n == 0 ? 0 : n - 1;
  }
  void SkipTaggedFields() {
    const uint64_t count = UnsignedVarint();
    for (uint64_t i = 0; i < count && ok_; ++i) {
      UnsignedVarint();
      Take(UnsignedVarint());
    }
  }

 private:
  uint64_t Big(int size) {
    std::string_view bytes = Take(static_cast<uint64_t>(size));
    uint64_t v = 0;
    for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
    return v;
  }
  std::string_view Take(uint64_t n) {
    if (!ok_ || n > in_.size() - at_) {
      ok_ = false;
      return std::string_view();
    }
    std::string_view s = in_.substr(at_, n);
    at_ += n;
    return s;
  }
  std::string_view in_;
  size_t at_ = 0;
  bool ok_ = true;
};

std::string ErrorName(int16_t code) {
  return std::string("Kafka error code ") + std::to_string(code);
}

}  // namespace

// One blocking TCP connection to a broker; requests are sent one at a time.
class KafkaConnection {
 public:
  static Result<std::unique_ptr<KafkaConnection>> Open(const std::string& host, int port,
                                                       int64_t timeout_ms) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0) {
      return Status::IOError("cannot resolve Kafka broker ", host, ":", port);
    }
    int fd = -1;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        ::close(fd);
        fd = -1;
      }
    }
    freeaddrinfo(found);
    if (fd < 0) {
      return Status::IOError("cannot connect to Kafka broker ", host, ":", port, ": ",
                             std::strerror(errno));
    }
    return std::unique_ptr<KafkaConnection>(
        new KafkaConnection(fd, host + ":" + service, timeout_ms));
  }

  ~KafkaConnection() { ::close(fd_); }

  // Sends a request with header version 2 and returns the response body after its
  // header (version 1: correlation id, tagged fields).
  Result<std::string> Call(int16_t api_key, int16_t api_version,
                           const std::string& body) {
    Writer header;
    header.Int16(api_key);
    header.Int16(api_version);
    header.Int32(++correlation_id_);
    header.String("sabot");
    header.NoTaggedFields();
    Writer frame;
    frame.Int32(static_cast<int32_t>(header.bytes().size() + body.size()));
    std::string request = frame.bytes() + header.bytes() + body;
    ARROW_RETURN_NOT_OK(SendAll(request));
    std::string size_bytes;
    ARROW_RETURN_NOT_OK(ReceiveExactly(4, &size_bytes));
    const int32_t size = Reader(size_bytes).Int32();
    if (size < 4 || size > (64 << 20)) {
      return Status::IOError("bad response size from Kafka broker ", address_);
    }
    std::string response;
    ARROW_RETURN_NOT_OK(ReceiveExactly(static_cast<size_t>(size), &response));
    Reader reader(response);
    if (reader.Int32() != correlation_id_) {
      return Status::IOError("out-of-order response from Kafka broker ", address_);
    }
    reader.SkipTaggedFields();
    if (!reader.ok()) {
      return Status::IOError("malformed response header from Kafka broker ", address_);
    }
    return response.substr(reader.position());
  }

  const std::string& address() const { return address_; }

 private:
  KafkaConnection(int fd, std::string address, int64_t timeout_ms)
      : fd_(fd), address_(std::move(address)), timeout_ms_(timeout_ms) {}

  Status Wait(short events) {
    pollfd p{fd_, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout_ms_));
    if (ready == 0) {
      return Status::IOError("Kafka broker ", address_, " did not answer within ",
                             timeout_ms_, " ms");
    }
    if (ready < 0 && errno != EINTR) {
      return Status::IOError("poll on Kafka broker ", address_, ": ",
                             std::strerror(errno));
    }
    return Status::OK();
  }

  Status SendAll(std::string_view data) {
    while (!data.empty()) {
      ARROW_RETURN_NOT_OK(Wait(POLLOUT));
      const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return Status::IOError("cannot send to Kafka broker ", address_, ": ",
                               std::strerror(errno));
      }
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return Status::OK();
  }

  Status ReceiveExactly(size_t size, std::string* out) {
    out->resize(size);
    size_t at = 0;
    while (at < size) {
      ARROW_RETURN_NOT_OK(Wait(POLLIN));
      const ssize_t got = ::recv(fd_, out->data() + at, size - at, 0);
      if (got == 0) {
        return Status::IOError("Kafka broker ", address_, " closed the connection");
      }
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return Status::IOError("cannot read from Kafka broker ", address_, ": ",
                               std::strerror(errno));
      }
      at += static_cast<size_t>(got);
    }
    return Status::OK();
  }

  int fd_;
  std::string address_;
  int64_t timeout_ms_;
  int32_t correlation_id_ = 0;
};

KafkaTransactionAdmin::KafkaTransactionAdmin(std::string bootstrap_servers,
                                             int64_t timeout_ms)
    : bootstrap_servers_(std::move(bootstrap_servers)), timeout_ms_(timeout_ms) {}

KafkaTransactionAdmin::~KafkaTransactionAdmin() = default;

Result<KafkaConnection*> KafkaTransactionAdmin::Connect(const std::string& host,
                                                        int port) {
  const std::string key = host + ":" + std::to_string(port);
  auto it = connections_.find(key);
  if (it != connections_.end()) return it->second.get();
  ARROW_ASSIGN_OR_RAISE(auto connection, KafkaConnection::Open(host, port, timeout_ms_));
  return connections_.emplace(key, std::move(connection)).first->second.get();
}

Result<KafkaConnection*> KafkaTransactionAdmin::Coordinator(
    const std::string& transactional_id) {
  // Any bootstrap broker answers FindCoordinator.
  Status last = Status::Invalid("no bootstrap servers in '", bootstrap_servers_, "'");
  size_t start = 0;
  while (start < bootstrap_servers_.size()) {
    size_t end = bootstrap_servers_.find(',', start);
    if (end == std::string::npos) end = bootstrap_servers_.size();
    const std::string server = bootstrap_servers_.substr(start, end - start);
    start = end + 1;
    const size_t colon = server.rfind(':');
    if (colon == std::string::npos) {
      return Status::Invalid("bootstrap server '", server, "' is not host:port");
    }
    auto connection =
        Connect(server.substr(0, colon), std::atoi(server.c_str() + colon + 1));
    if (!connection.ok()) {
      last = connection.status();
      continue;
    }
    const int64_t deadline = WallClockMillis() + timeout_ms_;
    while (true) {
      Writer body;
      body.CompactString(transactional_id);
      body.Int8(1);  // key type: transaction
      body.NoTaggedFields();
      ARROW_ASSIGN_OR_RAISE(
          std::string response,
          (*connection)->Call(kFindCoordinator, kFindCoordinatorVersion, body.bytes()));
      Reader reader(response);
      reader.Int32();  // throttle time
      const int16_t error = reader.Int16();
      const std::string message = reader.CompactString();
      reader.Int32();  // node id
      const std::string host = reader.CompactString();
      const int32_t port = reader.Int32();
      if (!reader.ok()) {
        return Status::IOError("malformed FindCoordinator response from ",
                               (*connection)->address());
      }
      if (error == 0) return Connect(host, port);
      // The transaction state topic is created on first use; wait for it.
      if (!Retriable(error) || WallClockMillis() > deadline) {
        return Status::IOError("cannot find the transaction coordinator of '",
                               transactional_id, "': ", ErrorName(error), " ", message);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return last;
}

Result<std::vector<KafkaTransaction>> KafkaTransactionAdmin::Describe(
    const std::vector<std::string>& ids) {
  std::vector<KafkaTransaction> out;
  for (const std::string& id : ids) {
    const int64_t deadline = WallClockMillis() + timeout_ms_;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(KafkaConnection * coordinator, Coordinator(id));
      Writer body;
      body.UnsignedVarint(2);  // compact array of one id
      body.CompactString(id);
      body.NoTaggedFields();
      ARROW_ASSIGN_OR_RAISE(
          std::string response,
          coordinator->Call(kDescribeTransactions, kDescribeTransactionsVersion,
                            body.bytes()));
      Reader reader(response);
      reader.Int32();  // throttle time
      if (reader.CompactArrayLength() != 1) {
        return Status::IOError("malformed DescribeTransactions response");
      }
      KafkaTransaction transaction;
      const int16_t error = reader.Int16();
      transaction.transactional_id = reader.CompactString();
      transaction.state = reader.CompactString();
      reader.Int32();  // transaction timeout
      reader.Int64();  // start time
      transaction.producer_id = reader.Int64();
      transaction.producer_epoch = reader.Int16();
      if (!reader.ok()) return Status::IOError("malformed DescribeTransactions response");
      if (Retriable(error) && WallClockMillis() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      if (error != 0 && error != kTransactionalIdNotFound) {
        return Status::IOError("cannot describe Kafka transaction '", id,
                               "': ", ErrorName(error));
      }
      transaction.transactional_id = id;
      transaction.found = error == 0;
      out.push_back(std::move(transaction));
      break;
    }
  }
  return out;
}

Status KafkaTransactionAdmin::End(const KafkaTransaction& transaction, bool commit) {
  const int64_t deadline = WallClockMillis() + timeout_ms_;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(KafkaConnection * coordinator,
                          Coordinator(transaction.transactional_id));
    Writer body;
    body.CompactString(transaction.transactional_id);
    body.Int64(transaction.producer_id);
    body.Int16(transaction.producer_epoch);
    body.Int8(commit ? 1 : 0);
    body.NoTaggedFields();
    ARROW_ASSIGN_OR_RAISE(std::string response,
                          coordinator->Call(kEndTxn, kEndTxnVersion, body.bytes()));
    Reader reader(response);
    reader.Int32();  // throttle time
    const int16_t error = reader.Int16();
    if (!reader.ok()) return Status::IOError("malformed EndTxn response");
    if (error == 0) return Status::OK();
    if (!Retriable(error) || WallClockMillis() > deadline) {
      return Status::IOError("cannot ", commit ? "commit" : "abort",
                             " Kafka transaction '", transaction.transactional_id,
                             "': ", ErrorName(error));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace sabot
