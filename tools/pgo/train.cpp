// The training run of the profile-guided build (tools/pgo/CMakeLists.txt): built in the second,
// instrumented build, it translates every HL7 v2 example of the mapping set, validated as the
// server does, so that GCC learns which branches and calls the engine takes. Not a test and not a
// benchmark: a mapping's error is as welcome here as its Bundle (both paths are trained).
//
// usage: helsebro_pgo_train MAPPINGS_DIR [ROUNDS]

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "adapters/hl7v2/parser.h"
#include "adapters/hl7v2/path.h"
#include "adapters/hl7v2/source_view.h"
#include "gateway/mapping/mapping.h"
#include "gateway/validate/fhir_validator.h"

namespace fs = std::filesystem;
using namespace helsebro;

namespace {

std::vector<std::string> example_messages(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code error;  // no folder: no examples
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".hl7") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> messages;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    messages.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return messages;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MAPPINGS_DIR [ROUNDS]\n", argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 40;
  static const hl7v2::PathDialect kHl7v2;
  auto set = mapping::MappingSet::load(dir.string(), {{"hl7v2", &kHl7v2}});
  // A mapping being edited may not load: the build goes on, with a profile of less than usual.
  if (!set) {
    std::fprintf(stderr, "helsebro_pgo_train: warning: the mappings did not load, so the profile covers "
                         "loading only: %s\n", set.error().detail.c_str());
    return 0;
  }
  const std::vector<std::string> messages = example_messages(dir / "hl7v2" / "examples");
  if (messages.empty()) {
    std::fprintf(stderr, "helsebro_pgo_train: warning: no examples in %s\n", (dir / "hl7v2" / "examples").c_str());
  }
  std::size_t translated = 0, refused = 0;
  for (int round = 0; round < rounds; ++round) {
    for (const std::string& bytes : messages) {
      auto message = hl7v2::parse(bytes);
      if (!message) {
        ++refused;
        continue;
      }
      const mapping::Mapping* m = (*set)->find("hl7v2", message->message_type());
      if (m == nullptr) {
        ++refused;
        continue;
      }
      hl7v2::SourceView view(*message);
      auto bundle = m->translate(view, {"train", message->message_type(), 0}, validate::FhirValidator::check_r4_bundle);
      view.unread_count();  // what the server counts for its unmapped-fields metric
      ++(bundle ? translated : refused);
    }
  }
  std::printf("helsebro_pgo_train: %zu examples, %d rounds: %zu translated, %zu refused\n", messages.size(),
              rounds, translated, refused);
  return 0;
}
