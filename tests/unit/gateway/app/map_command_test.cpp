#include "gateway/app/map_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

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

}  // namespace
}  // namespace helsebro::app
