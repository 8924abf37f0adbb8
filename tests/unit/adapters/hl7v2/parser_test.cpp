#include "adapters/hl7v2/parser.h"

#include <gtest/gtest.h>

#include <string>

#include "adapters/hl7v2/path.h"
#include "adapters/hl7v2/source_view.h"

namespace helsebro::hl7v2 {
namespace {

// MSH with MSH-18 set to `charset` (empty: MSH ends at MSH-12).
std::string msh(const std::string& charset = {}, const std::string& type = "ADT^A04^ADT_A01") {
  std::string s = "MSH|^~\\&|LAB|AHUS|HELSEBRO|NHN|20240115103000||" + type + "|MSG00001|P|2.5";
  if (!charset.empty()) s += "||||||" + charset;
  return s;
}

const std::string kPid =
    "PID|1||12345^^^AHUS^MR~01018012371^^^NHN^FNR&2.16.578&ISO||Nordmann^Kari^^^Dr.||19800101|F";
const std::string kPv1 = "PV1|1|I|MED^101^1";

std::string adt(const std::string& eol = "\r") { return msh() + eol + kPid + eol + kPv1 + eol; }

TEST(Parser, ReadsMshHeaderFields) {
  auto m = parse(adt());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->segment_count(), 3u);
  EXPECT_EQ(m->segment_id(0), "MSH");
  EXPECT_EQ(m->value("MSH", 1), "|");
  EXPECT_EQ(m->value("MSH", 2), "^~\\&");
  EXPECT_EQ(m->value("MSH", 3), "LAB");
  EXPECT_EQ(m->value("MSH", 4), "AHUS");
  EXPECT_EQ(m->value("MSH", 9, 1), "ADT");
  EXPECT_EQ(m->value("MSH", 9, 2), "A04");
  EXPECT_EQ(m->value("MSH", 9, 3), "ADT_A01");
  EXPECT_EQ(m->value("MSH", 10), "MSG00001");
  EXPECT_EQ(m->value("MSH", 12), "2.5");
  EXPECT_EQ(m->delimiters().field, '|');
  EXPECT_EQ(m->delimiters().component, '^');
  EXPECT_EQ(m->delimiters().repetition, '~');
  EXPECT_EQ(m->delimiters().escape, '\\');
  EXPECT_EQ(m->delimiters().subcomponent, '&');
  EXPECT_EQ(m->delimiters().truncation, '\0');
  // MSH-2 is one unsplit value even though it holds the component and repetition characters.
  const std::size_t seg = m->find_segment("MSH");
  EXPECT_EQ(m->repetition_count(seg, 2), 1u);
  EXPECT_EQ(m->component_count(seg, 2, 1), 1u);
  EXPECT_EQ(m->charset(), "ASCII");
}

TEST(Parser, ReadsTruncationCharacterOfVersion27) {
  auto m = parse("MSH|^~\\&#|A|B|C|D|20240101||ADT^A04|1|P|2.7\rPID|1\r");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->delimiters().truncation, '#');
  EXPECT_EQ(m->value("MSH", 2), "^~\\&#");
  EXPECT_EQ(m->value("MSH", 9, 2), "A04");
}

TEST(Parser, ToleratesLfAndCrLfLineEnds) {
  for (const std::string eol : {"\r", "\n", "\r\n", "\n\r"}) {
    auto m = parse(adt(eol));
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->segment_count(), 3u);
    EXPECT_EQ(m->value("PID", 5, 1), "Nordmann");
    EXPECT_EQ(m->value("PV1", 3, 2), "101");
    EXPECT_EQ(m->segment_text(2), kPv1);
  }
}

TEST(Parser, SkipsUtf8BomAndLeadingBlankLines) {
  auto m = parse("\xEF\xBB\xBF\r\n" + adt());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->segment_count(), 3u);
  EXPECT_EQ(m->value("MSH", 9, 1), "ADT");
}

TEST(Parser, SkipsBlankLinesBetweenSegmentsAndAtTheEnd) {
  auto m = parse(msh() + "\r\r" + kPid + "\r  \r" + kPv1 + "\r\n\r\n");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->segment_count(), 3u);
}

TEST(Parser, IndexesRepetitionsComponentsAndSubcomponents) {
  auto m = parse(adt());
  ASSERT_TRUE(m);
  const std::size_t pid = m->find_segment("PID");
  ASSERT_NE(pid, Message::npos);
  EXPECT_EQ(m->field_count(pid), 8u);
  EXPECT_EQ(m->field(pid, 1), "1");
  EXPECT_EQ(m->field(pid, 2), "");
  EXPECT_EQ(m->field(pid, 3), "12345^^^AHUS^MR~01018012371^^^NHN^FNR&2.16.578&ISO");
  EXPECT_EQ(m->repetition_count(pid, 3), 2u);
  EXPECT_EQ(m->repetition(pid, 3, 1), "12345^^^AHUS^MR");
  EXPECT_EQ(m->repetition(pid, 3, 2), "01018012371^^^NHN^FNR&2.16.578&ISO");
  EXPECT_EQ(m->component_count(pid, 3, 1), 5u);
  EXPECT_EQ(m->component(pid, 3, 1, 1), "12345");
  EXPECT_EQ(m->component(pid, 3, 1, 2), "");
  EXPECT_EQ(m->component(pid, 3, 1, 4), "AHUS");
  EXPECT_EQ(m->component(pid, 3, 2, 5), "FNR&2.16.578&ISO");
  EXPECT_EQ(m->subcomponent_count(pid, 3, 2, 5), 3u);
  EXPECT_EQ(m->subcomponent(pid, 3, 2, 5, 1), "FNR");
  EXPECT_EQ(m->subcomponent(pid, 3, 2, 5, 2), "2.16.578");
  EXPECT_EQ(m->subcomponent(pid, 3, 2, 5, 3), "ISO");
  // A component without sub-components is its own first (and only) sub-component.
  EXPECT_EQ(m->subcomponent_count(pid, 3, 1, 1), 1u);
  EXPECT_EQ(m->subcomponent(pid, 3, 1, 1, 1), "12345");
  EXPECT_EQ(m->subcomponent(pid, 3, 1, 1, 2), "");
  // Convenience accessors read the first repetition, decoded.
  EXPECT_EQ(m->value("PID", 3, 1), "12345");
  EXPECT_EQ(m->value("PID", 5, 2), "Kari");
  EXPECT_EQ(m->value("PID", 7), "19800101");
}

TEST(Parser, AbsentPartsReadAsEmpty) {
  auto m = parse(adt());
  ASSERT_TRUE(m);
  const std::size_t pid = m->find_segment("PID");
  EXPECT_EQ(m->field(pid, 0), "");
  EXPECT_EQ(m->field(pid, 30), "");
  EXPECT_EQ(m->repetition(pid, 3, 3), "");
  EXPECT_EQ(m->repetition(pid, 3, 0), "");
  EXPECT_EQ(m->component(pid, 3, 1, 9), "");
  EXPECT_EQ(m->subcomponent(pid, 3, 2, 5, 4), "");
  EXPECT_EQ(m->repetition_count(pid, 30), 0u);
  EXPECT_EQ(m->component_count(pid, 3, 3), 0u);
  EXPECT_EQ(m->subcomponent_count(pid, 30, 1, 1), 0u);
  EXPECT_EQ(m->field_entry(pid, 30), nullptr);
  EXPECT_EQ(m->field_entry(99, 1), nullptr);
  EXPECT_EQ(m->value("PID", 30), "");
  EXPECT_EQ(m->value("OBX", 5), "");
  EXPECT_EQ(m->find_segment("OBX"), Message::npos);
  EXPECT_EQ(m->find_segment("PID", 2), Message::npos);
}

TEST(Parser, FindsTheNthOccurrenceOfASegment) {
  auto m = parse(msh() + "\rOBX|1|NM|a||1\rNTE|1\rOBX|2|NM|b||2\rOBX|3|NM|c||3\r");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->find_segment("OBX"), 1u);
  EXPECT_EQ(m->find_segment("OBX", 2), 3u);
  EXPECT_EQ(m->find_segment("OBX", 3), 4u);
  EXPECT_EQ(m->find_segment("OBX", 4), Message::npos);
  EXPECT_EQ(m->field(4, 5), "3");
}

TEST(Parser, ExplicitNullIsDistinctFromEmpty) {
  auto m = parse(msh() + "\rPID|1||123||\"\"|||\r");
  ASSERT_TRUE(m) << m.error().message();
  SourceView view(*m);
  std::vector<mapping::SourceNode> nodes;
  auto null_path = compile_path("PID-5");
  ASSERT_TRUE(null_path);
  view.select(view.root(), **null_path, nodes);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_TRUE(view.is_null(nodes[0]));
  EXPECT_EQ(view.text(nodes[0]), "");

  nodes.clear();
  auto empty_path = compile_path("PID-4");
  ASSERT_TRUE(empty_path);
  view.select(view.root(), **empty_path, nodes);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_FALSE(view.is_null(nodes[0]));
  EXPECT_EQ(view.text(nodes[0]), "");
}

TEST(Parser, DecodesEscapeSequencesOnRead) {
  auto m = parse(msh() + "\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41\\g\\.br\\h\r");
  ASSERT_TRUE(m) << m.error().message();
  const std::size_t nte = m->find_segment("NTE");
  // The escaped delimiters do not split the field.
  EXPECT_EQ(m->component_count(nte, 3, 1), 1u);
  EXPECT_EQ(m->field(nte, 3), "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41\\g\\.br\\h");
  EXPECT_EQ(m->decode(m->field(nte, 3)), "a|b^c&d~e\\fAg\nh");
  EXPECT_EQ(m->value("NTE", 3), "a|b^c&d~e\\fAg\nh");
}

TEST(Parser, DecodesLatin1ToUtf8) {
  auto m = parse(msh("8859/1") + "\rPID|1||123||Bj\xF8rnstad^\xC6se^\xC5ge\r");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->charset(), "8859/1");
  EXPECT_EQ(m->value("PID", 5, 1), "Bj\xC3\xB8rnstad");
  EXPECT_EQ(m->value("PID", 5, 2), "\xC3\x86se");
  EXPECT_EQ(m->value("PID", 5, 3), "\xC3\x85ge");
  EXPECT_EQ(m->value("MSH", 18), "8859/1");
}

TEST(Parser, DecodesLatin1Bytes) {
  auto m = parse(msh("8859/1") + "\rNTE|1||\xE6\xF8\xE5\r");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->value("NTE", 3), "\xC3\xA6\xC3\xB8\xC3\xA5");  // æøå
}

TEST(Parser, HexEscapesInALatin1MessageAreLatin1Bytes) {
  auto m = parse(msh("8859/1") + "\rNTE|1||\\XE6F8E5\\\r");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->value("NTE", 3), "\xC3\xA6\xC3\xB8\xC3\xA5");
}

TEST(Parser, DecodesLatin9EuroSign) {
  auto m = parse(msh("8859/15") + "\rNTE|1||\xA4 5\r");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->charset(), "8859/15");
  EXPECT_EQ(m->value("NTE", 3), "\xE2\x82\xAC 5");
}

TEST(Parser, ReadsUtf8WhenDeclaredOrUndeclared) {
  const std::string pid = "\rPID|1||123||\xC3\x98stby^\xC3\x85se\r";
  auto declared = parse(msh("UNICODE UTF-8") + pid);
  ASSERT_TRUE(declared) << declared.error().message();
  EXPECT_EQ(declared->charset(), "UNICODE UTF-8");
  EXPECT_EQ(declared->value("PID", 5, 1), "\xC3\x98stby");

  auto undeclared = parse(msh() + pid);
  ASSERT_TRUE(undeclared) << undeclared.error().message();
  EXPECT_EQ(undeclared->charset(), "UNICODE UTF-8");
  EXPECT_EQ(undeclared->value("PID", 5, 2), "\xC3\x85se");
}

TEST(Parser, DeclaredAsciiWithAHighByteFailsWithItsOffset) {
  const std::string bytes = msh("ASCII") + "\rPID|1||123||Bj\xF8rn\r";
  auto m = parse(bytes);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kInvalidCharacterData);
  EXPECT_TRUE(m.error().where.has_offset);
  EXPECT_EQ(m.error().where.byte_offset, bytes.find('\xF8'));
}

TEST(Parser, OffsetsCountSkippedLeadingBytes) {
  const std::string bytes = "\xEF\xBB\xBF\r\n" + msh("ASCII") + "\rPID|1||\x80\r";
  auto m = parse(bytes);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kInvalidCharacterData);
  EXPECT_EQ(m.error().where.byte_offset, bytes.find('\x80'));
}

TEST(Parser, InvalidUtf8WithoutMsh18IsRefused) {
  const std::string bytes = msh() + "\rPID|1||123||Bj\xF8rn\r";
  auto m = parse(bytes);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kInvalidCharacterData);
  EXPECT_EQ(m.error().where.byte_offset, bytes.find('\xF8'));
  EXPECT_NE(m.error().detail.find("MSH-18"), std::string::npos) << m.error().detail;
}

TEST(Parser, FallbackCharsetRescuesUndeclaredLatin1) {
  ParseOptions options;
  options.fallback_charset = Charset::kLatin1;
  auto m = parse(msh() + "\rPID|1||123||Bj\xF8rn\r", options);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->value("PID", 5), "Bj\xC3\xB8rn");
  // The charset reported is the one the bytes were actually decoded from.
  EXPECT_EQ(m->charset(), "8859/1");
}

TEST(Parser, FallbackLatin9AppliesToHexEscapesToo) {
  ParseOptions options;
  options.fallback_charset = Charset::kLatin9;
  auto m = parse(msh() + "\rNTE|1||\xA4\\XA4\\\r", options);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->charset(), "8859/15");
  EXPECT_EQ(m->value("NTE", 3), "\xE2\x82\xAC\xE2\x82\xAC");
}

TEST(Parser, FallbackIsNotUsedForValidBytes) {
  ParseOptions options;
  options.fallback_charset = Charset::kLatin1;
  auto m = parse(msh() + "\rPID|1||123||\xC3\x98\r", options);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->charset(), "UNICODE UTF-8");
  EXPECT_EQ(m->value("PID", 5), "\xC3\x98");
}

TEST(Parser, ForcedCharsetOverridesMsh18) {
  ParseOptions options;
  options.forced_charset = Charset::kLatin1;
  auto m = parse(msh("UNICODE UTF-8") + "\rPID|1||123||\xD8\r", options);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->charset(), "8859/1");
  EXPECT_EQ(m->value("PID", 5), "\xC3\x98");
}

TEST(Parser, UnsupportedCharsetIsRefused) {
  auto m = parse(msh("SHIFT-JIS") + "\rPID|1\r");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kUnsupportedCharset);
  EXPECT_EQ(m.error().where.segment, "MSH");
  EXPECT_EQ(m.error().where.field, 18u);
}

TEST(Parser, NonHl7InputIsRefused) {
  for (const std::string input : {"hello world", "{\"resourceType\":\"Bundle\"}", "", "\r\n  \r\n",
                                  "\xEF\xBB\xBF", "MS"}) {
    auto m = parse(input);
    ASSERT_FALSE(m) << input;
    EXPECT_EQ(m.error().code, Errc::kNotHl7) << input;
  }
}

TEST(Parser, MessageStartingWithPidLacksMsh) {
  auto m = parse("PID|1||123\rPV1|1|I\r");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kMissingMsh);
  EXPECT_NE(m.error().detail.find("PID"), std::string::npos);
}

TEST(Parser, BadEncodingCharactersAreRefused) {
  for (const std::string input : {"MSH|^~\r", "MSH|^~\\&&|A\r", "MSH|^~\\&\\|A\r", "MSH|^~A&|A\r",
                                  "MSH|^~\\||A\r"}) {
    auto m = parse(input);
    ASSERT_FALSE(m) << input;
    EXPECT_EQ(m.error().code, Errc::kBadEncodingCharacters) << input;
  }
}

TEST(Parser, BadSegmentIdIsRefusedWithItsOffset) {
  const std::string bytes = msh() + "\r" + kPid + "\rpv1|1|I\r";
  auto m = parse(bytes);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kBadSegmentId);
  EXPECT_EQ(m.error().where.byte_offset, bytes.find("pv1"));
  EXPECT_NE(m.error().detail.find("segment 3"), std::string::npos) << m.error().detail;
}

// The excerpt goes into a NAK written in the sender's charset: only printable ASCII as it is,
// so that neither a character cut in half nor a byte of another charset lands in it.
TEST(Parser, ABadSegmentIsQuotedInPrintableAsciiOnly) {
  auto m = parse(msh() + "\r" + kPid + "\rb\xC3\xB8\xC3\xB8\xC3\xB8\xC3\xB8|x\r");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().detail.find("starts with 'b\\xC3\\xB8\\xC3\\xB8\\xC3\\xB8\\xC3'"), std::string::npos)
      << m.error().detail;
}

TEST(Parser, SegmentIdMustBeFollowedByTheFieldSeparator) {
  for (const std::string bad : {"PV", "PV1X|1", "PV1^1", "P-1|1"}) {
    auto m = parse(msh() + "\r" + bad + "\r");
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().code, Errc::kBadSegmentId) << bad;
  }
}

TEST(Parser, SegmentWithOnlyAnIdIsAccepted) {
  auto m = parse(msh() + "\rPID|1\rZZZ\r");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->segment_count(), 3u);
  EXPECT_EQ(m->field_count(2), 0u);
}

TEST(Parser, KeepsZSegments) {
  auto m = parse(adt() + "ZPD|1|custom^value|x\r");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->segment_count(), 4u);
  const std::size_t z = m->find_segment("ZPD");
  ASSERT_NE(z, Message::npos);
  EXPECT_EQ(m->value("ZPD", 2, 2), "value");
  EXPECT_EQ(m->field(z, 3), "x");
}

TEST(Parser, ReadsCustomDelimitersAndIsReusable) {
  const Parser parser;
  Message m;
  ASSERT_TRUE(parser.parse_into(adt(), m));
  EXPECT_EQ(m.value("PID", 5, 2), "Kari");

  ASSERT_TRUE(parser.parse_into("MSH!@#$%!LAB!AHUS!!!2024!!ADT@A08!7!P!2.4\rPID!1!!a@b#c@d%e!!X$F$Y\r", m));
  EXPECT_EQ(m.delimiters().field, '!');
  EXPECT_EQ(m.delimiters().component, '@');
  EXPECT_EQ(m.value("MSH", 9, 2), "A08");
  const std::size_t pid = m.find_segment("PID");
  EXPECT_EQ(m.repetition_count(pid, 3), 2u);
  EXPECT_EQ(m.component(pid, 3, 2, 1), "c");
  EXPECT_EQ(m.subcomponent(pid, 3, 2, 2, 2), "e");
  EXPECT_EQ(m.value("PID", 5), "X!Y");
  // Default delimiters again: nothing of the previous message remains.
  ASSERT_TRUE(parser.parse_into(adt(), m));
  EXPECT_EQ(m.segment_count(), 3u);
  EXPECT_EQ(m.value("PID", 3, 4), "AHUS");
  EXPECT_EQ(m.repetition_count(m.find_segment("PID"), 3), 2u);
}

TEST(Parser, FailedParseLeavesNoStaleSegments) {
  const Parser parser;
  Message m;
  ASSERT_TRUE(parser.parse_into(adt(), m));
  EXPECT_FALSE(parser.parse_into("PID|1\r", m));
  EXPECT_EQ(m.segment_count(), 0u);
}

TEST(Parser, EnforcesTheSegmentLimit) {
  ParseOptions options;
  options.max_segments = 2;
  auto m = parse(adt(), options);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kBadSegmentId);
}

TEST(Parser, PeeksMsh18FromRawBytes) {
  EXPECT_EQ(peek_msh18(msh("8859/1") + "\rPID|1\r"), "8859/1");
  EXPECT_EQ(peek_msh18("\xEF\xBB\xBF" + msh("UNICODE UTF-8~8859/1") + "\r"), "UNICODE UTF-8");
  EXPECT_EQ(peek_msh18(msh("8859/1^x") + "|NO\r"), "8859/1");
  EXPECT_EQ(peek_msh18(msh() + "\rPID|1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18\r"), "");
  EXPECT_EQ(peek_msh18("PID|1"), "");
  EXPECT_EQ(peek_msh18(""), "");
}

TEST(SplitMessages, OneMessageIsOneSlice) {
  auto slices = split_messages("MSH|^~\\&|A\rPID|1\r");
  ASSERT_TRUE(slices);
  ASSERT_EQ(slices->size(), 1u);
  EXPECT_EQ((*slices)[0].offset, 0u);
}

TEST(SplitMessages, SplitsConsecutiveMessagesAtEachMsh) {
  const std::string input = "MSH|^~\\&|A|1\nPID|1\nMSH|^~\\&|A|2\nPID|2\n";
  auto slices = split_messages(input);
  ASSERT_TRUE(slices);
  ASSERT_EQ(slices->size(), 2u);
  EXPECT_EQ((*slices)[0].bytes, "MSH|^~\\&|A|1\nPID|1\n");
  EXPECT_EQ((*slices)[1].bytes, "MSH|^~\\&|A|2\nPID|2\n");
  EXPECT_EQ((*slices)[1].offset, 19u);
}

TEST(SplitMessages, ReadsABatchEnvelope) {
  BatchEnvelope envelope;
  auto slices = split_messages("FHS|^~\\&|F\rBHS|^~\\&|B\rMSH|^~\\&|1\rMSH|^~\\&|2\rBTS|2\rFTS|1\r", &envelope);
  ASSERT_TRUE(slices);
  EXPECT_EQ(slices->size(), 2u);
  EXPECT_TRUE(envelope.is_batch());
  EXPECT_EQ(envelope.fhs, "FHS|^~\\&|F");
  EXPECT_EQ(envelope.bts, "BTS|2");
  EXPECT_EQ(envelope.fts, "FTS|1");
}

TEST(SplitMessages, RefusesACountThatContradictsTheBatch) {
  auto slices = split_messages("BHS|^~\\&|B\rMSH|^~\\&|1\rBTS|3\r");
  ASSERT_FALSE(slices);
  EXPECT_EQ(slices.error().code, Errc::kInvalidValue);
  EXPECT_EQ(slices.error().where.segment, "BTS");
}

TEST(SplitMessages, RefusesSegmentsBeforeTheFirstMsh) {
  auto slices = split_messages("PID|1\rMSH|^~\\&|1\r");
  ASSERT_FALSE(slices);
  EXPECT_EQ(slices.error().code, Errc::kMissingMsh);
  EXPECT_TRUE(slices.error().where.has_offset);
}

// HL7 v2 2.10.3: a batch holds zero or more messages.
TEST(SplitMessages, TakesABatchWithoutMessages) {
  BatchEnvelope envelope;
  auto slices = split_messages("BHS|^~\\&|B\rBTS|0\r", &envelope);
  ASSERT_TRUE(slices) << slices.error().message();
  EXPECT_TRUE(slices->empty());
  EXPECT_TRUE(envelope.is_batch());
  EXPECT_FALSE(split_messages("BHS|^~\\&|B\rBTS|1\r"));  // counting one it does not hold
}

TEST(Parser, RejectsControlCharactersAsDelimiters) {
  auto parsed = parse(std::string("MSH\0^~\\&\0A\r", 12));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, Errc::kBadEncodingCharacters);
}

TEST(Parser, ReportsErrorOffsetsInTheSendersOwnBytes) {
  // Latin-1 bytes widen to two UTF-8 bytes each; the offset must still point into the input.
  const std::string input =
      "MSH|^~\\&|A" + std::string(15, '|') + "8859/1\rPID|\xE6\xF8\xE5\rpv1|x\r";
  auto parsed = parse(input);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, Errc::kBadSegmentId);
  EXPECT_EQ(parsed.error().where.byte_offset, input.find("pv1"));
}

TEST(Parser, IndexesAMessageLongerThanOneMaskBlockExactly) {
  std::string input = "MSH|^~\\&|A\r";
  for (int i = 0; i < 40; ++i) input += "OBX|" + std::to_string(i) + "|NM|C^D&E||" + std::to_string(i * 7) + "\r";
  auto parsed = parse(input);
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->segment_count(), 41u);
  EXPECT_EQ(parsed->value("OBX", 5), "0");
  const std::size_t last = parsed->segment_count() - 1;
  EXPECT_EQ(parsed->field(last, 5), "273");
  EXPECT_EQ(parsed->subcomponent(last, 3, 1, 2, 2), "E");
}

}  // namespace
}  // namespace helsebro::hl7v2
