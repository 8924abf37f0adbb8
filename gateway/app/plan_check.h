#pragma once
// Checks a loaded mapping set against FHIR R4's structure once, before it serves: every member a
// plan writes must be an element of the type it is written into, a list must go where FHIR takes
// a list and one value where it takes one, and the texts the plan holds (constants, the codes of
// its tables, defaults) must be what the validator accepts where they go. A misspelt element
// ("valueQuantitiy") is refused with its place in the file when the set loads (and by `helsebro
// lint`), not when the first message that reaches it fails validation; a branch no example
// exercises is checked too.

#include <string>
#include <vector>

#include "gateway/mapping/mapping.h"
#include "gateway/validate/fhir_structure.h"

namespace helsebro::app {

/// Every problem, as "file:line:column: reason (path)", in the order the plans hold them. What
/// lies where no type is known (an element that holds any resource, such as contained) is not
/// looked into.
std::vector<std::string> plan_problems(const mapping::MappingSet& set,
                                           const validate::StructureTable& table);

}  // namespace helsebro::app
