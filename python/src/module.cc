// sabot._sabot: the C++ engine's bindings. The Python package (python/sabot) builds on
// them; users import sabot, not this module.
#include "bindings.h"
#include "sabot/common/initialize.h"

namespace sabot::python {

[[noreturn]] void RaiseStatus(const Status& status) {
  const std::string message = status.message();
  if (status.IsInvalid()) throw nb::value_error(message.c_str());
  if (status.IsTypeError()) throw nb::type_error(message.c_str());
  if (status.IsKeyError()) throw nb::key_error(message.c_str());
  if (status.IsIOError()) {
    PyErr_SetString(PyExc_OSError, message.c_str());
    throw nb::python_error();
  }
  if (status.IsNotImplemented()) {
    PyErr_SetString(PyExc_NotImplementedError, message.c_str());
    throw nb::python_error();
  }
  throw std::runtime_error(status.ToString());
}

}  // namespace sabot::python

NB_MODULE(_sabot, module) {
  namespace py = sabot::python;
  py::ThrowIfError(sabot::Initialize());
  py::InitializeArrow(module);
  py::InitializeExpressions(module);
  py::InitializeStreams(module);
  py::InitializeTopics(module);
  py::InitializeKafka(module);
  py::InitializeState(module);
  py::InitializeTime(module);
  py::InitializeCodecs(module);
}
