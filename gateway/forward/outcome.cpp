#include "gateway/forward/outcome.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
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
  doc.Parse<rapidjson::kParseIterativeFlag>(body.c_str(), body.size());
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

constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDayNames = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Reads an HTTP-date piece by piece, each step taking exactly what the grammar asks for next.
class DateReader {
 public:
  explicit DateReader(std::string_view text) : rest_(text) {}

  bool literal(std::string_view expected) {
    if (!rest_.starts_with(expected)) return false;
    rest_.remove_prefix(expected.size());
    return true;
  }
  // Exactly `digits` digits.
  bool number(std::size_t digits, int& out) {
    if (rest_.size() < digits) return false;
    for (std::size_t i = 0; i < digits; ++i) {
      if (rest_[i] < '0' || rest_[i] > '9') return false;
    }
    std::from_chars(rest_.data(), rest_.data() + digits, out);
    rest_.remove_prefix(digits);
    return true;
  }
  // One of `names`; its index.
  template <std::size_t N>
  bool name(const std::array<std::string_view, N>& names, int& index) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool time_of_day(int& hour, int& minute, int& second) {
    return number(2, hour) && literal(":") && number(2, minute) && literal(":") &&
           number(2, second);
  }
  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

struct DateParts {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;  // month 0-11
};

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
bool read_imf_fixdate(std::string_view text, DateParts& d) {
  DateReader r(text);
  int weekday = 0;
  return r.name(kDayNames, weekday) && r.literal(", ") && r.number(2, d.day) && r.literal(" ") &&
         r.name(kMonthNames, d.month) && r.literal(" ") && r.number(4, d.year) && r.literal(" ") &&
         r.time_of_day(d.hour, d.minute, d.second) && r.literal(" GMT") && r.at_end();
}

// RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". Its two-digit year is the one nearest `now_year`
// that is not more than 50 years ahead, as RFC 9110 section 5.6.7 says to read it.
bool read_rfc850_date(std::string_view text, int now_year, DateParts& d) {
  DateReader r(text);
  int weekday = 0;
  int two_digit_year = 0;
  if (!(r.name(kLongDayNames, weekday) && r.literal(", ") && r.number(2, d.day) && r.literal("-") &&
        r.name(kMonthNames, d.month) && r.literal("-") && r.number(2, two_digit_year) &&
        r.literal(" ") && r.time_of_day(d.hour, d.minute, d.second) && r.literal(" GMT") &&
        r.at_end())) {
    return false;
  }
  d.year = now_year - now_year % 100 + two_digit_year;
  if (d.year > now_year + 50) d.year -= 100;
  return true;
}

// asctime: "Sun Nov  6 08:49:37 1994", a one-digit day after a space.
bool read_asctime_date(std::string_view text, DateParts& d) {
  DateReader r(text);
  int weekday = 0;
  if (!(r.name(kDayNames, weekday) && r.literal(" ") && r.name(kMonthNames, d.month) &&
        r.literal(" "))) {
    return false;
  }
  const bool day = r.literal(" ") ? r.number(1, d.day) : r.number(2, d.day);
  return day && r.literal(" ") && r.time_of_day(d.hour, d.minute, d.second) && r.literal(" ") &&
         r.number(4, d.year) && r.at_end();
}

// An HTTP-date (RFC 9110 section 5.6.7) as Unix milliseconds; nullopt when it is none, or names
// a day or time that does not exist.
std::optional<EpochMillis> http_date(std::string_view text, EpochMillis now) {
  namespace chrono = std::chrono;
  const auto today = chrono::year_month_day(chrono::floor<chrono::days>(
      chrono::sys_time<chrono::milliseconds>(chrono::milliseconds(now))));
  DateParts d;
  if (!read_imf_fixdate(text, d) && !read_rfc850_date(text, static_cast<int>(today.year()), d) &&
      !read_asctime_date(text, d)) {
    return std::nullopt;
  }
  const chrono::year_month_day date(chrono::year(d.year),
                                    chrono::month(static_cast<unsigned>(d.month + 1)),
                                    chrono::day(static_cast<unsigned>(d.day)));
  // Second 60 is a leap second's.
  if (!date.ok() || d.hour > 23 || d.minute > 59 || d.second > 60) return std::nullopt;
  const auto at = chrono::sys_days(date) + chrono::hours(d.hour) + chrono::minutes(d.minute) +
                  chrono::seconds(d.second);
  return chrono::duration_cast<chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace

std::optional<double> retry_after_seconds(std::string_view value, EpochMillis now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  // delay-seconds is digits only: no sign, fraction, exponent, "inf" or "nan", so that no value
  // a server sends can make the wait negative or endless.
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    // More seconds than 64 bits hold is still a wait, the longest one (the caller caps it).
    if (ec == std::errc::result_out_of_range) return static_cast<double>(std::numeric_limits<std::int64_t>::max());
    if (ec != std::errc{}) return std::nullopt;
    return static_cast<double>(seconds);
  }
  // Without the time of the reply, a date cannot be turned into a wait.
  if (now <= 0) return std::nullopt;
  const auto at = http_date(value, now);
  if (!at) return std::nullopt;
  return std::max(0.0, static_cast<double>(*at - now) / 1000.0);
}

std::string summarize_operation_outcome(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.c_str(), body.size());
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
  d.retry_after_seconds = retry_after_seconds(reply->retry_after, context.now);
  const bool token_refused = status == 401 && context.bearer_token;
  const bool transient = transient_status(status) || token_refused;
  d.outcome = transient ? Outcome::kRetry : Outcome::kDead;
  return d;
}

double backoff_seconds(int attempts, const config::RetryConfig& retry, double random01,
                       std::optional<double> retry_after, double at_least) {
  const double exponent = std::min(attempts, 30);
  const double ceiling = std::min(retry.max_seconds, retry.initial_seconds * std::pow(2.0, exponent));
  double delay = std::max({0.01, ceiling * random01, std::min(at_least, kMostRetryAfterSeconds)});
  if (retry_after) delay = std::max(delay, std::min(*retry_after, kMostRetryAfterSeconds));
  return delay;
}

}  // namespace helsebro::forward
