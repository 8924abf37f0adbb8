#include "gateway/mapping/convert.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace helsebro::mapping {
namespace {

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int number(std::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

// Day of week for a Gregorian date, 0 = Sunday (Sakamoto).
int weekday(int y, int m, int d) {
  static constexpr int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  if (m < 3) y -= 1;
  return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

int last_sunday(int year, int month) {
  const int last = 31;  // March and October both have 31 days
  return last - weekday(year, month, last);
}

int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

// Appends `n` (0 <= n < 10^width) as `width` digits, with leading zeros.
void append_digits(std::string& out, int n, int width) {
  char digits[4];
  for (int i = width - 1; i >= 0; --i, n /= 10) digits[i] = static_cast<char>('0' + n % 10);
  out.append(digits, static_cast<std::size_t>(width));
}

Error bad_time(std::string_view dtm, std::string why) {
  return Error{Errc::kInvalidValue, "'" + std::string(dtm) + "' is not an HL7 date/time: " + why};
}

}  // namespace

int oslo_offset_minutes(int year, int month, int day, int hour) {
  // CEST from the last Sunday of March 02:00 to the last Sunday of October 03:00 local time.
  if (month < 3 || month > 10) return 60;
  if (month > 3 && month < 10) return 120;
  const int switch_day = last_sunday(year, month);
  if (month == 3) return (day > switch_day || (day == switch_day && hour >= 2)) ? 120 : 60;
  return (day < switch_day || (day == switch_day && hour < 3)) ? 120 : 60;
}

namespace {

// XML Schema date/dateTime (YYYY[-MM[-DD[Thh:mm[:ss[.f…]]]]][Z|±hh:mm]) as the HL7 DTM it means,
// or "" when the text is not in that form. Fractions beyond four digits are cut, as DTM allows four.
std::string xml_time_to_dtm(std::string_view t) {
  auto digits = [&](std::size_t at, std::size_t n) {
    return at + n <= t.size() && all_digits(t.substr(at, n));
  };
  if (!digits(0, 4)) return {};
  std::string dtm(t.substr(0, 4));
  std::size_t i = 4;
  for (const char sep : {'-', '-'}) {  // -MM, -DD
    if (i == t.size() || t[i] != sep) break;
    if (!digits(i + 1, 2)) return {};
    dtm.append(t.substr(i + 1, 2));
    i += 3;
  }
  if (i < t.size() && t[i] == 'T') {
    if (dtm.size() != 8 || !digits(i + 1, 2) || i + 3 >= t.size() || t[i + 3] != ':' || !digits(i + 4, 2)) return {};
    dtm.append(t.substr(i + 1, 2)).append(t.substr(i + 4, 2));
    i += 6;
    if (i < t.size() && t[i] == ':') {
      if (!digits(i + 1, 2)) return {};
      dtm.append(t.substr(i + 1, 2));
      i += 3;
      if (i < t.size() && t[i] == '.') {
        std::size_t e = i + 1;
        while (e < t.size() && t[e] >= '0' && t[e] <= '9') ++e;
        if (e == i + 1) return {};
        dtm.append(".").append(t.substr(i + 1, std::min<std::size_t>(e - i - 1, 4)));
        i = e;
      }
    }
  }
  if (i < t.size() && t[i] == 'Z') {
    dtm.append("+0000");
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    if (!digits(i + 1, 2) || i + 3 >= t.size() || t[i + 3] != ':' || !digits(i + 4, 2)) return {};
    dtm.push_back(t[i]);
    dtm.append(t.substr(i + 1, 2)).append(t.substr(i + 4, 2));
    i += 6;
  }
  return i == t.size() ? dtm : std::string{};
}

}  // namespace

Result<std::string> time_to_fhir(std::string_view dtm, TimeType type, TimeSyntax syntax) {
  std::size_t b = 0, e = dtm.size();
  while (b < e && (dtm[b] == ' ' || dtm[b] == '\t' || dtm[b] == '\n' || dtm[b] == '\r')) ++b;
  while (e > b && (dtm[e - 1] == ' ' || dtm[e - 1] == '\t' || dtm[e - 1] == '\n' || dtm[e - 1] == '\r')) --e;
  const std::string_view trimmed = dtm.substr(b, e - b);
  if (syntax == TimeSyntax::kXmlSchema) {
    const std::string converted = xml_time_to_dtm(trimmed);
    if (converted.empty()) {
      return Error{Errc::kInvalidValue, "'" + std::string(dtm) + "' is not an XML Schema date/time"};
    }
    auto result = time_to_fhir(converted, type);
    if (!result) {  // say it of the text the sender wrote, not of the DTM it became
      const std::string& detail = result.error().detail;
      const std::size_t why = detail.find(": ");
      return Error{Errc::kInvalidValue, "'" + std::string(dtm) + "' is not an XML Schema date/time" +
                                            (why == std::string::npos ? "" : detail.substr(why))};
    }
    return result;
  }
  std::string_view value = trimmed;
  // A TS of versions 2.3 to 2.5 may carry its degree of precision after the time (table 0529:
  // Y, L, D, H, M, S; withdrawn later): the time says as much by its own length.
  if (const std::size_t caret = value.find('^'); caret != std::string_view::npos) {
    const std::string_view precision = value.substr(caret + 1);
    if (precision.size() <= 1 && (precision.empty() || std::string_view("YLDHMS").find(precision) != std::string_view::npos)) {
      value = value.substr(0, caret);
    }
  }
  std::string_view zone;
  const std::size_t sign = value.find_first_of("+-");
  if (sign != std::string_view::npos) {
    zone = value.substr(sign);
    value = value.substr(0, sign);
    if (zone.size() != 5 || !all_digits(zone.substr(1))) return bad_time(dtm, "zone must be +HHMM");
    // FHIR's offsets run from -14:00 to +14:00; an hour over 14 or minutes over 59 are no zone.
    const int zone_hours = (zone[1] - '0') * 10 + (zone[2] - '0');
    const int zone_minutes = (zone[3] - '0') * 10 + (zone[4] - '0');
    if (zone_minutes > 59 || zone_hours > 14 || (zone_hours == 14 && zone_minutes > 0)) {
      return bad_time(dtm, "no such zone (offsets run from -1400 to +1400)");
    }
  }
  std::string_view fraction;
  const std::size_t dot = value.find('.');
  if (dot != std::string_view::npos) {
    fraction = value.substr(dot + 1);
    value = value.substr(0, dot);
    if (fraction.empty() || fraction.size() > 4 || !all_digits(fraction) || value.size() != 14) {
      return bad_time(dtm, "fractions need a full time to the second and 1-4 digits");
    }
  }
  const std::size_t n = value.size();
  if (!all_digits(value) || (n != 4 && n != 6 && n != 8 && n != 10 && n != 12 && n != 14)) {
    return bad_time(dtm, "expected YYYY[MM[DD[HH[MM[SS]]]]]");
  }
  const int year = number(value.substr(0, 4));
  const int month = n >= 6 ? number(value.substr(4, 2)) : 1;
  const int day = n >= 8 ? number(value.substr(6, 2)) : 1;
  const int hour = n >= 10 ? number(value.substr(8, 2)) : 0;
  const int minute = n >= 12 ? number(value.substr(10, 2)) : 0;
  const int second = n >= 14 ? number(value.substr(12, 2)) : 0;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return bad_time(dtm, "no such date or time");
  }
  // Written digit by digit (snprintf was a tenth of reading a time): every part is in range here.
  std::string out;
  out.reserve(32);
  append_digits(out, year, 4);
  if (type == TimeType::kDate || (type == TimeType::kDateTime && n <= 8)) {
    if (n >= 6) append_digits(out.append(1, '-'), month, 2);
    if (n >= 8) append_digits(out.append(1, '-'), day, 2);
    return out;
  }
  if (n < 10) return bad_time(dtm, "an instant needs at least a date and an hour");
  append_digits(out.append(1, '-'), month, 2);
  append_digits(out.append(1, '-'), day, 2);
  append_digits(out.append(1, 'T'), hour, 2);
  append_digits(out.append(1, ':'), minute, 2);
  append_digits(out.append(1, ':'), second, 2);
  if (!fraction.empty()) out.append(1, '.').append(fraction);
  if (zone.empty()) {
    const int minutes = oslo_offset_minutes(year, month, day, hour);
    append_digits(out.append(1, '+'), minutes / 60, 2);
    append_digits(out.append(1, ':'), minutes % 60, 2);
  } else if (zone == "-0000") {
    out.append("+00:00");
  } else {
    out.append(zone.substr(0, 3)).append(1, ':').append(zone.substr(3, 2));
  }
  return out;
}

namespace {

// The year of birth of an 11-digit identity number: its two digits, and the century its
// individual number (digits 7-9) gives (Skatteetaten's ranges).
int birth_year(const int (&d)[11]) {
  const int yy = d[4] * 10 + d[5];
  const int individual = d[6] * 100 + d[7] * 10 + d[8];
  if (individual < 500) return 1900 + yy;
  if (individual < 750 && yy >= 54) return 1800 + yy;
  if (yy < 40) return 2000 + yy;
  return 1900 + yy;  // 900-999 with 40-99
}

}  // namespace

std::string check_norwegian_person_id(std::string_view id, PersonIdKind kind) {
  if (id.size() != 11 || !all_digits(id)) return std::string(kNotElevenDigits);
  int d[11];
  for (int i = 0; i < 11; ++i) d[i] = id[i] - '0';
  static constexpr int w1[] = {3, 7, 6, 1, 8, 9, 4, 5, 2};
  static constexpr int w2[] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += w1[i] * d[i];
  int k1 = 11 - sum % 11;
  if (k1 == 11) k1 = 0;
  if (k1 == 10 || k1 != d[9]) return "first control digit is wrong";
  sum = 0;
  for (int i = 0; i < 10; ++i) sum += w2[i] * d[i];
  int k2 = 11 - sum % 11;
  if (k2 == 11) k2 = 0;
  if (k2 == 10 || k2 != d[10]) return "second control digit is wrong";
  int day = d[0] * 10 + d[1];
  const bool d_nummer = day > 40;
  if (d_nummer) day -= 40;
  int month = d[2] * 10 + d[3];
  if (month > 40) month -= 40;  // H-nummer marks the month; tolerate it
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(birth_year(d), month))
    return "digits 1-6 are not a date";
  // Filed under the other kind's system, the same person would become two patients.
  if (kind == PersonIdKind::kFodselsnummer && d_nummer) return "a D-nummer (day + 40), sent as a fødselsnummer";
  if (kind == PersonIdKind::kDNummer && !d_nummer) return "a fødselsnummer, sent as a D-nummer (day + 40)";
  return {};
}

Result<std::string> hl7_number_to_decimal(std::string_view nm) {
  std::size_t b = 0, e = nm.size();
  while (b < e && nm[b] == ' ') ++b;
  while (e > b && nm[e - 1] == ' ') --e;
  std::string s(nm.substr(b, e - b));
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  bool digit = false, dot = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else if (!(c == '-' && i == 0)) {
      return Error{Errc::kInvalidValue, "'" + std::string(nm) + "' is not a number"};
    }
  }
  if (!digit) return Error{Errc::kInvalidValue, "'" + std::string(nm) + "' is not a number"};
  if (s[0] == '.') s.insert(0, "0");
  if (s.rfind("-.", 0) == 0) s.insert(1, "0");
  if (s.back() == '.') s.pop_back();
  // JSON numbers have no leading zeros: "05.100" is 5.100, "-007" is -7, "000" is 0.
  const std::size_t sign = s[0] == '-' ? 1 : 0;
  std::size_t zeros = 0;
  while (sign + zeros + 1 < s.size() && s[sign + zeros] == '0' && s[sign + zeros + 1] != '.') ++zeros;
  s.erase(sign, zeros);
  return s;
}

namespace {

constexpr std::string_view kComparators[] = {"<=", ">=", "<", ">"};  // in the expression's order

bool is_regex_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::size_t spaces_at(std::string_view text, std::size_t at) {
  std::size_t n = 0;
  while (at + n < text.size() && is_regex_space(text[at + n])) ++n;
  return n;
}

}  // namespace

std::string_view comparator_part(std::string_view text) {
  // Leading whitespace, then the first comparator that fits (giving whitespace back cannot help:
  // no comparator starts with whitespace).
  const std::string_view rest = text.substr(spaces_at(text, 0));
  for (std::string_view c : kComparators) {
    if (rest.substr(0, c.size()) == c) return rest.substr(0, c.size());
  }
  return {};
}

std::optional<std::string_view> value_part(std::string_view text) {
  // (.+)$ takes a non-empty rest of the text without a line end. The matcher tries what comes
  // before it longest whitespace first, then each comparator in turn, then none, then whitespace
  // given back; for each, the first rest that fits starts at the last place the whitespace after
  // it allows (or at the last byte).
  const std::size_t n = text.size();
  const std::size_t line_end = text.find_last_of("\n\r\f");
  auto rest_after = [&](std::size_t at) -> std::optional<std::string_view> {
    if (at >= n) return std::nullopt;
    const std::size_t from = std::min(at + spaces_at(text, at), n - 1);
    if (line_end != std::string_view::npos && from <= line_end) return std::nullopt;
    return text.substr(from);
  };
  const std::size_t leading = spaces_at(text, 0);
  for (std::string_view c : kComparators) {
    if (text.substr(leading, c.size()) != c) continue;
    if (auto rest = rest_after(leading + c.size())) return rest;
  }
  if (auto rest = rest_after(leading)) return rest;
  // Only whitespace: the last of it is the rest.
  if (leading > 0) return rest_after(leading - 1);
  return std::nullopt;
}

}  // namespace helsebro::mapping
