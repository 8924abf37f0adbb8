#pragma once
// Intake for FHIR R4 JSON: gives each message an id, checks a transaction Bundle or a single
// resource against FHIR R4's structure (validate::FhirValidator), wraps a single resource into a
// transaction Bundle with one POST entry, and prepares the journal record (translated: the
// forwarder delivers it; or rejected with the issues) and the HTTP answer. The caller stores the
// record and answers only after the journal reports it durable.

#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/clock.h"
#include "gateway/core/message.h"

namespace helsebro::validate {
class FhirValidator;
struct ValidationIssue;
}  // namespace helsebro::validate

namespace helsebro::observe {
class IntakeProbe;
}

namespace helsebro::intake {

/// A message, checked, waiting for its journal commit.
struct PreparedFhir {
  MessageRecord record;   // state translated or rejected
  int http_status = 202;  // 202 accepted; 400 not JSON; 422 not valid FHIR
  std::string content_type;
  std::string body;       // 202: {"messageId": …}; otherwise problem JSON with OperationOutcome-like issues
  std::string metric_type;  // the resource type (known to the validator) or "other"
};

/// Thread-safe: holds no per-message state. `validator` must outlive the intake.
class FhirIntake {
 public:
  FhirIntake(std::string channel, const validate::FhirValidator& validator, Clock clock,
             observe::IntakeProbe* probe);

  /// Checks one body. Never fails: bad input yields a rejected record and its answer.
  PreparedFhir prepare(std::string_view bytes, const std::string& peer) const;
  /// Checks a stored message again (replay) against today's validator, keeping its id, receipt
  /// time, channel and peer.
  PreparedFhir prepare_again(const MessageRecord& stored) const;

  const std::string& channel() const { return channel_; }

 private:
  /// `seed` holds the id, receipt time, channel and peer; the rest is read from `bytes`.
  PreparedFhir check(MessageRecord seed, std::string_view bytes) const;
  PreparedFhir reject(PreparedFhir p, int status, std::string_view label,
                      const std::vector<validate::ValidationIssue>& issues) const;

  std::string channel_;
  const validate::FhirValidator& validator_;
  Clock clock_;
  observe::IntakeProbe* probe_;
};

/// The key that orders deliveries for one patient: "system|value" of a Patient's first
/// identifier, or of a conditional reference "Patient?identifier=system|value"; a literal
/// reference "Patient/id" as it is; "" when the Bundle names no patient.
std::string patient_ordering_key(std::string_view bundle_json);

}  // namespace helsebro::intake
