#include "gateway/forward/url.h"

#include <gtest/gtest.h>

namespace helsebro::forward {
namespace {

TEST(ParseUrl, ReadsHostPortAndPath) {
  auto url = parse_url("http://127.0.0.1:8090/fhir/");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8090);
  EXPECT_EQ(url->path, "/fhir");
}

TEST(ParseUrl, DefaultsPortByScheme) {
  EXPECT_EQ(parse_url("https://fhir.example.no/r4")->port, 443);
  EXPECT_EQ(parse_url("http://fhir.example.no")->port, 80);
  EXPECT_EQ(parse_url("http://fhir.example.no")->path, "/");
}

TEST(ParseUrl, ReadsBracketedIpv6) {
  auto url = parse_url("http://[::1]:9000/fhir");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
}

TEST(ParseUrl, RefusesWhatItCannotUse) {
  EXPECT_FALSE(parse_url("ftp://host/x"));
  EXPECT_FALSE(parse_url("http://"));
  EXPECT_FALSE(parse_url("http://host:99999/"));
  EXPECT_FALSE(parse_url("http://user:pw@host/"));
  EXPECT_FALSE(parse_url("host:80/fhir"));
}

}  // namespace
}  // namespace helsebro::forward
