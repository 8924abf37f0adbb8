#include "gateway/validate/regex_dfa.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace helsebro::validate {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(RegexDfa, MatchesTheWholeValueOnly) {
  RegexDfa dfa("[0-9]{4}");
  EXPECT_TRUE(dfa.matches("2024"));
  EXPECT_FALSE(dfa.matches("20245"));
  EXPECT_FALSE(dfa.matches("x2024"));
  EXPECT_FALSE(dfa.matches(""));
}

TEST(RegexDfa, SupportsGroupsAlternationAndQuantifiers) {
  RegexDfa dfa("(ab|c)+d?(?:e{2,3})?");
  EXPECT_TRUE(dfa.matches("ab"));
  EXPECT_TRUE(dfa.matches("cabcd"));
  EXPECT_TRUE(dfa.matches("cee"));
  EXPECT_TRUE(dfa.matches("cdeee"));
  EXPECT_FALSE(dfa.matches("ce"));
  EXPECT_FALSE(dfa.matches("ceeee"));
  EXPECT_FALSE(dfa.matches("d"));
}

TEST(RegexDfa, ClassesWithEscapesAndRanges) {
  RegexDfa dfa(R"([A-Za-z0-9\-\.]{1,3}[^a-z\s]?)");
  EXPECT_TRUE(dfa.matches("a-."));
  EXPECT_TRUE(dfa.matches("Z9X"));
  EXPECT_TRUE(dfa.matches("abcQ"));
  EXPECT_FALSE(dfa.matches("abc "));
  EXPECT_FALSE(dfa.matches("a_b"));
}

TEST(RegexDfa, NonWhitespaceAcceptsUtf8Bytes) {
  RegexDfa dfa(R"([ \r\n\t\S]+)");
  EXPECT_TRUE(dfa.matches("Kåre Øystein\n"));
  EXPECT_FALSE(dfa.matches("form\ffeed"));
  EXPECT_FALSE(dfa.matches(""));
}

// Whether every non-empty text without a byte a JSON string escapes matches: FHIR's string does
// (spaces and UTF-8 included), code, uri and id do not; and the property agrees with matching a
// sample of such texts.
TEST(RegexDfa, KnowsWhetherItMatchesEveryPlainText) {
  const RegexDfa string_type("[ \\r\\n\\t\\S]+");
  EXPECT_TRUE(string_type.matches_every_plain_text());
  EXPECT_FALSE(RegexDfa("[^\\s]+(\\s[^\\s]+)*").matches_every_plain_text());  // code: no double space
  EXPECT_FALSE(RegexDfa("\\S*").matches_every_plain_text());                     // uri: no space
  EXPECT_FALSE(RegexDfa("[A-Za-z0-9\\-\\.]{1,64}").matches_every_plain_text());  // id
  EXPECT_TRUE(RegexDfa(".*").matches_every_plain_text());
  EXPECT_FALSE(RegexDfa("[^x]*").matches_every_plain_text());
  for (const char* text : {" ", "a b", "  ", "Kåre Øystein", "10*9/L", "~!#$%&'()*+,-./:;<=>?@[]^_`{|}", "\x7f"}) {
    EXPECT_TRUE(string_type.matches(text)) << text;
  }
}

TEST(RegexDfa, RefusesSyntaxOutsideTheSubset) {
  EXPECT_THROW(RegexDfa("a\\b"), std::invalid_argument);
  EXPECT_THROW(RegexDfa("(a"), std::invalid_argument);
  EXPECT_THROW(RegexDfa("a)"), std::invalid_argument);
  EXPECT_THROW(RegexDfa("*a"), std::invalid_argument);
  EXPECT_THROW(RegexDfa("a{3,2}"), std::invalid_argument);
  EXPECT_THROW(RegexDfa("(?=a)"), std::invalid_argument);
}

TEST(RegexDfa, RefusesAutomataAboveTheStateLimit) {
  EXPECT_THROW(RegexDfa("(a|b)*a(a|b){12}", 1000), std::invalid_argument);
}

TEST(RegexDfa, LongBase64ValueNeedsNoRecursion) {
  RegexDfa dfa(R"((\s*([0-9a-zA-Z\+/=]){4}\s*)+)");
  std::string value(1024 * 1024, 'A');
  EXPECT_TRUE(dfa.matches(value));
  value.back() = '*';
  EXPECT_FALSE(dfa.matches(value));
}

// Every regex of the R4 primitives agrees with std::regex on values near the edges.
TEST(RegexDfa, AgreesWithStdRegexOnTheSpecRegexes) {
  rapidjson::Document table;
  table.Parse(read(std::string(HELSEBRO_SOURCE_DIR) + "/schemas/fhir/r4-structure.json").c_str());
  ASSERT_FALSE(table.HasParseError());
  const std::vector<std::string> samples = {"",
                                            " ",
                                            "a",
                                            "a b",
                                            "a  b",
                                            " a",
                                            "a ",
                                            "2020",
                                            "2020-02",
                                            "2020-13",
                                            "2020-02-29",
                                            "2020-02-30",
                                            "2020-12-31T23:59:59Z",
                                            "2020-12-31T23:59:60.123+14:00",
                                            "2020-12-31T24:00:00Z",
                                            "2020-12-31T10:00:00",
                                            "2020-12-31T10:00Z",
                                            "0000",
                                            "0001",
                                            "23:59:59",
                                            "24:00:00",
                                            "12:30",
                                            "-0",
                                            "-1.50",
                                            "1e10",
                                            "01",
                                            "+1",
                                            "0",
                                            "17",
                                            "-3",
                                            "urn:oid:2.16.578.1.12.4.1.4.1",
                                            "urn:oid:3.1",
                                            "urn:oid:1.01",
                                            "urn:uuid:a1818331-b070-5aba-afa2-b72bd32c8e98",
                                            "urn:uuid:A1818331-B070-5ABA-AFA2-B72BD32C8E98",
                                            "http://example.org/a b",
                                            "http://example.org/x",
                                            "QUJD",
                                            "QUJD RA==",
                                            "QUJ",
                                            "abc_def",
                                            std::string(64, 'x'),
                                            std::string(65, 'x'),
                                            "true",
                                            "false",
                                            "tab\there",
                                            "line\nbreak"};
  int regexes = 0;
  for (auto m = table["primitives"].MemberBegin(); m != table["primitives"].MemberEnd(); ++m) {
    if (!m->value.HasMember("regex")) continue;
    const std::string pattern = m->value["regex"].GetString();
    const RegexDfa dfa(pattern);
    const std::regex reference(pattern);
    ++regexes;
    for (const std::string& s : samples) {
      EXPECT_EQ(dfa.matches(s), std::regex_match(s, reference))
          << m->name.GetString() << " /" << pattern << "/ on '" << s << "'";
    }
  }
  EXPECT_GE(regexes, 15);
}

TEST(RegexDfa, RunsOfNonSpaceAgreeWithStdRegexAtEveryBreak) {
  // Runs of non-whitespace are scanned eight bytes at a time: a space, a control character, a
  // vertical tab or a UTF-8 byte at each place of texts around those words' sizes.
  for (const char* pattern : {"\\S*", "[ \\r\\n\\t\\S]+", "[^\\s]+(\\s[^\\s]+)*"}) {
    const RegexDfa dfa(pattern);
    const std::regex reference(pattern);
    for (std::size_t length = 1; length <= 26; ++length) {
      for (const char odd : {' ', '\t', '\v', '\x01', '\x7f', '\xc3'}) {
        for (std::size_t at = 0; at < length; ++at) {
          std::string text(length, 'a');
          text[at] = odd;
          EXPECT_EQ(dfa.matches(text), std::regex_match(text, reference))
              << pattern << " on length " << length << ", byte " << int(odd) << " at " << at;
        }
      }
    }
  }
}

TEST(RegexDfa, OneSetRepeatedAgreesWithStdRegexAtEveryLengthAndBreak) {
  // A pattern that is one byte set repeated is checked by its length and bytes, without the
  // automaton: FHIR's id, a set in a group, and sets with and without every byte above the space
  // (and, for comparison, a repetition of a repetition, which the automaton checks). Texts of
  // every length up to past the bound, of a byte in the set, with one other byte at each place.
  struct Case {
    const char* pattern;
    char fill;  // a byte in the set
  };
  for (const Case c : {Case{"[A-Za-z0-9\\-\\.]{1,64}", 'a'}, Case{"[0-9]{4}", '7'}, Case{"(?:[a-c]){2,5}", 'b'},
                       Case{"\\S*", 'a'}, Case{"[^\\s]+", 'a'}, Case{"x*", 'x'}, Case{"[a-z]{0,3}", 'a'},
                       Case{"([a-z]{2}){2}", 'a'}}) {
    const RegexDfa dfa(c.pattern);
    const std::regex reference(c.pattern);
    for (std::size_t length = 0; length <= 70; ++length) {
      const std::string plain(length, c.fill);
      EXPECT_EQ(dfa.matches(plain), std::regex_match(plain, reference)) << c.pattern << " on length " << length;
      for (const char odd : {' ', '_', '-', 'Z', '\xc3'}) {
        for (std::size_t at = 0; at < length; ++at) {
          std::string text = plain;
          text[at] = odd;
          EXPECT_EQ(dfa.matches(text), std::regex_match(text, reference))
              << c.pattern << " on length " << length << ", byte " << int(odd) << " at " << at;
        }
      }
    }
  }
}

}  // namespace
}  // namespace helsebro::validate
