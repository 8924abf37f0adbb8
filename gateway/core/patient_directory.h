#pragma once
// Whether the receiving system knows a patient: asked before an e-message is accepted on a
// channel that takes messages only for patients the shared record already holds (AppRec E35
// "pasienten finnes ikke i mottakersystemet"). The answer may come from a cache or a request to
// the record, so it arrives through a callback. No Asio here.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace helsebro {

/// A patient identifier as the record keeps it: a no-basis system and the value.
struct PatientIdentifier {
  std::string system;  // e.g. "urn:oid:2.16.578.1.12.4.1.4.1" (fødselsnummer)
  std::string value;
};

enum class PatientPresence {
  kKnown,        // the record holds a patient with one of the identifiers
  kUnknown,      // it answered, and holds none
  kUnavailable,  // no answer (unreachable, timeout, refused): nothing is known
};

/// A bounded metric label: "known", "unknown", "unavailable".
std::string_view label(PatientPresence presence);

class PatientDirectory {
 public:
  virtual ~PatientDirectory() = default;
  /// Looks for a patient with any of `ids` (at least one). `done` runs exactly once, on a
  /// thread of the directory's choosing; it must not block.
  virtual void find(std::vector<PatientIdentifier> ids,
                    std::function<void(PatientPresence)> done) = 0;
};

inline std::string_view label(PatientPresence presence) {
  switch (presence) {
    case PatientPresence::kKnown:
      return "known";
    case PatientPresence::kUnknown:
      return "unknown";
    case PatientPresence::kUnavailable:
      break;
  }
  return "unavailable";
}

}  // namespace helsebro
