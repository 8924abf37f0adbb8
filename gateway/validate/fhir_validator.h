#pragma once
// FhirValidator: checks a Bundle against FHIR R4's structure before it leaves the gateway. A Bundle
// that fails is a mapping error: the mapping produced something the FHIR server would refuse.
//
// Checked: known resourceType; no unknown elements (choice types such as valueQuantity resolved
// through value[x]; "_name" siblings of primitives); min/max cardinality and array-or-single
// shape; JSON types of primitives and the spec's regexes (date, dateTime, instant, time, uri,
// code, id, oid, uuid, base64Binary, ...), integer ranges; codes of required bindings whose value
// set the definitions can expand (code elements; Coding and CodeableConcept codings whose system
// is one of the value set's); recursion into backbone elements, datatypes, contained resources and
// Bundle.entry.resource; for Bundles, type 'transaction' and request.method/url on each entry.
// Not checked: invariants (FHIRPath constraints), profiles (meta.profile), reference targets,
// extension definitions, and the few required value sets that need a terminology server.
//
// Paths are FHIRPath-like with 0-based indexes and JSON keys: Bundle.entry[1].resource.gender.
// Reasons quote codes and resource types, never other values (they may be personal data).
//
// Thread-safety: immutable after construction; one instance serves every thread.

#include <rapidjson/fwd.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/result.h"

namespace helsebro {
class JsonTape;
}

namespace helsebro::validate {

class StructureTable;

struct ValidationIssue {
  std::string path;    // e.g. Bundle.entry[1].resource.gender
  std::string reason;  // e.g. code 'banana' is not in required value set ...
};

class FhirValidator {
 public:
  static constexpr std::size_t kMaxIssues = 100;    // check() stops collecting after this many
  static constexpr std::size_t kIssuesInError = 5;  // validate_bundle() names this many

  /// The R4 table embedded in the binary (schemas/fhir/r4-structure.json).
  FhirValidator();
  /// A table in the same format; throws std::invalid_argument when it is malformed.
  explicit FhirValidator(std::string_view table_json);
  ~FhirValidator();
  FhirValidator(FhirValidator&&) noexcept;
  FhirValidator& operator=(FhirValidator&&) noexcept;

  /// The embedded table, built on first use (about 6 ms, 5 MB) and shared.
  static const FhirValidator& r4();

  /// Parses `bundle_json` and checks it as a transaction Bundle. On failure:
  /// Errc::kMappingFailed, "FHIR validation: <path>: <reason>; ..." (the first five issues).
  Result<void> validate_bundle(std::string_view bundle_json) const;
  /// The same for a Bundle already in memory, as the mapping engine builds it, so that it need
  /// not be serialized and parsed again.
  Result<void> validate_bundle(const JsonTape& bundle) const;
  /// r4().validate_bundle(bundle): the check every translation runs (a Mapping::BundleCheck).
  static Result<void> check_r4_bundle(const JsonTape& bundle) { return r4().validate_bundle(bundle); }

  /// Every issue of one resource (any type, a Bundle included), at most kMaxIssues.
  std::vector<ValidationIssue> check(const rapidjson::Value& resource) const;

  /// Required value sets whose codes are not checked (they need a terminology server).
  std::vector<std::string> unchecked_value_sets() const;

  const StructureTable& table() const { return *table_; }

 private:
  static Result<void> to_result(const std::vector<ValidationIssue>& issues);

  std::unique_ptr<const StructureTable> table_;
};

}  // namespace helsebro::validate
