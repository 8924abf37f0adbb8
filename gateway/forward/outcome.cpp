#include "gateway/forward/outcome.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace helsebro::forward {

std::string summarize_operation_outcome(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  std::string out;
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("issue") && doc["issue"].IsArray()) {
    for (const auto& issue : doc["issue"].GetArray()) {
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
  }
  if (out.empty()) out = body.substr(0, 200);
  if (out.size() > 1000) out = out.substr(0, 1000) + "…";
  return out;
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
  const bool transient = status == 408 || status == 429 || status >= 500 || token_refused;
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
