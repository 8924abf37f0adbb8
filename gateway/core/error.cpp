#include "gateway/core/error.h"

#include <array>

namespace helsebro {
namespace {

constexpr std::array<ErrcInfo, static_cast<std::size_t>(Errc::kCount)> kTable{{
    {"ok", "0", "Message accepted", 'A', "accepted"},
    {"frame_too_large", "207", "Application internal error", 'R', "frame exceeds the size limit"},
    {"not_hl7", "100", "Segment sequence error", 'R', "not an HL7 v2 message"},
    {"missing_msh", "100", "Segment sequence error", 'R', "message does not start with MSH"},
    {"bad_encoding_characters", "102", "Data type error", 'R', "invalid encoding characters"},
    {"unsupported_charset", "102", "Data type error", 'E', "unsupported character set"},
    {"invalid_character_data", "102", "Data type error", 'E', "bytes do not match the character set"},
    {"required_field_missing", "101", "Required field missing", 'E', "required field missing"},
    {"bad_segment_id", "100", "Segment sequence error", 'E', "invalid segment"},
    {"invalid_value", "102", "Data type error", 'E', "invalid value"},
    {"unsupported_message_type", "200", "Unsupported message type", 'R', "unsupported message type"},
    {"unsupported_version", "203", "Unsupported version id", 'R', "unsupported HL7 version"},
    {"unsupported_processing_id", "202", "Unsupported processing id", 'R', "processing id not taken on this channel"},
    {"duplicate_message", "205", "Duplicate key identifier", 'A', "duplicate message"},
    {"sender_not_allowed", "207", "Application internal error", 'R', "sender not allowed on this channel"},
    {"no_mapping", "200", "Unsupported message type", 'R', "no mapping for this message type"},
    {"mapping_failed", "207", "Application internal error", 'E', "the message could not be mapped"},
    {"invalid_identifier", "102", "Data type error", 'E', "invalid identifier"},
    {"journal_write_failed", "207", "Application internal error", 'E', "the message could not be stored"},
    {"journal_superseded", "207", "Application internal error", 'E', "the message was replayed meanwhile"},
    {"upstream_unreachable", "207", "Application internal error", 'E', "shared record unreachable"},
    {"upstream_transient", "207", "Application internal error", 'E', "shared record busy or failing"},
    {"upstream_permanent", "207", "Application internal error", 'E', "shared record refused the data"},
}};

}  // namespace

const ErrcInfo& info(Errc code) { return kTable.at(static_cast<std::size_t>(code)); }

std::string to_string(const Location& where) {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on chains of string operator+.
  std::string out;
  auto number = [&out](std::string_view before, std::uint64_t n, std::string_view after = {}) {
    out.append(before);
    out.append(std::to_string(n));
    out.append(after);
  };
  if (!where.segment.empty()) {
    out.append(where.segment);
    if (where.segment_seq > 1) number("[", where.segment_seq, "]");
    if (where.field > 0) number("-", where.field);
    if (where.repetition > 1) number("[", where.repetition, "]");
    if (where.component > 0) number(".", where.component);
    if (where.subcomponent > 0) number(".", where.subcomponent);
  }
  if (where.has_offset) number(out.empty() ? "at byte " : " at byte ", where.byte_offset);
  return out;
}

std::string Error::message() const {
  std::string out{info(code).summary};
  const std::string at = to_string(where);
  if (!at.empty()) out += " (" + at + ")";
  if (!detail.empty()) out += ": " + detail;
  return out;
}

}  // namespace helsebro
