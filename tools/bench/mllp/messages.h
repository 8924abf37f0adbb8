#pragma once
// Synthetic HL7 v2 traffic for the MLLP load generator: ADT^A01 admissions and ORU^R01 lab
// results about a fixed set of invented patients, each with a valid fødselsnummer (both mod-11
// check digits right). Every message gets its own MSH-10, so the gateway's duplicate detection
// never short-circuits a write. All data is invented; deterministic for a given seed.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace helsebro::bench {

struct Patient {
  std::string fnr;     // 11 digits, valid check digits
  std::string family;  // UTF-8, often with æ, ø or å
  std::string given;
  std::string birth_date;  // YYYYMMDD, the date the fødselsnummer encodes
  char sex = 'F';          // F or M, as the fødselsnummer's individual number says
};

/// `count` patients with distinct, valid fødselsnumre. Deterministic for a seed.
std::vector<Patient> make_patients(std::size_t count, std::uint32_t seed);

/// True when `fnr` is 11 digits with both check digits right.
bool valid_fnr(std::string_view fnr);

/// Which messages a generator produces.
enum class Mix { kAdt, kOru, kBoth };

/// Builds messages round-robin over the patients. Not thread-safe: one per sender.
class MessageFactory {
 public:
  /// `control_prefix` makes MSH-10 unique across runs and senders (at most 10 characters).
  MessageFactory(const std::vector<Patient>& patients, Mix mix, std::string control_prefix,
                 std::uint32_t seed);

  /// Writes the next message (segments end with \r, no MLLP framing) into `out`, replacing what
  /// was there, and returns its MSH-10.
  std::string next(std::string& out);

 private:
  void adt_a01(std::string& out, const Patient& p, std::string_view control_id);
  void oru_r01(std::string& out, const Patient& p, std::string_view control_id);

  const std::vector<Patient>& patients_;
  Mix mix_;
  std::string prefix_;
  std::uint64_t counter_ = 0;
  std::mt19937 random_;
};

}  // namespace helsebro::bench
