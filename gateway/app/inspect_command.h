#pragma once
// `helsebro inspect FILE…`: shows how Helsebro reads HL7 v2 — every segment, field, repetition,
// component and sub-component with its decoded value and byte position — or the error and where.
// With --repeat N --quiet it parses N times and reports the rate, for benchmarks.

#include <iosfwd>
#include <string>
#include <vector>

namespace helsebro::app {

struct InspectOptions {
  std::vector<std::string> files;
  long repeat = 1;
  bool quiet = false;
};

/// Returns the exit code: 0 all parsed, 1 some input was refused, 2 the tool could not run.
int inspect_files(const InspectOptions& options, std::ostream& out, std::ostream& err);

}  // namespace helsebro::app
