#include "arrow_interop.h"

#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <arrow/table.h>
#include <nanobind/stl/shared_ptr.h>

#include <utility>

namespace sabot::python {
namespace {

// Capsule destructors release the C structure unless a consumer moved it out (which
// sets `release` to null), then free the allocation.
template <typename CStruct>
void DestroyCapsule(PyObject* capsule, const char* name) {
  auto* c_struct = static_cast<CStruct*>(PyCapsule_GetPointer(capsule, name));
  if (c_struct == nullptr) {
    PyErr_Clear();
    return;
  }
  if (c_struct->release != nullptr) c_struct->release(c_struct);
  delete c_struct;
}

void DestroySchemaCapsule(PyObject* capsule) {
  DestroyCapsule<ArrowSchema>(capsule, "arrow_schema");
}
void DestroyArrayCapsule(PyObject* capsule) {
  DestroyCapsule<ArrowArray>(capsule, "arrow_array");
}
void DestroyStreamCapsule(PyObject* capsule) {
  DestroyCapsule<ArrowArrayStream>(capsule, "arrow_array_stream");
}

template <typename CStruct>
nb::object MakeCapsule(CStruct* c_struct, const char* name,
                       PyCapsule_Destructor destroy) {
  PyObject* capsule = PyCapsule_New(c_struct, name, destroy);
  if (capsule == nullptr) {
    if (c_struct->release != nullptr) c_struct->release(c_struct);
    delete c_struct;
    throw nb::python_error();
  }
  return nb::steal(capsule);
}

template <typename CStruct>
Result<CStruct*> CapsulePointer(nb::handle capsule, const char* name) {
  if (!PyCapsule_CheckExact(capsule.ptr())) {
    return Status::TypeError("expected a PyCapsule named '", name, "'");
  }
  auto* c_struct = static_cast<CStruct*>(PyCapsule_GetPointer(capsule.ptr(), name));
  if (c_struct == nullptr) {
    PyErr_Clear();
    return Status::TypeError("expected a PyCapsule named '", name, "'");
  }
  return c_struct;
}

nb::object SchemaCapsule(const arrow::Schema& schema) {
  auto* c_schema = new ArrowSchema();
  const Status status = arrow::ExportSchema(schema, c_schema);
  if (!status.ok()) {
    delete c_schema;
    RaiseStatus(status);
  }
  return MakeCapsule(c_schema, "arrow_schema", DestroySchemaCapsule);
}

// Python objects that hand engine data to any Arrow consumer through the protocol.
struct ExportedSchema {
  std::shared_ptr<arrow::Schema> schema;
  nb::object Capsule(nb::handle /*requested_schema*/) const {
    return SchemaCapsule(*schema);
  }
};

struct ExportedBatch {
  std::shared_ptr<arrow::RecordBatch> batch;
  nb::tuple Capsules(nb::handle /*requested_schema*/) const {
    auto* c_array = new ArrowArray();
    auto* c_schema = new ArrowSchema();
    const Status status = arrow::ExportRecordBatch(*batch, c_array, c_schema);
    if (!status.ok()) {
      delete c_array;
      delete c_schema;
      RaiseStatus(status);
    }
    nb::object schema = MakeCapsule(c_schema, "arrow_schema", DestroySchemaCapsule);
    nb::object array = MakeCapsule(c_array, "arrow_array", DestroyArrayCapsule);
    return nb::make_tuple(schema, array);
  }
};

struct ExportedStream {
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  nb::object Capsule(nb::handle /*requested_schema*/) const {
    auto reader = ValueOrThrow(arrow::RecordBatchReader::Make(batches, schema));
    auto* c_stream = new ArrowArrayStream();
    const Status status = arrow::ExportRecordBatchReader(std::move(reader), c_stream);
    if (!status.ok()) {
      delete c_stream;
      RaiseStatus(status);
    }
    return MakeCapsule(c_stream, "arrow_array_stream", DestroyStreamCapsule);
  }
};

nb::object PyArrow() { return nb::module_::import_("pyarrow"); }

}  // namespace

Result<std::shared_ptr<arrow::RecordBatchReader>> ImportReader(nb::handle object) {
  if (nb::hasattr(object, "__arrow_c_stream__")) {
    nb::object capsule = object.attr("__arrow_c_stream__")();
    ARROW_ASSIGN_OR_RAISE(
        auto* c_stream, CapsulePointer<ArrowArrayStream>(capsule, "arrow_array_stream"));
    return arrow::ImportRecordBatchReader(c_stream);
  }
  if (nb::hasattr(object, "__arrow_c_array__")) {
    ARROW_ASSIGN_OR_RAISE(auto batch, ImportBatch(object));
    return arrow::RecordBatchReader::Make({batch}, batch->schema());
  }
  return Status::TypeError(
      "expected Arrow data (an object with __arrow_c_stream__ or __arrow_c_array__, "
      "such as a pyarrow Table or RecordBatch, a polars DataFrame or a DuckDB "
      "relation), got ",
      nb::type_name(object.type()).c_str());
}

namespace {

// The C schema of an object implementing __arrow_c_schema__, kept alive by `capsule`;
// `what` names the kind of object expected in the error.
Result<ArrowSchema*> SchemaOf(nb::handle object, const char* what, nb::object* capsule) {
  if (!nb::hasattr(object, "__arrow_c_schema__")) {
    return Status::TypeError("expected ", what, ", got ",
                             nb::type_name(object.type()).c_str());
  }
  *capsule = object.attr("__arrow_c_schema__")();
  return CapsulePointer<ArrowSchema>(*capsule, "arrow_schema");
}

}  // namespace

Result<std::shared_ptr<arrow::Schema>> ImportSchema(nb::handle object) {
  nb::object capsule;
  ARROW_ASSIGN_OR_RAISE(
      auto* c_schema,
      SchemaOf(object,
               "an Arrow schema (an object with __arrow_c_schema__, such as a "
               "pyarrow.Schema)",
               &capsule));
  return arrow::ImportSchema(c_schema);
}

Result<std::shared_ptr<arrow::DataType>> ImportType(nb::handle object) {
  nb::object capsule;
  ARROW_ASSIGN_OR_RAISE(
      auto* c_schema,
      SchemaOf(object, "an Arrow data type such as pyarrow.int64()", &capsule));
  return arrow::ImportType(c_schema);
}

Result<std::shared_ptr<arrow::RecordBatch>> ImportBatch(nb::handle object) {
  if (!nb::hasattr(object, "__arrow_c_array__")) {
    ARROW_ASSIGN_OR_RAISE(auto reader, ImportReader(object));
    ARROW_ASSIGN_OR_RAISE(auto table, reader->ToTable());
    return table->CombineChunksToBatch();
  }
  nb::object capsules = object.attr("__arrow_c_array__")();
  if (!nb::isinstance<nb::tuple>(capsules) || nb::len(capsules) != 2) {
    return Status::TypeError("__arrow_c_array__ must return (schema, array) capsules");
  }
  ARROW_ASSIGN_OR_RAISE(auto* c_schema,
                        CapsulePointer<ArrowSchema>(capsules[0], "arrow_schema"));
  ARROW_ASSIGN_OR_RAISE(auto* c_array,
                        CapsulePointer<ArrowArray>(capsules[1], "arrow_array"));
  return arrow::ImportRecordBatch(c_array, c_schema);
}

nb::object ToPyArrowBatch(const std::shared_ptr<arrow::RecordBatch>& batch) {
  return PyArrow().attr("record_batch")(ExportedBatch{batch});
}

nb::object ToPyArrowTable(std::shared_ptr<arrow::Schema> schema,
                          std::vector<std::shared_ptr<arrow::RecordBatch>> batches) {
  return PyArrow().attr("table")(ExportedStream{std::move(schema), std::move(batches)});
}

nb::object ToPyArrowSchema(const std::shared_ptr<arrow::Schema>& schema) {
  return PyArrow().attr("schema")(ExportedSchema{schema});
}

void InitializeArrow(nb::module_& module) {
  nb::class_<ExportedSchema>(module, "_ExportedSchema")
      .def("__arrow_c_schema__", &ExportedSchema::Capsule,
           nb::arg("requested_schema") = nb::none());
  nb::class_<ExportedBatch>(module, "_ExportedBatch")
      .def("__arrow_c_array__", &ExportedBatch::Capsules,
           nb::arg("requested_schema") = nb::none());
  nb::class_<ExportedStream>(module, "_ExportedStream")
      .def("__arrow_c_stream__", &ExportedStream::Capsule,
           nb::arg("requested_schema") = nb::none());
}

}  // namespace sabot::python
