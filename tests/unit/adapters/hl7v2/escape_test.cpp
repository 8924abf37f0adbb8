#include "adapters/hl7v2/escape.h"

#include <gtest/gtest.h>

namespace helsebro::hl7v2 {
namespace {

const Delimiters kDefault{};

std::string decode(std::string_view raw, std::string_view charset = {}) {
  return decode_escapes(raw, kDefault, charset);
}

TEST(Escape, TextWithoutEscapesIsUnchanged) {
  EXPECT_EQ(decode(""), "");
  EXPECT_EQ(decode("plain text 123"), "plain text 123");
}

TEST(Escape, DecodesDelimiterEscapes) {
  EXPECT_EQ(decode("\\F\\"), "|");
  EXPECT_EQ(decode("\\S\\"), "^");
  EXPECT_EQ(decode("\\T\\"), "&");
  EXPECT_EQ(decode("\\R\\"), "~");
  EXPECT_EQ(decode("\\E\\"), "\\");
  EXPECT_EQ(decode("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"), "a|b^c&d~e\\f");
}

TEST(Escape, DecodesWithTheMessagesOwnDelimiters) {
  const Delimiters d{'!', '@', '#', '$', '%', '\0'};
  EXPECT_EQ(decode_escapes("a$F$b$S$c$T$d$R$e$E$f", d, {}), "a!b@c%d#e$f");
  // A backslash is ordinary text when it is not the escape character.
  EXPECT_EQ(decode_escapes("a\\F\\b", d, {}), "a\\F\\b");
}

TEST(Escape, TruncationEscapeOnlyWhenDeclared) {
  EXPECT_EQ(decode("\\P\\"), "\\P\\");
  Delimiters d;
  d.truncation = '#';
  EXPECT_EQ(decode_escapes("a\\P\\b", d, {}), "a#b");
}

TEST(Escape, LineBreakAndFormattingCommands) {
  EXPECT_EQ(decode("line 1\\.br\\line 2"), "line 1\nline 2");
  EXPECT_EQ(decode("\\H\\bold\\N\\ text"), "bold text");
  // What ends a line ends it (.sp n: the line and n more), what moves along it is spaces; fill
  // mode and indents only shape a printout.
  EXPECT_EQ(decode("a\\.sp\\b\\.sp 2\\c\\.ce\\d"), "a\n\nb\n\n\nc\nd");
  EXPECT_EQ(decode("a\\.sk3\\b\\.sk\\c"), "a   b c");
  // A count past nine is nine: eight bytes may not ask for a thousand lines.
  EXPECT_EQ(decode("a\\.sp999\\b"), std::string("a").append(10, '\n').append("b"));
  EXPECT_EQ(decode("a\\.sk999\\b"), std::string("a").append(9, ' ').append("b"));
  EXPECT_EQ(decode("\\.fi\\a\\.nf\\b\\.in+4\\c\\.ti-2\\d\\.in 2\\e"), "abcde");
  // A command that is none of these, or a count that is no number, stays as it came.
  EXPECT_EQ(decode("a\\.xy\\b\\.sp two\\c"), "a\\.xy\\b\\.sp two\\c");
  // Locally defined escapes and character set switches: nothing here knows their meaning, so they
  // stay in the text rather than vanish.
  EXPECT_EQ(decode("\\C2842\\x\\M2442\\y\\Zcustom\\z"), "\\C2842\\x\\M2442\\y\\Zcustom\\z");
}

TEST(Escape, HexEscapesInUtf8) {
  EXPECT_EQ(decode("\\X41\\"), "A");
  EXPECT_EQ(decode("\\X414243\\"), "ABC");
  EXPECT_EQ(decode("\\Xc3a6\\"), "\xC3\xA6");
  // Bytes that are not UTF-8 become U+FFFD, so the output stays valid UTF-8.
  EXPECT_EQ(decode("\\XE6\\"), "\xEF\xBF\xBD");
  EXPECT_EQ(decode("\\X41E642\\"), "A\xEF\xBF\xBD" "B");
}

TEST(Escape, HexEscapesInSingleByteCharsets) {
  EXPECT_EQ(decode("\\XE6F8E5\\", "8859/1"), "\xC3\xA6\xC3\xB8\xC3\xA5");
  EXPECT_EQ(decode("\\XA4\\", "8859/1"), "\xC2\xA4");
  EXPECT_EQ(decode("\\XA4\\", "8859/15"), "\xE2\x82\xAC");
}

TEST(Escape, MalformedEscapesStayLiteral) {
  EXPECT_EQ(decode("\\Q\\"), "\\Q\\");
  EXPECT_EQ(decode("\\X4\\"), "\\X4\\");    // odd number of hex digits
  EXPECT_EQ(decode("\\XZZ\\"), "\\XZZ\\");  // not hex
  EXPECT_EQ(decode("\\X\\"), "\\X\\");
  EXPECT_EQ(decode("a\\b"), "a\\b");       // lone escape character
  EXPECT_EQ(decode("a\\\\b"), "a\\\\b");   // empty escape
  EXPECT_EQ(decode("end\\"), "end\\");
  EXPECT_EQ(decode("\\F\\\\unknown\\\\S\\"), "|\\unknown\\^");
}

TEST(Escape, EncodesDelimitersAndLineBreaks) {
  EXPECT_EQ(encode_escapes("plain", kDefault), "plain");
  EXPECT_EQ(encode_escapes("a|b^c&d~e\\f", kDefault), "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f");
  EXPECT_EQ(encode_escapes("1\n2\r3", kDefault), "1\\.br\\2\\.br\\3");
  Delimiters d;
  d.truncation = '#';
  EXPECT_EQ(encode_escapes("#1", d), "\\P\\1");
  EXPECT_EQ(encode_escapes("#1", kDefault), "#1");
}

TEST(Escape, EncodeThenDecodeRoundTrips) {
  const std::string text = "Dose 5|10 mg ^ x & y ~ z \\ end \xC3\xA6\xC3\xB8\xC3\xA5\nnext line";
  EXPECT_EQ(decode(encode_escapes(text, kDefault)), text);
  const Delimiters d{'!', '@', '#', '$', '%', '\0'};
  const std::string custom = "a!b@c#d$e%f|g";
  EXPECT_EQ(decode_escapes(encode_escapes(custom, d), d, {}), custom);
}

}  // namespace
}  // namespace helsebro::hl7v2
