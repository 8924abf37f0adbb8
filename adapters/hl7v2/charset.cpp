#include "adapters/hl7v2/charset.h"

#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace helsebro::hl7v2 {
namespace {

// ISO 8859-15 differs from 8859-1 in eight positions.
char32_t latin9_code_point(unsigned char byte) {
  switch (byte) {
    case 0xA4: return 0x20AC;
    case 0xA6: return 0x0160;
    case 0xA8: return 0x0161;
    case 0xB4: return 0x017D;
    case 0xB8: return 0x017E;
    case 0xBC: return 0x0152;
    case 0xBD: return 0x0153;
    case 0xBE: return 0x0178;
    default: return byte;
  }
}

int latin9_byte(char32_t cp) {
  static constexpr std::array<std::pair<char32_t, int>, 8> kMap{{{0x20AC, 0xA4},
                                                                 {0x0160, 0xA6},
                                                                 {0x0161, 0xA8},
                                                                 {0x017D, 0xB4},
                                                                 {0x017E, 0xB8},
                                                                 {0x0152, 0xBC},
                                                                 {0x0153, 0xBD},
                                                                 {0x0178, 0xBE}}};
  for (auto [code_point, byte] : kMap) {
    if (code_point == cp) return byte;
  }
  if (cp < 0x100 && latin9_code_point(static_cast<unsigned char>(cp)) == cp) return static_cast<int>(cp);
  return -1;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Decodes one UTF-8 sequence at bytes[i]; returns its length, or 0 if invalid.
std::size_t utf8_sequence(std::string_view bytes, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(bytes[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t length = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > bytes.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto b = static_cast<unsigned char>(bytes[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return length;
}

}  // namespace

Result<Charset> charset_from_msh18(std::string_view value) {
  const std::string v = upper(value);
  if (v.empty() || v == "ASCII") return Charset::kAscii;
  if (v == "8859/1" || v == "ISO-8859-1" || v == "ISO_IR 100") return Charset::kLatin1;
  if (v == "8859/15" || v == "ISO-8859-15") return Charset::kLatin9;
  if (v == "UNICODE UTF-8" || v == "UTF-8" || v == "UNICODE") return Charset::kUtf8;
  return Error{Errc::kUnsupportedCharset,
               "MSH-18 names '" + std::string(value) +
                   "'; supported: ASCII, 8859/1, 8859/15, UNICODE UTF-8",
               Location{"MSH", 1, 18}};
}

std::string_view charset_name(Charset charset) {
  switch (charset) {
    case Charset::kAscii: return "ASCII";
    case Charset::kLatin1: return "8859/1";
    case Charset::kLatin9: return "8859/15";
    case Charset::kUtf8: return "UNICODE UTF-8";
  }
  return "ASCII";
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void append_single_byte(std::string& out, unsigned char byte, Charset charset) {
  append_utf8(out, charset == Charset::kLatin9 ? latin9_code_point(byte) : char32_t{byte});
}

std::size_t find_invalid_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    // ASCII runs, sixteen or eight bytes at a time.
#if defined(__SSE2__)
    while (i + 16 <= bytes.size() &&
           _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes.data() + i))) == 0) {
      i += 16;
    }
#endif
    while (i + 8 <= bytes.size()) {
      std::uint64_t word;
      std::memcpy(&word, bytes.data() + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= bytes.size()) break;
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t length = utf8_sequence(bytes, i, cp);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::size_t find_non_ascii(std::string_view bytes) {
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    if (word & 0x8080808080808080ULL) break;
  }
  for (; i < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) >= 0x80) return i;
  }
  return std::string_view::npos;
}

Result<void> to_utf8_into(std::string_view bytes, Charset charset, std::string& out) {
  auto invalid = [](std::size_t offset, std::string_view what) {
    Location at;
    at.byte_offset = offset;
    at.has_offset = true;
    return Error{Errc::kInvalidCharacterData, std::string(what), at};
  };
  switch (charset) {
    case Charset::kAscii: {
      const std::size_t bad = find_non_ascii(bytes);
      if (bad != std::string_view::npos) {
        return invalid(bad, "a byte above 0x7F in a message declared ASCII (set MSH-18)");
      }
      out.assign(bytes);
      return {};
    }
    case Charset::kUtf8: {
      const std::size_t bad = find_invalid_utf8(bytes);
      if (bad != std::string_view::npos) return invalid(bad, "invalid UTF-8 sequence");
      out.assign(bytes);
      return {};
    }
    case Charset::kLatin1:
    case Charset::kLatin9:
      out.clear();
      out.reserve(bytes.size() + bytes.size() / 8);
      for (char c : bytes) append_single_byte(out, static_cast<unsigned char>(c), charset);
      return {};
  }
  out.assign(bytes);
  return {};
}

Result<std::string> to_utf8(std::string_view bytes, Charset charset) {
  std::string out;
  auto done = to_utf8_into(bytes, charset, out);
  if (!done) return done.error();
  return out;
}

std::string from_utf8(std::string_view text, Charset charset) {
  if (charset == Charset::kUtf8) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    std::size_t length = utf8_sequence(text, i, cp);
    if (length == 0) length = 1, cp = '?';
    i += length;
    int byte = -1;
    if (charset == Charset::kAscii) {
      byte = cp < 0x80 ? static_cast<int>(cp) : -1;
    } else if (charset == Charset::kLatin1) {
      byte = cp < 0x100 ? static_cast<int>(cp) : -1;
    } else {
      byte = latin9_byte(cp);
    }
    out.push_back(byte < 0 ? '?' : static_cast<char>(byte));
  }
  return out;
}

}  // namespace helsebro::hl7v2
