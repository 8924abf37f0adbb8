#pragma once
// `helsebro lint [DIR]`: checks every mapping, datatype and terminology file of a mappings
// directory against its JSON Schema and compiles the whole set, reporting file:line:column.

#include <iosfwd>
#include <string>

namespace helsebro::app {

/// Returns the exit code: 0 clean, 1 problems found, 2 the directory cannot be read.
int lint_mappings(const std::string& dir, std::ostream& out, std::ostream& err);
/// The same, with the KITH schema index from `kith_schema_dir` (the configuration's
/// kith.schemasDir), as the gateway loads the set.
int lint_mappings(const std::string& dir, const std::string& kith_schema_dir, std::ostream& out, std::ostream& err);

/// The JSON Schemas of the mapping files, embedded at build time.
const std::string& mapping_schema();
const std::string& datatype_schema();
const std::string& terminology_schema();

}  // namespace helsebro::app
