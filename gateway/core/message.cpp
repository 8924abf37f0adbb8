#include "gateway/core/message.h"

#include <array>

namespace helsebro {
namespace {
constexpr std::array<std::string_view, kMessageStateCount> kStateNames{
    "received", "translated", "delivered", "rejected", "failed", "dead", "held"};
}

std::string_view to_string(MessageState state) {
  return kStateNames.at(static_cast<std::size_t>(state));
}

std::optional<MessageState> parse_message_state(std::string_view text) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == text) return static_cast<MessageState>(i);
  }
  return std::nullopt;
}

}  // namespace helsebro
