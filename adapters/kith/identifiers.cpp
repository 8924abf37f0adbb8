#include "adapters/kith/identifiers.h"

#include <array>

#include "gateway/core/ids.h"

namespace helsebro::kith {
namespace {

// The control digit for the first weights.size() digits; 10 means no valid digit exists.
template <std::size_t N>
int control_digit(std::string_view digits, const std::array<int, N>& weights) {
  int sum = 0;
  for (std::size_t i = 0; i < N; ++i) sum += (digits[i] - '0') * weights[i];
  const int rest = 11 - sum % 11;
  return rest == 11 ? 0 : rest;
}

}  // namespace

bool is_valid_national_id(std::string_view id, NationalIdKind kind) {
  if (id.size() != 11) return false;
  for (char c : id) {
    if (c < '0' || c > '9') return false;
  }
  static constexpr std::array<int, 9> kFirst{3, 7, 6, 1, 8, 9, 4, 5, 2};
  static constexpr std::array<int, 10> kSecond{5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
  const int k1 = control_digit(id, kFirst);
  if (k1 == 10 || k1 != id[9] - '0') return false;
  const int k2 = control_digit(id, kSecond);
  if (k2 == 10 || k2 != id[10] - '0') return false;
  const int day = (id[0] - '0') * 10 + (id[1] - '0');
  return kind == NationalIdKind::kFodselsnummer ? day >= 1 && day <= 31 : day >= 41 && day <= 71;
}

bool is_uuid(std::string_view text) {
  Uuid ignored;
  return parse_uuid(text, ignored);
}

std::string_view trim_xml_space(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const std::size_t last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace helsebro::kith
