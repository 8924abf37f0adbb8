#include "gateway/forward/outcome.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

namespace helsebro::forward {

namespace {

// The readable part of an OperationOutcome's issues; "" when there is none.
std::string summarize_issues(const rapidjson::Value& outcome) {
  std::string out;
  if (!outcome.IsObject() || !outcome.HasMember("issue") || !outcome["issue"].IsArray()) return out;
  for (const auto& issue : outcome["issue"].GetArray()) {
    if (!issue.IsObject()) continue;
    std::string line;
    if (issue.HasMember("severity") && issue["severity"].IsString()) line += issue["severity"].GetString();
    if (issue.HasMember("diagnostics") && issue["diagnostics"].IsString()) {
      line += std::string(line.empty() ? "" : ": ") + issue["diagnostics"].GetString();
    } else if (issue.HasMember("details") && issue["details"].IsObject() &&
               issue["details"].HasMember("text") && issue["details"]["text"].IsString()) {
      line += std::string(line.empty() ? "" : ": ") + issue["details"]["text"].GetString();
    }
    if (issue.HasMember("expression") && issue["expression"].IsArray() && !issue["expression"].Empty() &&
        issue["expression"][0].IsString()) {
      line += std::string(" at ") + issue["expression"][0].GetString();
    }
    if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
  }
  return out;
}

std::string shortened(std::string text) {
  if (text.size() > 1000) text = text.substr(0, 1000) + "…";
  return text;
}

bool transient_status(int status) { return status == 408 || status == 429 || status >= 500; }

// A transaction is all or nothing, so its HTTP status says how it went; but a reply whose entries
// say that one failed is believed over its status line, so that nothing the server did not store
// is marked delivered. The worst entry decides: one refused for good makes the message dead, one
// that may pass later makes it retried. nullopt when no entry failed (or the body says nothing).
std::optional<Decision> failed_entry(int status, const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("entry") || !doc["entry"].IsArray()) {
    return std::nullopt;
  }
  std::optional<Decision> worst;
  const auto& entries = doc["entry"].GetArray();
  for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
    const rapidjson::Value& entry = entries[i];
    if (!entry.IsObject() || !entry.HasMember("response") || !entry["response"].IsObject()) continue;
    const rapidjson::Value& response = entry["response"];
    if (!response.HasMember("status") || !response["status"].IsString()) continue;
    const std::string_view text(response["status"].GetString(), response["status"].GetStringLength());
    int code = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + std::min<std::size_t>(text.size(), 3), code);
    if (ec != std::errc{} || end != text.data() + 3 || code < 400) continue;
    const Outcome outcome = transient_status(code) ? Outcome::kRetry : Outcome::kDead;
    if (worst && (worst->outcome == Outcome::kDead || outcome == Outcome::kRetry)) continue;
    Decision d;
    d.outcome = outcome;
    d.label = "entry_http_" + std::to_string(code);
    d.reason = "HTTP " + std::to_string(status) + ", but entry " + std::to_string(i) + " failed: " +
               std::string(text);
    if (response.HasMember("outcome")) {
      if (const std::string why = summarize_issues(response["outcome"]); !why.empty()) d.reason += ": " + why;
    }
    d.reason = shortened(std::move(d.reason));
    worst = std::move(d);
  }
  return worst;
}

}  // namespace

std::string summarize_operation_outcome(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  std::string out;
  if (!doc.HasParseError()) out = summarize_issues(doc);
  if (out.empty()) out = body.substr(0, 200);
  return shortened(std::move(out));
}

Decision classify(const Result<HttpReply>& reply, const AttemptContext& context) {
  Decision d;
  if (!reply) {
    d.outcome = Outcome::kRetry;
    d.reason = reply.error().detail;
    d.label = context.failure_label;
    return d;
  }
  const int status = reply->status;
  d.label = "http_" + std::to_string(status);
  if (status >= 200 && status < 300) {
    if (auto failed = failed_entry(status, reply->body)) return *failed;
    d.outcome = Outcome::kDelivered;
    return d;
  }
  d.reason = "HTTP " + std::to_string(status) + ": " + summarize_operation_outcome(reply->body);
  if (!reply->retry_after.empty()) {
    double seconds = 0;
    const std::string& v = reply->retry_after;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec == std::errc{} && ptr == v.data() + v.size() && seconds >= 0) d.retry_after_seconds = seconds;
  }
  const bool token_refused = status == 401 && context.bearer_token;
  const bool transient = transient_status(status) || token_refused;
  d.outcome = transient ? Outcome::kRetry : Outcome::kDead;
  return d;
}

double backoff_seconds(int attempts, const config::RetryConfig& retry, double random01,
                       std::optional<double> retry_after) {
  const double exponent = std::min(attempts, 30);
  const double ceiling = std::min(retry.max_seconds, retry.initial_seconds * std::pow(2.0, exponent));
  double delay = std::max(0.01, ceiling * random01);
  if (retry_after) delay = std::max(delay, *retry_after);
  return delay;
}

}  // namespace helsebro::forward
