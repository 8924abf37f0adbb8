// The KITH e-message samples (../shared/corpus/kith beside the source tree: the directorate's
// sarepta samples and the MIT-licensed ones) through the repository's mappings, exactly as
// `helsebro map FILE.xml` does it: XSD validation, classification, mapping, Helsebro's own FHIR
// validator.
//   - each Bundle produced is written as one NDJSON line {"file", "message", "input", "bundle"} to
//     $HELSEBRO_CORPUS_KITH_BUNDLES (default <build>/tests/corpus-kith-bundles.ndjson), which
//     tests/corpus/corpus_bundles.test.mjs checks with the dev FHIR server's validator against
//     tests/corpus/kith-bundle-exceptions.tsv;
//   - every sample that gives no Bundle must be listed, with its code and the reason it is right
//     to refuse it, in tests/corpus/kith-mapping-refusals.tsv.
//
// After a deliberate change: UPDATE_CORPUS_EXPECTATIONS=1 build/tests/helsebro_kith_corpus_mapping_tests
// rewrites the file, keeping the reasons of lines that stay; a new line gets the refusal's text
// prefixed "UNEXPLAINED:", which fails until a person replaces it with the reason.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "adapters/kith/schema_set.h"
#include "corpus_files.h"
#include "gateway/app/map_command.h"
#include "gateway/app/mappings.h"

namespace helsebro {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = fs::path(HELSEBRO_SOURCE_DIR);
const fs::path kCorpusDir = (kSourceDir / ".." / "shared" / "corpus" / "kith").lexically_normal();
const fs::path kMappings = kSourceDir / "mappings";
const fs::path kSchemas = kSourceDir / "schemas" / "kith";
const fs::path kRefusals = kSourceDir / "tests" / "corpus" / "kith-mapping-refusals.tsv";
constexpr std::string_view kUnexplained = "UNEXPLAINED: ";

constexpr std::string_view kHeader =
    "# KITH e-message samples (../shared/corpus/kith) that give no Bundle through the mappings\n"
    "# (tests/corpus/kith_corpus_mapping_test.cpp), with the code `helsebro map` refuses them with and\n"
    "# why that is right. Every other sample maps to a Bundle that the dev FHIR server's validator\n"
    "# accepts (tests/corpus/kith-bundle-exceptions.tsv lists the exceptions to that).\n"
    "# Regenerate: UPDATE_CORPUS_EXPECTATIONS=1 build/tests/helsebro_kith_corpus_mapping_tests, then\n"
    "# replace every \"UNEXPLAINED:\" text with the reason.\n"
    "# Codes: no_mapping: a message type Helsebro does not translate (out of the issue's scope:\n"
    "# NAV/HELFO claims, SYSVAK, ebXML transport envelopes, sick notes); invalid_value,\n"
    "# required_field_missing: the sample's own fault (the detail names the element); the AppRec\n"
    "# codes T01/T02/E10/E31 …: refused before mapping, as the gateway would (kith-expected-failures.tsv\n"
    "# explains those of supported namespaces).\n"
    "#\n"
    "# file\tmessage\tinput\tcode\twhy this refusal is right\n";

fs::path bundles_path() {
  const char* env = std::getenv("HELSEBRO_CORPUS_KITH_BUNDLES");
  if (env != nullptr && *env != '\0') return env;
  return fs::path(HELSEBRO_BINARY_DIR) / "corpus-kith-bundles.ndjson";
}

std::vector<fs::path> sample_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpusDir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".xml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The code a refusal is known by: the AppRec code it carries ("AppRec T02: …"), else the error's name.
std::string code_of(const Error& e) {
  constexpr std::string_view kAppRec = "AppRec ";
  const std::string& text = e.detail;
  if (text.rfind(kAppRec, 0) == 0 && text.size() >= kAppRec.size() + 4 && text[kAppRec.size() + 3] == ':') {
    return text.substr(kAppRec.size(), 3);
  }
  return std::string(info(e.code).name);
}

TEST(KithCorpusMapping, EverySampleMapsOrItsRefusalIsExplained) {
  const fs::path out = bundles_path();
  if (!fs::is_directory(kCorpusDir)) {
    fs::remove(out);  // no stale Bundles for corpus_bundles.test.mjs to check
    GTEST_SKIP() << "no KITH corpus at " << kCorpusDir.string();
  }
  auto schemas = kith::SchemaSet::load(kSchemas);
  ASSERT_TRUE(schemas) << schemas.error().message();
  auto set = app::load_mappings(kMappings.string());
  ASSERT_TRUE(set) << set.error().message();

  fs::create_directories(out.parent_path());
  const fs::path partial = fs::path(out).concat(".partial");
  std::ofstream ndjson(partial, std::ios::binary | std::ios::trunc);
  corpus::Expectations refusals;
  std::map<std::string, std::size_t> by_mapping;
  std::size_t samples = 0, bundles = 0;
  for (const fs::path& path : sample_files()) {
    ++samples;
    const std::string file = path.lexically_relative(kCorpusDir).generic_string();
    auto translated = app::map_e_message(**set, *schemas, corpus::read_bytes(path));
    if (!translated) {
      refusals[file + "\t1\tas-sent\t" + code_of(translated.error())] =
          std::string(kUnexplained) + corpus::one_line(translated.error().detail, 200);
      continue;
    }
    ++bundles;
    ++by_mapping[translated->mapping];
    ndjson << corpus::ndjson_line(file, 1, "as-sent", translated->bundle);
  }
  ndjson.close();
  fs::rename(partial, out);
  std::cout << "kith corpus: " << samples << " samples, " << bundles << " Bundles, " << refusals.size()
            << " refused; Bundles by mapping";
  for (const auto& [name, n] : by_mapping) std::cout << "; " << name << " " << n;
  std::cout << std::endl;
  ASSERT_GT(bundles, 0u);

  corpus::Expectations expected = fs::exists(kRefusals) ? corpus::read_expectations(kRefusals) : corpus::Expectations{};
  const char* update = std::getenv("UPDATE_CORPUS_EXPECTATIONS");
  if (update != nullptr && std::string_view(update) == "1") {
    for (auto& [key, why] : refusals) {
      if (auto it = expected.find(key); it != expected.end()) why = it->second;  // keep the reason
    }
    corpus::write_expectations(kRefusals, kHeader, refusals);
    std::cout << "kith corpus: rewrote " << kRefusals.string() << std::endl;
    return;
  }
  ASSERT_TRUE(fs::exists(kRefusals)) << kRefusals.string() << " is missing; create it with UPDATE_CORPUS_EXPECTATIONS=1";
  const std::string changes = corpus::diff(expected, refusals);
  EXPECT_TRUE(changes.empty()) << "the samples refused differ from " << kRefusals.string()
                               << " (- listed but now mapped, + newly refused):\n"
                               << changes;
  for (const auto& [key, why] : expected) {
    EXPECT_TRUE(!why.empty() && why.rfind(kUnexplained, 0) != 0) << "explain " << key << " in " << kRefusals.string();
  }
}

}  // namespace
}  // namespace helsebro
