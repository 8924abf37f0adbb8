#pragma once
// Asks the shared record whether it knows a patient, for kith.requireKnownPatient: one FHIR
// search, `POST [base]/Patient/_search` with `identifier=system|value,…` in a form body (so the
// identity numbers stay out of URLs and the server's access logs), answered "known" when the
// searchset holds a Patient. Same server, TLS and OAuth2 settings as delivery; its own
// kept-alive connections, so a lookup never waits behind a delivery.
//
// Answers are cached (PresenceCache); lookups for the same identifiers while one is in flight
// share its answer; at most `connections` searches run at once and at most `max_waiting` wait.
// A timeout, a refused request or a full queue is "unavailable". Identity numbers are never
// logged.

#include <memory>

#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/core/patient_directory.h"

namespace boost::asio {
class io_context;
}
namespace helsebro::observe {
class ForwardProbe;
}

namespace helsebro::forward {

class FhirPatientDirectory final : public PatientDirectory {
 public:
  /// Throws config::ConfigError when the base URL, a TLS file or the OAuth settings cannot be
  /// used (as the Forwarder does for the same settings). `probe` must outlive the directory.
  FhirPatientDirectory(boost::asio::io_context& io, const config::FhirConfig& fhir,
                       const config::PatientLookupConfig& lookup, observe::ForwardProbe& probe,
                       Clock clock = {});
  ~FhirPatientDirectory() override;

  /// Thread-safe. `done` runs on the directory's strand.
  void find(std::vector<PatientIdentifier> ids, std::function<void(PatientPresence)> done) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace helsebro::forward
