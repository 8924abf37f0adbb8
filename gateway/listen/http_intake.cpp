#include "gateway/listen/http_intake.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

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

constexpr std::string_view kHl7v2Channel = "http-hl7v2";

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
    parts->probes->intake.rejected(channel, "unsupported_media_type");
    return problem(415, "Unsupported Media Type", detail);
  }
  if (parts->backlog != nullptr && parts->backlog->over_limit()) {
    parts->probes->listen.paused(channel);
    return retry_later("too many messages wait for delivery; send again later");
  }
  return std::nullopt;
}

HttpResponse storage_failed(const Parts& parts, std::string_view channel, const MessageRecord& record,
                            const Error& error) {
  parts->probes->intake.rejected(channel, info(Errc::kJournalWriteFailed).name);
  observe::log_error("http.journal_failed", {{"id", record.id}, {"channel", channel}, {"error", error.detail}});
  return retry_later("the message could not be stored; send it again");
}

// Stores a record; `done` gets the journal's answer on the journal's thread.
void store(const Parts& parts, MessageRecord record, bool unique, std::function<void(Result<AppendOutcome>)> done) {
  const auto window = static_cast<EpochMillis>(parts->duplicate_window_seconds * 1000);
  if (unique && window > 0) {
    const EpochMillis since = record.received_at - window;
    parts->journal->append_unique(std::move(record), since, std::move(done));
    return;
  }
  parts->journal->append(std::move(record), [done = std::move(done)](Result<std::int64_t> seq) {
    if (seq) done(AppendOutcome{*seq, false, {}, {}});
    else done(seq.error());
  });
}

// The messages of one HL7 v2 body, answered together once the journal has stored them all.
struct Hl7v2Exchange {
  Parts parts;
  intake::PreparedFrame frame;
  Respond respond;
  Clock::time_point started;
  std::mutex mutex;
  std::vector<std::optional<Result<AppendOutcome>>> results;
  std::size_t remaining = 0;

  void stored(std::size_t index, Result<AppendOutcome> result) {
    {
      std::lock_guard lock(mutex);
      results[index] = std::move(result);
      if (--remaining > 0) return;
    }
    finish();
  }

  void finish() {
    const auto& intake = *parts->hl7v2;
    std::vector<std::string> acks;
    std::size_t translated = 0;
    for (std::size_t i = 0; i < frame.messages.size(); ++i) {
      intake::PreparedMessage& m = frame.messages[i];
      const Result<AppendOutcome>& r = *results[i];
      if (!r) {
        parts->probes->intake.rejected(kHl7v2Channel, info(Errc::kJournalWriteFailed).name);
        observe::log_error("http.journal_failed", {{"id", m.record.id}, {"error", r.error().detail}});
        m.ack_code = m.mode == intake::AckMode::kEnhanced ? "CE" : "AE";
        acks.push_back(intake.storage_failed_ack(m));
      } else if (r->duplicate) {
        parts->probes->intake.duplicate(kHl7v2Channel);
        observe::log_info("http.duplicate", {{"id", m.record.id}, {"original", r->original_id}});
        acks.push_back(r->original_ack);
      } else {
        if (m.record.state == MessageState::kTranslated) ++translated;
        acks.push_back(m.send_ack ? m.ack : std::string());
      }
    }
    const double seconds = seconds_since(started);
    for (const auto& m : frame.messages) parts->probes->intake.acknowledged(kHl7v2Channel, m.ack_code, seconds);
    if (translated > 0 && parts->on_stored) parts->on_stored(translated);
    HttpResponse response;
    response.content_type = "x-application/hl7-v2+er7";
    response.body = frame.batch ? intake.batch_ack(frame, acks) : acks.front();
    respond(std::move(response));
  }
};

void handle_hl7v2(const Parts& parts, const HttpRequest& request, Respond respond) {
  if (auto refused = refuse(parts, request, kHl7v2Channel, {"x-application/hl7-v2+er7", "text/plain"})) {
    return respond(std::move(*refused));
  }
  auto exchange = std::make_shared<Hl7v2Exchange>();
  exchange->parts = parts;
  exchange->started = Clock::now();
  exchange->respond = std::move(respond);
  exchange->frame = parts->hl7v2->prepare_frame(request.body, intake::Peer{request.peer, {}});
  const std::size_t n = exchange->frame.messages.size();
  exchange->results.resize(n);
  exchange->remaining = n;
  for (std::size_t i = 0; i < n; ++i) {
    const MessageRecord& record = exchange->frame.messages[i].record;
    store(parts, record, record.state == MessageState::kTranslated,
          [exchange, i](Result<AppendOutcome> r) { exchange->stored(i, std::move(r)); });
  }
}

void handle_kith(const Parts& parts, const HttpRequest& request, Respond respond) {
  const std::string channel = parts->kith ? parts->kith->channel() : "http-kith";
  if (auto refused = refuse(parts, request, channel, {"application/xml", "text/xml"})) {
    return respond(std::move(*refused));
  }
  if (!parts->kith) return respond(retry_later("KITH intake is not available: " + parts->kith_unavailable));
  const auto started = Clock::now();
  auto prepared = std::make_shared<intake::PreparedKith>(parts->kith->prepare(request.body, request.peer));
  store(parts, prepared->record, prepared->duplicate_checked,
        [parts, prepared, started, channel, respond = std::move(respond)](Result<AppendOutcome> r) {
          if (!r) return respond(storage_failed(parts, channel, prepared->record, r.error()));
          HttpResponse response;
          response.status = prepared->http_status;
          response.content_type = prepared->content_type;
          if (r->duplicate) {
            parts->probes->intake.duplicate(channel);
            observe::log_info("http.duplicate", {{"id", prepared->record.id}, {"original", r->original_id}});
            response.body = r->original_ack;
          } else {
            response.body = std::move(prepared->body);
          }
          parts->probes->intake.acknowledged(channel, prepared->outcome, seconds_since(started));
          respond(std::move(response));
        });
}

void handle_fhir(const Parts& parts, const HttpRequest& request, Respond respond) {
  const std::string& channel = parts->fhir->channel();
  if (auto refused = refuse(parts, request, channel, {"application/fhir+json", "application/json"})) {
    return respond(std::move(*refused));
  }
  const auto started = Clock::now();
  auto prepared = std::make_shared<intake::PreparedFhir>(parts->fhir->prepare(request.body, request.peer));
  store(parts, prepared->record, false,
        [parts, prepared, started, channel, respond = std::move(respond)](Result<AppendOutcome> r) {
          if (!r) return respond(storage_failed(parts, channel, prepared->record, r.error()));
          const bool translated = prepared->record.state == MessageState::kTranslated;
          parts->probes->intake.acknowledged(channel, std::to_string(prepared->http_status), seconds_since(started));
          if (translated && parts->on_stored) parts->on_stored(1);
          HttpResponse response;
          response.status = prepared->http_status;
          response.content_type = prepared->content_type;
          response.body = std::move(prepared->body);
          respond(std::move(response));
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

void route_inbound(HttpServer& http, HttpIntakeParts parts) {
  auto shared = std::make_shared<const HttpIntakeParts>(std::move(parts));
  http.route("POST", "/inbound/hl7v2",
             [shared](const HttpRequest& request, Respond respond) { handle_hl7v2(shared, request, std::move(respond)); });
  http.route("POST", "/inbound/kith",
             [shared](const HttpRequest& request, Respond respond) { handle_kith(shared, request, std::move(respond)); });
  http.route("POST", "/inbound/fhir",
             [shared](const HttpRequest& request, Respond respond) { handle_fhir(shared, request, std::move(respond)); });
}

}  // namespace helsebro::listen
