#include "gateway/intake/kith_message.h"

#include "adapters/kith/identifiers.h"
#include "adapters/kith/message_header.h"
#include "adapters/kith/schema_index.h"

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

}  // namespace

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

}  // namespace helsebro::intake
