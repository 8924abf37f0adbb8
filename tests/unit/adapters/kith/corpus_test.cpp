// The KITH samples of the corpus (../shared/corpus/kith beside the source tree: the directorate's
// sample messages, older ones from its history, and Helsenorge's) through the classifier, as
// Intake will read them. A sample whose namespaces Helsebro supports must be accepted, with its
// header read; one with a namespace Helsebro does not support must get T10. Exceptions are listed
// in tests/corpus/kith-expected-failures.tsv with the code they get and why: each has been read,
// and the sample itself is at fault. Skipped when the corpus is absent.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/kith/classifier.h"
#include "gateway/core/files.h"
#include "tests/unit/adapters/kith/test_support.h"

namespace helsebro::kith {
namespace {

namespace fs = std::filesystem;

const fs::path kExpectations =
    fs::path(HELSEBRO_SOURCE_DIR) / "tests" / "corpus" / "kith-expected-failures.tsv";
const std::vector<std::string> kSampleDirs{"sarepta-eksempel", "sarepta-history/eksempel",
                                           "helsenorge-messaging"};

struct Expected {
  std::string code;
  std::string reason;
};

// file (relative to the corpus) → expected code and why.
std::map<std::string, Expected> expectations() {
  std::map<std::string, Expected> out;
  std::ifstream in(kExpectations);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file, code, reason;
    std::getline(fields, file, '\t');
    std::getline(fields, code, '\t');
    std::getline(fields, reason);
    out[file] = Expected{code, reason};
  }
  return out;
}

std::vector<std::string> samples() {
  std::vector<std::string> out;
  for (const std::string& dir : kSampleDirs) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(testing::kCorpusDir / dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".xml") {
        out.push_back(fs::relative(it->path(), testing::kCorpusDir).generic_string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Whether Helsebro supports every namespace the sample uses as root or MsgHead payload, judged
// from its shape alone (not from what the classifier decided).
bool supported(const std::string& bytes, const SchemaIndex& index) {
  auto doc = read_xml(bytes);
  if (!doc) return true;  // a sample that is not XML must be listed
  MessageHeader shape;
  read_shape(*doc, index, shape);
  const SchemaEntry* root = index.find(shape.root_ns);
  if (root == nullptr || !root->root) return false;
  bool message = shape.envelope != Envelope::kMsgHead;
  for (const Payload& p : shape.payloads) {
    const SchemaEntry* e = index.find(p.ns);
    if (e == nullptr || !e->payload) return false;
    message |= e->kind == SchemaKind::kMessage;
  }
  return message;
}

std::string describe(const Classification& c) {
  if (!c.rejection) return "accepted";
  std::string out(info(c.rejection->code).code);
  out.append(": ");
  out.append(c.rejection->text);
  out.append(" / ");
  out.append(c.rejection->detail);
  return out;
}

TEST(KithCorpus, SamplesAreAcceptedOrFailAsListed) {
  const auto files = samples();
  if (files.empty()) GTEST_SKIP() << "no KITH corpus under " << testing::kCorpusDir;
  ASSERT_NE(testing::schemas(), nullptr);
  const Classifier classifier(testing::schemas(), {});
  const auto expected = expectations();
  std::size_t accepted = 0, unsupported = 0, listed = 0;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    const auto bytes = read_file(testing::kCorpusDir / file);
    ASSERT_TRUE(bytes);
    const Classification c = classifier.classify(*bytes);
    if (const auto it = expected.find(file); it != expected.end()) {
      ++listed;
      if (!c.rejection) {
        ADD_FAILURE() << "listed as " << it->second.code << " but accepted";
        continue;
      }
      EXPECT_EQ(info(c.rejection->code).code, it->second.code) << describe(c);
      continue;
    }
    if (!supported(*bytes, testing::schemas()->index())) {
      ++unsupported;
      if (!c.rejection) {
        ADD_FAILURE() << "a namespace Helsebro does not support, yet accepted";
        continue;
      }
      EXPECT_EQ(c.rejection->code, AppRecCode::kT10) << describe(c);
      continue;
    }
    ++accepted;
    if (!c.accepted()) {
      ADD_FAILURE() << describe(c);
      continue;
    }
    const MessageHeader& h = c.message->header();
    EXPECT_FALSE(h.type.v.empty());
    EXPECT_FALSE(h.gen_date.empty());
    EXPECT_TRUE(h.sender && h.sender->identified());
    // A receipt may leave its receiver empty (an Inst without children).
    if (h.envelope != Envelope::kAppRec) {
      EXPECT_TRUE(!h.receivers.empty() && h.receivers[0].identified());
    }
  }
  for (const auto& [file, e] : expected) {
    EXPECT_TRUE(std::find(files.begin(), files.end(), file) != files.end())
        << "listed but absent: " << file;
  }
  std::cout << "[ KITH     ] " << files.size() << " samples: " << accepted << " accepted, "
            << unsupported << " in namespaces Helsebro does not support (T10), " << listed
            << " listed failures\n";
}

}  // namespace
}  // namespace helsebro::kith
