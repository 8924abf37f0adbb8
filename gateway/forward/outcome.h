#pragma once
// What a reply from the shared record means for a message: delivered, retry later, or give up —
// and how long to wait before the next attempt. Pure functions, unit-tested on their own.

#include <optional>
#include <string>
#include <string_view>

#include "gateway/config/config.h"
#include "gateway/core/message.h"
#include "gateway/core/result.h"
#include "gateway/forward/http_client.h"

namespace helsebro::forward {

enum class Outcome { kDelivered, kRetry, kDead };

struct Decision {
  Outcome outcome = Outcome::kRetry;
  std::string reason;        // kept in the journal: status and the server's own words
  std::string label;         // bounded metric label: "unreachable", "http_503", …
  std::optional<double> retry_after_seconds;
  /// Nothing reached the target: no token to send it with, or a request that could not be built.
  /// Neither the target's success nor its failure (CircuitBreaker::unused).
  bool nothing_sent = false;
  /// Sent, and no answer came whole (a timeout, an answer cut off): the server may still be
  /// working on it, so it is not sent again before fhir.timeoutSeconds.
  bool maybe_in_progress = false;
};

/// What the forwarder knows about an attempt besides the reply.
struct AttemptContext {
  std::string_view failure_label = "unreachable";  // the metric label when no reply came
  bool bearer_token = false;  // a token was sent: a 401 is the token's trouble, not the message's
  EpochMillis now = 0;  // when the reply came, to read a Retry-After date; 0: a date is ignored
};

/// Delivered on 2xx; retried on no reply, 408, 429, 5xx, and on 401 when a bearer token was sent
/// (it was already renewed once); dead on any other status. A 2xx whose transaction-response
/// lists an entry with a failing status is not delivered: the worst entry decides, as its status
/// would (label "entry_http_422", reason naming the entry and its OperationOutcome).
Decision classify(const Result<HttpReply>& reply, const AttemptContext& context = {});

/// A Retry-After value (RFC 9110 section 10.2.3) as seconds from `now`: delay-seconds, or an
/// HTTP-date in any of its three forms (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete
/// RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994"). A date in
/// the past is 0 seconds. nullopt when the value is neither, or for a date when `now` is 0.
std::optional<double> retry_after_seconds(std::string_view value, EpochMillis now);

/// Exponential backoff with full jitter: uniform in [0, min(max, initial·2^attempts)], never
/// below 10 ms, and never sooner than the server's Retry-After, which is heeded up to a day
/// (kMostRetryAfterSeconds: a bigger value, a year or the largest number, would park the message
/// for good and overflow the time of its next attempt), nor sooner than `at_least` (after a
/// request the server may still be working on: the request timeout). `random01` is in [0, 1).
inline constexpr double kMostRetryAfterSeconds = 24 * 60 * 60;
double backoff_seconds(int attempts, const config::RetryConfig& retry, double random01,
                       std::optional<double> retry_after, double at_least = 0);

/// The readable part of an OperationOutcome (issue severity, code, diagnostics/details), short.
std::string summarize_operation_outcome(const std::string& body);

}  // namespace helsebro::forward
