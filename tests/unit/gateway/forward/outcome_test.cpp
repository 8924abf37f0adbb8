#include "gateway/forward/outcome.h"

#include <gtest/gtest.h>

namespace helsebro::forward {
namespace {

Result<HttpReply> reply(int status, std::string body = {}, std::string retry_after = {}) {
  HttpReply r;
  r.status = status;
  r.body = std::move(body);
  r.retry_after = std::move(retry_after);
  return r;
}

TEST(Classify, TwoHundredsAreDelivered) {
  EXPECT_EQ(classify(reply(200)).outcome, Outcome::kDelivered);
  EXPECT_EQ(classify(reply(201)).outcome, Outcome::kDelivered);
}

TEST(Classify, ATransactionResponseIsReadEntryByEntry) {
  auto response = [](const std::string& entries) {
    return R"({"resourceType":"Bundle","type":"transaction-response","entry":[)" + entries + "]}";
  };
  const std::string created = R"({"response":{"status":"201 Created"}})";
  const std::string kept = R"({"response":{"status":"200 OK"}})";
  EXPECT_EQ(classify(reply(200, response(created + "," + kept))).outcome, Outcome::kDelivered);
  EXPECT_EQ(classify(reply(200, "not JSON")).outcome, Outcome::kDelivered);  // the status says it

  const std::string refused =
      R"({"response":{"status":"422 Unprocessable Entity","outcome":{"resourceType":"OperationOutcome",)"
      R"("issue":[{"severity":"error","diagnostics":"bad code","expression":["Observation.status"]}]}}})";
  const Decision dead = classify(reply(200, response(created + "," + refused)));
  EXPECT_EQ(dead.outcome, Outcome::kDead);
  EXPECT_EQ(dead.label, "entry_http_422");
  EXPECT_EQ(dead.reason, "HTTP 200, but entry 1 failed: 422 Unprocessable Entity: error: bad code at Observation.status");

  const std::string busy = R"({"response":{"status":"503 Service Unavailable"}})";
  const Decision retry = classify(reply(200, response(busy + "," + created)));
  EXPECT_EQ(retry.outcome, Outcome::kRetry);
  EXPECT_EQ(retry.label, "entry_http_503");
  EXPECT_EQ(retry.reason, "HTTP 200, but entry 0 failed: 503 Service Unavailable");
  // Refused for good outweighs a failure that may pass later, whichever comes first.
  EXPECT_EQ(classify(reply(200, response(busy + "," + refused))).outcome, Outcome::kDead);
  EXPECT_EQ(classify(reply(200, response(refused + "," + busy))).outcome, Outcome::kDead);
}

TEST(Classify, TransportFailuresAreRetried) {
  const Decision d = classify(Error{Errc::kUpstreamUnreachable, "connect refused"});
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  EXPECT_EQ(d.label, "unreachable");
  EXPECT_EQ(d.reason, "connect refused");
}

TEST(Classify, TransportFailuresCarryTheirLabel) {
  const Decision d = classify(Error{Errc::kUpstreamUnreachable, "TLS handshake with h:443: certificate verify failed"},
                              {"tls", false});
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  EXPECT_EQ(d.label, "tls");
  EXPECT_EQ(d.reason, "TLS handshake with h:443: certificate verify failed");
}

TEST(Classify, A401WithoutABearerTokenIsDead) {
  EXPECT_EQ(classify(reply(401)).outcome, Outcome::kDead);
  EXPECT_EQ(classify(reply(403), {"unreachable", true}).outcome, Outcome::kDead);
}

TEST(Classify, A401ForABearerTokenIsRetriedWithBackoff) {
  const Decision d = classify(reply(401), {"unreachable", true});
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  EXPECT_EQ(d.label, "http_401");
}

TEST(Classify, ServerErrorsTimeoutsAndTooManyRequestsAreRetried) {
  for (int status : {408, 429, 500, 502, 503, 504}) {
    EXPECT_EQ(classify(reply(status)).outcome, Outcome::kRetry) << status;
  }
}

TEST(Classify, OtherClientErrorsAreDeadWithTheServersReason) {
  const std::string outcome =
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid",)"
      R"("details":{"text":"Invalid value"},"expression":["Patient.gender"]}]})";
  const Decision d = classify(reply(422, outcome));
  EXPECT_EQ(d.outcome, Outcome::kDead);
  EXPECT_EQ(d.label, "http_422");
  EXPECT_EQ(d.reason, "HTTP 422: error: Invalid value at Patient.gender");
}

// Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date, as Unix milliseconds.
constexpr EpochMillis kExampleDate = 784'111'777'000;

TEST(RetryAfter, ReadsDelaySeconds) {
  EXPECT_EQ(retry_after_seconds("7", kExampleDate), 7.0);
  EXPECT_EQ(retry_after_seconds("0", kExampleDate), 0.0);
  EXPECT_EQ(retry_after_seconds(" 120 ", kExampleDate), 120.0);
  EXPECT_EQ(retry_after_seconds("7", 0), 7.0) << "seconds need no clock";
}

TEST(RetryAfter, ReadsAnImfFixdateAsSecondsFromNow) {
  EXPECT_EQ(retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", kExampleDate - 90'000), 90.0);
  EXPECT_EQ(retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", kExampleDate - 1'500), 1.5);
  EXPECT_EQ(retry_after_seconds("Mon, 07 Nov 1994 08:49:37 GMT", kExampleDate), 86'400.0);
  EXPECT_EQ(retry_after_seconds("Thu, 01 Jan 2026 00:00:00 GMT", 1'767'225'600'000 - 60'000), 60.0);
}

TEST(RetryAfter, ReadsTheObsoleteRfc850Date) {
  EXPECT_EQ(retry_after_seconds("Sunday, 06-Nov-94 08:49:37 GMT", kExampleDate - 30'000), 30.0);
  // A two-digit year more than 50 years ahead is the last century's.
  const EpochMillis in_2026 = 1'767'225'600'000;  // 2026-01-01
  EXPECT_EQ(retry_after_seconds("Thursday, 01-Jan-26 00:01:00 GMT", in_2026), 60.0);
  EXPECT_EQ(retry_after_seconds("Saturday, 01-Jan-77 00:00:00 GMT", in_2026), 0.0) << "1977";
}

TEST(RetryAfter, ReadsTheObsoleteAsctimeDate) {
  EXPECT_EQ(retry_after_seconds("Sun Nov  6 08:49:37 1994", kExampleDate - 45'000), 45.0);
  EXPECT_EQ(retry_after_seconds("Wed Nov 16 08:49:37 1994", kExampleDate), 10 * 86'400.0);
}

TEST(RetryAfter, ADateInThePastMeansNow) {
  EXPECT_EQ(retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", kExampleDate + 3'600'000), 0.0);
  EXPECT_EQ(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1'767'225'600'000), 0.0);
}

TEST(RetryAfter, IgnoresWhatIsNeitherSecondsNorADate) {
  for (const char* garbage :
       {"", "soon", "-5", "1.5", "1e3", "inf", "nan", "Sun, 06 Nov 1994 08:49:37",  // no zone
        "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 6 Nov 1994 08:49:37 GMT",            // one-digit day
        "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",  // no such day, hour
        "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", "2026-01-01T00:00:00Z"}) {
    EXPECT_FALSE(retry_after_seconds(garbage, kExampleDate)) << garbage;
  }
  EXPECT_FALSE(retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", 0)) << "no clock, no date";
}

TEST(Classify, ReadsRetryAfterSecondsAndDatesAtTheReplysTime) {
  EXPECT_EQ(classify(reply(503, "", "7")).retry_after_seconds, 7.0);
  const AttemptContext at_example{"unreachable", false, kExampleDate - 20'000};
  EXPECT_EQ(
      classify(reply(503, "", "Sun, 06 Nov 1994 08:49:37 GMT"), at_example).retry_after_seconds,
      20.0);
  EXPECT_EQ(classify(reply(429, "", "Sun Nov  6 08:49:37 1994"), at_example).retry_after_seconds,
            20.0);
  EXPECT_FALSE(classify(reply(503, "", "whenever"), at_example).retry_after_seconds);
  EXPECT_FALSE(classify(reply(503)).retry_after_seconds);
}

TEST(Backoff, GrowsExponentiallyUpToTheMaximum) {
  const config::RetryConfig retry{1, 60};
  EXPECT_DOUBLE_EQ(backoff_seconds(0, retry, 0.999999, std::nullopt), 0.999999);
  EXPECT_NEAR(backoff_seconds(3, retry, 0.999999, std::nullopt), 8, 1e-4);
  EXPECT_NEAR(backoff_seconds(20, retry, 0.999999, std::nullopt), 60, 1e-4);
}

TEST(Backoff, FullJitterNeverGoesBelowTenMilliseconds) {
  EXPECT_DOUBLE_EQ(backoff_seconds(5, {1, 60}, 0.0, std::nullopt), 0.01);
}

TEST(Backoff, HonoursRetryAfter) {
  EXPECT_DOUBLE_EQ(backoff_seconds(0, {1, 60}, 0.5, 30.0), 30.0);
}

// After a request the server may still be working on, the next try waits at least the request
// timeout, however small the jitter came out; a Retry-After or a longer backoff still wins.
TEST(Backoff, WaitsAtLeastWhatItIsAskedTo) {
  EXPECT_DOUBLE_EQ(backoff_seconds(0, {1, 60}, 0.0, std::nullopt, 30.0), 30.0);
  EXPECT_DOUBLE_EQ(backoff_seconds(0, {1, 60}, 0.0, 45.0, 30.0), 45.0);
  EXPECT_DOUBLE_EQ(backoff_seconds(10, {1, 60}, 0.999999, std::nullopt, 30.0), 59.99994);
  EXPECT_DOUBLE_EQ(backoff_seconds(0, {1, 60}, 0.0, std::nullopt, 1e9), kMostRetryAfterSeconds);
}

// A server asking for a year, or for the largest number there is, gets a day: the time of the
// next attempt must stay a time, and the message must not be parked for good.
TEST(Backoff, RetryAfterIsHeededUpToADay) {
  EXPECT_DOUBLE_EQ(backoff_seconds(0, {1, 60}, 0.5, 7200.0), 7200.0);
  EXPECT_DOUBLE_EQ(backoff_seconds(0, {1, 60}, 0.5, 31'536'000.0), kMostRetryAfterSeconds);
  const auto huge = retry_after_seconds("9223372036854775807", 0);
  ASSERT_TRUE(huge);
  EXPECT_DOUBLE_EQ(backoff_seconds(0, {1, 60}, 0.5, huge), kMostRetryAfterSeconds);
  // Past what 64 bits hold: still a wait, not an unreadable header (which would mean 10 ms).
  const auto huger = retry_after_seconds("99999999999999999999999", 0);
  ASSERT_TRUE(huger);
  EXPECT_DOUBLE_EQ(backoff_seconds(0, {1, 60}, 0.5, huger), kMostRetryAfterSeconds);
}

TEST(Backoff, AnUnreadableRetryAfterLeavesTheNormalBackoff) {
  const auto garbage = retry_after_seconds("tomorrow-ish", kExampleDate);
  EXPECT_DOUBLE_EQ(backoff_seconds(3, {1, 60}, 0.5, garbage), 4.0);
  const auto past = retry_after_seconds("Sat, 05 Nov 1994 08:49:37 GMT", kExampleDate);
  EXPECT_DOUBLE_EQ(backoff_seconds(3, {1, 60}, 0.5, past), 4.0) << "a past date waits no longer";
}

// A FHIR server's answer nested a million deep is read without recursion: the gateway is not
// brought down by what a peer sends.
TEST(Classify, ADeeplyNestedAnswerIsReadWithoutExhaustingTheStack) {
  const std::string deep(1'000'000, '[');
  EXPECT_EQ(classify(reply(200, deep)).outcome, Outcome::kDelivered);
  EXPECT_EQ(classify(reply(422, deep)).outcome, Outcome::kDead);
  const std::string nested = std::string(100'000, '[') + std::string(100'000, ']');
  EXPECT_EQ(classify(reply(200, nested)).outcome, Outcome::kDelivered);
  EXPECT_FALSE(summarize_operation_outcome(nested).empty());
}

}  // namespace
}  // namespace helsebro::forward
