#pragma once
// Checks of the identifiers an e-message must carry: Norwegian national identity numbers
// (fødselsnummer, D-nummer: eleven digits, two mod-11 control digits) and message ids (UUIDs).

#include <string_view>

namespace helsebro::kith {

enum class NationalIdKind { kFodselsnummer, kDNummer };

/// Eleven digits whose two control digits are right (weights 3 7 6 1 8 9 4 5 2 and
/// 5 4 3 2 7 6 5 4 3 2; a control digit computed as 10 makes the number invalid), with a day part
/// of 01–31 for a fødselsnummer and 41–71 for a D-nummer (day + 40).
bool is_valid_national_id(std::string_view id, NationalIdKind kind);

/// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in hex digits of either case.
bool is_uuid(std::string_view text);

/// `text` without leading and trailing XML whitespace (space, tab, CR, LF).
std::string_view trim_xml_space(std::string_view text);

}  // namespace helsebro::kith
