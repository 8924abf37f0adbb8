// One golden test over every example beside every mapping: mappings/<format>/examples/NAME.hl7
// (HL7 v2) or NAME.xml (KITH e-message, classified against schemas/kith first) must translate to NAME.bundle.json (compared as JSON), or be refused with the text in
// NAME.error.txt. Examples are the mapping's specification; edit them with the mapping.

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "adapters/kith/schema_set.h"
#include "gateway/app/map_command.h"
#include "gateway/app/mappings.h"
#include "gateway/config/config.h"
#include "gateway/core/files.h"

namespace helsebro {
namespace {

namespace fs = std::filesystem;

const fs::path kMappings = fs::path(HELSEBRO_SOURCE_DIR) / "mappings";
const fs::path kKithSchemas = fs::path(HELSEBRO_SOURCE_DIR) / "schemas" / "kith";
const fs::path kDialogCorpus =
    fs::path("/work/shared/corpus/kith/sarepta-eksempel/Dialogmelding");

const std::shared_ptr<const kith::SchemaSet>& kith_schemas() {
  static const auto loaded = kith::SchemaSet::load(kKithSchemas);
  static const std::shared_ptr<const kith::SchemaSet> schemas = loaded ? *loaded : nullptr;
  return schemas;
}

// An example file, translated by its format: .xml as a KITH e-message, anything else as HL7 v2.
Result<mapping::Translation> translate(const mapping::MappingSet& set, const fs::path& file,
                                       const std::string& bytes) {
  if (file.extension() == ".xml") {
    if (kith_schemas() == nullptr) return Error{Errc::kInvalidValue, "schemas/kith does not load"};
    return app::map_e_message(set, kith_schemas(), bytes);
  }
  return app::map_message(set, bytes);
}

// The whole file; "" when it cannot be read (the assertions then say what is missing).
std::string read(const fs::path& p) { return read_file(p).value_or(""); }

std::string pretty(const rapidjson::Document& doc) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

std::vector<std::string> examples() {
  std::vector<std::string> out;
  for (const auto& format : fs::directory_iterator(kMappings)) {
    const fs::path dir = format.path() / "examples";
    if (!fs::is_directory(dir)) continue;
    for (const auto& file : fs::directory_iterator(dir)) {
      const auto ext = file.path().extension();
      if (ext == ".hl7" || ext == ".xml") out.push_back(fs::relative(file.path(), kMappings).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class GoldenExample : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenExample, TranslatesAsExpected) {
  static const auto set = app::load_mappings(kMappings.string());
  ASSERT_TRUE(set) << set.error().detail;
  const fs::path input = kMappings / GetParam();
  const fs::path expected_bundle = fs::path(input).replace_extension(".bundle.json");
  const fs::path expected_error = fs::path(input).replace_extension(".error.txt");
  ASSERT_NE(fs::exists(expected_bundle), fs::exists(expected_error))
      << "give " << input.filename() << " exactly one of .bundle.json or .error.txt";
  auto translated = translate(**set, input, read(input));
  if (fs::exists(expected_error)) {
    ASSERT_FALSE(translated) << "expected a refusal, got a Bundle";
    std::string want = read(expected_error);
    while (!want.empty() && (want.back() == '\n' || want.back() == '\r')) want.pop_back();
    EXPECT_EQ(translated.error().message(), want);
    return;
  }
  ASSERT_TRUE(translated) << translated.error().message();
  // As `helsebro map --expect` compares: numbers as written (a decimal's precision counts).
  const std::vector<std::string> differences = app::json_differences(read(expected_bundle), translated->bundle);
  std::string listed;
  for (const std::string& d : differences) listed.append("  ").append(d).append("\n");
  rapidjson::Document actual;
  actual.Parse(translated->bundle.c_str());
  EXPECT_TRUE(differences.empty()) << differences.size() << " difference(s):\n" << listed
                                   << "actual Bundle:\n" << pretty(actual);
}

INSTANTIATE_TEST_SUITE_P(Mappings, GoldenExample, ::testing::ValuesIn(examples()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(GoldenExamples, EveryMappingHasAnExampleThatItTranslates) {
  auto set = app::load_mappings(kMappings.string());
  ASSERT_TRUE(set) << set.error().detail;
  std::set<std::string> covered;
  for (const auto& e : examples()) {
    if (!fs::exists(fs::path(kMappings / e).replace_extension(".bundle.json"))) continue;
    if (auto t = translate(**set, kMappings / e, read(kMappings / e))) covered.insert(t->mapping);
  }
  for (const auto& mapping : (*set)->mappings()) {
    EXPECT_TRUE(covered.count(mapping->name())) << mapping->file() << " has no translating example in examples/";
  }
}

// Every Dialogmelding sample of the directorate maps to a Bundle that Helsebro's validator passes
// (map_e_message validates it). Skipped where the corpus is not checked out.
TEST(GoldenCorpus, EveryDialogmeldingSampleMapsToAValidBundle) {
  if (!fs::is_directory(kDialogCorpus)) GTEST_SKIP() << kDialogCorpus << " is not here";
  auto set = app::load_mappings(kMappings.string());
  ASSERT_TRUE(set) << set.error().detail;
  int samples = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kDialogCorpus)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".xml") continue;
    ++samples;
    auto t = translate(**set, entry.path(), read(entry.path()));
    EXPECT_TRUE(t) << entry.path().filename() << ": " << (t ? "" : t.error().message());
    if (t) {
      EXPECT_EQ(t->mapping, "dialogmelding") << entry.path().filename();
    }
  }
  EXPECT_GT(samples, 0);
}

// `helsebro map --unmapped` names what no rule read, for both formats, and not what a rule read.
TEST(GoldenUnmapped, ListsWhatNoRuleReadInBothFormats) {
  config::Config config;
  config.mappings_dir = kMappings.string();
  config.kith.schemas_dir = kKithSchemas.string();
  struct Case {
    std::string file;
    std::string unread;  // listed: the mappings do not take it
    std::string read;    // not listed: a rule reads it
  };
  const std::vector<Case> cases{
      {"hl7v2/examples/adt-a01-odegard-full.hl7", "MSH-12.1", "PID-3.1"},
      {"kith/examples/dialogmelding-helsefaglig-odegard.xml", "/mh:MsgHead/mh:MsgInfo/mh:MIGversion/text()",
       "/mh:MsgHead/mh:MsgInfo/mh:MsgId/text()"},
  };
  for (const Case& c : cases) {
    std::ostringstream out, err;
    const int code = app::map_file(config, {(kMappings / c.file).string(), std::nullopt, true, 1}, out, err);
    EXPECT_EQ(code, 0) << c.file << ": " << err.str();
    EXPECT_NE(err.str().find("no rule read"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find("  " + c.unread + "\n"), std::string::npos) << c.file << " lacks " << c.unread << ":\n" << err.str();
    EXPECT_EQ(err.str().find("  " + c.read + "\n"), std::string::npos) << c.file << " lists " << c.read;
  }
}

}  // namespace
}  // namespace helsebro
