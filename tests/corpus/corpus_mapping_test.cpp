// The HL7 v2 corpus (../shared/corpus/hl7v2 beside the source tree) through the repository's
// mappings, as `helsebro map` translates a message (Helsebro's own FHIR validator included).
// Every message whose type a mapping takes is translated:
//   - each Bundle produced is written as one NDJSON line {"file", "message", "bundle"} to
//     $HELSEBRO_CORPUS_BUNDLES (default <build>/tests/corpus-bundles.ndjson), which
//     tests/corpus/corpus_bundles.test.mjs then checks with the dev FHIR server's validator;
//   - which messages are refused, with which code, must match
//     tests/corpus/hl7v2-mapping-refusals.tsv, so that a mapping change that starts (or stops)
//     refusing corpus messages shows up.
//
// After a deliberate change of the mappings, regenerate the file instead of comparing:
//   UPDATE_CORPUS_EXPECTATIONS=1 build/tests/helsebro_corpus_mapping_tests
// then read its diff: each new line must again be a refusal the input deserves.
// Messages the parser refuses are left to helsebro_corpus_tests (hl7v2-expected-failures.tsv).

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
#include "gateway/app/map_command.h"
#include "gateway/app/mappings.h"

namespace helsebro {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = fs::path(HELSEBRO_SOURCE_DIR);
const fs::path kCorpusDir = (kSourceDir / ".." / "shared" / "corpus" / "hl7v2").lexically_normal();
const fs::path kMappings = kSourceDir / "mappings";
const fs::path kRefusals = kSourceDir / "tests" / "corpus" / "hl7v2-mapping-refusals.tsv";

// Written again on every regeneration, so the explanation lives here, not in the .tsv alone.
constexpr std::string_view kHeader =
    "# HL7 v2 corpus messages that the mappings (mappings/hl7v2) refuse, among those whose message\n"
    "# type a mapping takes (tests/corpus/corpus_mapping_test.cpp). Messages of other types and\n"
    "# messages the parser refuses are not listed here.\n"
    "# Regenerate: UPDATE_CORPUS_EXPECTATIONS=1 build/tests/helsebro_corpus_mapping_tests\n"
    "#\n"
    "# input \"as-sent\": the message as the corpus has it. Every one is refused with\n"
    "#   required_field_missing (PID-3): the corpus comes from public, mostly US, HL7 v2 projects,\n"
    "#   whose patients carry MRNs and SSNs, never a fødselsnummer or D-nummer, and the mappings\n"
    "#   find every Patient by one (HL7 Norway no-basis). Refusing them is the specified behaviour.\n"
    "# input \"fnr-added\": the same message with a synthetic fødselsnummer put first in PID-3, so\n"
    "#   that the rest of each mapping meets the corpus; its Bundles are the ones checked with the\n"
    "#   dev FHIR server's validator. What is still refused, and why (the detail names the field):\n"
    "#   - invalid_value: codes outside the HL7 table that a mapping's terminology closes (PID-8\n"
    "#     'female', 'F^Female^HL7'; PID-11.7 'HOME'; PID-5.7; PV1-2 …), yes/no fields holding 'NO'\n"
    "#     or 'NONE', and dates that are not HL7 dates. The samples' own liberties.\n"
    "#   - required_field_missing: a field a resource cannot do without (MDM document in OBX-5, OBR-25\n"
    "#     result status, OBX-3, PV1-2, RXA-5, SIU end time) or, for ADT^A40, an MRG-1 without a\n"
    "#     Norwegian identifier (the synthetic one goes only into PID-3).\n"
    "#   - mapping_failed \"two occurrences have the same key\": repeated segments (OBR, AL1, IN1,\n"
    "#     ORC, RXA, SPM) with the same identifying values would become one resource twice.\n"
    "#   - mapping_failed \"FHIR validation: …\": Helsebro's own FHIR R4 validator refused the Bundle\n"
    "#     built (Provenance.recorded missing when MSH-7 is absent or unusable; identifier.system\n"
    "#     not a URI); reported to the mappings' owner.\n"
    "#\n"
    "# file\tmessage (1-based)\tinput\tcode\tdetail (for readers; not compared)\n";

// The first four columns identify a refusal; the fifth (the error's text) is for readers.
using Refusals = corpus::Expectations;

struct Walk {
  std::size_t messages = 0;      // messages the parser read
  std::size_t mappable = 0;      // … whose type a mapping takes
  std::size_t bundles = 0;       // … translated to a Bundle
  Refusals refusals;             // … refused
  std::map<std::string, std::size_t> by_code;
  std::map<std::string, std::size_t> by_mapping;  // Bundles per mapping
};

using corpus::is_message_file;
using corpus::ndjson_line;
using corpus::read_bytes;
std::string one_line(std::string text) { return corpus::one_line(std::move(text), 200); }

fs::path bundles_path() {
  const char* env = std::getenv("HELSEBRO_CORPUS_BUNDLES");
  if (env != nullptr && *env != '\0') return env;
  return fs::path(HELSEBRO_BINARY_DIR) / "corpus-bundles.ndjson";
}

std::vector<fs::path> message_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpusDir)) {
    if (entry.is_regular_file() && is_message_file(entry.path().lexically_relative(kCorpusDir))) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// What a refusal or Bundle was made from: the message as the corpus has it, or that message
// with a fødselsnummer added to PID-3 (see map_one).
constexpr std::string_view kAsSent = "as-sent";
constexpr std::string_view kFnrAdded = "fnr-added";

// A synthetic fødselsnummer (valid control digits; the one of mappings/hl7v2/examples).
constexpr std::string_view kSyntheticFnr = "15038510190";

// The message with a fødselsnummer as PID-3's first repetition (the sender's identifiers kept
// after it); "" when the message has no PID segment to put it in.
std::string with_fnr_in_pid3(std::string_view bytes) {
  if (bytes.size() < 8) return "";
  const char field = bytes[3], component = bytes[4], repetition = bytes[5];
  const std::string pid_start{'P', 'I', 'D', field};
  std::size_t pid = std::string_view::npos;
  for (std::size_t at = 0; at < bytes.size();) {
    if (bytes.substr(at, 4) == pid_start) {
      pid = at;
      break;
    }
    const std::size_t eol = bytes.find_first_of("\r\n", at);
    if (eol == std::string_view::npos) break;
    at = eol + 1;
  }
  if (pid == std::string_view::npos) return "";
  const std::size_t end = std::min(bytes.find_first_of("\r\n", pid), bytes.size());
  std::size_t insert = end;  // where PID-3 starts
  int separators = 0;
  for (std::size_t i = pid + 3; i < end; ++i) {
    if (bytes[i] == field && ++separators == 3) {
      insert = i + 1;
      break;
    }
  }
  std::string out(bytes.substr(0, insert));
  if (separators < 3) out.append(3 - separators, field);
  out.append(kSyntheticFnr).append(4, component).append("FNR");
  if (separators == 3 && insert < end && bytes[insert] != field) out.push_back(repetition);
  out.append(bytes.substr(insert));
  return out;
}

void refuse(Walk& walk, const std::string& file, std::size_t index, std::string_view input,
            const Error& e) {
  const std::string code(info(e.code).name);
  walk.refusals[file + '\t' + std::to_string(index) + '\t' + std::string(input) + '\t' + code] =
      one_line(e.message());
  ++walk.by_code[std::string(input) + ' ' + code];
}

bool is_about_pid3(const Error& e) { return e.where.segment == "PID" && e.where.field == 3; }

void map_one(const mapping::MappingSet& set, const std::string& file, std::size_t index,
             std::string_view bytes, Walk& walk, std::ostream& ndjson) {
  auto parsed = hl7v2::parse(bytes);
  if (!parsed) return;  // the parser's refusals are helsebro_corpus_tests' business
  ++walk.messages;
  if (set.find("hl7v2", parsed->message_type()) == nullptr) return;
  ++walk.mappable;
  auto translated = app::map_message(set, bytes);
  std::string_view input = kAsSent;
  if (!translated) {
    refuse(walk, file, index, input, translated.error());
    // The mappings find every patient by fødselsnummer, which the (mostly US) corpus never
    // carries: give it one, so that the rest of each mapping meets the corpus too.
    const std::string amended = is_about_pid3(translated.error()) ? with_fnr_in_pid3(bytes) : "";
    if (amended.empty()) return;
    input = kFnrAdded;
    translated = app::map_message(set, amended);
    if (!translated) return refuse(walk, file, index, input, translated.error());
  }
  ++walk.bundles;
  ++walk.by_mapping[translated->mapping];
  ndjson << ndjson_line(file, index, input, translated->bundle);
}

// Maps the corpus; the Bundles go to `out` (written under a temporary name, then renamed, so
// that the node test never reads half a file).
Walk walk_corpus(const mapping::MappingSet& set, const fs::path& out) {
  fs::create_directories(out.parent_path());
  const fs::path partial = fs::path(out).concat(".partial");
  std::ofstream ndjson(partial, std::ios::binary | std::ios::trunc);
  Walk walk;
  for (const fs::path& path : message_files()) {
    const std::string file = path.lexically_relative(kCorpusDir).generic_string();
    const std::string bytes = read_bytes(path);
    auto slices = hl7v2::split_messages(bytes);
    if (!slices) continue;
    for (std::size_t i = 0; i < slices->size(); ++i) {
      map_one(set, file, i + 1, (*slices)[i].bytes, walk, ndjson);
    }
  }
  ndjson.close();
  fs::rename(partial, out);
  return walk;
}

TEST(Hl7v2CorpusMapping, RefusalsMatchTheExpectationsAndBundlesAreWritten) {
  const fs::path out = bundles_path();
  if (!fs::is_directory(kCorpusDir)) {
    fs::remove(out);  // no stale Bundles for corpus_bundles.test.mjs to check
    GTEST_SKIP() << "no HL7 v2 corpus at " << kCorpusDir.string()
                 << " (it lives beside the source tree, in ../shared/corpus/hl7v2)";
  }
  const auto set = app::load_mappings(kMappings.string());
  ASSERT_TRUE(set) << set.error().message();
  const Walk walk = walk_corpus(**set, out);
  std::cout << "corpus mapping: " << walk.messages << " messages parsed, " << walk.mappable
            << " of a mapped type, " << walk.bundles << " Bundles, " << walk.refusals.size()
            << " refused";
  for (const auto& [code, n] : walk.by_code) std::cout << "; " << code << " " << n;
  std::cout << "\ncorpus mapping: Bundles by mapping";
  for (const auto& [name, n] : walk.by_mapping) std::cout << "; " << name << " " << n;
  std::cout << "\ncorpus mapping: wrote " << out.string() << std::endl;
  ASSERT_GT(walk.mappable, 0u) << "no corpus message of a type the mappings take";
  ASSERT_GT(walk.bundles, 0u) << "the mappings refused every corpus message";

  const char* update = std::getenv("UPDATE_CORPUS_EXPECTATIONS");
  if (update != nullptr && std::string_view(update) == "1") {
    corpus::write_expectations(kRefusals, kHeader, walk.refusals);
    std::cout << "corpus mapping: rewrote " << kRefusals.string() << std::endl;
    return;
  }
  ASSERT_TRUE(fs::exists(kRefusals))
      << kRefusals.string() << " is missing; create it with UPDATE_CORPUS_EXPECTATIONS=1";
  const std::string changes = corpus::diff(corpus::read_expectations(kRefusals), walk.refusals);
  EXPECT_TRUE(changes.empty())
      << "the corpus refusals differ from " << kRefusals.string()
      << " (- expected but gone, + new); if the change is intended, rerun with "
         "UPDATE_CORPUS_EXPECTATIONS=1 and review the file:\n"
      << changes;
}

}  // namespace
}  // namespace helsebro
