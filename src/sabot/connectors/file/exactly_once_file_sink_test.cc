// The exactly-once mode of the file sink (FileSinkConfig::exactly_once): the operator
// driven by hand through checkpoints, a crash and restores, and whole jobs checkpointed,
// crashed and restored, whose visible files must hold every row exactly once. Expected
// rows are computed here (or by an uninterrupted run), and files are read back with
// Arrow's own readers, not with the file source.
#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include <arrow/api.h>
#include <arrow/csv/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include "sabot/api/stream_environment.h"
#include "sabot/connectors/file/file_options.h"
#include "sabot/connectors/file/file_testing.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::shared_ptr<arrow::Schema> RowSchema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
}

// Rows [begin, end) of the operator tests: id i, name "row-<i>".
std::shared_ptr<arrow::RecordBatch> Rows(int64_t begin, int64_t end) {
  arrow::Int64Builder ids;
  arrow::StringBuilder names;
  for (int64_t i = begin; i < end; ++i) {
    EXPECT_TRUE(ids.Append(i).ok());
    std::ostringstream name;
    name << "row-" << i;
    EXPECT_TRUE(names.Append(name.str()).ok());
  }
  return arrow::RecordBatch::Make(
      RowSchema(), end - begin, {ids.Finish().ValueOrDie(), names.Finish().ValueOrDie()});
}

std::string JsonLine(int64_t id, std::string_view name) {
  std::ostringstream line;
  line << "{\"id\":" << id << ",\"name\":\"" << name << "\"}";
  return line.str();
}

// The rows of Rows(begin, end) as JSON lines.
std::multiset<std::string> ExpectedLines(int64_t begin, int64_t end) {
  std::multiset<std::string> lines;
  for (int64_t i = begin; i < end; ++i) {
    std::ostringstream name;
    name << "row-" << i;
    lines.insert(JsonLine(i, name.str()));
  }
  return lines;
}

// Renders every row of `table` (columns id: int64, name: utf8) as a JSON line.
Status AppendTableLines(const arrow::Table& table, std::multiset<std::string>* lines) {
  arrow::TableBatchReader reader(table);
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) return Status::OK();
    auto ids = std::dynamic_pointer_cast<arrow::Int64Array>(batch->GetColumnByName("id"));
    auto names =
        std::dynamic_pointer_cast<arrow::StringArray>(batch->GetColumnByName("name"));
    if (!ids || !names) {
      return Status::Invalid("unexpected columns ", batch->schema()->ToString());
    }
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      lines->insert(JsonLine(ids->Value(i), names->GetView(i)));
    }
  }
}

// Reads the rows of one output file with Arrow's readers (the text itself for JSON
// lines); fails for an incomplete file (e.g. a Parquet file without its footer).
Status AppendFileLines(const std::string& path, FileFormat format,
                       std::multiset<std::string>* lines) {
  if (format == FileFormat::kJsonLines) {
    std::istringstream text(testing::ReadTextFile(path));
    std::string line;
    while (std::getline(text, line)) lines->insert(line);
    return Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto input, arrow::io::ReadableFile::Open(path));
  std::shared_ptr<arrow::Table> table;
  switch (format) {
    case FileFormat::kCsv: {
      auto convert = arrow::csv::ConvertOptions::Defaults();
      convert.column_types = {{"id", arrow::int64()}, {"name", arrow::utf8()}};
      ARROW_ASSIGN_OR_RAISE(
          auto reader,
          arrow::csv::TableReader::Make(arrow::io::default_io_context(), input,
                                        arrow::csv::ReadOptions::Defaults(),
                                        arrow::csv::ParseOptions::Defaults(), convert));
      ARROW_ASSIGN_OR_RAISE(table, reader->Read());
      break;
    }
    case FileFormat::kParquet: {
      ARROW_ASSIGN_OR_RAISE(
          auto reader, parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
      ARROW_ASSIGN_OR_RAISE(table, reader->ReadTable());
      break;
    }
    case FileFormat::kArrowIpc: {
      ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchFileReader::Open(input));
      std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
      for (int i = 0; i < reader->num_record_batches(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto batch, reader->ReadRecordBatch(i));
        batches.push_back(std::move(batch));
      }
      ARROW_ASSIGN_OR_RAISE(table,
                            arrow::Table::FromRecordBatches(reader->schema(), batches));
      break;
    }
    case FileFormat::kJsonLines:
      break;
  }
  return AppendTableLines(*table, lines);
}

// The names in `directory` (sorted).
std::set<std::string> FileNames(const std::string& directory) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// Reads every visible file of `directory` whose name starts with `prefix`; dot-files
// (in-progress) are skipped, as readers of the sink's output must.
Result<std::multiset<std::string>> ReadVisibleLines(const std::string& directory,
                                                    FileFormat format,
                                                    const std::string& prefix = "part-") {
  std::multiset<std::string> lines;
  for (const std::string& name : FileNames(directory)) {
    if (name.rfind(prefix, 0) != 0) continue;
    ARROW_RETURN_NOT_OK(AppendFileLines(directory + "/" + name, format, &lines));
  }
  return lines;
}

// Drives the "file_sink" operator in exactly-once mode as subtask 1 of 11 (so that the
// files of subtasks 10 and 11 share its "part-1" prefix), made through the registry as
// the runtime makes it.
class ExactlyOnceFileSinkTest : public ::testing::TestWithParam<FileFormat> {
 protected:
  static constexpr int kSubtask = 1;
  static constexpr int kParallelism = 11;

  void SetUp() override {
    out_ = directory_.Child("out");
    auto options =
        FileSinkOptions::Make({GetParam(), out_, /*exactly_once=*/true}, RowSchema());
    ASSERT_TRUE(options.ok()) << options.status().ToString();
    options_ = *options;
  }

  std::string Extension() const { return FileFormatExtension(GetParam()); }

  // The names the README promises, spelled out here.
  std::string Visible(int64_t seq) const {
    std::ostringstream name;
    name << "part-" << kSubtask << "-" << seq << "." << Extension();
    return name.str();
  }
  std::string InProgress(int64_t seq) const {
    std::ostringstream name;
    name << "." << Visible(seq) << ".inprogress";
    return name.str();
  }

  std::unique_ptr<Operator> OpenSink(int subtask = kSubtask) {
    PlanNode node;
    node.name = "file_sink#1";
    node.role = NodeRole::kSink;
    node.parallelism = kParallelism;
    node.output_schema = RowSchema();
    node.options = options_;
    auto sink = registry_->MakeOperator(node);
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    if (!sink.ok()) return nullptr;
    OperatorContext context;
    context.node_name = node.name;
    context.subtask = subtask;
    context.parallelism = kParallelism;
    context.input_schemas = {RowSchema()};
    context.output = &collector_;
    Status opened = (*sink)->Open(context);
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    return std::move(*sink);
  }

  // Files of other subtasks and of the plain mode that share a prefix with subtask 1's
  // names; the sink must never touch them.
  void WriteForeignFiles() {
    for (const std::string& name : ForeignFiles()) {
      testing::WriteTextFile(out_ + "/" + name, "foreign\n");
    }
  }
  std::set<std::string> ForeignFiles() const {
    std::set<std::string> names;
    for (const char* stem : {"part-1", "part-10-0", "part-11-3"}) {
      std::ostringstream visible;
      visible << stem << "." << Extension();
      names.insert(visible.str());
      std::ostringstream in_progress;
      in_progress << "." << visible.str() << ".inprogress";
      names.insert(in_progress.str());
    }
    return names;
  }
  void ExpectForeignFilesUntouched() {
    for (const std::string& name : ForeignFiles()) {
      EXPECT_EQ(testing::ReadTextFile(out_ + "/" + name), "foreign\n") << name;
    }
  }

  // Subtask 1's files in the output directory.
  std::set<std::string> OwnFiles() const {
    std::set<std::string> own;
    for (const std::string& name : FileNames(out_)) {
      if (name.rfind("part-1-", 0) == 0 || name.rfind(".part-1-", 0) == 0) {
        own.insert(name);
      }
    }
    return own;
  }

  std::multiset<std::string> VisibleLines() const {
    auto lines = ReadVisibleLines(out_, GetParam(), "part-1-");
    EXPECT_TRUE(lines.ok()) << lines.status().ToString();
    return lines.ok() ? *lines : std::multiset<std::string>{};
  }

  testing::TempDirectory directory_;
  std::string out_;
  std::shared_ptr<FileSinkOptions> options_;
  std::unique_ptr<OperatorRegistry> registry_ = testing::FileConnectorRegistry();
  testing::CapturingCollector collector_;
};

#define ASSERT_STATUS_OK(expression)                 \
  do {                                               \
    const Status _status = (expression);             \
    ASSERT_TRUE(_status.ok()) << _status.ToString(); \
  } while (false)

TEST_P(ExactlyOnceFileSinkTest, CommitsAtCheckpointCompleteAndRestoresExactlyOnce) {
  WriteForeignFiles();
  std::string state1;
  std::string state2;
  {
    auto sink = OpenSink();
    ASSERT_NE(sink, nullptr);
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(0, 10)));
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(10, 20)));
    auto snapshot = sink->SnapshotState(1);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    state1 = *snapshot;
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(20, 30)));
    // Pre-committed, but checkpoint 1 is not complete yet: nothing is visible.
    EXPECT_EQ(OwnFiles(), (std::set<std::string>{InProgress(0), InProgress(1)}));

    ASSERT_STATUS_OK(sink->NotifyCheckpointComplete(1));
    EXPECT_EQ(OwnFiles(), (std::set<std::string>{Visible(0), InProgress(1)}));
    EXPECT_EQ(VisibleLines(), ExpectedLines(0, 20));

    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(30, 40)));
    snapshot = sink->SnapshotState(2);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    state2 = *snapshot;
    // No rows since the last roll: checkpoint 3 pre-commits no (empty) file.
    ASSERT_TRUE(sink->SnapshotState(3).ok());
    EXPECT_EQ(OwnFiles(), (std::set<std::string>{Visible(0), InProgress(1)}));
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(40, 50)));
    EXPECT_EQ(OwnFiles(),
              (std::set<std::string>{Visible(0), InProgress(1), InProgress(2)}));
    // The crash: checkpoint 2 completes, but the sink fails before it hears of it; the
    // runtime closes it.
    ASSERT_STATUS_OK(sink->Close());
  }
  EXPECT_EQ(VisibleLines(), ExpectedLines(0, 20));

  // Restart from checkpoint 2: its pre-committed rows become visible, the rows after it
  // are gone with the in-progress file, and the replayed input writes them again.
  {
    auto sink = OpenSink();
    ASSERT_NE(sink, nullptr);
    // Open deletes nothing: the restore still needs the in-progress files.
    EXPECT_EQ(OwnFiles(),
              (std::set<std::string>{Visible(0), InProgress(1), InProgress(2)}));
    ASSERT_STATUS_OK(sink->RestoreState(state2));
    EXPECT_EQ(OwnFiles(), (std::set<std::string>{Visible(0), Visible(1)}));
    EXPECT_EQ(VisibleLines(), ExpectedLines(0, 40));
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(40, 50)));
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(50, 60)));
    EXPECT_EQ(VisibleLines(), ExpectedLines(0, 40));
    ASSERT_STATUS_OK(sink->Finish());
    ASSERT_STATUS_OK(sink->Close());
    EXPECT_EQ(OwnFiles(), (std::set<std::string>{Visible(0), Visible(1), Visible(2)}));
    EXPECT_EQ(VisibleLines(), ExpectedLines(0, 60));
  }

  // Restart from the older checkpoint 1 after that run committed everything at the end
  // of its input: the files past checkpoint 1 go (their input is replayed), and file 0,
  // committed long ago, is committed again without harm.
  {
    auto sink = OpenSink();
    ASSERT_NE(sink, nullptr);
    ASSERT_STATUS_OK(sink->RestoreState(state1));
    EXPECT_EQ(OwnFiles(), (std::set<std::string>{Visible(0)}));
    EXPECT_EQ(VisibleLines(), ExpectedLines(0, 20));
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(20, 60)));
    ASSERT_STATUS_OK(sink->Finish());
    ASSERT_STATUS_OK(sink->Close());
    EXPECT_EQ(OwnFiles(), (std::set<std::string>{Visible(0), Visible(1)}));
    EXPECT_EQ(VisibleLines(), ExpectedLines(0, 60));
  }
  ExpectForeignFilesUntouched();
  EXPECT_TRUE(collector_.batches.empty());
}

TEST_P(ExactlyOnceFileSinkTest, CheckpointCompleteCommitsOnlyCheckpointsUpToItsId) {
  auto sink = OpenSink();
  ASSERT_NE(sink, nullptr);
  // Three checkpoints in flight, each pre-committing one file.
  for (int64_t checkpoint = 1; checkpoint <= 3; ++checkpoint) {
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows((checkpoint - 1) * 10, checkpoint * 10)));
    ASSERT_TRUE(sink->SnapshotState(checkpoint).ok());
  }
  ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(30, 35)));
  // Checkpoint 2 completes (1 was subsumed): files 0 and 1, not 2 and not the open one.
  ASSERT_STATUS_OK(sink->NotifyCheckpointComplete(2));
  EXPECT_EQ(OwnFiles(), (std::set<std::string>{Visible(0), Visible(1), InProgress(2),
                                               InProgress(3)}));
  EXPECT_EQ(VisibleLines(), ExpectedLines(0, 20));
  // A repeated notification changes nothing.
  ASSERT_STATUS_OK(sink->NotifyCheckpointComplete(2));
  EXPECT_EQ(VisibleLines(), ExpectedLines(0, 20));
  ASSERT_STATUS_OK(sink->NotifyCheckpointComplete(3));
  EXPECT_EQ(OwnFiles(),
            (std::set<std::string>{Visible(0), Visible(1), Visible(2), InProgress(3)}));
  EXPECT_EQ(VisibleLines(), ExpectedLines(0, 30));
  ASSERT_STATUS_OK(sink->Finish());
  ASSERT_STATUS_OK(sink->Close());
  EXPECT_EQ(VisibleLines(), ExpectedLines(0, 35));
}

TEST_P(ExactlyOnceFileSinkTest, FinishCommitsPendingFilesAndRemovesLeftovers) {
  WriteForeignFiles();
  // An in-progress file of an earlier run that was not restored.
  testing::WriteTextFile(out_ + "/" + InProgress(7), "leftover\n");
  auto sink = OpenSink();
  ASSERT_NE(sink, nullptr);
  ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(0, 5)));
  ASSERT_TRUE(sink->SnapshotState(1).ok());
  ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(5, 5)));  // empty: opens no file
  ASSERT_TRUE(sink->SnapshotState(2).ok());
  ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(5, 12)));
  EXPECT_TRUE(VisibleLines().empty());
  // The end of the input commits what checkpoint 1 pre-committed (never confirmed) and
  // the current file at once.
  ASSERT_STATUS_OK(sink->Finish());
  ASSERT_STATUS_OK(sink->Close());
  EXPECT_EQ(OwnFiles(), (std::set<std::string>{Visible(0), Visible(1)}));
  EXPECT_EQ(VisibleLines(), ExpectedLines(0, 12));
  ExpectForeignFilesUntouched();
}

TEST_P(ExactlyOnceFileSinkTest, FailedRunCommitsNothing) {
  auto sink = OpenSink();
  ASSERT_NE(sink, nullptr);
  ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(0, 5)));
  ASSERT_TRUE(sink->SnapshotState(1).ok());
  ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(5, 10)));
  ASSERT_STATUS_OK(sink->Close());
  sink.reset();
  EXPECT_EQ(OwnFiles(), (std::set<std::string>{InProgress(0), InProgress(1)}));
  EXPECT_TRUE(VisibleLines().empty());
}

INSTANTIATE_TEST_SUITE_P(AllFormats, ExactlyOnceFileSinkTest,
                         ::testing::Values(FileFormat::kJsonLines, FileFormat::kCsv,
                                           FileFormat::kParquet, FileFormat::kArrowIpc),
                         [](const ::testing::TestParamInfo<FileFormat>& info) {
                           return std::string(FileFormatExtension(info.param));
                         });

using ExactlyOnceFileSinkRestoreTest = ExactlyOnceFileSinkTest;

TEST_P(ExactlyOnceFileSinkRestoreTest, MissingPendingFileFailsTheRestoreNamingIt) {
  std::string state;
  {
    auto sink = OpenSink();
    ASSERT_NE(sink, nullptr);
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(0, 5)));
    auto snapshot = sink->SnapshotState(1);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    state = *snapshot;
    ASSERT_STATUS_OK(sink->Close());
  }
  fs::remove(out_ + "/" + InProgress(0));
  auto sink = OpenSink();
  ASSERT_NE(sink, nullptr);
  Status restored = sink->RestoreState(state);
  ASSERT_TRUE(restored.IsIOError()) << restored.ToString();
  EXPECT_TRUE(testing::Contains(restored.message(), InProgress(0)));
}

TEST_P(ExactlyOnceFileSinkRestoreTest, CorruptOrForeignStateIsRefused) {
  std::string state;
  {
    auto sink = OpenSink();
    ASSERT_NE(sink, nullptr);
    ASSERT_STATUS_OK(sink->ProcessBatch(0, Rows(0, 5)));
    auto snapshot = sink->SnapshotState(1);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    state = *snapshot;
  }
  // Layout: "SBFS", version 1, int32 subtask, int64 next seq, uint32 count, entries.
  ASSERT_EQ(state.size(), 4u + 1 + 4 + 8 + 4 + 16);
  EXPECT_EQ(state.substr(0, 5), std::string("SBFS\x01", 5));

  std::string bad_magic = state;
  bad_magic[0] = 'X';
  std::string bad_version = state;
  bad_version[4] = 2;
  const std::string truncated = state.substr(0, state.size() - 1);
  std::string seq_past_next = state;
  seq_past_next[state.size() - 8] = 5;  // pending seq 5 with next seq 1
  for (const std::string& bad : {bad_magic, bad_version, truncated, seq_past_next}) {
    auto sink = OpenSink();
    ASSERT_NE(sink, nullptr);
    Status restored = sink->RestoreState(bad);
    EXPECT_FALSE(restored.ok());
    EXPECT_TRUE(testing::Contains(restored.message(), out_));
  }
  // The state of subtask 1 given to subtask 2.
  auto other = OpenSink(/*subtask=*/2);
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(other->RestoreState(state).ok());
  // Nothing was committed or deleted by the refused restores.
  EXPECT_EQ(OwnFiles(), (std::set<std::string>{InProgress(0)}));
}

INSTANTIATE_TEST_SUITE_P(JsonLines, ExactlyOnceFileSinkRestoreTest,
                         ::testing::Values(FileFormat::kJsonLines),
                         [](const ::testing::TestParamInfo<FileFormat>& info) {
                           return std::string(FileFormatExtension(info.param));
                         });

// Whole jobs: a generator source that records its position, checkpointed on demand.

struct JobCase {
  FileFormat format;
  int parallelism;
};

class ExactlyOnceFileSinkJobTest : public ::testing::TestWithParam<JobCase> {};

GeneratorConfig SlowRows() {
  GeneratorConfig config;
  config.num_rows = 40'000;
  config.rows_per_second = 40'000;  // about a second
  config.batch_size = 500;
  config.columns = {{.name = "id", .kind = GeneratorColumn::Kind::kSequence},
                    {.name = "name",
                     .kind = GeneratorColumn::Kind::kChoice,
                     .choices = {"a", "b", "c", "d", "e", "f", "g"}}};
  return config;
}

std::shared_ptr<const LogicalPlan> WritePlan(const JobCase& job_case,
                                             const std::string& out) {
  StreamEnvironment env;
  env.SetParallelism(job_case.parallelism);
  DataStream stream = env.FromGenerator(SlowRows());
  // With more than one subtask the rows cross an exchange, so the sink's barriers are
  // aligned over two inputs; with one, the sink is chained to the source.
  if (job_case.parallelism > 1) stream = stream.Rebalance();
  stream.WriteFiles({job_case.format, out, /*exactly_once=*/true});
  return env.BuildPlan().ValueOrDie();
}

// Runs `plan` for 400 ms, takes a checkpoint, runs `after_ms` more and cancels the job
// (the crash); returns the checkpoint's id.
Result<int64_t> CheckpointThenCrash(std::shared_ptr<const LogicalPlan> plan,
                                    const JobOptions& options, int64_t after_ms) {
  ARROW_ASSIGN_OR_RAISE(auto job, Job::Start(std::move(plan), options));
  std::this_thread::sleep_for(milliseconds(400));
  ARROW_ASSIGN_OR_RAISE(int64_t id, job->checkpoints()->Trigger());
  ARROW_RETURN_NOT_OK(job->checkpoints()->WaitFor(id, 10'000));
  std::this_thread::sleep_for(milliseconds(after_ms));
  job->Cancel();
  (void)job->Wait();
  return id;
}

bool HasDotFiles(const std::string& directory) {
  for (const std::string& name : FileNames(directory)) {
    if (name.front() == '.') return true;
  }
  return false;
}

TEST_P(ExactlyOnceFileSinkJobTest, RestoredJobWritesEveryRowExactlyOnce) {
  const JobCase job_case = GetParam();
  testing::TempDirectory directory;

  // The reference: every generated row once, rendered here.
  std::multiset<std::string> generated;
  {
    auto rows = testing::GeneratedRows(SlowRows());
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    for (const auto& batch : *rows) {
      auto table = arrow::Table::FromRecordBatches({batch}).ValueOrDie();
      ASSERT_STATUS_OK(AppendTableLines(*table, &generated));
    }
    ASSERT_EQ(generated.size(), 40'000u);
  }
  // An uninterrupted run writes exactly that.
  const std::string reference_out = directory.Child("reference");
  {
    auto job = Job::Start(WritePlan(job_case, reference_out));
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    ASSERT_STATUS_OK((*job)->Wait());
  }
  auto reference = ReadVisibleLines(reference_out, job_case.format);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  EXPECT_EQ(*reference, generated);
  EXPECT_FALSE(HasDotFiles(reference_out));

  // Checkpoint, run on, crash.
  const std::string out = directory.Child("out");
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;  // on demand
  auto id = CheckpointThenCrash(WritePlan(job_case, out), options, 200);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  // The crash left rows past the checkpoint in in-progress files, and what is visible
  // is a part of the output without duplicates.
  EXPECT_TRUE(HasDotFiles(out));
  auto after_crash = ReadVisibleLines(out, job_case.format);
  ASSERT_TRUE(after_crash.ok()) << after_crash.status().ToString();
  EXPECT_LT(after_crash->size(), generated.size());
  EXPECT_TRUE(std::includes(generated.begin(), generated.end(), after_crash->begin(),
                            after_crash->end()));

  // Restart from the checkpoint: together the files hold every row exactly once.
  options.checkpoints.restore = true;
  {
    auto job = Job::Start(WritePlan(job_case, out), options);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ((*job)->restored_checkpoint(), *id);
    ASSERT_STATUS_OK((*job)->Wait());
  }
  auto restored = ReadVisibleLines(out, job_case.format);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->size(), generated.size());
  EXPECT_TRUE(*restored == *reference) << "the restored output differs from the "
                                          "uninterrupted run's";
  EXPECT_FALSE(HasDotFiles(out));
}

INSTANTIATE_TEST_SUITE_P(Formats, ExactlyOnceFileSinkJobTest,
                         ::testing::Values(JobCase{FileFormat::kJsonLines, 2},
                                           JobCase{FileFormat::kParquet, 1}),
                         [](const ::testing::TestParamInfo<JobCase>& info) {
                           std::ostringstream name;
                           name << FileFormatExtension(info.param.format)
                                << "_parallelism" << info.param.parallelism;
                           return name.str();
                         });

}  // namespace
}  // namespace sabot
