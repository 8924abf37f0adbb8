#pragma once
// `helsebro map FILE`: translates one message offline and prints the FHIR Bundle.

#include <iosfwd>
#include <string>

#include "gateway/config/config.h"
#include "gateway/core/result.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::app {

/// Translates one HL7 v2 message offline, as `helsebro map` and the golden tests do. The
/// message id is derived from the control id, so the output is the same on every run.
Result<mapping::Translation> map_message(const mapping::MappingSet& set, std::string_view bytes);

/// Returns the exit code: 0 translated, 1 the message was refused, 2 the tool could not run.
int map_file(const config::Config& config, const std::string& file, std::ostream& out, std::ostream& err);

}  // namespace helsebro::app
