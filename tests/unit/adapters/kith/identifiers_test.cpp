#include "adapters/kith/identifiers.h"

#include <gtest/gtest.h>

namespace helsebro::kith {
namespace {

constexpr auto kFnr = NationalIdKind::kFodselsnummer;
constexpr auto kDnr = NationalIdKind::kDNummer;

TEST(KithIdentifiers, AcceptsFodselsnummerWithRightControlDigits) {
  EXPECT_TRUE(is_valid_national_id("15038512363", kFnr));
  EXPECT_TRUE(is_valid_national_id("01010123476", kFnr));
  EXPECT_TRUE(is_valid_national_id("31129987688", kFnr));
}

TEST(KithIdentifiers, RefusesAWrongControlDigit) {
  EXPECT_FALSE(is_valid_national_id("15038512364", kFnr));  // second control digit
  EXPECT_FALSE(is_valid_national_id("15038512353", kFnr));  // first control digit
}

TEST(KithIdentifiers, RefusesANumberWhoseFirstControlDigitWouldBeTen) {
  // 150385106: the first weighted sum leaves remainder 1, so no control digit exists.
  for (int k = 0; k < 100; ++k) {
    std::string id = "150385106";
    id.push_back(static_cast<char>('0' + k / 10));
    id.push_back(static_cast<char>('0' + k % 10));
    EXPECT_FALSE(is_valid_national_id(id, kFnr)) << id;
  }
}

TEST(KithIdentifiers, RefusesWrongLengthsAndNonDigits) {
  EXPECT_FALSE(is_valid_national_id("1503851236", kFnr));
  EXPECT_FALSE(is_valid_national_id("150385123630", kFnr));
  EXPECT_FALSE(is_valid_national_id("1503851236x", kFnr));
  EXPECT_FALSE(is_valid_national_id(" 15038512363", kFnr));
  EXPECT_FALSE(is_valid_national_id("", kFnr));
}

TEST(KithIdentifiers, TellsDNummerFromFodselsnummerByTheDay) {
  EXPECT_TRUE(is_valid_national_id("55038512357", kDnr));
  EXPECT_FALSE(is_valid_national_id("55038512357", kFnr));
  EXPECT_FALSE(is_valid_national_id("15038512363", kDnr));
}

TEST(KithIdentifiers, RecognisesUuidsInEitherCase) {
  EXPECT_TRUE(is_uuid("6f1c2a3e-8d4b-4c1f-9a2e-0b5d7c8e9f10"));
  EXPECT_TRUE(is_uuid("C829A5F9-5BBF-4376-A37F-ADE4B399916C"));
  EXPECT_FALSE(is_uuid("HS20020205163423"));
  EXPECT_FALSE(is_uuid("6f1c2a3e8d4b4c1f9a2e0b5d7c8e9f10"));
  EXPECT_FALSE(is_uuid("6f1c2a3e-8d4b-4c1f-9a2e-0b5d7c8e9f1g"));
  EXPECT_FALSE(is_uuid(""));
}

TEST(KithIdentifiers, TrimsXmlWhitespaceOnly) {
  EXPECT_EQ(trim_xml_space("\n\t id \r\n"), "id");
  EXPECT_EQ(trim_xml_space(" \n "), "");
  EXPECT_EQ(trim_xml_space("a b"), "a b");
}

}  // namespace
}  // namespace helsebro::kith
