#pragma once
// The pure parts of asking the shared record for a patient by identifier: the FHIR search's form
// body, the cache key, and reading the searchset. No I/O; unit-tested on their own.

#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/patient_directory.h"
#include "gateway/core/result.h"

namespace helsebro::forward {

/// `identifier=system|value,system|value&_count=1` in application/x-www-form-urlencoded form,
/// for `POST [base]/Patient/_search`. Commas, bars, dollars and backslashes inside a system or
/// value are escaped as FHIR search requires (`\,`), so each stays one token.
std::string patient_search_body(const std::vector<PatientIdentifier>& ids);

/// One key for one set of identifiers, whatever their order.
std::string presence_key(std::vector<PatientIdentifier> ids);

/// The record's answer to the search: known when the searchset has a Patient entry, unknown
/// when it has none. Errc::kUpstreamTransient for any other status, or a body that is not a
/// searchset Bundle (described without quoting the body).
Result<PatientPresence> read_patient_search(int status, std::string_view body);

}  // namespace helsebro::forward
