#pragma once
// The codes an AppRec carries: its status (Volven code list 8258) and its errors (code list 8221),
// each with the display text of the code list, the code list's OID and a metric label.

#include <cstdint>
#include <string_view>

namespace helsebro::kith {

/// Code list 8258, "Status for mottak av melding".
enum class AppRecStatus : std::uint8_t {
  kOk = 1,             // 1 OK
  kRejected = 2,       // 2 Avvist
  kOkErrorInPart = 3,  // 3 OK, feil i delmelding
};

/// Code list 8221, "Feil i applikasjonskvittering": the codes Helsebro sends.
enum class AppRecCode : std::uint8_t {
  kT01,  // not XML, not well-formed, unreadable
  kT02,  // not valid against the schema
  kT10,  // message format not supported
  kT99,  // other format error (a DOCTYPE, a message over the size limit)
  kE10,  // invalid message id (MsgId not a UUID)
  kE21,  // receiver does not exist
  kE30,  // patient's national identity number missing
  kE31,  // patient's national identity number wrong
  kE35,  // patient not in the receiving system
  kX99,  // other error
  kCount,
};

struct AppRecCodeInfo {
  std::string_view code;          // V, e.g. "T01"
  std::string_view display;       // DN, the code list's text (Norwegian)
  std::string_view metric_label;  // label `reason` in metrics
};

inline constexpr std::string_view kStatusCodeListOid = "2.16.578.1.12.4.1.1.8258";
inline constexpr std::string_view kErrorCodeListOid = "2.16.578.1.12.4.1.1.8221";

const AppRecCodeInfo& info(AppRecCode code);
/// "1", "2" or "3".
std::string_view code_of(AppRecStatus status);
/// "OK", "Avvist" or "OK, feil i delmelding".
std::string_view display_of(AppRecStatus status);

}  // namespace helsebro::kith
