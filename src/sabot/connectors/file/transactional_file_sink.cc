#include "sabot/connectors/file/transactional_file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <arrow/record_batch.h>

#include "sabot/connectors/file/file_sink.h"
#include "sabot/state/state_codec.h"

namespace sabot {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStateMagic = "SBFS";
constexpr uint8_t kStateVersion = 1;
constexpr size_t kPendingFileBytes = 2 * sizeof(int64_t);
constexpr std::string_view kInProgressSuffix = ".inprogress";

/// A completed in-progress file waiting for its checkpoint to complete.
struct PendingFile {
  int64_t checkpoint_id = 0;
  int64_t seq = 0;
};

/// What SnapshotState() records; the byte layout is in transactional_file_sink.h.
struct SinkState {
  int32_t subtask = 0;
  int64_t next_seq = 0;
  std::vector<PendingFile> pending;
};

std::string EncodeState(const SinkState& state) {
  std::string out(kStateMagic);
  StateCodec<uint8_t>::Append(kStateVersion, &out);
  StateCodec<int32_t>::Append(state.subtask, &out);
  StateCodec<int64_t>::Append(state.next_seq, &out);
  StateCodec<uint32_t>::Append(static_cast<uint32_t>(state.pending.size()), &out);
  for (const PendingFile& file : state.pending) {
    StateCodec<int64_t>::Append(file.checkpoint_id, &out);
    StateCodec<int64_t>::Append(file.seq, &out);
  }
  return out;
}

// Checks everything SnapshotState() guarantees, so that a corrupt or foreign state
// fails the restore instead of renaming or deleting files.
Result<SinkState> DecodeState(std::string_view in) {
  if (in.substr(0, kStateMagic.size()) != kStateMagic) {
    return Status::Invalid("the state is not an exactly-once file sink state");
  }
  in.remove_prefix(kStateMagic.size());
  ARROW_ASSIGN_OR_RAISE(const uint8_t version, StateCodec<uint8_t>::Read(&in));
  if (version != kStateVersion) {
    return Status::Invalid("the state has format version ", static_cast<int>(version),
                           "; this build reads version ",
                           static_cast<int>(kStateVersion));
  }
  SinkState state;
  ARROW_ASSIGN_OR_RAISE(state.subtask, StateCodec<int32_t>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(state.next_seq, StateCodec<int64_t>::Read(&in));
  ARROW_ASSIGN_OR_RAISE(const uint32_t num_pending, StateCodec<uint32_t>::Read(&in));
  if (state.next_seq < 0 || in.size() != num_pending * kPendingFileBytes) {
    return Status::Invalid("the state is truncated or corrupt");
  }
  int64_t previous_seq = -1;
  for (uint32_t i = 0; i < num_pending; ++i) {
    PendingFile file;
    ARROW_ASSIGN_OR_RAISE(file.checkpoint_id, StateCodec<int64_t>::Read(&in));
    ARROW_ASSIGN_OR_RAISE(file.seq, StateCodec<int64_t>::Read(&in));
    if (file.checkpoint_id < 1 || file.seq <= previous_seq ||
        file.seq >= state.next_seq) {
      return Status::Invalid("the state is corrupt: pending file ", file.seq,
                             " of checkpoint ", file.checkpoint_id, " with next seq ",
                             state.next_seq);
    }
    previous_seq = file.seq;
    state.pending.push_back(file);
  }
  return state;
}

// Flushes the file or directory at `path` to disk. Files are reopened because the
// format writers may close their stream themselves; fsync applies to the file, not to
// the descriptor.
Status SyncPath(const std::string& path, bool directory) {
  const int fd =
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) {
    return Status::IOError("file sink '", path,
                           "': cannot open it to sync: ", std::strerror(errno));
  }
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) {
    return Status::IOError("file sink '", path, "': cannot sync: ", std::strerror(error));
  }
  return Status::OK();
}

/// A file of this subtask found in the output directory.
struct PartName {
  int64_t seq = 0;
  bool in_progress = false;
};

// One instance per subtask; called from its task thread only (no locking). Lifecycle:
// Open, [RestoreState], then ProcessBatch / SnapshotState / NotifyCheckpointComplete
// in any order, then Finish and Close, or only Close after a failure. The operator
// owns at most one open in-progress file (part_) and the list of pre-committed files
// whose checkpoint has not completed yet (pending_, in increasing seq).
class TransactionalFileSinkOperator : public Operator {
 public:
  TransactionalFileSinkOperator(FileSinkConfig config,
                                std::shared_ptr<arrow::Schema> schema)
      : config_(std::move(config)), schema_(std::move(schema)) {}

  Status Open(const OperatorContext& context) override {
    ARROW_RETURN_NOT_OK(Operator::Open(context));
    name_prefix_ = "part-";
    name_prefix_ += std::to_string(context.subtask);
    name_prefix_ += '-';
    // Nothing is deleted here: RestoreState() may still need the in-progress files.
    std::error_code error;
    fs::create_directories(config_.path, error);
    if (error || !fs::is_directory(config_.path, error)) {
      return Status::IOError("file sink '", config_.path,
                             "': cannot create the output directory: ",
                             error ? error.message() : "a file of that name exists");
    }
    return Status::OK();
  }

  Status ProcessBatch(int port, std::shared_ptr<arrow::RecordBatch> batch) override {
    ARROW_RETURN_NOT_OK(failure_);
    // Opening lazily keeps empty files out: a checkpoint without new rows since the
    // last roll pre-commits nothing.
    if (batch->num_rows() == 0) return Status::OK();
    if (!part_) {
      ARROW_ASSIGN_OR_RAISE(part_, PartFileWriter::Open(PathOf(InProgressName(next_seq_)),
                                                        config_.format, schema_));
    }
    return part_->Write(*batch);
  }

  Result<std::string> SnapshotState(int64_t checkpoint_id) override {
    ARROW_RETURN_NOT_OK(failure_);
    if (part_) {
      ARROW_ASSIGN_OR_RAISE(const int64_t seq, CompletePart());
      pending_.push_back({checkpoint_id, seq});
    }
    return EncodeState({context().subtask, next_seq_, pending_});
  }

  Status NotifyCheckpointComplete(int64_t checkpoint_id) override {
    auto committable = [checkpoint_id](const PendingFile& file) {
      return file.checkpoint_id <= checkpoint_id;
    };
    if (std::none_of(pending_.begin(), pending_.end(), committable)) {
      return Status::OK();
    }
    for (const PendingFile& file : pending_) {
      if (committable(file)) ARROW_RETURN_NOT_OK(CommitPart(file.seq));
    }
    ARROW_RETURN_NOT_OK(SyncDirectory());
    std::erase_if(pending_, committable);
    return Status::OK();
  }

  Status RestoreState(const std::string& bytes) override {
    if (part_ || next_seq_ != 0 || !pending_.empty()) {
      return Status::Invalid(Describe(),
                             ": RestoreState() called after input; the runtime must "
                             "restore before the first batch");
    }
    auto state = DecodeState(bytes);
    if (!state.ok()) {
      return state.status().WithMessage(Describe(),
                                        ": cannot restore: ", state.status().message());
    }
    if (state->subtask != context().subtask) {
      return Status::Invalid(Describe(), ": cannot restore the state of subtask ",
                             state->subtask);
    }
    // The checkpoint is complete, so everything it pre-committed is committed now,
    // whether or not the crashed run got to it.
    for (const PendingFile& file : state->pending) {
      ARROW_RETURN_NOT_OK(CommitPart(file.seq));
    }
    // What the crashed run wrote after the checkpoint goes: its in-progress files, and
    // the files it committed at the end of the input (seq >= next seq). The sources
    // replay that input now, and this run writes it again from next seq on.
    const int64_t next_seq = state->next_seq;
    ARROW_RETURN_NOT_OK(RemoveOwnFiles([next_seq](const PartName& name) {
      return name.in_progress || name.seq >= next_seq;
    }));
    ARROW_RETURN_NOT_OK(SyncDirectory());
    next_seq_ = next_seq;
    return Status::OK();
  }

  // Why commit here, without a checkpoint: the input has ended, so no further barrier
  // and no NotifyCheckpointComplete() will come for the rows since the last
  // checkpoint; waiting would leave them invisible for good, and a finished job's
  // output must be complete. The pending files of checkpoints not yet confirmed are
  // committed too: their notification may never reach this ending task. If the
  // job still fails after this (another subtask fails) and is restored from its last
  // checkpoint, the sources replay the input after it: RestoreState() then deletes the
  // files committed here (seq >= the restored next seq), so no row appears twice.
  Status Finish() override {
    ARROW_RETURN_NOT_OK(failure_);
    for (const PendingFile& file : pending_) {
      ARROW_RETURN_NOT_OK(CommitPart(file.seq));
    }
    pending_.clear();
    if (part_) {
      ARROW_ASSIGN_OR_RAISE(const int64_t seq, CompletePart());
      ARROW_RETURN_NOT_OK(CommitPart(seq));
    }
    // In-progress files of an earlier run that was not restored.
    ARROW_RETURN_NOT_OK(
        RemoveOwnFiles([](const PartName& name) { return name.in_progress; }));
    return SyncDirectory();
  }

  // After a failure: the in-progress file stays hidden and incomplete; a restore
  // deletes it.
  Status Close() override {
    if (!part_) return Status::OK();
    Status status = part_->Abandon();
    part_.reset();
    return status;
  }

 private:
  std::string Describe() const {
    std::string text = "file sink '";
    text += config_.path;
    text += "' subtask ";
    text += std::to_string(context().subtask);
    return text;
  }

  std::string VisibleName(int64_t seq) const {
    std::string name = name_prefix_;
    name += std::to_string(seq);
    name += '.';
    name += FileFormatExtension(config_.format);
    return name;
  }

  std::string InProgressName(int64_t seq) const {
    std::string name = ".";
    name += VisibleName(seq);
    name += kInProgressSuffix;
    return name;
  }

  std::string PathOf(const std::string& name) const {
    std::string path = config_.path;
    path += '/';
    path += name;
    return path;
  }

  // Returns the seq of `name` when it is one of this subtask's files:
  // "part-<i>-<seq>.<extension>" or ".part-<i>-<seq>.<extension>.inprogress", with one
  // of the four format extensions and seq in decimal without leading zeros. The '-'
  // after <i> keeps subtask 1 off subtask 10's files.
  std::optional<PartName> ParsePartName(std::string_view name) const {
    PartName part;
    if (name.starts_with('.') && name.ends_with(kInProgressSuffix)) {
      part.in_progress = true;
      name.remove_prefix(1);
      name.remove_suffix(kInProgressSuffix.size());
    }
    if (!name.starts_with(name_prefix_)) return std::nullopt;
    name.remove_prefix(name_prefix_.size());
    const size_t dot = name.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot > 18) return std::nullopt;
    const std::string_view digits = name.substr(0, dot);
    if (!std::all_of(digits.begin(), digits.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        (digits.size() > 1 && digits.front() == '0')) {
      return std::nullopt;
    }
    const auto parsed =
        std::from_chars(digits.data(), digits.data() + digits.size(), part.seq);
    if (parsed.ec != std::errc()) return std::nullopt;
    const std::string_view extension = name.substr(dot + 1);
    for (FileFormat format : {FileFormat::kJsonLines, FileFormat::kCsv,
                              FileFormat::kParquet, FileFormat::kArrowIpc}) {
      if (extension == FileFormatExtension(format)) return part;
    }
    return std::nullopt;
  }

  Status SyncDirectory() const { return SyncPath(config_.path, /*directory=*/true); }

  // Pre-commits the open in-progress file: footer, flush, fsync of the file and of the
  // directory (so that its name survives a power loss too). Returns its seq; the next
  // batch opens seq + 1. A failure is kept in failure_ and returned by every later
  // call: the file's rows are lost, so the job must fail and restart from the last
  // checkpoint rather than go on (a declined snapshot alone does not stop the task).
  Result<int64_t> CompletePart() {
    const std::string path = part_->path();
    Status status = part_->Complete();
    if (status.ok()) status = SyncPath(path, /*directory=*/false);
    if (status.ok()) status = SyncDirectory();
    if (!status.ok()) {
      (void)part_->Abandon();
      part_.reset();
      failure_ = status;
      return status;
    }
    part_.reset();
    return next_seq_++;
  }

  // Renames the pre-committed file `seq` to its visible name (atomic; the caller syncs
  // the directory). Idempotent, for restores: when the in-progress file is gone but the
  // visible one exists, a previous run committed it already.
  Status CommitPart(int64_t seq) const {
    const std::string from = PathOf(InProgressName(seq));
    const std::string to = PathOf(VisibleName(seq));
    if (std::rename(from.c_str(), to.c_str()) == 0) return Status::OK();
    const int error = errno;
    if (error == ENOENT) {
      std::error_code exists_error;
      if (fs::is_regular_file(to, exists_error)) return Status::OK();
      return Status::IOError("file sink '", from,
                             "': the pre-committed file is missing and was not "
                             "committed as '",
                             to, "' either; were files removed from the directory?");
    }
    return Status::IOError("file sink '", from, "': cannot rename it to '", to,
                           "': ", std::strerror(error));
  }

  // Deletes this subtask's files for which `doomed` is true.
  Status RemoveOwnFiles(const std::function<bool(const PartName&)>& doomed) const {
    std::vector<fs::path> paths;
    std::error_code error;
    for (fs::directory_iterator it(config_.path, error), end; !error && it != end;
         it.increment(error)) {
      const std::optional<PartName> name = ParsePartName(it->path().filename().string());
      if (name && doomed(*name)) paths.push_back(it->path());
    }
    if (error) {
      return Status::IOError("file sink '", config_.path,
                             "': cannot list the directory: ", error.message());
    }
    for (const fs::path& path : paths) {
      fs::remove(path, error);
      if (error) {
        return Status::IOError("file sink '", path.string(),
                               "': cannot delete it: ", error.message());
      }
    }
    return Status::OK();
  }

  const FileSinkConfig config_;
  const std::shared_ptr<arrow::Schema> schema_;
  std::string name_prefix_;  // "part-<subtask>-"
  int64_t next_seq_ = 0;
  std::unique_ptr<PartFileWriter> part_;
  std::vector<PendingFile> pending_;
  Status failure_;
};

}  // namespace

std::unique_ptr<Operator> MakeTransactionalFileSinkOperator(
    const FileSinkOptions& options) {
  return std::make_unique<TransactionalFileSinkOperator>(options.config(),
                                                         options.schema());
}

}  // namespace sabot
