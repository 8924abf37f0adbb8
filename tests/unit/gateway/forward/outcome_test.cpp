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

TEST(Classify, ReadsRetryAfterSeconds) {
  EXPECT_EQ(classify(reply(503, "", "7")).retry_after_seconds, 7.0);
  EXPECT_FALSE(classify(reply(503, "", "Wed, 21 Oct 2015 07:28:00 GMT")).retry_after_seconds);
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

}  // namespace
}  // namespace helsebro::forward
