#include "gateway/observe/log.h"

#include <gtest/gtest.h>

#include <cmath>

namespace helsebro::observe {
namespace {

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(Log, JsonStringsAreEscaped) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string("1\n2\r3\t4"), "\"1\\n2\\r3\\t4\"");
  EXPECT_EQ(json_string(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(json_string("\xC3\xA6"), "\"\xC3\xA6\"");  // UTF-8 passes through
}

// A Latin-1 file name, a cut-off sequence, an overlong form, a surrogate: each byte that is not
// part of well-formed UTF-8 becomes U+FFFD, so the line stays JSON a collector can read.
TEST(Log, BytesThatAreNotUtf8BecomeTheReplacementCharacter) {
  EXPECT_EQ(json_string("epikrise_\xF8.xml"), "\"epikrise_\\ufffd.xml\"");
  EXPECT_EQ(json_string("\xC3"), "\"\\ufffd\"");                 // cut off
  EXPECT_EQ(json_string("\xC0\xAF"), "\"\\ufffd\\ufffd\"");     // overlong '/'
  EXPECT_EQ(json_string("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // a surrogate
  EXPECT_EQ(json_string("\xF4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // past U+10FFFF
  EXPECT_EQ(json_string("\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xB8"), "\"\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xB8\"");
}

TEST(Log, ParsesLevels) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(parse_log_level("debug", level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(parse_log_level("error", level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_TRUE(parse_log_level("warn", level));
  EXPECT_EQ(level, LogLevel::kWarn);
  EXPECT_FALSE(parse_log_level("verbose", level));
  EXPECT_FALSE(parse_log_level("INFO", level));
  EXPECT_EQ(level, LogLevel::kWarn);
}

TEST(Log, WritesOneJsonObjectPerLine) {
  set_log_level(LogLevel::kInfo);
  ::testing::internal::CaptureStderr();
  log_info("intake.accepted", {{"id", "0190-abc"}, {"bytes", std::int64_t{512}}, {"seconds", 0.25},
                               {"duplicate", false}, {"note", std::string("a\"b")}});
  log_debug("hidden.event");
  const std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // one line: the debug event is filtered
  EXPECT_EQ(out.rfind("{\"ts\":\"", 0), 0u) << out;
  EXPECT_NE(out.find("\"level\":\"info\",\"event\":\"intake.accepted\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"id\":\"0190-abc\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"bytes\":512"), std::string::npos) << out;
  EXPECT_NE(out.find("\"seconds\":0.25"), std::string::npos) << out;
  EXPECT_NE(out.find("\"duplicate\":false"), std::string::npos) << out;
  EXPECT_NE(out.find("\"note\":\"a\\\"b\""), std::string::npos) << out;
  EXPECT_NE(out.find("Z\",\"level\""), std::string::npos) << out;  // UTC timestamp
}

TEST(Log, NumbersKeepTheirPrecisionAndStayJson) {
  set_log_level(LogLevel::kInfo);
  ::testing::internal::CaptureStderr();
  log_info("numbers", {{"small", 0.0000125}, {"tiny", 1e-7}, {"nan", std::nan("")},
                       {"big", std::int64_t{9007199254740993}}, {"count", std::uint64_t{3}}});
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("\"small\":1.25e-05"), std::string::npos) << out;
  EXPECT_NE(out.find("\"tiny\":1e-07"), std::string::npos) << out;
  EXPECT_NE(out.find("\"nan\":null"), std::string::npos) << out;
  EXPECT_NE(out.find("\"big\":9007199254740993"), std::string::npos) << out;
  EXPECT_NE(out.find("\"count\":3"), std::string::npos) << out;
}

TEST(Log, LevelFilters) {
  set_log_level(LogLevel::kError);
  ::testing::internal::CaptureStderr();
  log_warn("quiet");
  log_error("loud");
  const std::string out = ::testing::internal::GetCapturedStderr();
  set_log_level(LogLevel::kInfo);
  EXPECT_EQ(out.find("quiet"), std::string::npos) << out;
  EXPECT_NE(out.find("\"level\":\"error\",\"event\":\"loud\""), std::string::npos) << out;
}

}  // namespace
}  // namespace helsebro::observe
