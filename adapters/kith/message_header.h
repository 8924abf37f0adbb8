#pragma once
// The facts an e-message's header gives: who sent it to whom, its id, type and date, and which
// patient it concerns. Read from MsgHead (MsgInfo), from a standalone message's root Message
// (MsgId, ServReq / ServRprt / ServReport with Requester, ServProvider, CopyDest, Patient) and from
// an AppRec. Reading is lenient: what is absent stays empty, so a schema-invalid message can still
// be answered when its sender can be read.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/kith/schema_index.h"
#include "adapters/kith/xml_reader.h"

namespace pugi {
class xml_document;
}

namespace helsebro::kith {

/// A coded value: V (code), S (code list OID), DN (display name).
struct Coded {
  std::string v, s, dn;
};

/// An identifier with its type (code lists 8116 / 9051 in TypeId): HER, ENH, HPR, FNR, DNR, HNR …
struct Ident {
  std::string id;
  Coded type;
};

/// An organisation (MsgHead Organisation, standalone Inst / Dept) or a person
/// (HealthcareProfessional, HCPerson, HCProf).
struct Party {
  bool person = false;
  std::string name;
  std::vector<Ident> ids;
  std::vector<Party> units;    // departments: nested Organisation or Dept
  std::vector<Party> persons;  // health professionals
  /// True when the party names itself by a name or an identifier (an AppRec can be addressed).
  bool identified() const;
  /// Every identifier of this type here and below, e.g. every "HER" id.
  std::vector<std::string> ids_of_type(std::string_view type) const;
};

enum class Envelope { kMsgHead, kStandalone, kAppRec, kOther };

/// A child of MsgHead's Document/RefDoc/Content.
struct Payload {
  std::string ns;
  std::string element;  // local name
  std::string path;     // e.g. "/MsgHead/Document[2]/RefDoc/Content/Resept"
};

struct PatientFacts {
  bool present = false;
  std::vector<Ident> ids;  // Ident (MsgHead) or OffId + TypeOffId (standalone)
  std::string path;        // where the patient is, e.g. "/MsgHead/MsgInfo/Patient"
};

struct MessageHeader {
  Envelope envelope = Envelope::kOther;
  /// A receipt (AppRec): standalone, or the content of a MsgHead. Never answered.
  bool receipt = false;
  std::string root_ns;
  std::string root_element;
  std::vector<Payload> payloads;  // MsgHead only
  Coded type;                     // MsgInfo/Type, Message/Type or AppRec MsgType
  /// A standalone message's Message/Status (code list 8323: TEST a message for testing, APR and
  /// NAPR an implementation approved or not); empty when it has none.
  std::string status;
  std::string mig_version;
  std::string gen_date;
  std::string msg_id;
  std::string msg_id_path;
  std::optional<Party> sender;
  /// [0] the addressee (MsgHead Receiver; Requester of a report; ServProvider of a request), then
  /// the copy receivers of a standalone report (CopyDest).
  std::vector<Party> receivers;
  std::string receiver_path;
  PatientFacts patient;
};

/// Root namespace and element, the envelope they make (by the index's kind of that namespace)
/// and MsgHead's payloads, from the libxml2 document: exact namespaces, whatever prefixes the
/// sender used.
void read_shape(const XmlDocument& doc, const SchemaIndex& index, MessageHeader& header);

/// The rest of the header, from the document with canonical names (see canonical_names.h).
/// `envelope` must already be set.
void read_facts(const pugi::xml_document& doc, MessageHeader& header);

}  // namespace helsebro::kith
