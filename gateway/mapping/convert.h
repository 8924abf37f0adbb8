#pragma once
// Value conversions the mapping language offers with "$as" and "$check".

#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/result.h"

namespace helsebro::mapping {

enum class TimeType { kDate, kDateTime, kInstant };
/// How the source writes times: HL7 v2 DTM, or XML Schema date/dateTime (KITH e-messages).
enum class TimeSyntax { kHl7, kXmlSchema };

/// An HL7 v2 DTM/DT/TS (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]), or with kXmlSchema an XML Schema
/// date/dateTime as KITH e-messages carry them (YYYY[-MM[-DD[Thh:mm[:ss[.S…]]]]][Z|+/-hh:mm]; a
/// fraction is cut to four digits), to a FHIR date, dateTime or instant. Surrounding whitespace is
/// ignored. A time without a zone is read as Norwegian local time (CET/CEST); a date-only value asked for
/// as an instant is an error, because an instant needs a time.
Result<std::string> time_to_fhir(std::string_view text, TimeType type, TimeSyntax syntax = TimeSyntax::kHl7);

/// UTC offset of Europe/Oslo at a local wall-clock time, in minutes (60 or 120).
int oslo_offset_minutes(int year, int month, int day, int hour);

/// Which Norwegian person number a check expects: either, or the one the sender named (CX-5
/// FNR or DNR). A D-nummer is a fødselsnummer's shape with day + 40.
enum class PersonIdKind { kEither, kFodselsnummer, kDNummer };

/// Fødselsnummer or D-nummer: 11 digits, a plausible date (D-nummer: day + 40) and both mod-11
/// control digits right, and the kind asked for. Returns the reason when invalid, or "" when valid.
std::string check_norwegian_person_id(std::string_view id, PersonIdKind kind = PersonIdKind::kEither);
/// The reason check_norwegian_person_id gives when the text is not 11 digits at all.
inline constexpr std::string_view kNotElevenDigits = "must be 11 digits";

/// HL7 NM to a FHIR decimal: trims, drops a leading '+', keeps the digits the sender gave.
Result<std::string> hl7_number_to_decimal(std::string_view nm);

/// A value with a leading comparator, as labs send NM results ("<0.5", ">= 90"): "$comparator".
/// Both parts are found as the regular expressions the ORU mapping used to give them, with
/// whitespace \s = [ \t\n\v\f\r], and line ends \n \r \f:
///   comparator_part: ^\s*(<=|>=|<|>)              the comparator, or nothing
///   value_part:      ^\s*(?:<=|>=|<|>)?\s*(.+)$   what follows it, or nothing
/// Both are views into `text`. value_part takes the regular expression's way out where nothing
/// follows the comparator: "<" gives "<", ">=" gives "=", "< " gives " " (so the value is refused
/// as a number, or counts as absent), and a line end after the start gives nothing.
std::string_view comparator_part(std::string_view text);
std::optional<std::string_view> value_part(std::string_view text);

}  // namespace helsebro::mapping
