#include "sabot/runtime/backend_dispatch.h"

#include <utility>

namespace sabot {
namespace {

// First byte of every snapshot: which layout wrote it.
enum class Layout : char { kInMemory = 'm', kInBackend = 'b' };

const char* BackendName(Layout layout) {
  return layout == Layout::kInMemory ? "memory" : "RocksDB";
}

class BackendDispatchOperator : public Operator {
 public:
  BackendDispatchOperator(OperatorMaker in_memory, OperatorMaker in_backend)
      : in_memory_(std::move(in_memory)), in_backend_(std::move(in_backend)) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    layout_ = context.state_backend.kind == StateBackendKind::kMemory
                  ? Layout::kInMemory
                  : Layout::kInBackend;
    impl_ = layout_ == Layout::kInMemory ? in_memory_() : in_backend_();
    return impl_->Open(context);
  }
  Status ProcessBatch(int port, std::shared_ptr<arrow::RecordBatch> batch) override {
    return impl_->ProcessBatch(port, std::move(batch));
  }
  Status ProcessWatermark(int64_t watermark) override {
    return impl_->ProcessWatermark(watermark);
  }
  Status ProcessIdleStatus(bool idle) override { return impl_->ProcessIdleStatus(idle); }
  Status OnProcessingTime(int64_t now_ms) override {
    return impl_->OnProcessingTime(now_ms);
  }
  Result<std::string> SnapshotState(int64_t checkpoint_id) override {
    impl_->set_snapshot_for_savepoint(snapshot_for_savepoint());
    ARROW_ASSIGN_OR_RAISE(std::string state, impl_->SnapshotState(checkpoint_id));
    state.insert(state.begin(), static_cast<char>(layout_));
    return state;
  }
  std::vector<SharedStateFile> TakeSharedFiles() override {
    return impl_->TakeSharedFiles();
  }
  Status RestoreState(const std::string& state) override {
    ARROW_RETURN_NOT_OK(CheckLayout(state));
    return impl_->RestoreState(state.substr(1));
  }
  Status RestoreRescaled(const std::vector<std::string>& states) override {
    std::vector<std::string> inner;
    inner.reserve(states.size());
    for (const std::string& state : states) {
      ARROW_RETURN_NOT_OK(CheckLayout(state));
      inner.push_back(state.substr(1));
    }
    return impl_->RestoreRescaled(inner);
  }
  Status NotifyCheckpointComplete(int64_t checkpoint_id) override {
    return impl_->NotifyCheckpointComplete(checkpoint_id);
  }
  Status Finish() override { return impl_->Finish(); }
  Status Close() override { return impl_ ? impl_->Close() : Status::OK(); }

 private:
  Status CheckLayout(const std::string& state) const {
    if (state.empty()) return Status::IOError("operator state is empty");
    const Layout saved = static_cast<Layout>(state[0]);
    if (saved != Layout::kInMemory && saved != Layout::kInBackend) {
      return Status::IOError("operator state has an unknown layout tag");
    }
    if (saved != layout_) {
      return Status::Invalid("the state of '", context().node_name,
                             "' was saved with the ", BackendName(saved),
                             " state backend but the job runs on ", BackendName(layout_),
                             ": restore it with the ", BackendName(saved), " backend");
    }
    return Status::OK();
  }

  OperatorMaker in_memory_;
  OperatorMaker in_backend_;
  Layout layout_ = Layout::kInMemory;
  std::unique_ptr<Operator> impl_;
};

}  // namespace

std::unique_ptr<Operator> MakeBackendDispatchOperator(OperatorMaker in_memory,
                                                      OperatorMaker in_backend) {
  return std::make_unique<BackendDispatchOperator>(std::move(in_memory),
                                                   std::move(in_backend));
}

}  // namespace sabot
