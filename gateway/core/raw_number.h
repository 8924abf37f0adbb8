#pragma once
// Decimals keep the digits the sender gave ("1.50" stays 1.50): between the mapping engine and
// the JSON writer they travel through a rapidjson document as strings marked with this first
// byte, and are written as raw JSON numbers. The validator reads such strings as numbers.

#include <string_view>

namespace helsebro {

inline constexpr char kRawNumberMark = '\x1F';

/// The number text of a marked string, or nullopt-like empty view when `s` is not marked.
inline std::string_view raw_number_text(std::string_view s) {
  return s.size() > 1 && s[0] == kRawNumberMark ? s.substr(1) : std::string_view{};
}

}  // namespace helsebro
