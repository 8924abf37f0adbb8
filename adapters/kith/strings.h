#pragma once
// Building short texts piece by piece: GCC 12 warns falsely (-Wrestrict) on chains of
// std::string operator+, so the pieces are appended.

#include <initializer_list>
#include <string>
#include <string_view>

namespace helsebro::kith {

inline std::string cat(std::initializer_list<std::string_view> pieces) {
  std::size_t size = 0;
  for (std::string_view p : pieces) size += p.size();
  std::string out;
  out.reserve(size);
  for (std::string_view p : pieces) out.append(p);
  return out;
}

}  // namespace helsebro::kith
