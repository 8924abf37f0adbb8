#include "gateway/listen/http_intake.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>

#include "gateway/core/backlog.h"
#include "gateway/core/journal.h"
#include "gateway/intake/fhir_intake.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/intake/kith_intake.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::listen {
namespace {

using Parts = std::shared_ptr<const HttpIntakeParts>;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point started) {
  return std::chrono::duration<double>(Clock::now() - started).count();
}

HttpResponse retry_later(std::string detail) {
  HttpResponse r = problem(503, "Service Unavailable", std::move(detail));
  r.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
  return r;
}

// A wrong content type (415) or a full backlog (503): the answer, and nothing is stored.
std::optional<HttpResponse> refuse(const Parts& parts, const HttpRequest& request, std::string_view channel,
                                   std::initializer_list<std::string_view> accepted) {
  auto it = request.headers.find("content-type");
  const std::string type = it == request.headers.end() ? std::string() : media_type(it->second);
  if (std::find(accepted.begin(), accepted.end(), type) == accepted.end()) {
    std::string detail = "send ";
    for (auto a = accepted.begin(); a != accepted.end(); ++a) detail.append(a == accepted.begin() ? "" : " or ").append(*a);
    parts->pipeline->probes->intake.rejected(channel, "unsupported_media_type");
    return problem(415, "Unsupported Media Type", detail);
  }
  if (parts->backlog != nullptr && parts->backlog->over_limit()) {
    parts->pipeline->probes->listen.paused(channel);
    return retry_later("too many messages wait for delivery; send again later");
  }
  return std::nullopt;
}

HttpResponse storage_failed(const Parts& parts, std::string_view channel, const MessageRecord& record,
                            const Error& error) {
  parts->pipeline->probes->intake.rejected(channel, info(Errc::kJournalWriteFailed).name);
  observe::log_error("http.journal_failed", {{"id", record.id}, {"channel", channel}, {"error", error.detail}});
  return retry_later("the message could not be stored; send it again");
}

HttpResponse to_response(InboundAnswer answer) {
  HttpResponse response;
  response.status = answer.http_status;
  response.content_type = std::move(answer.content_type);
  response.body = std::move(answer.body);
  return response;
}

// Who sent a request, as the journal's peer column keeps it: the certificate subject over HTTPS
// with a client certificate, the address otherwise.
const std::string& peer_of(const HttpRequest& request) {
  return request.certificate_subject.empty() ? request.peer : request.certificate_subject;
}

void handle_hl7v2(const Parts& parts, const HttpRequest& request, Respond respond) {
  if (auto refused = refuse(parts, request, parts->hl7v2->channel(), {"x-application/hl7-v2+er7", "text/plain"})) {
    return respond(std::move(*refused));
  }
  // The bytes are read as MSH-18 says (ASCII, 8859/1, 8859/15 or UTF-8), as over MLLP. A charset
  // parameter naming anything else (UTF-16: no MSH to find) is refused for what it is.
  if (auto it = request.headers.find("content-type"); it != request.headers.end()) {
    static constexpr std::string_view kReadable[] = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1",
                                                     "latin1", "iso-8859-15"};
    if (const std::string charset = charset_of(it->second);
        !charset.empty() && std::find(std::begin(kReadable), std::end(kReadable), charset) == std::end(kReadable)) {
      parts->pipeline->probes->intake.rejected(parts->hl7v2->channel(), "unsupported_media_type");
      return respond(problem(415, "Unsupported Media Type",
                             "HL7 v2 is read in the character set MSH-18 declares (ASCII, 8859/1, 8859/15 or "
                             "UNICODE UTF-8), not charset=" + charset));
    }
  }
  // A journal failure is answered inside the ACK (AE/CE, "please resend later"), as over MLLP.
  hl7v2_exchange(parts->pipeline, parts->hl7v2, request.body, intake::Peer{request.peer, request.certificate_subject})
      ->store([respond = std::move(respond)](InboundAnswer answer) {
        // Asked for no answer (MSH-15/16 NE), a failed store still owes the HTTP client one.
        if (answer.storage_failed && answer.body.empty()) {
          return respond(retry_later("the message could not be stored; send it again"));
        }
        respond(to_response(std::move(answer)));
      });
}

void handle_kith(const Parts& parts, const HttpRequest& request, Respond respond) {
  const std::string channel = parts->kith ? parts->kith->channel() : "http-kith";
  if (auto refused = refuse(parts, request, channel, {"application/xml", "text/xml"})) {
    return respond(std::move(*refused));
  }
  if (!parts->kith) return respond(retry_later("KITH intake is not available: " + parts->kith_unavailable));
  kith_exchange(parts->pipeline, parts->kith, request.body, peer_of(request))
      ->store([respond = std::move(respond)](InboundAnswer answer) {
        if (answer.storage_failed) return respond(retry_later("the message could not be stored; send it again"));
        respond(to_response(std::move(answer)));
      });
}

// A FHIR body stored (accepted or rejected): its answer.
void fhir_stored(const Parts& parts, intake::PreparedFhir& prepared, const std::string& channel,
                 Clock::time_point started, Respond respond) {
  const bool translated = prepared.record.state == MessageState::kTranslated;
  parts->pipeline->probes->intake.acknowledged(channel, std::to_string(prepared.http_status), seconds_since(started));
  if (translated && parts->pipeline->on_stored) parts->pipeline->on_stored();
  HttpResponse response;
  response.status = prepared.http_status;
  response.content_type = prepared.content_type;
  response.body = std::move(prepared.body);
  respond(std::move(response));
}

void handle_fhir(const Parts& parts, const HttpRequest& request, Respond respond) {
  const std::string& channel = parts->fhir->channel();
  if (auto refused = refuse(parts, request, channel, {"application/fhir+json", "application/json"})) {
    return respond(std::move(*refused));
  }
  if (auto it = request.headers.find("content-type"); it != request.headers.end()) {
    if (const std::string charset = charset_of(it->second); !charset.empty() && charset != "utf-8" && charset != "utf8") {
      parts->pipeline->probes->intake.rejected(channel, "unsupported_media_type");
      return respond(problem(415, "Unsupported Media Type",
                             "FHIR JSON is UTF-8: send it as UTF-8 (charset=utf-8), not charset=" + charset));
    }
  }
  // A key too long to keep would be silently ignored, and the client's retry stored twice.
  if (auto key = request.headers.find("idempotency-key"); key != request.headers.end() && key->second.size() > 256) {
    parts->pipeline->probes->intake.rejected(channel, "bad_request");
    return respond(problem(400, "Bad Request", "Idempotency-Key is longer than 256 characters"));
  }
  const auto started = Clock::now();
  auto prepared = std::make_shared<intake::PreparedFhir>(parts->fhir->prepare(request.body, peer_of(request)));
  const bool accepted = prepared->record.state == MessageState::kTranslated;
  const auto window = static_cast<EpochMillis>(parts->pipeline->duplicate_window_seconds * 1000);
  // FHIR has no control id; a client that retries names its request with an Idempotency-Key.
  // The same sender, key and body within the window is a resend, answered with the first 202.
  // Without a key nothing is taken for a resend: the same body twice may be a value set back.
  const auto key = request.headers.find("idempotency-key");
  const bool keyed = key != request.headers.end() && !key->second.empty();
  if (keyed) prepared->record.control_id = key->second;
  if (accepted && keyed && window > 0) {
    parts->pipeline->journal->append_unique(
        prepared->record, prepared->record.received_at - window,
        [parts, prepared, started, channel, respond = std::move(respond)](Result<AppendOutcome> r) mutable {
          if (!r) return respond(storage_failed(parts, channel, prepared->record, r.error()));
          if (!r->duplicate) return fhir_stored(parts, *prepared, channel, started, std::move(respond));
          parts->pipeline->probes->intake.duplicate(channel);
          parts->pipeline->probes->intake.acknowledged(channel, "202", seconds_since(started));
          observe::log_info("inbound.duplicate",
                            {{"id", prepared->record.id}, {"channel", channel}, {"original", r->original_id}});
          HttpResponse response;
          response.status = 202;
          response.content_type = prepared->content_type;
          response.body = r->original_ack.empty() ? std::move(prepared->body) : r->original_ack;
          respond(std::move(response));
        });
    return;
  }
  parts->pipeline->journal->append(
      prepared->record, [parts, prepared, started, channel, respond = std::move(respond)](Result<std::int64_t> r) mutable {
        if (!r) return respond(storage_failed(parts, channel, prepared->record, r.error()));
        fhir_stored(parts, *prepared, channel, started, std::move(respond));
      });
}

}  // namespace

std::string media_type(std::string_view content_type) {
  const std::size_t semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  std::string out(type);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string charset_of(std::string_view content_type) {
  std::size_t at = content_type.find(';');
  while (at != std::string_view::npos) {
    std::string_view param = content_type.substr(at + 1);
    const std::size_t next = param.find(';');
    param = param.substr(0, next);
    while (!param.empty() && (param.front() == ' ' || param.front() == '\t')) param.remove_prefix(1);
    while (!param.empty() && (param.back() == ' ' || param.back() == '\t')) param.remove_suffix(1);
    const std::size_t equals = param.find('=');
    std::string name(param.substr(0, equals));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name == "charset" && equals != std::string_view::npos) {
      std::string_view value = param.substr(equals + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      std::string out(value);
      for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return out;
    }
    at = next == std::string_view::npos ? std::string_view::npos : at + 1 + next;
  }
  return {};
}

void route_inbound(const std::vector<HttpServer*>& servers, HttpIntakeParts parts) {
  auto shared = std::make_shared<const HttpIntakeParts>(std::move(parts));
  for (HttpServer* http : servers) {
    http->route("POST", "/inbound/hl7v2", [shared](const HttpRequest& request, Respond respond) {
      handle_hl7v2(shared, request, std::move(respond));
    });
    http->route(
        "POST", "/inbound/kith",
        [shared](const HttpRequest& request, Respond respond) { handle_kith(shared, request, std::move(respond)); },
        shared->kith_max_body_bytes);
    http->route("POST", "/inbound/fhir", [shared](const HttpRequest& request, Respond respond) {
      handle_fhir(shared, request, std::move(respond));
    });
  }
}

}  // namespace helsebro::listen
