#include "gateway/intake/fhir_intake.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "gateway/core/ids.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"
#include "gateway/validate/fhir_validator.h"

namespace helsebro::intake {
namespace {

using rapidjson::Value;

constexpr std::size_t kIssuesInAnswer = 20;

std::string_view text_of(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

const Value* member(const Value& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string string_member(const Value& v, const char* key) {
  const Value* m = member(v, key);
  return m && m->IsString() ? std::string(text_of(*m)) : std::string();
}

// What makes a Bundle a transaction the forwarder can send (the validator checks structure only).
void check_transaction(const Value& bundle, std::vector<validate::ValidationIssue>& issues) {
  const std::string type = string_member(bundle, "type");
  if (type != "transaction") issues.push_back({"Bundle.type", "must be 'transaction'"});
  const Value* entries = member(bundle, "entry");
  if (!entries || !entries->IsArray()) return;
  for (rapidjson::SizeType i = 0; i < entries->Size(); ++i) {
    const Value* request = member((*entries)[i], "request");
    if (!request || string_member(*request, "method").empty() || string_member(*request, "url").empty()) {
      issues.push_back({"Bundle.entry[" + std::to_string(i) + "].request",
                        "missing: a transaction entry needs request.method and request.url"});
    }
  }
}

// A single resource as a transaction Bundle with one POST entry; `resource` is moved into it.
void wrap(rapidjson::Document& doc) {
  auto& a = doc.GetAllocator();
  const std::string type = string_member(doc, "resourceType");
  Value resource(rapidjson::kObjectType);
  resource.Swap(doc);
  Value request(rapidjson::kObjectType);
  request.AddMember("method", "POST", a);
  request.AddMember("url", Value(type.c_str(), static_cast<rapidjson::SizeType>(type.size()), a), a);
  Value entry(rapidjson::kObjectType);
  entry.AddMember("resource", resource, a);
  entry.AddMember("request", request, a);
  Value entries(rapidjson::kArrayType);
  entries.PushBack(entry, a);
  doc.SetObject();
  doc.AddMember("resourceType", "Bundle", a);
  doc.AddMember("type", "transaction", a);
  doc.AddMember("entry", entries, a);
}

std::string serialize(const Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> writer(sb);
  v.Accept(writer);
  return {sb.GetString(), sb.GetSize()};
}

// "system|value" of the first identifier that has both.
std::string identifier_key(const Value& resource) {
  const Value* ids = member(resource, "identifier");
  if (!ids || !ids->IsArray()) return {};
  for (const auto& id : ids->GetArray()) {
    const std::string system = string_member(id, "system"), value = string_member(id, "value");
    if (!system.empty() && !value.empty()) return std::string(system).append("|").append(value);
  }
  return {};
}

std::string reference_key(const Value& resource) {
  for (const char* key : {"subject", "patient"}) {
    const Value* ref = member(resource, key);
    const std::string text = ref ? string_member(*ref, "reference") : std::string();
    if (text.rfind("Patient/", 0) == 0) return text;
    constexpr std::string_view kConditional = "Patient?identifier=";
    if (text.rfind(kConditional, 0) == 0) return text.substr(kConditional.size());
  }
  return {};
}

std::string ordering_key(const Value& bundle) {
  const Value* entries = member(bundle, "entry");
  if (!entries || !entries->IsArray()) return {};
  std::string from_reference;
  for (const auto& entry : entries->GetArray()) {
    const Value* resource = member(entry, "resource");
    if (!resource) continue;
    if (string_member(*resource, "resourceType") == "Patient") {
      if (auto key = identifier_key(*resource); !key.empty()) return key;
    }
    if (from_reference.empty()) from_reference = reference_key(*resource);
  }
  return from_reference;
}

std::string problem_body(int status, std::string_view title, std::string_view detail,
                         const std::vector<validate::ValidationIssue>& issues) {
  std::string body = R"({"type":"about:blank","title":)";
  observe::append_json_string(body, title);
  body.append(R"(,"status":)").append(std::to_string(status)).append(R"(,"detail":)");
  observe::append_json_string(body, detail);
  body.append(R"(,"issue":[)");
  for (std::size_t i = 0; i < issues.size() && i < kIssuesInAnswer; ++i) {
    body.append(i ? "," : "").append(R"({"severity":"error","code":")");
    body.append(status == 400 ? "structure" : "invalid").append(R"(","expression":[)");
    observe::append_json_string(body, issues[i].path);
    body.append(R"(],"diagnostics":)");
    observe::append_json_string(body, issues[i].reason);
    body.append("}");
  }
  body.append("]}");
  return body;
}

}  // namespace

std::string patient_ordering_key(std::string_view bundle_json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(bundle_json.data(), bundle_json.size());
  return doc.HasParseError() ? std::string() : ordering_key(doc);
}

FhirIntake::FhirIntake(std::string channel, const validate::FhirValidator& validator, Clock clock,
                       observe::IntakeProbe* probe)
    : channel_(std::move(channel)), validator_(validator), clock_(std::move(clock)), probe_(probe) {}

PreparedFhir FhirIntake::reject(PreparedFhir p, int status, std::string_view label,
                                const std::vector<validate::ValidationIssue>& issues) const {
  MessageRecord& r = p.record;
  r.state = MessageState::kRejected;
  std::string reason(status == 400 ? "not JSON" : "FHIR validation");
  for (std::size_t i = 0; i < issues.size() && i < validate::FhirValidator::kIssuesInError; ++i) {
    reason.append(i ? "; " : ": ").append(issues[i].path).append(": ").append(issues[i].reason);
  }
  r.reason = reason;
  p.http_status = status;
  p.content_type = "application/problem+json";
  p.body = problem_body(status, status == 400 ? "Bad Request" : "Unprocessable Content",
                        status == 400 ? "the body is not JSON" : "the resource is not valid FHIR R4", issues);
  r.ack = p.body;
  if (probe_) {
    probe_->received(r.channel, "fhir", p.metric_type);
    probe_->rejected(r.channel, label);
  }
  observe::log_info("intake.rejected", {{"id", r.id},
                                         {"channel", r.channel},
                                         {"sha256", r.payload_sha256.substr(0, 16)},
                                         {"reason", label},
                                         {"issues", static_cast<std::uint64_t>(issues.size())}});
  return p;
}

PreparedFhir FhirIntake::prepare(std::string_view bytes, const std::string& peer) const {
  return check(arriving(clock_.now_ms(), channel_, peer), bytes);
}

PreparedFhir FhirIntake::prepare_again(const MessageRecord& stored) const {
  return check(arriving_again(stored), stored.payload);
}

PreparedFhir FhirIntake::check(MessageRecord seed, std::string_view bytes) const {
  PreparedFhir p;
  p.record = std::move(seed);
  MessageRecord& r = p.record;
  r.sender = r.peer;
  r.format = "fhir";
  r.charset = "UTF-8";
  r.payload.assign(bytes);
  r.payload_sha256 = sha256_hex(bytes);
  p.metric_type = "other";

  rapidjson::Document doc;
  // No recursion; and JSON is UTF-8 (RFC 8259): a name in Latin-1 would reach the record garbled.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(r.payload.data(),
                                                                                   r.payload.size());
  if (doc.HasParseError()) {
    std::string reason = rapidjson::GetParseError_En(doc.GetParseError());
    reason.append(" at byte ").append(std::to_string(doc.GetErrorOffset()));
    return reject(std::move(p), 400, "not_json", {{"$", reason}});
  }
  const std::string type = string_member(doc, "resourceType");
  if (type.empty()) {
    return reject(std::move(p), 422, "invalid_fhir", {{"$", "not a FHIR resource: resourceType is missing"}});
  }
  std::vector<validate::ValidationIssue> issues = validator_.check(doc);
  if (type == "Bundle") check_transaction(doc, issues);
  if (!issues.empty()) return reject(std::move(p), 422, "invalid_fhir", issues);

  p.metric_type = type;  // known to the validator, so from a bounded set
  r.message_type = type;
  if (type != "Bundle") wrap(doc);
  r.bundle = serialize(doc);
  r.ordering_key = ordering_key(doc);
  r.mapping = "fhir";
  r.state = MessageState::kTranslated;
  p.http_status = 202;
  p.content_type = "application/json";
  p.body = R"({"messageId":")" + r.id + R"(","state":"translated"})";
  r.ack = p.body;
  if (probe_) probe_->received(r.channel, "fhir", p.metric_type);
  observe::log_debug("intake.accepted", {{"id", r.id}, {"channel", r.channel}, {"type", type}});
  return p;
}

}  // namespace helsebro::intake
