#include "adapters/hl7v2/charset.h"

#include <gtest/gtest.h>

namespace helsebro::hl7v2 {
namespace {

TEST(Charset, MapsMsh18Names) {
  struct Case {
    const char* msh18;
    Charset expected;
  };
  for (const Case& c : {Case{"", Charset::kAscii}, Case{"ASCII", Charset::kAscii},
                        Case{"8859/1", Charset::kLatin1}, Case{"ISO-8859-1", Charset::kLatin1},
                        Case{"iso-8859-1", Charset::kLatin1}, Case{"ISO_IR 100", Charset::kLatin1},
                        Case{"8859/15", Charset::kLatin9}, Case{"ISO-8859-15", Charset::kLatin9},
                        Case{"UNICODE UTF-8", Charset::kUtf8}, Case{"UTF-8", Charset::kUtf8},
                        Case{"unicode utf-8", Charset::kUtf8}, Case{"UNICODE", Charset::kUtf8}}) {
    auto charset = charset_from_msh18(c.msh18);
    ASSERT_TRUE(charset) << c.msh18;
    EXPECT_EQ(*charset, c.expected) << c.msh18;
  }
}

TEST(Charset, RefusesUnknownNames) {
  auto charset = charset_from_msh18("SHIFT-JIS");
  ASSERT_FALSE(charset);
  EXPECT_EQ(charset.error().code, Errc::kUnsupportedCharset);
  EXPECT_NE(charset.error().detail.find("SHIFT-JIS"), std::string::npos);
  EXPECT_EQ(charset.error().where.field, 18u);
}

TEST(Charset, NamesAreTheCanonicalMsh18Values) {
  EXPECT_EQ(charset_name(Charset::kAscii), "ASCII");
  EXPECT_EQ(charset_name(Charset::kLatin1), "8859/1");
  EXPECT_EQ(charset_name(Charset::kLatin9), "8859/15");
  EXPECT_EQ(charset_name(Charset::kUtf8), "UNICODE UTF-8");
  for (Charset c : {Charset::kAscii, Charset::kLatin1, Charset::kLatin9, Charset::kUtf8}) {
    auto back = charset_from_msh18(charset_name(c));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
  }
}

TEST(Charset, AppendsUtf8OfEveryLength) {
  std::string out;
  append_utf8(out, U'A');
  append_utf8(out, U'\u00E6');
  append_utf8(out, U'\u20AC');
  append_utf8(out, U'\U0001F600');
  EXPECT_EQ(out, "A\xC3\xA6\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(Charset, FindsInvalidUtf8) {
  EXPECT_EQ(find_invalid_utf8(""), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("abc \xC3\xA6 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xE6" "c"), 2u);        // Latin-1 byte
  EXPECT_EQ(find_invalid_utf8("ab\xC0\x80"), 2u);        // overlong NUL
  EXPECT_EQ(find_invalid_utf8("\xED\xA0\x80"), 0u);      // UTF-16 surrogate
  EXPECT_EQ(find_invalid_utf8("x\xE2\x82"), 1u);         // truncated
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\x80"), 0u);              // stray continuation byte
}

TEST(Charset, FindsNonAscii) {
  EXPECT_EQ(find_non_ascii("plain\r\n"), std::string_view::npos);
  EXPECT_EQ(find_non_ascii("abc\xC3\xA6"), 3u);
}

TEST(Charset, DecodesLatin1AndLatin9) {
  auto latin1 = to_utf8("\xE6\xF8\xE5 \xC6\xD8\xC5 \xA4", Charset::kLatin1);
  ASSERT_TRUE(latin1);
  EXPECT_EQ(*latin1, "\xC3\xA6\xC3\xB8\xC3\xA5 \xC3\x86\xC3\x98\xC3\x85 \xC2\xA4");
  auto latin9 = to_utf8("\xA4\xA6\xBD\xE6", Charset::kLatin9);
  ASSERT_TRUE(latin9);
  EXPECT_EQ(*latin9, "\xE2\x82\xAC\xC5\xA0\xC5\x93\xC3\xA6");  // € Š œ æ
}

TEST(Charset, AsciiAndUtf8AreValidatedWithTheOffset) {
  auto ascii = to_utf8("abc\xE6", Charset::kAscii);
  ASSERT_FALSE(ascii);
  EXPECT_EQ(ascii.error().code, Errc::kInvalidCharacterData);
  EXPECT_TRUE(ascii.error().where.has_offset);
  EXPECT_EQ(ascii.error().where.byte_offset, 3u);

  auto utf8 = to_utf8("abcd\xE6xyz", Charset::kUtf8);
  ASSERT_FALSE(utf8);
  EXPECT_EQ(utf8.error().code, Errc::kInvalidCharacterData);
  EXPECT_EQ(utf8.error().where.byte_offset, 4u);

  auto ok = to_utf8("\xC3\xA6", Charset::kUtf8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "\xC3\xA6");
}

TEST(Charset, EncodesRepliesWithReplacementForUnmappableCharacters) {
  const std::string text = "a\xC3\xA6\xC3\xB8\xC3\xA5\xE2\x82\xAC\xC2\xA4";  // aæøå€¤
  EXPECT_EQ(from_utf8(text, Charset::kUtf8), text);
  EXPECT_EQ(from_utf8(text, Charset::kAscii), "a?????");
  EXPECT_EQ(from_utf8(text, Charset::kLatin1), "a\xE6\xF8\xE5?\xA4");
  EXPECT_EQ(from_utf8(text, Charset::kLatin9), "a\xE6\xF8\xE5\xA4?");
  EXPECT_EQ(from_utf8("x\xFFy", Charset::kLatin1), "x?y");  // invalid input byte
}

TEST(Charset, Latin1RoundTrips) {
  std::string all;
  for (int b = 0x20; b < 0x100; ++b) all.push_back(static_cast<char>(b));
  auto utf8 = to_utf8(all, Charset::kLatin1);
  ASSERT_TRUE(utf8);
  EXPECT_EQ(find_invalid_utf8(*utf8), std::string_view::npos);
  EXPECT_EQ(from_utf8(*utf8, Charset::kLatin1), all);
}

}  // namespace
}  // namespace helsebro::hl7v2
