#pragma once
// The inbound HTTP endpoints, one per wire format:
//   POST /inbound/hl7v2  HL7 v2 message or batch → 200 with the ACK
//   POST /inbound/kith   KITH e-message          → 200 with the AppRec (problem JSON when the
//                                                   sender cannot be read)
//   POST /inbound/fhir   FHIR R4 Bundle/resource → 202 with the message id, 422 when invalid
// Every answer is sent only after the journal reports the message durable. While the undelivered
// backlog is over its limit, each endpoint answers 503 with Retry-After and stores nothing.
// No Beast or Asio here: handlers answer through HttpServer's Respond, from the journal's thread.

#include <functional>
#include <memory>
#include <string>

#include "gateway/listen/http_server.h"

namespace helsebro {
class Backlog;
class Journal;
}  // namespace helsebro

namespace helsebro::observe {
struct Probes;
}

namespace helsebro::intake {
class Hl7v2Intake;
class KithIntake;
class FhirIntake;
}  // namespace helsebro::intake

namespace helsebro::listen {

struct HttpIntakeParts {
  Journal* journal = nullptr;
  observe::Probes* probes = nullptr;
  const Backlog* backlog = nullptr;  // null: no back-pressure
  /// Called with how many translated messages were stored (from the journal's thread).
  std::function<void(std::size_t)> on_stored;
  std::shared_ptr<const intake::Hl7v2Intake> hl7v2;
  double duplicate_window_seconds = 86400;  // HL7 v2 and KITH resends within it are answered again
  std::shared_ptr<const intake::KithIntake> kith;  // null: KITH intake unavailable (503)
  std::string kith_unavailable;                    // why, for the 503's detail
  std::shared_ptr<const intake::FhirIntake> fhir;
};

/// Seconds a sender is asked to wait when the backlog is full.
inline constexpr int kRetryAfterSeconds = 5;

/// Registers the three endpoints. `parts` must name a journal, probes and all intakes but KITH's;
/// the journal and probes must outlive the server.
void route_inbound(HttpServer& http, HttpIntakeParts parts);

/// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(std::string_view content_type);

}  // namespace helsebro::listen
