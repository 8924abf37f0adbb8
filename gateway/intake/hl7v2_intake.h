#pragma once
// Intake for HL7 v2: gives each message an id, reads it with the channel's charset rules, checks
// the sender is allowed on the channel, translates it through the mapping set (or, on a channel
// that translates after the ACK, only finds the mapping), and prepares both the journal record
// and the acknowledgement. The caller stores the record and sends the
// acknowledgement only after the journal reports the record durable.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/hl7v2/message.h"
#include "adapters/hl7v2/parser.h"
#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/core/message.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::observe {
class IntakeProbe;
}

namespace helsebro::intake {

using MappingProvider = std::function<std::shared_ptr<const mapping::MappingSet>()>;

/// Who may send on a channel. Empty fields match anything; a message is allowed when any rule
/// matches all of its non-empty fields.
struct SenderRule {
  std::string certificate_subject;  // the TLS client certificate's subject, e.g. "CN=lab,O=St. Olav"
  std::string sending_application;  // MSH-3.1
  std::string sending_facility;     // MSH-4.1
};

struct ChannelRules {
  std::string channel = "mllp";
  hl7v2::ParseOptions parse;         // a fixed or fallback charset
  std::vector<SenderRule> allowed;   // empty: anyone may send
  bool original_ack_mode_only = false;  // AA/AE/AR even when MSH-15/16 ask for enhanced mode
  bool hold_unmapped = false;            // no mapping for the type: held (AA), not refused (AR)
  std::vector<std::string> processing_ids{"P"};  // MSH-11.1 taken (an empty one too)
  bool accept_invalid_person_id = false; // wrong fødselsnummer control digits: a warning, not AE
  /// Store as received and acknowledge once the header is checked and a mapping takes the type;
  /// the Translator translates it after the ACK.
  bool translate_after_ack = false;
};

/// A channel's rules as its configuration gives them.
ChannelRules channel_rules(const config::MllpConfig& channel);

/// Where a frame came from.
struct Peer {
  std::string address;
  std::string certificate_subject;  // empty without a client certificate
};

/// How the sender asked to be acknowledged (MSH-15/MSH-16).
enum class AckMode { kOriginal, kEnhanced };

/// A message, read and translated, waiting for its journal commit.
struct PreparedMessage {
  MessageRecord record;          // state translated, rejected, held, or received (translate after ACK)
  std::string ack;               // to send once the record is durable (encoded in its charset)
  std::string ack_code;          // AA/AE/AR, or CA/CE/CR in enhanced mode
  bool send_ack = true;          // enhanced mode may ask for no acknowledgement (NE, ER, SU)
  bool answerable = true;        // false: never answered, not even when the store fails (a cut frame)
  std::string metric_type;       // message type label: known to a mapping, or "other"
  std::optional<hl7v2::Message> message;  // kept to answer a failed commit
  std::string charset = "UNICODE UTF-8";
  AckMode mode = AckMode::kOriginal;
  std::string accept_ack_type;   // MSH-15 in enhanced mode: AL, NE, ER, SU
  std::string application_ack_type;  // MSH-16: AL, NE, ER, SU
  std::size_t unmapped_fields = 0;  // translated: the non-empty fields its mapping did not read
  std::size_t waived_checks = 0;    // translated: person-id checks the channel waived (warnings)
};

/// A frame: one message, or the messages of a batch (FHS/BHS … BTS/FTS).
struct PreparedFrame {
  std::vector<PreparedMessage> messages;
  bool batch = false;
  std::string batch_control_id;  // BHS-11 of the batch answered
  // The batch's header as its answer echoes it: its delimiters, and its sender and receiver
  // (BHS-3 to BHS-6, raw: escaped with those delimiters); with a file header (FHS), FHS-11.
  hl7v2::Delimiters batch_delimiters;
  std::string batch_sending_application, batch_sending_facility;
  std::string batch_receiving_application, batch_receiving_facility;
  bool file = false;
  std::string file_control_id;
  /// A file of several batches: each one's BHS-11 and the index of its first message in
  /// `messages`. Each is answered with a batch of its own. Empty for one batch or none.
  struct Part {
    std::string control_id;
    std::size_t first_message = 0;
  };
  std::vector<Part> parts;
};

/// Thread-safe: holds no per-message state.
class Hl7v2Intake {
 public:
  Hl7v2Intake(ChannelRules rules, MappingProvider mappings, Clock clock, observe::IntakeProbe* probe);

  /// Reads and translates every message of a frame. Never fails: bad input yields rejected
  /// records and NAKs.
  PreparedFrame prepare_frame(std::string_view frame, const Peer& peer) const;
  /// Reads and translates one message.
  PreparedMessage prepare(std::string_view bytes, const Peer& peer) const;
  /// Reads and translates a stored message again (replay, or the translation after the ACK),
  /// keeping its id and receipt time, so the resource ids a mapping derives from them
  /// ($messageId) are those of the first translation. Always translates.
  PreparedMessage prepare_again(const MessageRecord& stored, const Peer& peer) const;
  /// A frame over the size limit: a rejected record of its first bytes and an AR.
  PreparedMessage prepare_oversized(std::string_view prefix, std::size_t limit, const Peer& peer) const;
  /// A frame cut short by the next start block: a rejected record of what came, not answered
  /// (the sender may have given up on it and be waiting for its resend's answer, whose control id
  /// it would share).
  PreparedMessage prepare_abandoned(std::string_view bytes, const Peer& peer) const;
  /// The NAK sent instead of the prepared ACK when the journal could not store the message.
  std::string storage_failed_ack(const PreparedMessage& prepared) const;
  /// One batch acknowledgement (BHS … BTS) around the messages' acknowledgements.
  std::string batch_ack(const PreparedFrame& frame, const std::vector<std::string>& acks) const;

  const std::string& channel() const { return rules_.channel; }

 private:
  PreparedMessage start(std::string_view bytes, const Peer& peer) const;
  PreparedMessage prepare_started(PreparedMessage p, std::string_view bytes, const Peer& peer,
                                  bool translate_now) const;
  PreparedMessage reject(PreparedMessage p, const Error& error, std::string_view raw) const;
  void acknowledge(PreparedMessage& p, char outcome, const std::optional<Error>& error,
                   std::string_view raw) const;
  std::string ack_text(const PreparedMessage& p, std::string_view code, const std::optional<Error>& error,
                       std::string_view raw) const;
  bool sender_allowed(const Peer& peer, std::string_view application, std::string_view facility) const;

  ChannelRules rules_;
  MappingProvider mappings_;
  Clock clock_;
  observe::IntakeProbe* probe_;
};

}  // namespace helsebro::intake
