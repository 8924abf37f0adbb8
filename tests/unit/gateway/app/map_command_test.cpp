#include "gateway/app/map_command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>

#include "gateway/app/mappings.h"
#include "gateway/config/config.h"
#include "unit/temp_dir.h"

namespace helsebro::app {
namespace {

// A mapping whose Bundle FHIR validation refuses (a family name is no code of the required value
// set of Patient.gender): `map` names the refusal, and with --no-validate shows the Bundle the
// mapping made.
class MapCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("mappings/hl7v2/wrong.json", R"({"mapping": "wrong",
      "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
      "resources": [{"name": "r", "resourceType": "Patient",
                     "resource": {"gender": {"$path": "PID-5.1"}}}]})");
    message_ = dir_.write("adt.hl7",
                          "MSH|^~\\&|A|B|C|D|20240115103000||ADT^A04|M1|P|2.5\rPID|1||123||Nordmann^Kari\r")
                   .string();
    config_.mappings_dir = (dir_.path() / "mappings").string();
    config_.kith.schemas_dir = (std::filesystem::path(HELSEBRO_SOURCE_DIR) / "schemas" / "kith").string();
  }

  int map(bool validate, long repeat = 1) {
    out_.str("");
    err_.str("");
    MapOptions options{message_, std::nullopt, false, repeat, validate};
    return map_file(config_, options, out_, err_);
  }

  test::TempDir dir_;
  std::string message_;
  config::Config config_;
  std::ostringstream out_, err_;
};

TEST_F(MapCommandTest, NamesWhatFhirValidationRefuses) {
  EXPECT_EQ(map(true), 1);
  EXPECT_NE(err_.str().find("Bundle.entry[0].resource.gender: code 'Nordmann' is not in required value set"),
            std::string::npos)
      << err_.str();
  EXPECT_EQ(out_.str(), "");
}

TEST_F(MapCommandTest, NoValidateShowsTheBundleTheMappingMade) {
  EXPECT_EQ(map(false), 0) << err_.str();
  EXPECT_NE(out_.str().find("\"gender\": \"Nordmann\""), std::string::npos) << out_.str();
}

TEST_F(MapCommandTest, TheRateSaysWhetherTheBundlesWereValidated) {
  ASSERT_EQ(map(false, 3), 0) << err_.str();
  EXPECT_NE(out_.str().find("\"messages\":3"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("\"validated\":false"), std::string::npos) << out_.str();
  EXPECT_EQ(map(true, 3), 1);  // the first refusal ends the run
}

// `--expect`: the Bundle compared with an expected one, each difference named by its JSON pointer.
TEST(JsonDifferences, NumbersAreComparedAsWrittenAndMembersWhateverTheirOrder) {
  EXPECT_EQ(json_differences(R"({"a":1,"b":[{"v":5.10}]})", R"({"b":[{"v":5.10}],"a":1})"),
            std::vector<std::string>{});
  EXPECT_EQ(json_differences(R"({"b":[{"v":5.10}]})", R"({"b":[{"v":5.1}]})"),
            std::vector<std::string>{"/b/0/v: expected 5.10, got 5.1"});
  EXPECT_EQ(json_differences(R"({"v":5})", R"({"v":"5"})"),
            std::vector<std::string>{"/v: expected 5, got \"5\""});
  EXPECT_EQ(json_differences(R"({"a":1,"c":[1,2]})", R"({"b":2,"c":[1]})"),
            (std::vector<std::string>{"/a: missing (expected 1)", "/c/1: missing (expected 2)", "/b: not expected, got 2"}));
  EXPECT_EQ(json_differences(R"({"a/b~":true})", R"({"a/b~":false})"),
            std::vector<std::string>{"/a~1b~0: expected true, got false"});
  EXPECT_EQ(json_differences("{", "{}"), std::vector<std::string>{"/: the expected file is not valid JSON"});
}

TEST_F(MapCommandTest, ExpectSaysAsExpectedOrListsEachDifference) {
  ASSERT_EQ(map(false), 0) << err_.str();
  const std::string bundle = out_.str();
  const auto same = dir_.write("same.json", bundle);
  out_.str("");
  MapOptions options{message_, same.string(), false, 1, false};
  EXPECT_EQ(map_file(config_, options, out_, err_), 0) << err_.str();
  EXPECT_NE(out_.str().find(": as expected ("), std::string::npos) << out_.str();

  std::string changed = bundle;
  const auto at = changed.find("\"Nordmann\"");
  ASSERT_NE(at, std::string::npos);
  changed.replace(at, 10, "\"Hansen\"");
  const auto other = dir_.write("other.json", changed);
  out_.str("");
  options.expect_file = other.string();
  EXPECT_EQ(map_file(config_, options, out_, err_), 1);
  EXPECT_NE(out_.str().find("1 difference(s) from"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("/entry/0/resource/gender: expected \"Hansen\", got \"Nordmann\""), std::string::npos)
      << out_.str();
}

// The repository's mappings give a resource keyed by an order, specimen, appointment or document
// number the same id wherever that number is known to be the same: in messages of one sender, or
// of any sender when the number names its namespace. A number without a namespace is unique only
// at its sender: two senders' order 1001 are two orders, for two patients, and must not share an
// id (the second PUT would overwrite the first patient's order).
class RepositoryMappingIds : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = load_mappings((std::filesystem::path(HELSEBRO_SOURCE_DIR) / "mappings").string());
    ASSERT_TRUE(loaded) << loaded.error().detail;
    set_ = *loaded;
  }
  static void TearDownTestSuite() { set_.reset(); }

  // The id of the first entry of `type` in the Bundle of an order from `sender` (MSH-3|MSH-4).
  static std::string order_id(const std::string& sender, const std::string& control_id,
                              const std::string& placer_number, const std::string& type = "ServiceRequest") {
    const std::string message =
        "MSH|^~\\&|" + sender + "|HELSEBRO|HSO|20260520091500+0200||OML^O21^OML_O21|" + control_id +
        "|P|2.5|||AL|NE|NOR|UNICODE UTF-8\r"
        "PID|1||45059010046^^^^DNR||Jorgensen^Asa^^^^^L||19900505|F\r"
        "ORC|NW|" + placer_number + "||GRP-88|||^^^^^R||20260520091000+0200\r"
        "OBR|1|" + placer_number + "||NPU02319^B-Hemoglobin^NPU\r"
        "SPM|1|" + placer_number + "||BLD^Blood^HL70487\r";
    auto translated = map_message(*set_, message);
    if (!translated) return "refused: " + translated.error().detail;
    const std::string url = "\"url\":\"" + type + "/";
    std::string bundle = translated->bundle;
    bundle.erase(std::remove_if(bundle.begin(), bundle.end(), [](char c) { return c == ' ' || c == '\n'; }),
                 bundle.end());
    const auto at = bundle.find(url);
    return at == std::string::npos ? "no " + type : bundle.substr(at + url.size(), 36);
  }

  static inline std::shared_ptr<const mapping::MappingSet> set_;
};

TEST_F(RepositoryMappingIds, ANumberWithoutNamespaceIsQualifiedByItsSender) {
  const std::string a = order_id("INFODOC|LEGEKONTOR-A", "ORD-1", "1001");
  const std::string a_again = order_id("INFODOC|LEGEKONTOR-A", "ORD-2", "1001");
  const std::string b = order_id("CGM|LEGEKONTOR-B", "ORD-1", "1001");
  ASSERT_EQ(a.size(), 36u) << a;
  EXPECT_EQ(a, a_again) << "one sender's order 1001 is one order";
  EXPECT_NE(a, b) << "two senders' orders 1001 are two orders";
  EXPECT_NE(order_id("INFODOC|LEGEKONTOR-A", "ORD-1", "1001", "Specimen"),
            order_id("CGM|LEGEKONTOR-B", "ORD-1", "1001", "Specimen"));
}

TEST_F(RepositoryMappingIds, ANumberWithItsNamespaceIsTheSameFromEverySender) {
  const std::string a = order_id("INFODOC|LEGEKONTOR-A", "ORD-1", "1001^LAB-STOLAV");
  const std::string b = order_id("CGM|LEGEKONTOR-B", "ORD-1", "1001^LAB-STOLAV");
  ASSERT_EQ(a.size(), 36u) << a;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, order_id("INFODOC|LEGEKONTOR-A", "ORD-1", "1001"));
}

}  // namespace
}  // namespace helsebro::app
