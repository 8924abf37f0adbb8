#include "adapters/kith/apprec_code.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/unit/adapters/kith/test_support.h"

namespace helsebro::kith {
namespace {

// code list number → code → display, from the Volven extract in the corpus.
std::map<std::string, std::map<std::string, std::string>> volven() {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::ifstream in(testing::kCorpusDir / "kodeverk" /
                   "volven_kodeverk_from_kith-visningsfiler.tsv");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string oid, list, code, display;
    if (std::getline(fields, oid, '\t') && std::getline(fields, list, '\t') &&
        std::getline(fields, code, '\t') && std::getline(fields, display)) {
      out[list][code] = display;
    }
  }
  return out;
}

TEST(KithAppRecCode, CodesAreUniqueAndLabelled) {
  std::set<std::string_view> codes;
  std::set<std::string_view> labels;
  for (int i = 0; i < static_cast<int>(AppRecCode::kCount); ++i) {
    const AppRecCodeInfo& c = info(static_cast<AppRecCode>(i));
    EXPECT_TRUE(codes.insert(c.code).second) << c.code;
    EXPECT_TRUE(labels.insert(c.metric_label).second) << c.metric_label;
    EXPECT_FALSE(c.display.empty());
  }
}

TEST(KithAppRecCode, CodesAndTextsMatchVolven) {
  const auto lists = volven();
  if (lists.empty()) GTEST_SKIP() << "no code lists under " << testing::kCorpusDir;
  const auto& errors = lists.at("8221");
  for (int i = 0; i < static_cast<int>(AppRecCode::kCount); ++i) {
    const AppRecCodeInfo& c = info(static_cast<AppRecCode>(i));
    ASSERT_EQ(errors.count(std::string(c.code)), 1u) << c.code;
    EXPECT_EQ(errors.at(std::string(c.code)), c.display) << c.code;
  }
  const auto& statuses = lists.at("8258");
  for (AppRecStatus s :
       {AppRecStatus::kOk, AppRecStatus::kRejected, AppRecStatus::kOkErrorInPart}) {
    EXPECT_EQ(statuses.at(std::string(code_of(s))), display_of(s));
  }
}

TEST(KithAppRecCode, OidsNameTheCodeLists) {
  EXPECT_EQ(kStatusCodeListOid, "2.16.578.1.12.4.1.1.8258");
  EXPECT_EQ(kErrorCodeListOid, "2.16.578.1.12.4.1.1.8221");
}

}  // namespace
}  // namespace helsebro::kith
