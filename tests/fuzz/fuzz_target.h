#pragma once
// What the fuzz targets share with the normal build. Each target is one exercise function that
// takes arbitrary bytes and throws InvariantViolation when an oracle fails; libFuzzer turns the
// uncaught exception into a crash with the input saved, and the regression test
// (tests/unit/adapters/hl7v2/fuzz_regressions_test.cpp) runs the same functions with g++ over
// tests/fuzz/seeds/ and tests/fuzz/regressions/.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace helsebro::fuzz {

/// An oracle of a fuzz target failed: the code under test misbehaved without crashing.
class InvariantViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

inline void check(bool holds, const char* what) {
  if (!holds) throw InvariantViolation(what);
}

void exercise_hl7v2_parser(std::string_view input);
void exercise_mllp_framer(std::string_view input);
void exercise_hl7v2_path(std::string_view input);
void exercise_bundle_writer(std::string_view input);

}  // namespace helsebro::fuzz

// libFuzzer's entry point, defined only in the clang fuzz build (tests/fuzz/CMakeLists.txt), so
// the unit test binary can hold every exercise function.
#ifdef HELSEBRO_LIBFUZZER
#define HELSEBRO_FUZZ_ENTRY(exercise)                                                 \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    exercise(std::string_view(reinterpret_cast<const char*>(data), size));            \
    return 0;                                                                         \
  }
#else
#define HELSEBRO_FUZZ_ENTRY(exercise)
#endif
