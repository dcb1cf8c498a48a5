// Checkpoint positions of the file source readers (README.md, "Checkpoints"): readers
// driven by hand, cut at every batch, restored in a fresh reader; refused positions;
// rejected records across a restore; and whole jobs checkpointed, crashed and
// restored. Expected rows are the rows this test wrote, never what a reader returned.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include "sabot/api/stream_environment.h"
#include "sabot/connectors/file/file_options.h"
#include "sabot/connectors/file/file_position.h"
#include "sabot/connectors/file/file_testing.h"
#include "sabot/runtime/node_metrics.h"
#include "sabot/testing/pipeline_testing.h"

namespace sabot {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

#define ASSERT_STATUS_OK(expression)                 \
  do {                                               \
    const Status _status = (expression);             \
    ASSERT_TRUE(_status.ok()) << _status.ToString(); \
  } while (false)

/// A row: (id, name).
using Row = std::pair<int64_t, std::string>;
using Rows = std::vector<Row>;

constexpr int64_t kBatchSize = 100;
// Uneven, so that text batches span files; file 0 is a whole number of batches, so a
// cut falls exactly on its end.
const std::vector<int64_t> kRowsPerFile = {2000, 2550, 1730};

std::shared_ptr<arrow::Schema> RowSchema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
}

// Some names need quoting in CSV and escaping in JSON, and span two CSV lines.
std::string NameOf(int64_t id) {
  std::ostringstream name;
  if (id % 97 == 0) name << "say \"hi\", then\nbreak ";
  name << "name-" << id;
  return name.str();
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string CsvField(std::string_view text, bool always_quote) {
  if (!always_quote && text.find_first_of(",\"\n\r") == std::string_view::npos) {
    return std::string(text);
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

struct InputFile {
  std::string path;
  /// The good rows, in file order.
  Rows rows;
  /// The 1-based physical lines of the bad records (text formats).
  std::vector<int64_t> bad_lines;
};

struct Input {
  std::string glob;
  std::vector<InputFile> files;
};

std::shared_ptr<arrow::RecordBatch> MakeBatch(const Rows& rows, size_t begin,
                                              size_t end) {
  arrow::Int64Builder ids;
  arrow::StringBuilder names;
  for (size_t i = begin; i < end; ++i) {
    EXPECT_TRUE(ids.Append(rows[i].first).ok());
    EXPECT_TRUE(names.Append(rows[i].second).ok());
  }
  return arrow::RecordBatch::Make(
      RowSchema(), static_cast<int64_t>(end - begin),
      {ids.Finish().ValueOrDie(), names.Finish().ValueOrDie()});
}

// Text files vary per file: file 1 has "\r\n" line ends and blank lines, file 2 no line
// end after its last record. CSV file 1 lists its columns in another order. With
// `bad_records`, every 150th record is bad (invalid JSON, or a CSV record with three
// fields).
std::string TextFile(FileFormat format, int file, const Rows& rows, bool bad_records,
                     std::vector<int64_t>* bad_lines) {
  const std::string end_of_line = file == 1 ? "\r\n" : "\n";
  std::string text;
  int64_t line = 0;
  if (format == FileFormat::kCsv) {
    text.append(file == 1 ? "name,id" : "id,name").append(end_of_line);
    ++line;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [id, name] = rows[i];
    if (file == 1 && i % 500 == 250) {
      text += end_of_line;
      ++line;
    }
    if (bad_records && i % 150 == 70) {
      text += format == FileFormat::kCsv ? std::string("1,2,3")
                                         : std::string("{\"id\": 7, \"name\": }");
      text += end_of_line;
      bad_lines->push_back(++line);
    }
    std::ostringstream record;
    if (format == FileFormat::kCsv) {
      const std::string name_field = CsvField(name, /*always_quote=*/file == 2);
      if (file == 1) {
        record << name_field << "," << id;
      } else {
        record << id << "," << name_field;
      }
    } else {
      record << "{\"id\": " << id << ", \"name\": " << JsonString(name) << "}";
    }
    text += record.str();
    line +=
        1 + (format == FileFormat::kCsv ? std::count(name.begin(), name.end(), '\n') : 0);
    if (file != 2 || i + 1 < rows.size()) text += end_of_line;
  }
  return text;
}

Status WriteColumnarFile(FileFormat format, int file, const std::string& path,
                         const Rows& rows) {
  ARROW_ASSIGN_OR_RAISE(auto output, arrow::io::FileOutputStream::Open(path));
  if (format == FileFormat::kParquet) {
    // Row groups of 256 rows: positions fall inside groups and on their edges.
    ARROW_ASSIGN_OR_RAISE(
        auto table, arrow::Table::FromRecordBatches({MakeBatch(rows, 0, rows.size())}));
    ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(),
                                                   output, /*chunk_size=*/256));
    return output->Close();
  }
  // Arrow IPC: files 0 and 2 in the file format with batches of 128 rows, file 1 a
  // stream of 250-row batches; both larger than kBatchSize, so they are sliced.
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer;
  if (file == 1) {
    ARROW_ASSIGN_OR_RAISE(writer, arrow::ipc::MakeStreamWriter(output, RowSchema()));
  } else {
    ARROW_ASSIGN_OR_RAISE(writer, arrow::ipc::MakeFileWriter(output, RowSchema()));
  }
  const size_t step = file == 1 ? 250 : 128;
  for (size_t begin = 0; begin < rows.size(); begin += step) {
    ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(
        *MakeBatch(rows, begin, std::min(rows.size(), begin + step))));
  }
  ARROW_RETURN_NOT_OK(writer->Close());
  return output->Close();
}

// Writes in-<f>.<ext> for each entry of `rows_per_file` under `directory`; file f holds
// ids f * 100000, f * 100000 + 1, ...
Input WriteInput(FileFormat format, const std::string& directory,
                 const std::vector<int64_t>& rows_per_file, bool bad_records = false) {
  Input input;
  const std::string extension = FileFormatExtension(format);
  std::ostringstream glob;
  glob << directory << "/in-*." << extension;
  input.glob = glob.str();
  for (size_t f = 0; f < rows_per_file.size(); ++f) {
    InputFile file;
    std::ostringstream path;
    path << directory << "/in-" << f << "." << extension;
    file.path = path.str();
    for (int64_t r = 0; r < rows_per_file[f]; ++r) {
      const int64_t id = static_cast<int64_t>(f) * 100000 + r;
      file.rows.emplace_back(id, NameOf(id));
    }
    if (format == FileFormat::kJsonLines || format == FileFormat::kCsv) {
      testing::WriteTextFile(file.path, TextFile(format, static_cast<int>(f), file.rows,
                                                 bad_records, &file.bad_lines));
    } else {
      Status written =
          WriteColumnarFile(format, static_cast<int>(f), file.path, file.rows);
      EXPECT_TRUE(written.ok()) << written.ToString();
    }
    input.files.push_back(std::move(file));
  }
  return input;
}

// The rows subtask `subtask` of `parallelism` reads, in order.
Rows ExpectedRows(const Input& input, int subtask, int parallelism) {
  Rows rows;
  for (size_t f = static_cast<size_t>(subtask); f < input.files.size();
       f += static_cast<size_t>(parallelism)) {
    rows.insert(rows.end(), input.files[f].rows.begin(), input.files[f].rows.end());
  }
  return rows;
}

Rows AllRows(const Input& input) { return ExpectedRows(input, 0, 1); }

::testing::AssertionResult SameRows(const Rows& expected, const Rows& actual) {
  const size_t common = std::min(expected.size(), actual.size());
  for (size_t i = 0; i < common; ++i) {
    if (expected[i] != actual[i]) {
      return ::testing::AssertionFailure()
             << "row " << i << " is (" << actual[i].first << ", " << actual[i].second
             << "), expected (" << expected[i].first << ", " << expected[i].second << ")";
    }
  }
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure()
           << actual.size() << " rows, expected " << expected.size();
  }
  return ::testing::AssertionSuccess();
}

Status AppendRows(const arrow::RecordBatch& batch, Rows* rows) {
  auto ids = std::dynamic_pointer_cast<arrow::Int64Array>(batch.GetColumnByName("id"));
  auto names =
      std::dynamic_pointer_cast<arrow::StringArray>(batch.GetColumnByName("name"));
  if (!ids || !names)
    return Status::Invalid("unexpected columns ", batch.schema()->ToString());
  for (int64_t i = 0; i < batch.num_rows(); ++i) {
    rows->emplace_back(ids->Value(i), std::string(names->GetView(i)));
  }
  return Status::OK();
}

FileSourceConfig SourceConfig(FileFormat format, const std::string& glob) {
  FileSourceConfig config;
  config.format = format;
  config.path = glob;
  config.schema = RowSchema();
  config.batch_size = kBatchSize;
  return config;
}

// Makes and opens the reader of subtask `subtask` of `parallelism`, as the runtime does.
Result<std::unique_ptr<SourceReader>> OpenReader(
    const std::shared_ptr<FileSourceOptions>& options, int subtask, int parallelism,
    NodeMetrics* metrics) {
  auto registry = testing::FileConnectorRegistry();
  PlanNode node;
  node.name = "file_source#0";
  node.role = NodeRole::kSource;
  node.parallelism = parallelism;
  node.output_schema = options->schema();
  node.options = options;
  SourceContext context{node.name, subtask, parallelism, metrics};
  ARROW_ASSIGN_OR_RAISE(auto reader, registry->MakeSourceReader(node, context));
  ARROW_RETURN_NOT_OK(reader->Open());
  return reader;
}

// Calls Next() up to `max_batches` times (until the end when negative) and appends the
// rows; returns the number of batches.
Result<int64_t> ReadBatches(SourceReader* reader, int64_t max_batches, Rows* rows) {
  int64_t num_batches = 0;
  while (max_batches < 0 || num_batches < max_batches) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (batch == nullptr) break;
    ++num_batches;
    ARROW_RETURN_NOT_OK(AppendRows(*batch, rows));
  }
  return num_batches;
}

// Calls Next() until at least `min_rows` rows came.
Status ReadRows(SourceReader* reader, size_t min_rows, Rows* rows) {
  while (rows->size() < min_rows) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (batch == nullptr) return Status::Invalid("the input ended early");
    ARROW_RETURN_NOT_OK(AppendRows(*batch, rows));
  }
  return Status::OK();
}

std::string FormatName(const ::testing::TestParamInfo<FileFormat>& info) {
  return FileFormatExtension(info.param);
}

class FileSourcePositionTest : public ::testing::TestWithParam<FileFormat> {
 protected:
  void SetUp() override {
    input_ = WriteInput(GetParam(), directory_.path(), kRowsPerFile);
  }

  std::shared_ptr<FileSourceOptions> Options() const {
    return testing::SourceOptions(SourceConfig(GetParam(), input_.glob));
  }

  testing::TempDirectory directory_;
  Input input_;
  NodeMetrics metrics_;
};

// A reader reads `cut` batches and records its position, then goes on; a fresh reader
// restores the position. For every cut from before the first batch to after the end
// (file boundaries included), the rows before the cut and the restored reader's rows
// are the subtask's input exactly, in order.
TEST_P(FileSourcePositionTest, RestoreAfterAnyBatchEmitsEveryRowExactlyOnce) {
  auto options = Options();
  ASSERT_NE(options, nullptr);
  for (int parallelism : {1, 2}) {
    for (int subtask = 0; subtask < parallelism; ++subtask) {
      const Rows expected = ExpectedRows(input_, subtask, parallelism);
      int64_t num_batches = 0;
      {
        auto reader = OpenReader(options, subtask, parallelism, &metrics_);
        ASSERT_TRUE(reader.ok()) << reader.status().ToString();
        Rows rows;
        auto read = ReadBatches(reader->get(), -1, &rows);
        ASSERT_TRUE(read.ok()) << read.status().ToString();
        ASSERT_TRUE(SameRows(expected, rows));
        num_batches = *read;
      }
      for (int64_t cut = 0; cut <= num_batches + 1; ++cut) {
        SCOPED_TRACE(::testing::Message()
                     << "subtask " << subtask << " of " << parallelism << ", cut after "
                     << cut << " of " << num_batches << " batches");
        auto first = OpenReader(options, subtask, parallelism, &metrics_);
        ASSERT_TRUE(first.ok()) << first.status().ToString();
        Rows before;
        ASSERT_TRUE(ReadBatches(first->get(), cut, &before).ok());
        auto position = (*first)->SnapshotPosition();
        ASSERT_TRUE(position.ok()) << position.status().ToString();
        // Recording the position does not disturb the reader.
        Rows rest = before;
        ASSERT_TRUE(ReadBatches(first->get(), -1, &rest).ok());
        ASSERT_TRUE(SameRows(expected, rest));
        ASSERT_STATUS_OK((*first)->Close());

        auto second = OpenReader(options, subtask, parallelism, &metrics_);
        ASSERT_TRUE(second.ok()) << second.status().ToString();
        ASSERT_STATUS_OK((*second)->RestorePosition(*position));
        Rows restored = before;
        auto read = ReadBatches(second->get(), -1, &restored);
        ASSERT_TRUE(read.ok()) << read.status().ToString();
        ASSERT_TRUE(SameRows(expected, restored));
        ASSERT_STATUS_OK((*second)->Close());
      }
    }
  }
}

// A restored reader records positions of its own: restore, read on, record, restore
// again, across file boundaries.
TEST_P(FileSourcePositionTest, RestoredReaderRecordsPositionsAgain) {
  auto options = Options();
  ASSERT_NE(options, nullptr);
  const Rows expected = ExpectedRows(input_, 0, 2);
  for (auto [first_cut, second_cut] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 0}, {7, 25}, {19, 1}, {20, 3}, {1, 40}}) {
    SCOPED_TRACE(::testing::Message() << "cuts " << first_cut << ", " << second_cut);
    Rows rows;
    std::string position;
    {
      auto reader = OpenReader(options, 0, 2, &metrics_);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      ASSERT_TRUE(ReadBatches(reader->get(), first_cut, &rows).ok());
      auto snapshot = (*reader)->SnapshotPosition();
      ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
      position = *snapshot;
    }
    {
      auto reader = OpenReader(options, 0, 2, &metrics_);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      ASSERT_STATUS_OK((*reader)->RestorePosition(position));
      ASSERT_TRUE(ReadBatches(reader->get(), second_cut, &rows).ok());
      auto snapshot = (*reader)->SnapshotPosition();
      ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
      position = *snapshot;
    }
    auto reader = OpenReader(options, 0, 2, &metrics_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    ASSERT_STATUS_OK((*reader)->RestorePosition(position));
    ASSERT_TRUE(ReadBatches(reader->get(), -1, &rows).ok());
    ASSERT_TRUE(SameRows(expected, rows));
  }
}

// The documented layout: magic, version, format, subtask, parallelism, file index, path.
TEST_P(FileSourcePositionTest, PositionHasTheDocumentedLayout) {
  auto options = Options();
  ASSERT_NE(options, nullptr);
  auto reader = OpenReader(options, 1, 2, &metrics_);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto position = (*reader)->SnapshotPosition();
  ASSERT_TRUE(position.ok()) << position.status().ToString();
  const std::string& path = input_.files[1].path;
  ASSERT_EQ(position->size(), 4 + 1 + 1 + 4 + 4 + 8 + 4 + path.size() + 8 + 8);
  EXPECT_EQ(position->substr(0, 5), std::string("SBFP\x01", 5));
  const char format_codes[] = {0, 1, 2, 3};
  EXPECT_EQ((*position)[5], format_codes[static_cast<int>(GetParam())]);
  EXPECT_EQ(position->substr(26, path.size()), path);
  auto decoded = DecodeFilePosition(*position, GetParam(), 1, 2, {path});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->file_index, 0);
  EXPECT_EQ(decoded->path, path);
  EXPECT_EQ(decoded->offset, 0);
  EXPECT_EQ(decoded->line_or_row, 0);
}

TEST_P(FileSourcePositionTest, CorruptOrForeignPositionIsRefused) {
  auto options = Options();
  ASSERT_NE(options, nullptr);
  std::string position;
  {
    auto reader = OpenReader(options, 0, 2, &metrics_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    Rows rows;
    ASSERT_TRUE(ReadBatches(reader->get(), 5, &rows).ok());
    auto snapshot = (*reader)->SnapshotPosition();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    position = *snapshot;
  }
  std::string bad_magic = position;
  bad_magic[0] = 'X';
  std::string bad_version = position;
  bad_version[4] = 2;
  const std::string truncated = position.substr(0, position.size() - 1);
  const std::string trailing = position + "x";
  const FileFormat other =
      GetParam() == FileFormat::kCsv ? FileFormat::kJsonLines : FileFormat::kCsv;
  FilePosition fields;
  fields.file_index = 0;
  fields.path = input_.files[0].path;
  const std::string other_format = EncodeFilePosition(other, 0, 2, fields);
  fields.offset = -5;
  const std::string negative = EncodeFilePosition(GetParam(), 0, 2, fields);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {bad_magic, "corrupt"}, {bad_version, "version 2"}, {truncated, "corrupt"},
      {trailing, "corrupt"},  {std::string(), "corrupt"}, {other_format, "belongs to a"},
      {negative, "corrupt"}};
  for (const auto& [bytes, message] : cases) {
    auto reader = OpenReader(options, 0, 2, &metrics_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    Status restored = (*reader)->RestorePosition(bytes);
    EXPECT_TRUE(restored.IsInvalid()) << restored.ToString();
    EXPECT_TRUE(testing::Contains(restored.message(), message));
  }
  // Subtask 0's position given to subtask 1, and to subtask 0 of another parallelism.
  for (auto [subtask, parallelism] : {std::pair{1, 2}, std::pair{0, 1}}) {
    auto reader = OpenReader(options, subtask, parallelism, &metrics_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    Status restored = (*reader)->RestorePosition(position);
    EXPECT_TRUE(restored.IsInvalid()) << restored.ToString();
    EXPECT_TRUE(testing::Contains(restored.message(), "belongs to subtask 0 of 2"));
  }
}

// The position names its file: a restore whose file list no longer holds that file at
// that place fails naming it, and so does a file that shrank.
TEST_P(FileSourcePositionTest, ChangedInputFilesAreRefusedNamingTheFile) {
  auto options = Options();
  ASSERT_NE(options, nullptr);
  std::string in_file_1;
  std::string at_end;
  {
    auto reader = OpenReader(options, 0, 1, &metrics_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    Rows rows;
    ASSERT_STATUS_OK(ReadRows(reader->get(), 2500, &rows));
    auto snapshot = (*reader)->SnapshotPosition();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    in_file_1 = *snapshot;
    ASSERT_TRUE(ReadBatches(reader->get(), -1, &rows).ok());
    snapshot = (*reader)->SnapshotPosition();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    at_end = *snapshot;
  }
  const std::string& file_0 = input_.files[0].path;
  const std::string& file_1 = input_.files[1].path;

  // File 1 shrinks to 10 rows.
  const std::string saved = directory_.Child("saved");
  fs::copy_file(file_1, saved);
  {
    const std::vector<int64_t> ten = {10};
    testing::TempDirectory other;
    Input small = WriteInput(GetParam(), other.path(), ten);
    fs::copy_file(small.files[0].path, file_1, fs::copy_options::overwrite_existing);
  }
  {
    auto reader = OpenReader(options, 0, 1, &metrics_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    Status restored = (*reader)->RestorePosition(in_file_1);
    EXPECT_TRUE(restored.IsInvalid()) << restored.ToString();
    EXPECT_TRUE(testing::Contains(restored.message(), file_1));
    EXPECT_TRUE(testing::Contains(restored.message(), "changed since"));
  }
  fs::copy_file(saved, file_1, fs::copy_options::overwrite_existing);
  fs::remove(saved);

  // File 0 is gone: file 1 moved to index 0, the index the position does not name.
  fs::remove(file_0);
  auto fewer = Options();
  ASSERT_NE(fewer, nullptr);
  for (const bool in_file : {true, false}) {
    auto reader = OpenReader(fewer, 0, 1, &metrics_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    Status restored = (*reader)->RestorePosition(in_file ? in_file_1 : at_end);
    EXPECT_TRUE(restored.IsInvalid()) << restored.ToString();
    EXPECT_TRUE(testing::Contains(restored.message(), "input files changed"));
    if (in_file) {
      EXPECT_TRUE(testing::Contains(restored.message(), file_1));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, FileSourcePositionTest,
                         ::testing::Values(FileFormat::kJsonLines, FileFormat::kCsv,
                                           FileFormat::kParquet, FileFormat::kArrowIpc),
                         FormatName);

// Rejected records (kSkip) before the position are not read again after a restore, so
// the rejects file holds each bad record once, with its right line number.
class TextFilePositionTest : public ::testing::TestWithParam<FileFormat> {};

struct Rejected {
  std::string file;
  int64_t line;
  bool operator<(const Rejected& other) const {
    return std::tie(file, line) < std::tie(other.file, other.line);
  }
  bool operator==(const Rejected& other) const {
    return file == other.file && line == other.line;
  }
};

// Reads "file" and "line" of each rejects-file line.
std::multiset<Rejected> ReadRejects(const std::string& path) {
  std::multiset<Rejected> rejected;
  std::istringstream text(testing::ReadTextFile(path));
  std::string line;
  while (std::getline(text, line)) {
    const std::string file_key = "{\"file\":\"";
    const std::string line_key = "\",\"line\":";
    const size_t file_end = line.find(line_key);
    EXPECT_EQ(line.rfind(file_key, 0), 0u) << line;
    EXPECT_NE(file_end, std::string::npos) << line;
    if (file_end == std::string::npos) continue;
    Rejected entry;
    entry.file = line.substr(file_key.size(), file_end - file_key.size());
    entry.line = std::stoll(line.substr(file_end + line_key.size()));
    rejected.insert(entry);
  }
  return rejected;
}

TEST_P(TextFilePositionTest, RecordsRejectedBeforeThePositionAreNotRejectedAgain) {
  testing::TempDirectory directory;
  const Input input = WriteInput(GetParam(), directory.path(), kRowsPerFile,
                                 /*bad_records=*/true);
  std::multiset<Rejected> expected_rejects;
  for (const InputFile& file : input.files) {
    ASSERT_FALSE(file.bad_lines.empty());
    for (int64_t line : file.bad_lines) expected_rejects.insert({file.path, line});
  }
  const Rows expected = AllRows(input);
  for (int64_t cut : {0, 3, 20, 21, 45, 70}) {
    SCOPED_TRACE(::testing::Message() << "cut after " << cut << " batches");
    std::ostringstream rejects;
    rejects << directory.path() << "/rejects-" << cut << ".jsonl";
    FileSourceConfig config = SourceConfig(GetParam(), input.glob);
    config.on_bad_record = BadRecordPolicy::kSkip;
    config.rejects_path = rejects.str();
    auto options = testing::SourceOptions(config);
    ASSERT_NE(options, nullptr);
    Rows rows;
    std::string position;
    NodeMetrics first_metrics;
    {
      // The first run stops at its checkpoint (a crash right after it).
      auto reader = OpenReader(options, 0, 1, &first_metrics);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      ASSERT_TRUE(ReadBatches(reader->get(), cut, &rows).ok());
      auto snapshot = (*reader)->SnapshotPosition();
      ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
      position = *snapshot;
    }
    NodeMetrics second_metrics;
    auto reader = OpenReader(options, 0, 1, &second_metrics);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    ASSERT_STATUS_OK((*reader)->RestorePosition(position));
    ASSERT_TRUE(ReadBatches(reader->get(), -1, &rows).ok());
    ASSERT_TRUE(SameRows(expected, rows));
    const std::multiset<Rejected> rejected = ReadRejects(rejects.str());
    EXPECT_EQ(rejected.size(), expected_rejects.size());
    EXPECT_TRUE(rejected == expected_rejects);
    EXPECT_EQ(first_metrics.rows_rejected.load() + second_metrics.rows_rejected.load(),
              static_cast<int64_t>(expected_rejects.size()));
  }
}

// Under kFail, the error after a restore names the bad record's true line.
TEST_P(TextFilePositionTest, LineNumbersContinueAfterARestore) {
  testing::TempDirectory directory;
  const Input input = WriteInput(GetParam(), directory.path(), kRowsPerFile,
                                 /*bad_records=*/true);
  auto options = testing::SourceOptions(SourceConfig(GetParam(), input.glob));
  ASSERT_NE(options, nullptr);
  NodeMetrics metrics;
  // A reader that skips bad records records a position past file 0 and the first bad
  // record of file 1; a failing reader restores it and stops at the next bad record.
  FileSourceConfig skipping = SourceConfig(GetParam(), input.glob);
  skipping.on_bad_record = BadRecordPolicy::kSkip;
  skipping.rejects_path = directory.Child("rejects.jsonl");
  auto skipping_options = testing::SourceOptions(skipping);
  ASSERT_NE(skipping_options, nullptr);
  auto first = OpenReader(skipping_options, 0, 1, &metrics);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Rows rows;
  // Past row 100 of file 1 (its first bad record is before row 70).
  ASSERT_STATUS_OK(ReadRows(first->get(), 2100, &rows));
  auto position = (*first)->SnapshotPosition();
  ASSERT_TRUE(position.ok()) << position.status().ToString();
  auto second = OpenReader(options, 0, 1, &metrics);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_STATUS_OK((*second)->RestorePosition(*position));
  Rows after;
  auto read = ReadBatches(second->get(), -1, &after);
  ASSERT_FALSE(read.ok());
  const InputFile& file_1 = input.files[1];
  std::ostringstream where;
  where << file_1.path << ":" << file_1.bad_lines[1] << ": ";
  EXPECT_TRUE(testing::Contains(read.status().message(), where.str()));
}

// A file more than twice as large as the reader's 1 MiB buffer: positions stay exact
// after the buffer was refilled (and its rest moved to the front).
TEST_P(TextFilePositionTest, PositionsHoldAcrossBufferRefills) {
  testing::TempDirectory directory;
  const std::vector<int64_t> one_large_file = {150'000};
  const Input input = WriteInput(GetParam(), directory.path(), one_large_file);
  ASSERT_GT(fs::file_size(input.files[0].path), 2u << 20);
  FileSourceConfig config = SourceConfig(GetParam(), input.glob);
  config.batch_size = 1000;
  auto options = testing::SourceOptions(config);
  ASSERT_NE(options, nullptr);
  NodeMetrics metrics;
  const Rows expected = AllRows(input);
  for (int64_t cut : {1, 17, 33, 58, 91, 119, 149}) {
    SCOPED_TRACE(::testing::Message() << "cut after " << cut << " batches");
    Rows rows;
    std::string position;
    {
      auto reader = OpenReader(options, 0, 1, &metrics);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      ASSERT_TRUE(ReadBatches(reader->get(), cut, &rows).ok());
      auto snapshot = (*reader)->SnapshotPosition();
      ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
      position = *snapshot;
    }
    auto reader = OpenReader(options, 0, 1, &metrics);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    ASSERT_STATUS_OK((*reader)->RestorePosition(position));
    ASSERT_TRUE(ReadBatches(reader->get(), -1, &rows).ok());
    ASSERT_TRUE(SameRows(expected, rows));
  }
}

INSTANTIATE_TEST_SUITE_P(TextFormats, TextFilePositionTest,
                         ::testing::Values(FileFormat::kJsonLines, FileFormat::kCsv),
                         FormatName);

// Whole jobs: files → a pacing map → an exactly-once Parquet sink, checkpointed on
// demand mid-stream, cancelled (the crash), restored.

struct JobCase {
  FileFormat format;
  int parallelism;
};

class FileSourceCheckpointJobTest : public ::testing::TestWithParam<JobCase> {};

// `slow` paces the job (2 ms per batch of 10 rows), so that it is still reading when
// the checkpoint comes; `seen` counts the rows that passed the map.
std::shared_ptr<const LogicalPlan> CopyPlan(const JobCase& job_case,
                                            const std::string& glob,
                                            const std::string& out, bool slow,
                                            std::shared_ptr<std::atomic<int64_t>> seen) {
  StreamEnvironment env;
  env.SetParallelism(job_case.parallelism);
  FileSourceConfig config = SourceConfig(job_case.format, glob);
  config.batch_size = 10;
  env.FromFiles(config)
      .Map("pace",
           [slow, seen](const std::shared_ptr<arrow::RecordBatch>& batch)
               -> Result<std::shared_ptr<arrow::RecordBatch>> {
             seen->fetch_add(batch->num_rows());
             if (slow) std::this_thread::sleep_for(milliseconds(2));
             return batch;
           })
      .WriteFiles({FileFormat::kParquet, out, /*exactly_once=*/true});
  return env.BuildPlan().ValueOrDie();
}

// The rows of the visible (committed) Parquet files in `directory`.
Result<Rows> ReadVisibleRows(const std::string& directory) {
  Rows rows;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (name.front() == '.') continue;
    ARROW_ASSIGN_OR_RAISE(auto input,
                          arrow::io::ReadableFile::Open(entry.path().string()));
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
    ARROW_ASSIGN_OR_RAISE(auto table, reader->ReadTable());
    ARROW_ASSIGN_OR_RAISE(auto combined, table->CombineChunksToBatch());
    ARROW_RETURN_NOT_OK(AppendRows(*combined, &rows));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST_P(FileSourceCheckpointJobTest, RestoredJobWritesEveryInputRowExactlyOnce) {
  const JobCase job_case = GetParam();
  testing::TempDirectory directory;
  const std::string input_directory = directory.Child("input");
  fs::create_directories(input_directory);
  const Input input = WriteInput(job_case.format, input_directory, kRowsPerFile);
  Rows expected = AllRows(input);
  std::sort(expected.begin(), expected.end());

  const std::string out = directory.Child("out");
  JobOptions options;
  options.checkpoints.directory = directory.Child("checkpoints");
  options.checkpoints.interval_ms = 0;  // on demand
  int64_t id = 0;
  {
    auto seen = std::make_shared<std::atomic<int64_t>>(0);
    auto job =
        Job::Start(CopyPlan(job_case, input.glob, out, /*slow=*/true, seen), options);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (seen->load() < 300 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    ASSERT_GE(seen->load(), 300);
    auto triggered = (*job)->checkpoints()->Trigger();
    ASSERT_TRUE(triggered.ok()) << triggered.status().ToString();
    id = *triggered;
    ASSERT_STATUS_OK((*job)->checkpoints()->WaitFor(id, 10'000));
    // Rows after the checkpoint reach the sink's in-progress files, then the crash.
    std::this_thread::sleep_for(milliseconds(100));
    (*job)->Cancel();
    EXPECT_TRUE((*job)->Wait().IsCancelled());
  }
  // What the checkpoint committed: a part of the input, without duplicates.
  auto committed = ReadVisibleRows(out);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_GE(committed->size(), 300u);
  EXPECT_LT(committed->size(), expected.size());
  EXPECT_TRUE(std::adjacent_find(committed->begin(), committed->end()) ==
              committed->end());
  EXPECT_TRUE(std::includes(expected.begin(), expected.end(), committed->begin(),
                            committed->end()));

  options.checkpoints.restore = true;
  {
    auto seen = std::make_shared<std::atomic<int64_t>>(0);
    auto job =
        Job::Start(CopyPlan(job_case, input.glob, out, /*slow=*/false, seen), options);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ((*job)->restored_checkpoint(), id);
    ASSERT_STATUS_OK((*job)->Wait());
    // The restored sources read only the rest of the input.
    EXPECT_EQ(seen->load() + static_cast<int64_t>(committed->size()),
              static_cast<int64_t>(expected.size()));
  }
  auto restored = ReadVisibleRows(out);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_TRUE(SameRows(expected, *restored));
}

INSTANTIATE_TEST_SUITE_P(
    Formats, FileSourceCheckpointJobTest,
    ::testing::Values(JobCase{FileFormat::kJsonLines, 1},
                      JobCase{FileFormat::kJsonLines, 2}, JobCase{FileFormat::kCsv, 1},
                      JobCase{FileFormat::kCsv, 2}, JobCase{FileFormat::kParquet, 1},
                      JobCase{FileFormat::kParquet, 2}, JobCase{FileFormat::kArrowIpc, 1},
                      JobCase{FileFormat::kArrowIpc, 2}),
    [](const ::testing::TestParamInfo<JobCase>& info) {
      std::ostringstream name;
      name << FileFormatExtension(info.param.format) << "_parallelism"
           << info.param.parallelism;
      return name.str();
    });

}  // namespace
}  // namespace sabot
