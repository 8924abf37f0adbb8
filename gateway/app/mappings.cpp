#include "gateway/app/mappings.h"

#include <filesystem>
#include <optional>

#include "adapters/hl7v2/path.h"
#include "adapters/kith/schema_index.h"
#include "adapters/kith/xpath.h"
#include "gateway/app/plan_check.h"
#include "gateway/config/config.h"
#include "gateway/observe/log.h"
#include "gateway/validate/fhir_validator.h"

namespace helsebro::app {

namespace fs = std::filesystem;

std::string default_kith_schema_dir(const std::string& mappings_dir) {
  fs::path base = fs::path(mappings_dir).lexically_normal();
  if (!base.has_filename()) base = base.parent_path();  // "mappings/" → "mappings"
  return (base.parent_path() / "schemas" / "kith").string();
}

std::string kith_schema_dir(const config::Config& config) {
  return config.kith.configured ? config.kith.schemas_dir : default_kith_schema_dir(config.mappings_dir);
}

Result<std::shared_ptr<const mapping::MappingSet>> load_mappings(const std::string& dir,
                                                                 const std::string& kith_schema_dir,
                                                                 KithSchemas kith_schemas) {
  static const hl7v2::PathDialect kHl7v2;
  mapping::Dialects dialects{{"hl7v2", &kHl7v2}};
  // The dialect only compiles paths while the set loads: compiled paths own their queries.
  std::optional<kith::XPathDialect> kith;
  auto index = kith::SchemaIndex::load(kith_schema_dir);
  if (index) {
    kith.emplace(*index);
    dialects.emplace("kith", &*kith);
  } else if (fs::is_directory(fs::path(dir) / "kith") && kith_schemas == KithSchemas::kOptional) {
    // HL7 v2 keeps serving; only the KITH mappings are left out, and said so.
    observe::log_warn("mappings.kith_skipped", {{"dir", kith_schema_dir}, {"error", index.error().detail}});
  } else if (fs::is_directory(fs::path(dir) / "kith")) {
    return Error{Errc::kInvalidValue, (fs::path(dir) / "kith").string() +
                                    ": KITH mappings need the schema index in " + kith_schema_dir +
                                    ": " + index.error().detail};
  }
  auto set = mapping::MappingSet::load(dir, dialects);
  if (!set) return set;
  // What the compiler cannot know: FHIR's elements, their cardinalities and values. One problem
  // per line.
  const auto problems = plan_problems(**set, validate::FhirValidator::r4().table());
  if (problems.empty()) return set;
  std::string detail;
  for (const std::string& p : problems) detail.append(detail.empty() ? "" : "\n").append(p);
  return Error{Errc::kInvalidValue, std::move(detail)};
}

Result<std::shared_ptr<const mapping::MappingSet>> load_mappings(const std::string& dir) {
  return load_mappings(dir, default_kith_schema_dir(dir));
}

}  // namespace helsebro::app
