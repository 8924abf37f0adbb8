#pragma once
// `helsebro map FILE`: translates one message offline and prints the FHIR Bundle.

#include <iosfwd>
#include <string>

#include "gateway/config/config.h"

namespace helsebro::app {

/// Returns the exit code: 0 translated, 1 the message was refused, 2 the tool could not run.
int map_file(const config::Config& config, const std::string& file, std::ostream& out, std::ostream& err);

}  // namespace helsebro::app
