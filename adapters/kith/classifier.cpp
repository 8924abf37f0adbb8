#include "adapters/kith/classifier.h"

#include <pugixml.hpp>

#include "adapters/kith/identifiers.h"
#include "adapters/kith/strings.h"

namespace helsebro::kith {
namespace {

Rejection reject(AppRecCode code, std::string text, std::string detail = {}) {
  Rejection r;
  r.code = code;
  r.text = std::move(text);
  r.detail = std::move(detail);
  return r;
}

std::string at_line(std::uint32_t line, std::uint32_t column = 0) {
  std::string out;
  if (line == 0) return out;
  out.append(" (linje ");
  out.append(std::to_string(line));
  if (column > 0) {
    out.append(", kolonne ");
    out.append(std::to_string(column));
  }
  out.append(")");
  return out;
}

Rejection from_fault(const XmlFault& fault) {
  Rejection r;
  r.line = fault.line;
  r.column = fault.column;
  r.detail = fault.detail;
  switch (fault.kind) {
    case XmlFault::Kind::kTooLarge:
      r.code = AppRecCode::kT99;
      r.text = "Meldingen er større enn grensen for mottak";
      break;
    case XmlFault::Kind::kDoctype:
      r.code = AppRecCode::kT99;
      r.text = cat({"Meldingen har en DOCTYPE-deklarasjon", at_line(fault.line, fault.column),
                    "; DTD og entiteter tas ikke imot"});
      break;
    case XmlFault::Kind::kTooComplex:
      r.code = AppRecCode::kT99;
      r.text = cat({"Meldingen har flere attributter i ett element, eller flere navnerom, enn det som tas imot",
                    at_line(fault.line, fault.column)});
      break;
    case XmlFault::Kind::kNotWellFormed:
      r.code = AppRecCode::kT01;
      r.text = cat({"Meldingen er ikke velformet XML", at_line(fault.line, fault.column)});
      break;
  }
  return r;
}

// The index entry of the message itself: a standalone root, or MsgHead's first message payload.
const SchemaEntry* message_entry(const MessageHeader& header, const SchemaIndex& index) {
  if (header.envelope == Envelope::kMsgHead) {
    for (const Payload& p : header.payloads) {
      const SchemaEntry* e = index.find(p.ns);
      if (e != nullptr && e->kind == SchemaKind::kMessage) return e;
    }
    return nullptr;
  }
  return index.find(header.root_ns);
}

std::string id_path(const MessageHeader& header, std::size_t position) {
  if (header.envelope != Envelope::kMsgHead) return cat({header.patient.path, "/OffId"});
  std::string path = cat({header.patient.path, "/Ident"});
  if (header.patient.ids.size() > 1) {
    path.append("[");
    path.append(std::to_string(position + 1));
    path.append("]");
  }
  path.append("/Id");
  return path;
}

}  // namespace

Classifier::Classifier(std::shared_ptr<const SchemaSet> schemas, ClassifierOptions options)
    : schemas_(std::move(schemas)),
      options_(std::move(options)),
      prefixes_(schemas_->index().prefixes()) {}

Classification Classifier::classify(std::string_view bytes) const {
  Classification out;
  auto parsed = read_xml(bytes, options_.limits);
  if (!parsed) {
    out.rejection = from_fault(parsed.error());
    return out;
  }
  out.message = read_message(bytes, *parsed);
  if (!out.message) {
    out.rejection =
        reject(AppRecCode::kT01, "Meldingen kan ikke leses som XML", "not readable as XML");
    return out;
  }
  const MessageHeader& h = out.message->header();
  // The receipt comes from the receiver the message reached us as (a copy's receiver too),
  // whatever is wrong with it: found before any check can refuse it. A message that names none
  // of ours is answered by this endpoint, not in the name of a receiver it is not.
  if (const auto ours = our_receiver(h)) {
    out.receiver_index = *ours;
  } else if (!options_.answering_her_id.empty()) {
    Party& self = out.answering.emplace();
    self.ids.push_back(Ident{options_.answering_her_id, Coded{"HER", "2.16.578.1.12.4.1.1.9051", "HER-id"}});
  }
  out.rejection = check(*parsed, h, out.receiver_index);
  if (out.rejection) {
    // A receipt is never answered; anything else is when its sender can be addressed.
    out.rejection->answerable = !h.receipt && h.sender.has_value() && h.sender->identified();
  }
  return out;
}

std::shared_ptr<const EMessage> Classifier::read_message(std::string_view bytes,
                                                         const XmlDocument& parsed) const {
  MessageHeader header;
  read_shape(parsed, schemas_->index(), header);
  auto document = load_document(bytes, parsed, prefixes_);
  if (!document) return nullptr;
  read_facts(*document, header);
  std::string charset(parsed.declared_encoding());
  if (charset.empty()) charset = "UTF-8";
  return std::make_shared<const EMessage>(std::move(document), std::move(header),
                                          std::move(charset));
}

std::optional<Rejection> Classifier::check(const XmlDocument& parsed, const MessageHeader& h,
                                           std::size_t& receiver_index) const {
  if (auto rejection = check_namespaces(h)) return rejection;
  if (auto violation = schemas_->validate(parsed)) {
    Rejection r = reject(AppRecCode::kT02,
                         cat({"XML validerer ikke mot skjemaet: ", violation->path,
                              at_line(violation->line), ": ", violation->reason}),
                         violation->detail);
    r.line = violation->line;
    return r;
  }
  // A receipt for a message Helsebro sent is never answered: only its format is checked.
  if (h.receipt) return std::nullopt;
  if (!is_uuid(h.msg_id)) {
    return reject(AppRecCode::kE10,
                  h.msg_id.empty()
                      ? cat({"Meldingsidentifikatoren mangler i ", h.msg_id_path})
                      : cat({"Meldingsidentifikatoren i ", h.msg_id_path, " er ikke en UUID"}));
  }
  if (auto rejection = check_receiver(h, receiver_index)) return rejection;
  if (options_.refuse_test_messages && trim_xml_space(h.status) == "TEST") {
    return reject(AppRecCode::kX99, "Meldingen er en testmelding (/Message/Status TEST, kodeverk 8323) og tas "
                                    "ikke imot her");
  }
  return check_patient(h);
}

std::optional<Rejection> Classifier::check_namespaces(const MessageHeader& h) const {
  const SchemaIndex& index = schemas_->index();
  const SchemaEntry* root = index.find(h.root_ns);
  if (root == nullptr) {
    return reject(AppRecCode::kT10, cat({"Meldingsformatet støttes ikke: rotelementet '",
                                         h.root_element, "' i navnerommet '", h.root_ns, "'"}));
  }
  if (!root->root) {
    return reject(AppRecCode::kT10,
                  cat({"Meldingsformatet støttes ikke: ", root->message, " ", root->version,
                       " tas bare imot i en hodemelding (MsgHead)"}));
  }
  if (h.envelope != Envelope::kMsgHead) return std::nullopt;
  if (h.receipt) return std::nullopt;  // a MsgHead of receipts: checked against their schema
  for (const Payload& p : h.payloads) {
    const SchemaEntry* e = index.find(p.ns);
    if (e == nullptr || !e->payload) {
      return reject(AppRecCode::kT10, cat({"Meldingsformatet støttes ikke: ", p.path,
                                           " i navnerommet '", p.ns, "'"}));
    }
  }
  if (message_entry(h, index) == nullptr) {
    return reject(AppRecCode::kT10,
                  "Hodemeldingen har ikke noe innhold i et format som støttes i "
                  "/MsgHead/Document/RefDoc/Content");
  }
  return std::nullopt;
}

std::optional<std::size_t> Classifier::our_receiver(const MessageHeader& h) const {
  if (!options_.receiver_her_ids) return 0;
  for (std::size_t i = 0; i < h.receivers.size(); ++i) {
    for (const std::string& her : h.receivers[i].ids_of_type("HER")) {
      if (options_.receiver_her_ids->count(her) != 0) return i;
    }
  }
  return std::nullopt;
}

std::optional<Rejection> Classifier::check_receiver(const MessageHeader& h,
                                                    std::size_t& index) const {
  if (!options_.receiver_her_ids) return std::nullopt;
  if (h.receivers.empty())
    return reject(AppRecCode::kE21, cat({"Meldingen har ingen mottaker i ", h.receiver_path}));
  bool any_her = false;
  for (std::size_t i = 0; i < h.receivers.size(); ++i) {
    for (const std::string& her : h.receivers[i].ids_of_type("HER")) {
      any_her = true;
      if (options_.receiver_her_ids->count(her) != 0) {
        index = i;
        return std::nullopt;
      }
    }
  }
  return reject(AppRecCode::kE21,
                cat({"Mottakeren i ", h.receiver_path,
                     any_her ? " har ingen HER-id som tas imot her" : " mangler HER-id"}));
}

std::optional<Rejection> Classifier::check_patient(const MessageHeader& h) const {
  const SchemaEntry* message = message_entry(h, schemas_->index());
  const PatientRule rule = message != nullptr ? message->patient : PatientRule::kNone;
  if (rule == PatientRule::kNone) return std::nullopt;
  const PatientFacts& patient = h.patient;
  if (!patient.present) {
    if (rule == PatientRule::kOptional) return std::nullopt;
    return reject(AppRecCode::kE30, cat({"Meldingen mangler pasient (", patient.path, ")"}));
  }
  bool any = false;
  for (std::size_t i = 0; i < patient.ids.size(); ++i) {
    const Ident& id = patient.ids[i];
    if (id.id.empty()) continue;
    any = true;
    const bool fnr = id.type.v == "FNR";
    if (!fnr && id.type.v != "DNR") continue;
    const auto kind = fnr ? NationalIdKind::kFodselsnummer : NationalIdKind::kDNummer;
    if (!is_valid_national_id(id.id, kind)) {
      return reject(AppRecCode::kE31,
                    cat({fnr ? "Fødselsnummeret" : "D-nummeret", " i ", id_path(h, i),
                         " har feil format eller kontrollsiffer"}));
    }
  }
  if (!any) {
    return reject(
        AppRecCode::kE30,
        cat({"Pasienten mangler fødselsnummer eller annen identifikator i ", id_path(h, 0)}));
  }
  return std::nullopt;
}

}  // namespace helsebro::kith
