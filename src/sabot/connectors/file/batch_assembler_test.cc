// BatchAssembler: staged rows become exactly the committed rows of the flushed batch.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sabot/connectors/file/batch_assembler.h"

namespace sabot {
namespace {

// Strings are copied word by word when short: every length from 0 to 40, null cells
// between them, and a data buffer that grows many times, must come out as staged.
TEST(BatchAssemblerTest, StringsOfEveryLengthSurviveTheCopy) {
  auto schema = arrow::schema({arrow::field("s", arrow::utf8())});
  auto made = BatchAssembler::Make(schema, 4);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  BatchAssembler& assembler = **made;
  std::string source;
  for (int i = 0; i < 64; ++i) source += static_cast<char>('a' + i % 26);
  arrow::StringBuilder expected;
  for (int round = 0; round < 3; ++round) {
    for (size_t length = 0; length <= 40; ++length) {
      // A different offset into the source each time, so the copies start anywhere.
      const std::string_view text(source.data() + (length + round) % 20, length);
      assembler.BeginRow();
      if (length % 7 == 3) {
        ASSERT_TRUE(expected.AppendNull().ok());
      } else {
        ASSERT_TRUE(assembler.StageText(0, text));
        ASSERT_TRUE(expected.Append(text).ok());
      }
      ASSERT_TRUE(assembler.CommitRow().ok());
    }
  }
  auto batch = assembler.Flush();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_TRUE((*batch)->ValidateFull().ok());
  std::shared_ptr<arrow::Array> want;
  ASSERT_TRUE(expected.Finish(&want).ok());
  EXPECT_TRUE((*batch)->column(0)->Equals(*want)) << (*batch)->column(0)->ToString();
}

}  // namespace
}  // namespace sabot
