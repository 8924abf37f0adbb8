#pragma once
// Loading the mapping set with every format's path dialect, for the server and the CLI tools.

#include <memory>
#include <string>

#include "gateway/core/result.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::config {
struct Config;
}

namespace helsebro::app {

/// Where the KITH schemas (index.json and the XSDs) lie when nothing says otherwise: beside the
/// mappings directory, as in the source tree ("./mappings" → "./schemas/kith").
std::string default_kith_schema_dir(const std::string& mappings_dir);

/// The KITH schema directory for the CLI tools: the config file's kith.schemasDir when it has a
/// "kith" section, otherwise default_kith_schema_dir(mappingsDir).
std::string kith_schema_dir(const config::Config& config);

/// Loads `dir` with the "hl7v2" dialect and the "kith" dialect, whose XPath prefixes come from
/// `kith_schema_dir`/index.json. When that index cannot be read, the set loads without KITH
/// mappings, unless `dir`/kith exists: then loading fails, naming the schema directory.
/// kRequired (the tools): KITH mappings without their schema index are an error. kOptional (the
/// server): they are left out with a warning, so HL7 v2 traffic is not stopped by them.
enum class KithSchemas { kRequired, kOptional };
Result<std::shared_ptr<const mapping::MappingSet>> load_mappings(const std::string& dir,
                                                                 const std::string& kith_schema_dir,
                                                                 KithSchemas kith_schemas = KithSchemas::kRequired);

/// As above, with the schemas beside the mappings (default_kith_schema_dir).
Result<std::shared_ptr<const mapping::MappingSet>> load_mappings(const std::string& dir);

}  // namespace helsebro::app
