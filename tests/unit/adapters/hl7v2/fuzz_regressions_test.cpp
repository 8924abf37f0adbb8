// The fuzz targets' inputs in the normal build: every file under tests/fuzz/regressions/<target>/
// (inputs that once crashed a target or broke one of its oracles) and tests/fuzz/seeds/<target>/
// goes through the same exercise function libFuzzer calls (tests/fuzz/<target>.cpp).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_target.h"

namespace helsebro::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(HELSEBRO_SOURCE_DIR) / "tests" / "fuzz";

std::vector<fs::path> inputs_of(std::string_view target, std::string_view kind) {
  std::vector<fs::path> files;
  const fs::path dir = kFuzzDir / kind / target;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs every regression and seed input of `target`; returns how many there were.
std::size_t run_inputs(std::string_view target, void (*exercise)(std::string_view)) {
  std::size_t count = 0;
  for (std::string_view kind : {"regressions", "seeds"}) {
    for (const fs::path& file : inputs_of(target, kind)) {
      SCOPED_TRACE(file.string());
      const std::string bytes = read_bytes(file);
      EXPECT_NO_THROW(exercise(bytes));
      ++count;
    }
  }
  return count;
}

TEST(FuzzRegressions, Hl7v2ParserInputsKeepEveryOracle) {
  const std::size_t n = run_inputs("hl7v2_parser_fuzz", &exercise_hl7v2_parser);
  RecordProperty("inputs", static_cast<int>(n));
}

TEST(FuzzRegressions, MllpFramerInputsKeepEveryOracle) {
  const std::size_t n = run_inputs("mllp_framer_fuzz", &exercise_mllp_framer);
  RecordProperty("inputs", static_cast<int>(n));
}

TEST(FuzzRegressions, Hl7v2PathInputsKeepEveryOracle) {
  const std::size_t n = run_inputs("hl7v2_path_fuzz", &exercise_hl7v2_path);
  RecordProperty("inputs", static_cast<int>(n));
}

TEST(FuzzRegressions, BundleWriterInputsKeepEveryOracle) {
  const std::size_t n = run_inputs("bundle_writer_fuzz", &exercise_bundle_writer);
  EXPECT_GT(n, 0u);
  RecordProperty("inputs", static_cast<int>(n));
}

}  // namespace
}  // namespace helsebro::fuzz
