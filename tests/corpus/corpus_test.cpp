// The HL7 v2 corpus (../shared/corpus/hl7v2 beside the source tree: test messages of public HL7 v2
// projects) through split_messages and the parser, as Intake reads a frame. Which messages fail,
// with which code and where, must match tests/corpus/hl7v2-expected-failures.tsv; every failure
// listed there has been read and is a problem of the input, not of the parser.
//
// After a deliberate change of the parser, regenerate the file instead of comparing:
//   UPDATE_CORPUS_EXPECTATIONS=1 build/tests/helsebro_corpus_tests
// then read its diff: each new line must again be a genuine problem of that input.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/hl7v2/parser.h"
#include "corpus_files.h"

namespace helsebro::hl7v2 {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = fs::path(HELSEBRO_SOURCE_DIR);
const fs::path kCorpusDir = (kSourceDir / ".." / "shared" / "corpus" / "hl7v2").lexically_normal();
const fs::path kExpectations = kSourceDir / "tests" / "corpus" / "hl7v2-expected-failures.tsv";

constexpr std::string_view kHeader =
    "# HL7 v2 corpus messages the parser refuses (tests/corpus/corpus_test.cpp).\n"
    "# Regenerate: UPDATE_CORPUS_EXPECTATIONS=1 build/tests/helsebro_corpus_tests\n"
    "# file\tmessage (1-based; 0: the file did not split)\tcode\tbyte offset in the file\t"
    "detail (for readers; not compared)\n";

// The first four columns identify a failure; the fifth (the error's text) is for readers.
using Failures = corpus::Expectations;

struct Walk {
  std::size_t files = 0;
  std::size_t messages = 0;
  Failures failures;
  std::map<std::string, std::size_t> by_code;
};

using corpus::is_message_file;
using corpus::read_bytes;
using corpus::one_line;

void note(Walk& walk, const std::string& file, std::size_t message, const Error& e,
          std::size_t base) {
  const std::string name(info(e.code).name);
  const std::string offset = e.where.has_offset ? std::to_string(base + e.where.byte_offset) : "-";
  walk.failures[file + '\t' + std::to_string(message) + '\t' + name + '\t' + offset] =
      one_line(e.message());
  ++walk.by_code[name];
}

Walk walk_corpus() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpusDir)) {
    if (entry.is_regular_file() && is_message_file(entry.path().lexically_relative(kCorpusDir))) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  Walk walk;
  Message message;
  const Parser parser;
  for (const fs::path& path : files) {
    const std::string file = path.lexically_relative(kCorpusDir).generic_string();
    const std::string bytes = read_bytes(path);
    ++walk.files;
    auto slices = split_messages(bytes);
    if (!slices) {
      note(walk, file, 0, slices.error(), 0);
      continue;
    }
    for (std::size_t i = 0; i < slices->size(); ++i) {
      ++walk.messages;
      const MessageSlice& slice = (*slices)[i];
      auto parsed = parser.parse_into(slice.bytes, message);
      if (!parsed) note(walk, file, i + 1, parsed.error(), slice.offset);
    }
  }
  return walk;
}

TEST(Hl7v2Corpus, FailuresMatchTheExpectations) {
  if (!fs::is_directory(kCorpusDir)) {
    GTEST_SKIP() << "no HL7 v2 corpus at " << kCorpusDir.string()
                 << " (it lives beside the source tree, in ../shared/corpus/hl7v2)";
  }
  const Walk walk = walk_corpus();
  std::cout << "corpus: " << walk.files << " files, " << walk.messages << " messages, "
            << walk.failures.size() << " failures";
  for (const auto& [code, n] : walk.by_code) std::cout << "; " << code << " " << n;
  std::cout << std::endl;
  ASSERT_GT(walk.files, 0u) << "no message file under " << kCorpusDir.string();

  const char* update = std::getenv("UPDATE_CORPUS_EXPECTATIONS");
  if (update != nullptr && std::string_view(update) == "1") {
    corpus::write_expectations(kExpectations, kHeader, walk.failures);
    std::cout << "corpus: rewrote " << kExpectations.string() << std::endl;
    return;
  }
  ASSERT_TRUE(fs::exists(kExpectations))
      << kExpectations.string() << " is missing; create it with UPDATE_CORPUS_EXPECTATIONS=1";
  const std::string changes = corpus::diff(corpus::read_expectations(kExpectations), walk.failures);
  EXPECT_TRUE(changes.empty())
      << "the corpus failures differ from " << kExpectations.string()
      << " (- expected but gone, + new); if the change is intended, rerun with "
         "UPDATE_CORPUS_EXPECTATIONS=1 and review the file:\n"
      << changes;
}

}  // namespace
}  // namespace helsebro::hl7v2
