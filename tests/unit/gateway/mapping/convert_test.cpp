#include "gateway/mapping/convert.h"

#include <gtest/gtest.h>

#include <boost/regex.hpp>

#include <optional>
#include <string>
#include <vector>

namespace helsebro::mapping {
namespace {

std::string fhir(std::string_view dtm, TimeType type, TimeSyntax syntax = TimeSyntax::kHl7) {
  auto r = time_to_fhir(dtm, type, syntax);
  EXPECT_TRUE(r) << dtm << ": " << (r ? "" : r.error().detail);
  return r ? *r : std::string();
}

void expect_bad_time(std::string_view dtm, TimeType type = TimeType::kDateTime,
                     TimeSyntax syntax = TimeSyntax::kHl7) {
  auto r = time_to_fhir(dtm, type, syntax);
  ASSERT_FALSE(r) << dtm << " gave " << *r;
  EXPECT_EQ(r.error().code, Errc::kInvalidValue) << dtm;
  EXPECT_NE(r.error().detail.find(std::string(dtm)), std::string::npos) << r.error().detail;
}

TEST(Convert, DatesKeepTheirPrecision) {
  EXPECT_EQ(fhir("2024", TimeType::kDate), "2024");
  EXPECT_EQ(fhir("202401", TimeType::kDate), "2024-01");
  EXPECT_EQ(fhir("20240115", TimeType::kDate), "2024-01-15");
  EXPECT_EQ(fhir("20240115103000", TimeType::kDate), "2024-01-15");
  EXPECT_EQ(fhir("20240115", TimeType::kDateTime), "2024-01-15");
  EXPECT_EQ(fhir("2024", TimeType::kDateTime), "2024");
}

TEST(Convert, TimesWithoutZoneAreOsloTime) {
  EXPECT_EQ(fhir("20240115103000", TimeType::kDateTime), "2024-01-15T10:30:00+01:00");
  EXPECT_EQ(fhir("20240715103000", TimeType::kDateTime), "2024-07-15T10:30:00+02:00");
  EXPECT_EQ(fhir("202401151030", TimeType::kDateTime), "2024-01-15T10:30:00+01:00");
  EXPECT_EQ(fhir("2024011510", TimeType::kInstant), "2024-01-15T10:00:00+01:00");
  EXPECT_EQ(fhir("20240115103000.1234", TimeType::kInstant), "2024-01-15T10:30:00.1234+01:00");
}

TEST(Convert, ExplicitZonesAreKept) {
  EXPECT_EQ(fhir("20240115103000+0000", TimeType::kDateTime), "2024-01-15T10:30:00+00:00");
  EXPECT_EQ(fhir("20240115103000-0000", TimeType::kDateTime), "2024-01-15T10:30:00+00:00");
  EXPECT_EQ(fhir("20240715103000+0200", TimeType::kInstant), "2024-07-15T10:30:00+02:00");
  EXPECT_EQ(fhir("20240115103000-0530", TimeType::kDateTime), "2024-01-15T10:30:00-05:30");
  EXPECT_EQ(fhir("20240115103000.5+0100", TimeType::kInstant), "2024-01-15T10:30:00.5+01:00");
}

TEST(Convert, RefusesWhatIsNotADate) {
  expect_bad_time("");
  expect_bad_time("2024011");             // odd length
  expect_bad_time("2024-01-15");          // FHIR form, not HL7
  expect_bad_time("20241301");            // month 13
  expect_bad_time("20240230");            // 30 February
  expect_bad_time("20230229");            // not a leap year
  expect_bad_time("20240115246000");      // hour 24
  expect_bad_time("20240115106000");      // minute 60
  expect_bad_time("20240115103000+01");   // short zone
  // TS of 2.3-2.5: the degree of precision after the time is the time's own.
  EXPECT_EQ(fhir("19850315^D", TimeType::kDate), "1985-03-15");
  EXPECT_EQ(fhir("198503151030^M", TimeType::kDateTime), "1985-03-15T10:30:00+01:00");
  expect_bad_time("19850315^X");
  expect_bad_time("19850315^D^x");
  expect_bad_time("20240115103000+1500");  // past FHIR's ±14:00
  expect_bad_time("20240115103000+0199");  // no such minute
  expect_bad_time("20240115103000-1401");
  EXPECT_EQ(fhir("20240115103000+1400", TimeType::kDateTime), "2024-01-15T10:30:00+14:00");
  EXPECT_EQ(fhir("20240115103000-1200", TimeType::kDateTime), "2024-01-15T10:30:00-12:00");
  expect_bad_time("20240115103000+01a0");
  expect_bad_time("202401151030.5");      // fraction without seconds
  expect_bad_time("20240115103000.");     // empty fraction
  expect_bad_time("20240115103000.12345");
  expect_bad_time("20240115", TimeType::kInstant);  // an instant needs a time
  EXPECT_EQ(fhir("20240229", TimeType::kDate), "2024-02-29");
  EXPECT_EQ(fhir("20000229", TimeType::kDate), "2000-02-29");
  expect_bad_time("19000229", TimeType::kDate);
}

TEST(Convert, XmlSchemaDatesAndTimes) {
  constexpr TimeSyntax kXml = TimeSyntax::kXmlSchema;
  EXPECT_EQ(fhir("2024-03-05", TimeType::kDate, kXml), "2024-03-05");
  EXPECT_EQ(fhir("2024-03", TimeType::kDateTime, kXml), "2024-03");
  EXPECT_EQ(fhir(" 2024-03-05T10:15:00 ", TimeType::kDateTime, kXml), "2024-03-05T10:15:00+01:00");
  EXPECT_EQ(fhir("2024-07-05T10:15", TimeType::kDateTime, kXml), "2024-07-05T10:15:00+02:00");
  EXPECT_EQ(fhir("2024-03-05T10:15:00.1234567Z", TimeType::kInstant, kXml), "2024-03-05T10:15:00.1234+00:00");
  EXPECT_EQ(fhir("2024-03-05T10:15:00-05:30", TimeType::kDateTime, kXml), "2024-03-05T10:15:00-05:30");
  EXPECT_EQ(fhir("2024-03-05T10:15:00+01:00", TimeType::kDate, kXml), "2024-03-05");
  expect_bad_time("2024-3-05", TimeType::kDateTime, kXml);
  expect_bad_time("2024-03-05T10", TimeType::kDateTime, kXml);
  expect_bad_time("2024-03-05 10:15:00", TimeType::kDateTime, kXml);
  expect_bad_time("2024-03-05T10:15:00+0100", TimeType::kDateTime, kXml);
  expect_bad_time("2024-02-30", TimeType::kDateTime, kXml);
  expect_bad_time("2024-03-05T25:00:00", TimeType::kDateTime, kXml);
  expect_bad_time("20240305101500", TimeType::kDateTime, kXml);  // HL7 DTM is not XML Schema
}

TEST(Convert, OsloSummerTimeBoundaries) {
  // 2024: CEST from 31 March 02:00 to 27 October 03:00 local time.
  EXPECT_EQ(oslo_offset_minutes(2024, 1, 1, 0), 60);
  EXPECT_EQ(oslo_offset_minutes(2024, 3, 30, 12), 60);
  EXPECT_EQ(oslo_offset_minutes(2024, 3, 31, 1), 60);
  EXPECT_EQ(oslo_offset_minutes(2024, 3, 31, 2), 120);
  EXPECT_EQ(oslo_offset_minutes(2024, 7, 1, 0), 120);
  EXPECT_EQ(oslo_offset_minutes(2024, 10, 27, 2), 120);
  EXPECT_EQ(oslo_offset_minutes(2024, 10, 27, 3), 60);
  EXPECT_EQ(oslo_offset_minutes(2024, 12, 31, 23), 60);
  // 2025: 30 March and 26 October.
  EXPECT_EQ(oslo_offset_minutes(2025, 3, 29, 23), 60);
  EXPECT_EQ(oslo_offset_minutes(2025, 3, 30, 3), 120);
  EXPECT_EQ(oslo_offset_minutes(2025, 10, 25, 12), 120);
  EXPECT_EQ(oslo_offset_minutes(2025, 10, 26, 3), 60);
  EXPECT_EQ(fhir("20250330013000", TimeType::kDateTime), "2025-03-30T01:30:00+01:00");
  EXPECT_EQ(fhir("20251026040000", TimeType::kDateTime), "2025-10-26T04:00:00+01:00");
}

TEST(Convert, ValidPersonIds) {
  EXPECT_EQ(check_norwegian_person_id("01018012371"), "");  // fødselsnummer, 1 Jan 1980
  EXPECT_EQ(check_norwegian_person_id("15038543226"), "");
  EXPECT_EQ(check_norwegian_person_id("41018012365"), "");  // D-nummer: day + 40
}

// Where the sender names the kind (CX-5 FNR or DNR), the number must be of that kind: a D-nummer
// filed under the fødselsnummer system would make the same person a second patient.
TEST(Convert, PersonIdsOfTheKindNamed) {
  EXPECT_EQ(check_norwegian_person_id("01018012371", PersonIdKind::kFodselsnummer), "");
  EXPECT_EQ(check_norwegian_person_id("41018012365", PersonIdKind::kDNummer), "");
  EXPECT_EQ(check_norwegian_person_id("41018012365", PersonIdKind::kFodselsnummer),
            "a D-nummer (day + 40), sent as a fødselsnummer");
  EXPECT_EQ(check_norwegian_person_id("01018012371", PersonIdKind::kDNummer),
            "a fødselsnummer, sent as a D-nummer (day + 40)");
  // The control digits are judged first, whatever the kind.
  EXPECT_EQ(check_norwegian_person_id("41018012366", PersonIdKind::kFodselsnummer), "second control digit is wrong");
}

TEST(Convert, InvalidPersonIds) {
  EXPECT_EQ(check_norwegian_person_id(""), "must be 11 digits");
  EXPECT_EQ(check_norwegian_person_id("0101801237"), "must be 11 digits");
  EXPECT_EQ(check_norwegian_person_id("010180123711"), "must be 11 digits");
  EXPECT_EQ(check_norwegian_person_id("0101801237a"), "must be 11 digits");
  EXPECT_EQ(check_norwegian_person_id("01018012381"), "first control digit is wrong");
  EXPECT_EQ(check_norwegian_person_id("01018012372"), "second control digit is wrong");
  EXPECT_EQ(check_norwegian_person_id("12345678901"), "first control digit is wrong");
  EXPECT_EQ(check_norwegian_person_id("00000000000"), "digits 1-6 are not a date");
  // Both control digits right, but no such day: 31 February, 29 February 1985, a D-nummer's 31 February.
  EXPECT_EQ(check_norwegian_person_id("31028510015"), "digits 1-6 are not a date");
  EXPECT_EQ(check_norwegian_person_id("29028510037"), "digits 1-6 are not a date");
  EXPECT_EQ(check_norwegian_person_id("71028510009", PersonIdKind::kDNummer), "digits 1-6 are not a date");
  // Leap days are days: 1984, and 2000 (individual number 500: born in the 2000s).
  EXPECT_EQ(check_norwegian_person_id("29028410016"), "");
  EXPECT_EQ(check_norwegian_person_id("29020050088"), "");
  EXPECT_EQ(check_norwegian_person_id("30048510066"), "");
}

TEST(Convert, Decimals) {
  auto ok = [](std::string_view nm) {
    auto r = hl7_number_to_decimal(nm);
    EXPECT_TRUE(r) << nm;
    return r ? *r : std::string();
  };
  EXPECT_EQ(ok("12.50"), "12.50");
  EXPECT_EQ(ok(" +12.50 "), "12.50");
  EXPECT_EQ(ok("-3"), "-3");
  EXPECT_EQ(ok(".5"), "0.5");
  EXPECT_EQ(ok("-.5"), "-0.5");
  EXPECT_EQ(ok("5."), "5");
  EXPECT_EQ(ok("0"), "0");
  EXPECT_EQ(ok("05.100"), "5.100");  // JSON numbers have no leading zeros
  EXPECT_EQ(ok("-007"), "-7");
  EXPECT_EQ(ok("000"), "0");
  EXPECT_EQ(ok("00.5"), "0.5");
  EXPECT_EQ(ok("-0.5"), "-0.5");
  for (std::string_view bad : {"", " ", "-", ".", "abc", "1.2.3", "1-2", "1e5", "12,5"}) {
    auto r = hl7_number_to_decimal(bad);
    EXPECT_FALSE(r) << "'" << bad << "' gave " << (r ? *r : "");
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidValue);
    }
  }
}

// "$comparator" gives what the two regular expressions it replaced gave, as the mapping engine
// compiles them (ECMAScript, ^ and $ at the ends of the text, '.' not across line ends).
boost::regex engine_regex(const std::string& expression) {
  return boost::regex(expression, boost::regex::ECMAScript | boost::regex::no_mod_m | boost::regex::no_mod_s);
}

std::optional<std::string> by_regex(const boost::regex& re, std::string_view text) {
  boost::cmatch m;
  if (!boost::regex_search(text.data(), text.data() + text.size(), m, re) || !m[1].matched) return std::nullopt;
  return m[1].str();
}

TEST(Convert, ComparatorPartsAreWhatTheRegularExpressionsFound) {
  const boost::regex comparator_re = engine_regex(R"x(^\s*(<=|>=|<|>))x");
  const boost::regex value_re = engine_regex(R"x(^\s*(?:<=|>=|<|>)?\s*(.+)$)x");
  // Every text of up to four of these characters: comparators, whitespace, line ends, digits.
  const std::string alphabet = std::string("<>=1. \t\n\r\f\v") + "a";
  std::vector<std::string> texts{""};
  for (std::size_t from = 0, length = 0; length < 4; ++length) {
    const std::size_t to = texts.size();
    for (std::size_t i = from; i < to; ++i) {
      for (char c : alphabet) texts.push_back(texts[i] + c);
    }
    from = to;
  }
  for (const std::string& extra : std::vector<std::string>{"<0.5", " >= 90", ">90", "13.8", "  < 5 mmol", "<=", ">=", "<", " ", "\n12",
                                  "12\n", "1\r\n2", "\xC2\xA0<3", std::string(300, ' ') + "<" + std::string(300, ' ')}) {
    texts.push_back(extra);
  }
  for (const std::string& text : texts) {
    const auto comparator = by_regex(comparator_re, text);
    EXPECT_EQ(comparator_part(text), comparator.value_or("")) << "'" << text << "'";
    const auto value = value_part(text);
    const auto expected = by_regex(value_re, text);
    EXPECT_EQ(value.has_value(), expected.has_value()) << "'" << text << "'";
    if (value && expected) {
      EXPECT_EQ(*value, *expected) << "'" << text << "'";
    }
  }
}

TEST(Convert, ComparatorPartsOfLabValues) {
  EXPECT_EQ(comparator_part(">90"), ">");
  EXPECT_EQ(comparator_part(" <= 0.5"), "<=");
  EXPECT_EQ(comparator_part("13.8"), "");
  EXPECT_EQ(value_part(">90"), "90");
  EXPECT_EQ(value_part(" <= 0.5"), "0.5");
  EXPECT_EQ(value_part("13.8"), "13.8");
  EXPECT_EQ(value_part("<"), "<");  // nothing after it: refused as a number, as before
  EXPECT_EQ(value_part("1\n2"), std::nullopt);
}

}  // namespace
}  // namespace helsebro::mapping
