// The engine's keyed state for Python users who build their own processing: a backend
// (memory or RocksDB) and Value, Map, List, Reducing and Aggregating states on it. Keys
// and values arrive as bytes (the Python layer serializes them); reduce and aggregate
// functions are Python callables over decoded values, called with the GIL held.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>
#include <xxhash.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "sabot/state/state_factory.h"
#include "sabot/types/key_groups.h"

namespace sabot::python {
namespace {

constexpr int32_t kMaxParallelism = 128;

std::string Bytes(nb::bytes value) { return std::string(value.c_str(), value.size()); }
nb::bytes ToBytes(const std::string& value) {
  return nb::bytes(value.data(), value.size());
}

// A backend owning every key group, as one subtask of parallelism 1.
class Backend {
 public:
  Backend(const std::string& kind, std::string directory) {
    StateBackendConfig config;
    if (kind == "memory") {
      config.kind = StateBackendKind::kMemory;
    } else if (kind == "rocksdb") {
      if (directory.empty()) throw nb::value_error("a RocksDB backend needs a directory");
      config.kind = StateBackendKind::kRocksDb;
      config.directory = std::move(directory);
    } else {
      throw nb::value_error(
          ("unknown backend '" + kind + "'; use 'memory' or 'rocksdb'").c_str());
    }
    backend_ = ValueOrThrow(
        KeyedStateBackend::Make(config, kMaxParallelism, {0, kMaxParallelism - 1}));
  }
  KeyedStateBackend* get() const { return backend_.get(); }

  // The key group of `key` (xxh3 of its bytes), as the engine spreads keys.
  static StateKey Key(const std::string& key) {
    return {KeyGroupForHash(XXH3_64bits(key.data(), key.size()), kMaxParallelism), key};
  }

 private:
  std::unique_ptr<KeyedStateBackend> backend_;
};

StateDescriptor Descriptor(std::string name) {
  StateDescriptor descriptor;
  descriptor.name = std::move(name);
  return descriptor;
}

class PyValueState {
 public:
  PyValueState(Backend& backend, std::string name)
      : state_(
            ValueOrThrow(MakeValueState<std::string>(backend.get(), Descriptor(name)))) {}
  std::optional<nb::bytes> Get(nb::bytes key) {
    const std::string k = Bytes(key);
    auto value = ValueOrThrow(state_->Get(Backend::Key(k)));
    if (!value) return std::nullopt;
    return ToBytes(*value);
  }
  void Update(nb::bytes key, nb::bytes value) {
    const std::string k = Bytes(key);
    ThrowIfError(state_->Update(Backend::Key(k), Bytes(value)));
  }
  void Clear(nb::bytes key) {
    const std::string k = Bytes(key);
    ThrowIfError(state_->Clear(Backend::Key(k)));
  }

 private:
  std::unique_ptr<ValueState<std::string>> state_;
};

class PyMapState {
 public:
  PyMapState(Backend& backend, std::string name)
      : state_(ValueOrThrow(
            MakeMapState<std::string, std::string>(backend.get(), Descriptor(name)))) {}
  std::optional<nb::bytes> Get(nb::bytes key, nb::bytes user_key) {
    const std::string k = Bytes(key);
    auto value = ValueOrThrow(state_->Get(Backend::Key(k), Bytes(user_key)));
    if (!value) return std::nullopt;
    return ToBytes(*value);
  }
  void Put(nb::bytes key, nb::bytes user_key, nb::bytes value) {
    const std::string k = Bytes(key);
    ThrowIfError(state_->Put(Backend::Key(k), Bytes(user_key), Bytes(value)));
  }
  void Remove(nb::bytes key, nb::bytes user_key) {
    const std::string k = Bytes(key);
    ThrowIfError(state_->Remove(Backend::Key(k), Bytes(user_key)));
  }
  nb::list Entries(nb::bytes key) {
    const std::string k = Bytes(key);
    nb::list out;
    for (auto& [user_key, value] : ValueOrThrow(state_->Entries(Backend::Key(k)))) {
      out.append(nb::make_tuple(ToBytes(user_key), ToBytes(value)));
    }
    return out;
  }
  void Clear(nb::bytes key) {
    const std::string k = Bytes(key);
    ThrowIfError(state_->Clear(Backend::Key(k)));
  }

 private:
  std::unique_ptr<MapState<std::string, std::string>> state_;
};

class PyListState {
 public:
  PyListState(Backend& backend, std::string name)
      : state_(
            ValueOrThrow(MakeListState<std::string>(backend.get(), Descriptor(name)))) {}
  void Add(nb::bytes key, nb::bytes value) {
    const std::string k = Bytes(key);
    ThrowIfError(state_->Add(Backend::Key(k), Bytes(value)));
  }
  nb::list Get(nb::bytes key) {
    const std::string k = Bytes(key);
    nb::list out;
    for (const std::string& value : ValueOrThrow(state_->Get(Backend::Key(k)))) {
      out.append(ToBytes(value));
    }
    return out;
  }
  void Clear(nb::bytes key) {
    const std::string k = Bytes(key);
    ThrowIfError(state_->Clear(Backend::Key(k)));
  }

 private:
  std::unique_ptr<ListState<std::string>> state_;
};

}  // namespace

void InitializeState(nb::module_& module) {
  // A state keeps a pointer to its backend: keep_alive<1, 2> holds the backend for as
  // long as the state object lives.
  nb::class_<Backend>(module, "StateBackend")
      .def(nb::init<const std::string&, std::string>(), nb::arg("kind"),
           nb::arg("directory") = "")
      .def("snapshot",
           [](Backend& backend) {
             std::string out;
             ThrowIfError(backend.get()->Snapshot(&out));
             return ToBytes(out);
           })
      .def("restore", [](Backend& backend, nb::bytes snapshot) {
        ThrowIfError(
            backend.get()->Restore(std::string_view(snapshot.c_str(), snapshot.size())));
      });
  nb::class_<PyValueState>(module, "ValueStateBytes")
      .def(nb::init<Backend&, std::string>(), nb::arg("backend"), nb::arg("name"),
           nb::keep_alive<1, 2>())
      .def("get", &PyValueState::Get)
      .def("update", &PyValueState::Update)
      .def("clear", &PyValueState::Clear);
  nb::class_<PyMapState>(module, "MapStateBytes")
      .def(nb::init<Backend&, std::string>(), nb::arg("backend"), nb::arg("name"),
           nb::keep_alive<1, 2>())
      .def("get", &PyMapState::Get)
      .def("put", &PyMapState::Put)
      .def("remove", &PyMapState::Remove)
      .def("entries", &PyMapState::Entries)
      .def("clear", &PyMapState::Clear);
  nb::class_<PyListState>(module, "ListStateBytes")
      .def(nb::init<Backend&, std::string>(), nb::arg("backend"), nb::arg("name"),
           nb::keep_alive<1, 2>())
      .def("add", &PyListState::Add)
      .def("get", &PyListState::Get)
      .def("clear", &PyListState::Clear);
}

}  // namespace sabot::python
