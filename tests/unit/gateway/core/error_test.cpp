#include "gateway/core/error.h"

#include <gtest/gtest.h>

#include <set>

#include "gateway/core/result.h"

namespace helsebro {
namespace {

TEST(Error, MessageHasSummaryLocationAndDetail) {
  const Error e{Errc::kRequiredFieldMissing, "patient identifier", Location{"PID", 1, 3}};
  EXPECT_EQ(e.message(), "required field missing (PID-3): patient identifier");
}

TEST(Error, MessageWithoutLocationOrDetail) {
  EXPECT_EQ(Error(Errc::kInvalidValue, "'x' is not a number").message(),
            "invalid value: 'x' is not a number");
  EXPECT_EQ(Error(Errc::kNoMapping, "").message(), "no mapping for this message type");
  Location at;
  at.byte_offset = 17;
  at.has_offset = true;
  EXPECT_EQ(Error(Errc::kInvalidCharacterData, "invalid UTF-8 sequence", at).message(),
            "bytes do not match the character set (at byte 17): invalid UTF-8 sequence");
}

TEST(Error, LocationText) {
  EXPECT_EQ(to_string(Location{}), "");
  EXPECT_EQ(to_string(Location{"PID"}), "PID");
  EXPECT_EQ(to_string(Location{"PID", 1, 3}), "PID-3");
  EXPECT_EQ(to_string(Location{"OBX", 2, 5, 3, 1, 2}), "OBX[2]-5[3].1.2");
  EXPECT_EQ(to_string(Location{"PID", 1, 3, 1, 4}), "PID-3.4");
  Location both{"MSH", 1, 2};
  both.byte_offset = 4;
  both.has_offset = true;
  EXPECT_EQ(to_string(both), "MSH-2 at byte 4");
  Location offset_zero;
  offset_zero.has_offset = true;
  EXPECT_EQ(to_string(offset_zero), "at byte 0");
}

TEST(Error, EveryCodeHasAUniqueNameAndHl7Facts) {
  std::set<std::string_view> names;
  for (int i = 0; i < static_cast<int>(Errc::kCount); ++i) {
    const ErrcInfo& e = info(static_cast<Errc>(i));
    EXPECT_FALSE(e.name.empty()) << i;
    EXPECT_FALSE(e.hl7_code.empty()) << i;
    EXPECT_FALSE(e.hl7_text.empty()) << i;
    EXPECT_FALSE(e.summary.empty()) << i;
    EXPECT_TRUE(e.ack_code == 'A' || e.ack_code == 'E' || e.ack_code == 'R') << i;
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
  }
  EXPECT_EQ(info(Errc::kOk).name, "ok");
  EXPECT_EQ(info(Errc::kRequiredFieldMissing).hl7_code, "101");
  EXPECT_EQ(info(Errc::kRequiredFieldMissing).hl7_text, "Required field missing");
  EXPECT_EQ(info(Errc::kNotHl7).ack_code, 'R');
  EXPECT_EQ(info(Errc::kJournalWriteFailed).name, "journal_write_failed");
  EXPECT_EQ(info(Errc::kUpstreamPermanent).name, "upstream_permanent");
  EXPECT_THROW(info(Errc::kCount), std::out_of_range);
}

TEST(Error, ResultCarriesValueOrError) {
  Result<int> ok = 42;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 42);
  Result<int> bad = Error{Errc::kInvalidValue, "nope"};
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kInvalidValue);
  try {
    (void)bad.value();
    FAIL() << "value() of a failed Result must throw";
  } catch (const ResultError& e) {
    EXPECT_EQ(e.error().code, Errc::kInvalidValue);
    EXPECT_STREQ(e.what(), "invalid value: nope");
  }
  Result<void> done;
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace helsebro
