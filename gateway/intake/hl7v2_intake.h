#pragma once
// Intake for HL7 v2: gives each frame an id, reads it, translates it through the mapping set and
// prepares both the journal record and the acknowledgement. The caller stores the record and
// sends the acknowledgement only after the journal reports the record durable.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/hl7v2/message.h"
#include "gateway/core/clock.h"
#include "gateway/core/message.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::observe {
class IntakeProbe;
}

namespace helsebro::intake {

using MappingProvider = std::function<std::shared_ptr<const mapping::MappingSet>()>;

/// A frame, read and translated, waiting for its journal commit.
struct PreparedMessage {
  MessageRecord record;          // state translated or rejected
  std::string ack;               // to send once the record is durable (encoded in its charset)
  std::string ack_code;          // AA, AE or AR: the outcome the sender learns
  std::string metric_type;       // message type label: known to a mapping, or "other"
  std::optional<hl7v2::Message> message;  // kept to answer a failed commit
  std::string charset = "UNICODE UTF-8";
};

/// Thread-safe: holds no per-message state.
class Hl7v2Intake {
 public:
  Hl7v2Intake(std::string channel, MappingProvider mappings, Clock clock, observe::IntakeProbe* probe);

  /// Reads and translates one frame. Never fails: bad input yields a rejected record and a NAK.
  PreparedMessage prepare(std::string_view frame, std::string_view peer) const;
  /// A frame over the size limit: a rejected record of its first bytes and an AR.
  PreparedMessage prepare_oversized(std::string_view prefix, std::size_t limit, std::string_view peer) const;
  /// The NAK sent instead of the prepared ACK when the journal could not store the message.
  std::string storage_failed_ack(const PreparedMessage& prepared) const;

  const std::string& channel() const { return channel_; }

 private:
  PreparedMessage reject(PreparedMessage p, const Error& error, std::string_view frame) const;
  std::string ack_for(const PreparedMessage& p, std::string_view code, const std::optional<Error>& error,
                      std::string_view raw) const;

  std::string channel_;
  MappingProvider mappings_;
  Clock clock_;
  observe::IntakeProbe* probe_;
};

}  // namespace helsebro::intake
