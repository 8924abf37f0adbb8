#include "gateway/forward/token_request.h"

#include <gtest/gtest.h>

namespace helsebro::forward {
namespace {

TEST(FormUrlencode, KeepsUnreservedEncodesTheRest) {
  EXPECT_EQ(form_urlencode("AZaz09-._*"), "AZaz09-._*");
  EXPECT_EQ(form_urlencode("a b"), "a+b");
  EXPECT_EQ(form_urlencode("a+b&c=d/e:f%"), "a%2Bb%26c%3Dd%2Fe%3Af%25");
  EXPECT_EQ(form_urlencode("æ"), "%C3%A6");
  EXPECT_EQ(form_urlencode(""), "");
}

TEST(FormEncode, JoinsPairsInOrder) {
  EXPECT_EQ(form_encode({{"grant_type", "client_credentials"}, {"scope", "system/*.write openid"}}),
            "grant_type=client_credentials&scope=system%2F*.write+openid");
  EXPECT_EQ(form_encode({}), "");
}

TEST(BasicAuthorization, FormEncodesIdAndSecretBeforeBase64) {
  // RFC 6749 §2.3.1: "client%3Aid:s%C3%A6cret+1" in base64.
  EXPECT_EQ(basic_authorization("client:id", "sæcret 1"),
            "Basic Y2xpZW50JTNBaWQ6cyVDMyVBNmNyZXQrMQ==");
  EXPECT_EQ(basic_authorization("gw", "pw"), "Basic Z3c6cHc=");
}

TEST(ParseTokenResponse, ReadsTheTokenAndItsLifetime) {
  auto grant =
      parse_token_response(R"({"access_token":"abc.def","token_type":"bearer","expires_in":3600})");
  ASSERT_TRUE(grant) << grant.error().detail;
  EXPECT_EQ(grant->access_token, "abc.def");
  ASSERT_TRUE(grant->expires_in_seconds);
  EXPECT_DOUBLE_EQ(*grant->expires_in_seconds, 3600);
  auto no_expiry = parse_token_response(R"({"access_token":"x","token_type":"Bearer"})");
  ASSERT_TRUE(no_expiry);
  EXPECT_FALSE(no_expiry->expires_in_seconds);
}

TEST(ParseTokenResponse, RefusesWhatIsNotABearerToken) {
  for (const char* body :
       {"", "[]", "{\"token_type\":\"Bearer\"}", R"({"access_token":"","token_type":"Bearer"})",
        R"({"access_token":"x","token_type":"mac"})", R"({"access_token":"x"})",
        R"({"access_token":"x","token_type":"Bearer","expires_in":"soon"})"}) {
    auto grant = parse_token_response(body);
    ASSERT_FALSE(grant) << body;
    EXPECT_EQ(grant.error().code, Errc::kUpstreamTransient);
  }
}

// The token goes into a request header: one too long for it, or with a character it cannot
// carry (a line break would start a header of the token endpoint's choosing), is refused.
TEST(ParseTokenResponse, RefusesATokenNoRequestHeaderCanCarry) {
  auto with_token = [](const std::string& token) {
    return parse_token_response(R"({"access_token":")" + token + R"(","token_type":"Bearer"})");
  };
  EXPECT_TRUE(with_token(std::string(kMaxAccessTokenBytes, 'a')));
  auto long_one = with_token(std::string(70000, 'a'));
  ASSERT_FALSE(long_one);
  EXPECT_EQ(long_one.error().code, Errc::kUpstreamTransient);
  EXPECT_NE(long_one.error().detail.find("70000 bytes; at most 16384"), std::string::npos)
      << long_one.error().detail;
  for (const std::string token : {"abc\\r\\nX-Evil: 1", "a b", "a\\tb", "\\u00e6"}) {
    auto refused = with_token(token);
    ASSERT_FALSE(refused) << token;
    EXPECT_NE(refused.error().detail.find("a character a request header cannot carry"), std::string::npos)
        << token << ": " << refused.error().detail;
  }
}

TEST(DescribeTokenError, SaysTheStatusAndTheServersErrorCode) {
  EXPECT_EQ(
      describe_token_error(
          400, R"({"error":"invalid_client","error_description":"Client authentication failed"})"),
      "HTTP 400 invalid_client: Client authentication failed");
  EXPECT_EQ(describe_token_error(401, R"({"error":"invalid_client"})"), "HTTP 401 invalid_client");
  EXPECT_EQ(describe_token_error(502, "<html>Bad gateway</html>"), "HTTP 502");
  const std::string long_description(500, 'x');
  EXPECT_LT(
      describe_token_error(400, R"({"error":"e","error_description":")" + long_description + "\"}")
          .size(),
      260u);
  EXPECT_EQ(describe_token_error(400, "{\"error\":\"bad\\nline\"}"), "HTTP 400 bad?line");
}

TEST(ParseTokenResponse, ADeeplyNestedAnswerIsAnErrorNotACrash) {
  const std::string deep(1'000'000, '[');
  EXPECT_FALSE(parse_token_response(deep));
  EXPECT_FALSE(describe_token_error(400, deep).empty());
}

}  // namespace
}  // namespace helsebro::forward
