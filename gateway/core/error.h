#pragma once
// The one table of error codes on Helsebro's data path. Each code has a stable name, the text a
// sender sees, the HL7 table 0357 code its NAK carries, and the metric label it counts under.

#include <cstdint>
#include <string>
#include <string_view>

namespace helsebro {

enum class Errc : std::uint16_t {
  kOk = 0,
  // Framing and transport.
  kFrameTooLarge,
  kNotHl7,
  // HL7 v2 reading.
  kMissingMsh,
  kBadEncodingCharacters,
  kUnsupportedCharset,
  kInvalidCharacterData,
  kRequiredFieldMissing,
  kBadSegmentId,
  kInvalidValue,
  kUnsupportedMessageType,
  kUnsupportedVersion,
  kUnsupportedProcessingId,
  kDuplicateMessage,
  kSenderNotAllowed,
  // Mapping.
  kNoMapping,
  kMappingFailed,
  kInvalidIdentifier,
  // Storage.
  kJournalWriteFailed,
  kJournalSuperseded,  // a state change for a version of the message that a replay has replaced
  // Forwarding.
  kUpstreamUnreachable,
  kUpstreamTransient,
  kUpstreamPermanent,
  kCount,
};

enum class Severity : char { kError = 'E', kWarning = 'W', kInformation = 'I' };

/// Static facts about one error code.
struct ErrcInfo {
  std::string_view name;          // stable identifier, used as metric label `reason`
  std::string_view hl7_code;      // HL7 table 0357 code
  std::string_view hl7_text;      // HL7 table 0357 display text
  char ack_code;                  // 'E' → AE, 'R' → AR (original mode)
  std::string_view summary;       // what a sender reads first
};

const ErrcInfo& info(Errc code);

/// Where in a message a problem was found; zero means "not known".
struct Location {
  std::string segment;            // e.g. "PID"
  std::uint32_t segment_seq = 0;  // 1-based occurrence of that segment
  std::uint32_t field = 0;
  std::uint32_t repetition = 0;
  std::uint32_t component = 0;
  std::uint32_t subcomponent = 0;
  std::uint64_t byte_offset = 0;  // offset in the received bytes, when it matters
  bool has_offset = false;
};

/// An error as a value: a code, a readable detail for the sender, and where.
struct Error {
  Errc code = Errc::kOk;
  std::string detail;
  Location where;

  Error() = default;
  Error(Errc c, std::string d) : code(c), detail(std::move(d)) {}
  Error(Errc c, std::string d, Location w) : code(c), detail(std::move(d)), where(std::move(w)) {}

  /// "<summary>: <detail>" — the text sent back to the sender and kept in the journal.
  std::string message() const;
};

std::string to_string(const Location& where);

}  // namespace helsebro
