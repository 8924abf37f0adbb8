#pragma once
// Which kith mapping takes an e-message: its message type and version, as `accepts.messages`
// and `accepts.versions` name them. Used by KITH intake, `helsebro map` and the golden tests.
// And the patient's identifiers as the shared record keeps them, to ask whether it knows him.

#include <string>
#include <vector>

#include "gateway/core/patient_directory.h"

namespace helsebro::kith {
struct MessageHeader;
class SchemaIndex;
}  // namespace helsebro::kith

namespace helsebro::mapping {
class Mapping;
}  // namespace helsebro::mapping

namespace helsebro::intake {

struct KithMessageKey {
  /// MsgHead MsgInfo/Type/@V (code list 8279, e.g. "DIALOG_NOTAT", "SERVREQ"), or a standalone
  /// Message/Type/@V (e.g. "EPIKRISE", "SVAR_KLINKJEMI"): the same code list, the same element.
  std::string type;
  /// The version of the clinical message, from the schema index entry of its namespace (e.g.
  /// "1.1" for Dialogmelding 2013-01-23): for MsgHead the first payload that is a message, for a
  /// standalone message its root. MsgHead's own MIGversion ("v1.2 2006-05-24") is the
  /// envelope's version, the same for every payload, so it is the fallback only.
  std::string version;
};

/// Thread-safe; reads only its arguments.
KithMessageKey kith_message_key(const kith::MessageHeader& header, const kith::SchemaIndex& index);

/// The clinical message the e-message carries, as the schema index names it ("Epikrise",
/// "Henvisning", "PLO Innleggelsesrapport"): the first payload (MsgHead) or the root (standalone)
/// that is a message. Empty when none is. Bounded by the index, so fit for a metric's label.
std::string kith_message_name(const kith::MessageHeader& header, const kith::SchemaIndex& index);

/// Why the e-message's content is not what `mapping` reads (its `accepts.payloads`), as the
/// AppRec's text: a payload that is another message (a Henvisning under MsgInfo/Type
/// DIALOG_NOTAT), or no payload of a kind the mapping names. Empty when the content fits, and
/// for a mapping that names no payloads. Attachments (Base64Container) are not messages.
std::string kith_payload_mismatch(const kith::MessageHeader& header, const kith::SchemaIndex& index,
                                  const mapping::Mapping& mapping);

/// The patient's identity numbers in the systems the kith mappings give them (no-basis):
/// fødselsnummer, D-nummer and felles hjelpenummer by their OIDs, an H-nummer under the sending
/// institution's HER-id (it is that institution's own number). Other identifier types, and
/// empty ones, are left out; an H-nummer also when the sender has no HER-id.
std::vector<PatientIdentifier> kith_patient_identifiers(const kith::MessageHeader& header);

}  // namespace helsebro::intake
