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
#include <vector>

#include "gateway/listen/http_server.h"
#include "gateway/listen/inbound_exchange.h"

namespace helsebro {
class Backlog;
}  // namespace helsebro

namespace helsebro::intake {
class Hl7v2Intake;
class KithIntake;
class FhirIntake;
}  // namespace helsebro::intake

namespace helsebro::listen {

struct HttpIntakeParts {
  /// The journal, probes, duplicate window and on_stored, shared with the inbound directories.
  std::shared_ptr<const InboundPipeline> pipeline;
  const Backlog* backlog = nullptr;  // null: no back-pressure
  std::shared_ptr<const intake::Hl7v2Intake> hl7v2;
  std::shared_ptr<const intake::KithIntake> kith;  // null: KITH intake unavailable (503)
  std::string kith_unavailable;                    // why, for the 503's detail
  std::shared_ptr<const intake::FhirIntake> fhir;
  std::size_t kith_max_body_bytes = 0;  // the largest e-message; 0: the server's limit
};

/// Seconds a sender is asked to wait when the backlog is full.
inline constexpr int kRetryAfterSeconds = 5;

/// Registers the three endpoints on every server given (the HTTP listener, and the HTTPS one
/// when configured), with the same handlers. `parts` must name a pipeline and all intakes but
/// KITH's; the pipeline's journal and probes must outlive the servers.
void route_inbound(const std::vector<HttpServer*>& servers, HttpIntakeParts parts);

/// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(std::string_view content_type);
/// The charset parameter of a Content-Type, lower-case and unquoted ("iso-8859-1"); "" when
/// there is none.
std::string charset_of(std::string_view content_type);

}  // namespace helsebro::listen
