#pragma once
// HL7 v2 escape sequences (\F\ \S\ \T\ \R\ \E\ \P\ \Xhh…\ \.br\ \H\ \N\ …) in both directions.

#include <string>
#include <string_view>

#include "adapters/hl7v2/message.h"

namespace helsebro::hl7v2 {

/// Decodes the escapes of a raw value. `single_byte_charset` names the message's original
/// single-byte charset ("8859/1", "8859/15") so \Xhh\ bytes are transcoded; empty means the
/// bytes are UTF-8 already (invalid sequences become U+FFFD). Unknown escapes stay literal.
std::string decode_escapes(std::string_view raw, const Delimiters& delimiters,
                           std::string_view single_byte_charset);

/// Escapes delimiter characters in text so it can be placed in a field.
std::string encode_escapes(std::string_view text, const Delimiters& delimiters);

}  // namespace helsebro::hl7v2
