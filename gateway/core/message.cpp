#include "gateway/core/message.h"

#include <array>
#include <utility>

#include "gateway/core/ids.h"

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

MessageRecord arriving(EpochMillis received_at, std::string channel, std::string peer) {
  MessageRecord r;
  r.received_at = received_at;
  r.id = uuid_v7(received_at);
  r.channel = std::move(channel);
  r.peer = std::move(peer);
  return r;
}

MessageRecord arriving_again(const MessageRecord& stored) {
  MessageRecord r;
  r.received_at = stored.received_at;
  r.id = stored.id;
  r.channel = stored.channel;
  r.peer = stored.peer;
  return r;
}

}  // namespace helsebro
