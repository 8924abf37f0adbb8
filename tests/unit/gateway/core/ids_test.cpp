#include "gateway/core/ids.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>

namespace helsebro {
namespace {

const char* kDnsNamespace = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

TEST(Ids, ParsesAndFormatsUuids) {
  Uuid u{};
  ASSERT_TRUE(parse_uuid(kDnsNamespace, u));
  EXPECT_EQ(u[0], 0x6b);
  EXPECT_EQ(u[15], 0xc8);
  EXPECT_EQ(format_uuid(u), kDnsNamespace);
  ASSERT_TRUE(parse_uuid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", u));
  EXPECT_EQ(format_uuid(u), kDnsNamespace);  // formatted lower-case
}

TEST(Ids, RefusesMalformedUuids) {
  Uuid u{};
  EXPECT_FALSE(parse_uuid("", u));
  EXPECT_FALSE(parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c", u));    // short
  EXPECT_FALSE(parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8a", u));  // long
  EXPECT_FALSE(parse_uuid("6ba7b8109dad-11d1-80b4-00c04fd430c8a", u));   // hyphen missing
  EXPECT_FALSE(parse_uuid("6ba7b810-9dad-11d1-80b4_00c04fd430c8", u));   // wrong separator
  EXPECT_FALSE(parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430cg", u));   // not hex
  EXPECT_FALSE(parse_uuid("{ba7b810-9dad-11d1-80b4-00c04fd430c8", u));
}

TEST(Ids, UuidV5MatchesTheRfcExample) {
  Uuid dns{};
  ASSERT_TRUE(parse_uuid(kDnsNamespace, dns));
  EXPECT_EQ(uuid_v5(dns, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

TEST(Ids, UuidV5IsDeterministic) {
  const std::string a = uuid_v5(kResourceNamespace, "Patient|01018012371");
  EXPECT_EQ(a, uuid_v5(kResourceNamespace, "Patient|01018012371"));
  EXPECT_NE(a, uuid_v5(kResourceNamespace, "Patient|01018012452"));
  EXPECT_EQ(a[14], '5');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
}

TEST(Ids, ResourceNamespaceIsFixed) {
  EXPECT_EQ(format_uuid(kResourceNamespace), "5b0f4c1e-8a2d-4f57-9c43-1d6e2a7b9e10");
}

TEST(Ids, UuidV7CarriesVersionVariantAndTime) {
  const std::int64_t ms = 0x0123456789AB;
  const std::string id = uuid_v7(ms);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id.substr(0, 13), "01234567-89ab");
  EXPECT_EQ(id[14], '7');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  Uuid parsed{};
  EXPECT_TRUE(parse_uuid(id, parsed));
}

TEST(Ids, UuidV7OfARealTimeSortsByTime) {
  const std::int64_t t = 1705314600123;  // 2024-01-15T10:30:00.123Z
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%012llx", static_cast<unsigned long long>(t));
  const std::string id = uuid_v7(t);
  EXPECT_EQ(id.substr(0, 8) + id.substr(9, 4), prefix);
  EXPECT_LT(uuid_v7(t), uuid_v7(t + 1));
  EXPECT_LT(uuid_v7(t), uuid_v7(t + 1000));
}

TEST(Ids, UuidV7IsUniqueWithinOneMillisecond) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(uuid_v7(42));
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(Ids, Sha256Hex) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string("a\0b", 3)).size(), 64u);
  EXPECT_NE(sha256_hex(std::string("a\0b", 3)), sha256_hex("a"));
}

}  // namespace
}  // namespace helsebro
