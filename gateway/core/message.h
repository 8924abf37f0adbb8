#pragma once
// Vocabulary for a message's life in Helsebro: what Intake notes about it and the journal states.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace helsebro {

/// Journal states. A message moves received → translated → delivered, or ends rejected (bad input,
/// never sent), failed (a delivery attempt failed; it will be retried) or dead (gave up; replayable).
enum class MessageState : std::uint8_t { kReceived, kTranslated, kDelivered, kRejected, kFailed, kDead, kHeld };
inline constexpr int kMessageStateCount = 7;

std::string_view to_string(MessageState state);

/// Stored to be delivered: translated, or received on a channel that translates after the ACK.
inline bool awaits_delivery(MessageState state) {
  return state == MessageState::kTranslated || state == MessageState::kReceived;
}
/// Stored and acknowledged as accepted: to be delivered, or held until a mapping takes its type.
/// A resend of such a message is a duplicate, answered with the original's acknowledgement.
inline bool accepted(MessageState state) {
  return awaits_delivery(state) || state == MessageState::kHeld;
}
std::optional<MessageState> parse_message_state(std::string_view text);

/// Milliseconds since the Unix epoch.
using EpochMillis = std::int64_t;

/// Everything the journal keeps about one received message.
struct MessageRecord {
  std::int64_t seq = 0;          // arrival order, assigned by the journal
  std::string id;                // UUID v7, assigned by Intake
  std::string channel;           // e.g. "mllp"
  std::string sender;            // sending application@facility (MSH-3/MSH-4), for duplicates
  std::string peer;              // the client certificate's subject, or the peer's address
  std::string control_id;        // MSH-10
  std::string message_type;      // e.g. "ADT^A04"
  std::string format;            // "hl7v2"
  std::string charset;           // as declared or detected, e.g. "UTF-8"
  std::string payload_sha256;    // for logs: never log the payload itself
  std::string payload;           // the bytes as received
  MessageState state = MessageState::kReceived;
  std::string reason;            // why rejected / failed / dead
  std::string mapping;           // mapping that translated it
  std::string bundle;            // FHIR transaction Bundle (JSON), once translated
  std::string ordering_key;      // messages with one key are delivered in arrival order
  std::string ack;               // the acknowledgement sent back, for duplicates
  EpochMillis received_at = 0;
  EpochMillis updated_at = 0;
  EpochMillis next_attempt_at = 0;
  std::int32_t attempts = 0;
  /// How often the message was translated since it was stored (a replay translates it again): a
  /// forwarder's state change applies only to the version it sent.
  std::int64_t revision = 0;
  /// Since when it waits for delivery: received_at, or the time of its last translation (a
  /// replay's). The retry budget's age counts from here.
  EpochMillis queued_at = 0;
};

/// The record of a message that just arrived, before Intake reads it: a new id (UUID v7 of the
/// arrival time), the arrival time, the channel and the peer.
MessageRecord arriving(EpochMillis received_at, std::string channel, std::string peer);
/// The record of a stored message as Intake starts it again for a replay: the same id, arrival
/// time, channel and peer, so that what is derived from them (resource ids) stays the same.
MessageRecord arriving_again(const MessageRecord& stored);

}  // namespace helsebro
