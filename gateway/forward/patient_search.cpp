#include "gateway/forward/patient_search.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <tuple>

#include "gateway/forward/token_request.h"

namespace helsebro::forward {
namespace {

// A token's system or code with FHIR search's reserved characters escaped (FHIR R4 §3.1.1.4.7).
void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '\\' || c == ',' || c == '|' || c == '$') out.push_back('\\');
    out.push_back(c);
  }
}

Error unreadable(const std::string& why) {
  return Error{Errc::kUpstreamTransient, "patient search: " + why};
}

}  // namespace

std::string patient_search_body(const std::vector<PatientIdentifier>& ids) {
  std::string tokens;
  for (const PatientIdentifier& id : ids) {
    if (!tokens.empty()) tokens.push_back(',');
    append_escaped(tokens, id.system);
    tokens.push_back('|');
    append_escaped(tokens, id.value);
  }
  return form_encode({{"identifier", tokens}, {"_count", "1"}});
}

std::string presence_key(std::vector<PatientIdentifier> ids) {
  std::sort(ids.begin(), ids.end(), [](const PatientIdentifier& a, const PatientIdentifier& b) {
    return std::tie(a.system, a.value) < std::tie(b.system, b.value);
  });
  std::string key;
  for (const PatientIdentifier& id : ids) {
    key.append(id.system).push_back('|');
    key.append(id.value).push_back('\n');
  }
  return key;
}

Result<PatientPresence> read_patient_search(int status, std::string_view body) {
  if (status != 200) return unreadable("HTTP status " + std::to_string(status));
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return unreadable("the answer is not JSON");
  const auto type = doc.FindMember("resourceType");
  if (type == doc.MemberEnd() || !type->value.IsString() ||
      std::string_view(type->value.GetString()) != "Bundle") {
    return unreadable("the answer is not a Bundle");
  }
  const auto entries = doc.FindMember("entry");
  if (entries == doc.MemberEnd()) return PatientPresence::kUnknown;
  if (!entries->value.IsArray()) return unreadable("Bundle.entry is not an array");
  for (const auto& entry : entries->value.GetArray()) {
    if (!entry.IsObject()) continue;
    const auto resource = entry.FindMember("resource");
    if (resource == entry.MemberEnd() || !resource->value.IsObject()) continue;
    const auto kind = resource->value.FindMember("resourceType");
    if (kind != resource->value.MemberEnd() && kind->value.IsString() &&
        std::string_view(kind->value.GetString()) == "Patient") {
      return PatientPresence::kKnown;
    }
  }
  return PatientPresence::kUnknown;
}

}  // namespace helsebro::forward
