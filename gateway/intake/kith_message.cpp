#include "gateway/intake/kith_message.h"

#include "adapters/kith/identifiers.h"
#include "adapters/kith/message_header.h"
#include "adapters/kith/schema_index.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::intake {
namespace {

// "v1.2 2006-05-24" → "1.2"; "v1.4" → "1.4"; "1.5" → "1.5".
std::string version_of_mig(std::string_view mig) {
  mig = kith::trim_xml_space(mig);
  if (!mig.empty() && (mig.front() == 'v' || mig.front() == 'V')) mig.remove_prefix(1);
  return std::string(mig.substr(0, mig.find_first_of(" \t")));
}

std::string version_of_namespace(const kith::SchemaIndex& index, std::string_view ns) {
  const kith::SchemaEntry* entry = index.find(ns);
  if (entry == nullptr || entry->kind != kith::SchemaKind::kMessage) return {};
  return entry->version;
}

// As mappings/terminology/no-identifier-type.json and mappings/kith/shared/msghead.json name them.
constexpr std::pair<std::string_view, std::string_view> kPersonIdSystems[] = {
    {"FNR", "urn:oid:2.16.578.1.12.4.1.4.1"},
    {"DNR", "urn:oid:2.16.578.1.12.4.1.4.2"},
    {"FHN", "urn:oid:2.16.578.1.12.4.1.4.3"},
};
constexpr std::string_view kHNumberSystemPrefix = "urn:helsebro:h-nummer:her-id:";

}  // namespace

std::vector<PatientIdentifier> kith_patient_identifiers(const kith::MessageHeader& header) {
  std::vector<PatientIdentifier> out;
  if (!header.patient.present) return out;
  for (const kith::Ident& ident : header.patient.ids) {
    const std::string_view type = kith::trim_xml_space(ident.type.v);
    const std::string_view value = kith::trim_xml_space(ident.id);
    if (value.empty()) continue;
    std::string system;
    for (const auto& [code, oid] : kPersonIdSystems) {
      if (type == code) system = oid;
    }
    if (type == "HNR" && header.sender) {
      const auto her = header.sender->ids_of_type("HER");
      if (!her.empty()) system = std::string(kHNumberSystemPrefix).append(kith::trim_xml_space(her.front()));
    }
    if (!system.empty()) out.push_back({std::move(system), std::string(value)});
  }
  return out;
}

KithMessageKey kith_message_key(const kith::MessageHeader& header, const kith::SchemaIndex& index) {
  KithMessageKey key;
  key.type = std::string(kith::trim_xml_space(header.type.v));
  if (header.envelope == kith::Envelope::kMsgHead) {
    for (const kith::Payload& payload : header.payloads) {
      key.version = version_of_namespace(index, payload.ns);
      if (!key.version.empty()) break;
    }
  } else {
    key.version = version_of_namespace(index, header.root_ns);
  }
  if (key.version.empty()) key.version = version_of_mig(header.mig_version);
  return key;
}

std::string kith_message_name(const kith::MessageHeader& header, const kith::SchemaIndex& index) {
  auto name_of = [&index](std::string_view ns) -> std::string {
    const kith::SchemaEntry* entry = index.find(ns);
    return entry != nullptr && entry->kind == kith::SchemaKind::kMessage ? entry->message : std::string();
  };
  if (header.envelope != kith::Envelope::kMsgHead) return name_of(header.root_ns);
  for (const kith::Payload& payload : header.payloads) {
    if (std::string name = name_of(payload.ns); !name.empty()) return name;
  }
  return {};
}

std::string kith_payload_mismatch(const kith::MessageHeader& header, const kith::SchemaIndex& index,
                                  const mapping::Mapping& mapping) {
  if (mapping.payloads().empty()) return {};
  std::vector<std::string_view> namespaces;
  if (header.envelope == kith::Envelope::kMsgHead) {
    for (const kith::Payload& payload : header.payloads) namespaces.push_back(payload.ns);
  } else {
    namespaces.push_back(header.root_ns);
  }
  // Only names from the schema index: an AppRec's text never quotes the message.
  bool read = false;
  for (const std::string_view ns : namespaces) {
    const kith::SchemaEntry* entry = index.find(ns);
    if (entry == nullptr || entry->kind != kith::SchemaKind::kMessage) continue;  // attachments
    if (!mapping.accepts_payload(entry->message)) {
      return "innholdet passer ikke med MsgInfo/Type: " + entry->message + " " + entry->version +
             ", men meldingstypen skal ha " + mapping.payloads().front();
    }
    read = true;
  }
  if (!read) return "meldingen mangler innholdet MsgInfo/Type skal ha: " + mapping.payloads().front();
  return {};
}

}  // namespace helsebro::intake
