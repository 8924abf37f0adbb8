#pragma once
// Character sets named in MSH-18, decoded to UTF-8.

#include <string>
#include <string_view>

#include "gateway/core/result.h"

namespace helsebro::hl7v2 {

enum class Charset { kAscii, kLatin1, kLatin9, kUtf8 };

/// Maps an MSH-18 value to a charset; an empty value means "not declared".
Result<Charset> charset_from_msh18(std::string_view value);
std::string_view charset_name(Charset charset);

/// Appends the UTF-8 encoding of one code point.
void append_utf8(std::string& out, char32_t code_point);
/// Appends a byte of a single-byte charset as UTF-8.
void append_single_byte(std::string& out, unsigned char byte, Charset charset);

/// Offset of the first byte that is not valid UTF-8, or npos.
std::size_t find_invalid_utf8(std::string_view bytes);
std::size_t find_non_ascii(std::string_view bytes);

/// Decodes bytes in a charset to UTF-8; fails with the offset of the first invalid byte.
Result<std::string> to_utf8(std::string_view bytes, Charset charset);
/// The same into `out`, reusing its capacity (the parser's hot path).
Result<void> to_utf8_into(std::string_view bytes, Charset charset, std::string& out);
/// Encodes UTF-8 text into a charset for replies; characters it cannot hold become '?'.
std::string from_utf8(std::string_view text, Charset charset);

}  // namespace helsebro::hl7v2
