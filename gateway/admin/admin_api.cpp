#include "gateway/admin/admin_api.h"

#include <algorithm>
#include <cctype>

#include <openssl/crypto.h>
#include <rapidjson/document.h>

#include "gateway/core/ids.h"
#include "gateway/listen/http_server.h"
#include "gateway/observe/log.h"

namespace helsebro::admin {

bool authorized(const listen::HttpRequest& request, const std::string& token) {
  auto it = request.headers.find("authorization");
  if (token.empty() || it == request.headers.end()) return false;
  // The scheme's name is case-insensitive (RFC 9110 11.1); the token is compared in constant time.
  const std::string& header = it->second;
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() != kScheme.size() + token.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  return CRYPTO_memcmp(header.data() + kScheme.size(), token.data(), token.size()) == 0;
}

namespace {

// Wraps an admin handler: refuses without the token, and logs every call with a hash of the
// token used (never the token), the caller's address and the action.
listen::HttpHandler guarded(std::string token, std::string action, listen::HttpHandler handler) {
  return [token = std::move(token), action = std::move(action), handler = std::move(handler)](
             const listen::HttpRequest& request, listen::Respond respond) {
    if (token.empty()) {
      respond(listen::problem(403, "Forbidden",
                              "the admin API is off: set HELSEBRO_ADMIN_TOKEN (or admin.token)"));
      return;
    }
    if (!authorized(request, token)) {
      observe::log_warn("admin.unauthorized", {{"action", action}, {"peer", request.peer}});
      listen::HttpResponse r =
          listen::problem(401, "Unauthorized", "a valid bearer token is required");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      respond(std::move(r));
      return;
    }
    observe::log_info("audit.admin", {{"action", action},
                                      {"peer", request.peer},
                                      {"token_sha256", sha256_hex(token).substr(0, 12)}});
    handler(request, std::move(respond));
  };
}

}  // namespace

namespace {

// {"ids": [...]} or {"state": "dead", "since": "2026-11-01"}; an error text when malformed.
std::string read_query(const std::string& body, MessageQuery& query) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return "the body must be a JSON object";
  // A misspelt member ("sinse") would silently widen the replay to every message in the state.
  for (const auto& member : doc.GetObject()) {
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name != "ids" && name != "state" && name != "since" && name != "afterSeq") {
      const bool plain = name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return c >= 0x20 && c < 0x7f;
      });
      std::string text = "unknown member ";
      if (plain) {
        text.append(1, '"').append(name).append(1, '"');
      } else {
        text.append("in the body");
      }
      return text.append("; the members are ids, state, since and afterSeq");
    }
  }
  if (doc.HasMember("ids")) {
    if (!doc["ids"].IsArray()) return "\"ids\" must be an array of message ids";
    for (const auto& id : doc["ids"].GetArray()) {
      if (!id.IsString()) return "\"ids\" must be an array of message ids";
      query.ids.emplace_back(id.GetString());
    }
  }
  if (doc.HasMember("state")) {
    query.state =
        doc["state"].IsString() ? parse_message_state(doc["state"].GetString()) : std::nullopt;
    if (!query.state)
      return "\"state\" must be one of received, translated, delivered, rejected, failed, dead, "
             "held";
  }
  if (doc.HasMember("since")) {
    auto since =
        doc["since"].IsString() ? app::parse_utc_time(doc["since"].GetString()) : std::nullopt;
    if (!since) return "\"since\" takes 2026-11-01 or 2026-11-01T12:00:00Z";
    query.received_since = *since;
  }
  if (doc.HasMember("afterSeq")) {
    if (!doc["afterSeq"].IsInt64() || doc["afterSeq"].GetInt64() < 0)
      return "\"afterSeq\" takes the \"nextAfterSeq\" of the answer before";
    query.after_seq = doc["afterSeq"].GetInt64();
  }
  if (query.ids.empty() && !query.state) return "give \"ids\" or \"state\"";
  return {};
}

void append_ids(std::string& body, const std::vector<std::string>& ids) {
  body += "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) body += ",";
    observe::append_json_string(body, ids[i]);
  }
  body += "]";
}

void append_reasons(std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& items) {
  body += "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    body += i ? ",{\"id\":" : "{\"id\":";
    observe::append_json_string(body, items[i].first);
    body += ",\"reason\":";
    observe::append_json_string(body, items[i].second);
    body += "}";
  }
  body += "]";
}

// {"queued": n, "rejected": [{id, reason}], "held": [ids], "notFound": [ids]}, "skipped":
// [{id, reason}] when some message could not be read again (e.g. the KITH schemas are missing),
// and "nextAfterSeq": n when the request stopped at its most with more to replay (ask again with
// "afterSeq": n).
std::string summary_json(const app::ReplaySummary& summary) {
  std::string body = "{\"queued\":" + std::to_string(summary.translated) + ",\"rejected\":";
  append_reasons(body, summary.rejected);
  body += ",\"held\":";
  append_ids(body, summary.held);
  body += ",\"notFound\":";
  append_ids(body, summary.not_found);
  if (!summary.skipped.empty()) {
    body += ",\"skipped\":";
    append_reasons(body, summary.skipped);
  }
  if (summary.more_after_seq) body += ",\"nextAfterSeq\":" + std::to_string(*summary.more_after_seq);
  body += "}";
  return body;
}

}  // namespace

void route_admin(listen::HttpServer& http, std::string token, AdminActions actions) {
  http.route("POST", "/admin/messages/replay",
             guarded(token, "messages.replay",
                     [actions](const listen::HttpRequest& request, listen::Respond respond) {
                       MessageQuery query;
                       if (const std::string bad = read_query(request.body, query); !bad.empty()) {
                         respond(listen::problem(400, "Bad Request", bad));
                         return;
                       }
                       auto summary = actions.replay(query);
                       if (!summary) {
                         respond(listen::problem(500, "Internal Server Error",
                                                 "the replay failed before it replayed any message: " +
                                                     summary.error().message()));
                         return;
                       }
                       listen::HttpResponse r;
                       r.content_type = "application/json";
                       r.body = summary_json(*summary);
                       if (summary->stopped_by) {
                         // What was done, and where to go on from, with the reason it stopped.
                         r.status = 500;
                         r.content_type = "application/problem+json";
                         std::string problem = R"({"type":"about:blank","title":"Internal Server Error","status":500,"detail":)";
                         observe::append_json_string(problem, "the replay stopped: " + *summary->stopped_by +
                                                                  "; what it did is below, and the same "
                                                                  "request with afterSeq goes on");
                         r.body = problem + "," + r.body.substr(1);
                       }
                       respond(std::move(r));
                     }));
  http.route(
      "POST", "/admin/mappings/reload",
      guarded(token, "mappings.reload",
              [actions](const listen::HttpRequest&, listen::Respond respond) {
                auto reloaded = actions.reload_mappings();
                if (!reloaded) {
                  respond(listen::problem(
                      422, "Unprocessable Content",
                      reloaded.error().detail + " (the previous mappings keep serving)"));
                  return;
                }
                listen::HttpResponse r;
                r.content_type = "application/json";
                r.body = "{\"status\":\"reloaded\",\"mappings\":" + std::to_string(*reloaded) + "}";
                respond(std::move(r));
              }));
}

}  // namespace helsebro::admin
