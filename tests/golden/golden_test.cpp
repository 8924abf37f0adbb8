// One golden test over every example beside every mapping: mappings/<format>/examples/NAME.hl7
// must translate to NAME.bundle.json (compared as JSON), or be refused with the text in
// NAME.error.txt. Examples are the mapping's specification; edit them with the mapping.

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gateway/app/map_command.h"
#include "gateway/app/mappings.h"
#include "gateway/core/files.h"

namespace helsebro {
namespace {

namespace fs = std::filesystem;

const fs::path kMappings = fs::path(HELSEBRO_SOURCE_DIR) / "mappings";

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
      if (file.path().extension() == ".hl7") out.push_back(fs::relative(file.path(), kMappings).string());
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
  auto translated = app::map_message(**set, read(input));
  if (fs::exists(expected_error)) {
    ASSERT_FALSE(translated) << "expected a refusal, got a Bundle";
    std::string want = read(expected_error);
    while (!want.empty() && (want.back() == '\n' || want.back() == '\r')) want.pop_back();
    EXPECT_EQ(translated.error().message(), want);
    return;
  }
  ASSERT_TRUE(translated) << translated.error().message();
  rapidjson::Document actual, expected;
  actual.Parse(translated->bundle.c_str());
  expected.Parse(read(expected_bundle).c_str());
  ASSERT_FALSE(expected.HasParseError()) << expected_bundle << " is not valid JSON";
  EXPECT_TRUE(actual == expected) << "actual Bundle:\n" << pretty(actual);
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
    if (auto t = app::map_message(**set, read(kMappings / e))) covered.insert(t->mapping);
  }
  for (const auto& mapping : (*set)->mappings()) {
    EXPECT_TRUE(covered.count(mapping->name())) << mapping->file() << " has no translating example in examples/";
  }
}

}  // namespace
}  // namespace helsebro
