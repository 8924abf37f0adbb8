#include "gateway/intake/kith_intake.h"

#include "adapters/kith/apprec_writer.h"
#include "adapters/kith/classifier.h"
#include "adapters/kith/source_view.h"
#include "gateway/intake/kith_message.h"
#include "gateway/validate/fhir_validator.h"
#include "gateway/core/ids.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::intake {
namespace {

// Who sent it, for duplicate detection: the sender's first HER-id, else its first identifier.
std::string sender_of(const kith::MessageHeader& header) {
  if (!header.sender) return {};
  auto her = header.sender->ids_of_type("HER");
  if (!her.empty()) return "HER:" + her.front();
  for (const auto& ident : header.sender->ids) {
    if (!ident.id.empty()) return ident.type.v + ":" + ident.id;
  }
  return {};
}

// The element a metric counts the message under: bounded by the schema index, since only an
// accepted message (of a known namespace) gets here.
std::string element_of(const kith::MessageHeader& header) {
  if (!header.payloads.empty()) return header.payloads.front().element;
  return header.root_element.empty() ? "other" : header.root_element;
}

std::string reason_of(const kith::Rejection& rejection) {
  std::string reason(kith::info(rejection.code).code);
  reason.append(": ").append(rejection.text);
  if (!rejection.detail.empty()) reason.append(" (").append(rejection.detail).append(")");
  return reason;
}

// Problem JSON for a rejection that cannot be answered with an AppRec.
std::string problem_body(const kith::Rejection& rejection) {
  const auto& code = kith::info(rejection.code);
  std::string detail(code.display);
  detail.append(": ").append(rejection.text);
  std::string body = R"({"type":"about:blank","title":"Bad Request","status":400,"detail":)";
  observe::append_json_string(body, detail);
  body.append(R"(,"apprecCode":)");
  observe::append_json_string(body, code.code);
  body.append("}");
  return body;
}

}  // namespace

kith::AppRecRequest KithIntake::apprec_for(const kith::Classification& c, const MessageRecord& r) const {
  kith::AppRecRequest request = kith::answer_to(c.message->header(), c.receiver_index);
  if (c.answering) request.sender = *c.answering;
  request.version = rules_.apprec_1_0 ? kith::AppRecVersion::kV1_0 : kith::AppRecVersion::kV1_1;
  request.id = uuid_v7(r.received_at);
  request.now = r.received_at;
  request.software_version = rules_.software_version;
  if (c.rejection) {
    request.status = kith::AppRecStatus::kRejected;
    request.errors.push_back({c.rejection->code, c.rejection->text});
  }
  return request;
}

KithIntake::KithIntake(KithRules rules, std::shared_ptr<const kith::Classifier> classifier, Clock clock,
                       observe::IntakeProbe* probe, MappingProvider mappings,
                       std::shared_ptr<const kith::SchemaIndex> index,
                       std::shared_ptr<PatientDirectory> patients)
    : rules_(std::move(rules)),
      classifier_(std::move(classifier)),
      clock_(std::move(clock)),
      probe_(probe),
      mappings_(std::move(mappings)),
      index_(std::move(index)),
      patients_(std::move(patients)) {}

KithIntake::~KithIntake() = default;

PreparedKith KithIntake::prepare(std::string_view bytes, const std::string& peer) const {
  return classify(arriving(clock_.now_ms(), rules_.channel, peer), bytes, true);
}

PreparedKith KithIntake::prepare_again(const MessageRecord& stored) const {
  return classify(arriving_again(stored), stored.payload, false);
}

PreparedKith KithIntake::classify(MessageRecord seed, std::string_view bytes, bool check_patient) const {
  PreparedKith p;
  p.record = std::move(seed);
  MessageRecord& r = p.record;
  const std::string& peer = r.peer;
  r.sender = peer;
  r.format = "kith";
  r.payload.assign(bytes);
  r.payload_sha256 = sha256_hex(bytes);
  p.metric_type = "other";

  const kith::Classification c = classifier_->classify(bytes);
  if (c.message) {
    const kith::MessageHeader& h = c.message->header();
    r.control_id = h.msg_id;
    r.message_type = h.type.v;
    r.charset = c.message->charset();
    if (auto sender = sender_of(h); !sender.empty()) r.sender = std::move(sender);
  }
  if (c.accepted()) {
    // Epikrise, Henvisning, Svarrapport … are all a <Message>: the index tells them apart.
    std::string name = index_ ? kith_message_name(c.message->header(), *index_) : std::string();
    p.metric_type = name.empty() ? element_of(c.message->header()) : std::move(name);
  }
  std::optional<kith::Rejection> rejection = c.rejection;
  r.state = rejection ? MessageState::kRejected : MessageState::kHeld;  // held until a mapping takes it

  const bool receipt = c.accepted() && c.message->header().receipt;
  if (c.accepted() && !receipt && !rejection && mappings_ && index_) {
    const KithMessageKey key = kith_message_key(c.message->header(), *index_);
    const auto set = mappings_();
    const mapping::Mapping* mapping = set ? set->find("kith", key.type) : nullptr;
    const bool takes = mapping != nullptr && mapping->accepts_version(key.version);
    std::string mismatch = takes ? kith_payload_mismatch(c.message->header(), *index_, *mapping) : std::string();
    if (!mismatch.empty()) {
      // The type names one message and the content is another: translating it would make a
      // resource of next to nothing, and answer OK for what was never read.
      r.mapping = mapping->name();
      rejection = kith::Rejection{kith::AppRecCode::kT99, std::move(mismatch), {}, 0, 0, true};
      r.state = MessageState::kRejected;
    } else if (takes) {
      r.mapping = mapping->name();
      kith::SourceView view(c.message->document());
      auto translated = mapping->translate(
          view, {r.id, key.type, r.received_at},
          validate::FhirValidator::check_r4_bundle);
      if (translated) {
        r.state = MessageState::kTranslated;
        r.bundle = std::move(translated->bundle);
        r.ordering_key = std::move(translated->ordering_key);
        p.unmapped_fields = view.unread_count();
        if (probe_ && p.unmapped_fields > 0) probe_->unmapped_fields(mapping->name(), p.unmapped_fields);
      } else {
        // The AppRec names the reason: Helsebro's own text (paths, codes), not the message's data.
        const Error& e = translated.error();
        const bool person_id = e.code == Errc::kInvalidIdentifier;
        rejection = kith::Rejection{person_id ? kith::AppRecCode::kE31 : kith::AppRecCode::kX99,
                                    "kunne ikke oversettes: " + e.detail, {}, 0, 0, true};
        r.state = MessageState::kRejected;
      }
    }
  }

  if (receipt) {
    // A receipt for a message we sent: kept, never answered with a receipt of its own.
    p.http_status = 202;
    p.content_type = "application/json";
    p.body = R"({"messageId":")" + r.id + R"("})";
    p.outcome = "accepted";
  } else if (c.message && (!rejection || rejection->answerable)) {
    kith::Classification answered = c;
    answered.rejection = rejection;
    kith::AppRecRequest request = apprec_for(answered, r);
    if (auto xml = kith::write_apprec(request)) {
      p.http_status = 200;
      p.content_type = "application/xml; charset=utf-8";
      p.body = std::move(*xml);
      p.outcome = rejection ? "apprec_rejected" : "apprec_ok";
      if (!rejection && check_patient && rules_.require_known_patient && patients_) {
        auto ids = kith_patient_identifiers(c.message->header());
        if (!ids.empty()) {
          p.patient_check = PendingPatientCheck{
              std::move(ids), c.message->header().patient.path,
              std::make_shared<const kith::AppRecRequest>(std::move(request))};
        }
      }
    } else {
      observe::log_error("kith.apprec_failed", {{"id", r.id}, {"error", xml.error().detail}});
    }
  }
  if (p.body.empty()) {
    if (!rejection) {
      // Valid, but no receipt can be written: refused, so the sender does not wait 96 hours.
      rejection = kith::Rejection{kith::AppRecCode::kX99, "kvittering kunne ikke lages", {}, 0, 0, false};
      r.state = MessageState::kRejected;
    }
    p.http_status = 400;
    p.content_type = "application/problem+json";
    p.body = problem_body(*rejection);
    p.outcome = "problem";
  }
  r.ack = p.body;
  // Looked for whatever this copy's own answer would be: a resend of a message accepted before
  // (its reply lost) gets that answer, though it would be refused now (a patient the directory
  // no longer knows, a mapping reloaded meanwhile). Only accepted originals count (the journal).
  p.duplicate_checked = !r.control_id.empty() && r.sender != peer;
  if (rejection) r.reason = reason_of(*rejection);

  if (probe_) probe_->received(r.channel, "kith", p.metric_type);
  if (!p.patient_check) report(p, rejection ? &*rejection : nullptr);
  return p;
}

void KithIntake::settle_patient(PreparedKith& p, PatientPresence presence) const {
  if (!p.patient_check) return;
  const PendingPatientCheck check = std::move(*p.patient_check);
  p.patient_check.reset();
  MessageRecord& r = p.record;
  if (presence != PatientPresence::kUnknown) {
    if (presence == PatientPresence::kUnavailable) {
      observe::log_warn("intake.patient_unchecked", {{"id", r.id}, {"channel", r.channel}});
    }
    return report(p, nullptr);
  }
  const kith::Rejection rejection{kith::AppRecCode::kE35,
                                  "Pasienten finnes ikke i mottakersystemet (" + check.patient_path + ")",
                                  {}, 0, 0, true};
  kith::AppRecRequest request = *check.apprec;
  request.status = kith::AppRecStatus::kRejected;
  request.errors = {{rejection.code, rejection.text}};
  auto xml = kith::write_apprec(request);
  if (xml) {
    p.body = std::move(*xml);
    p.outcome = "apprec_rejected";
  } else {  // cannot happen for a receipt that was written with status 1; refuse all the same
    observe::log_error("kith.apprec_failed", {{"id", r.id}, {"error", xml.error().detail}});
    p.http_status = 400;
    p.content_type = "application/problem+json";
    p.body = problem_body(rejection);
    p.outcome = "problem";
  }
  r.state = MessageState::kRejected;
  r.bundle.clear();
  r.ordering_key.clear();
  r.reason = reason_of(rejection);
  r.ack = p.body;
  report(p, &rejection);
}

void KithIntake::report(const PreparedKith& p, const kith::Rejection* rejection) const {
  const MessageRecord& r = p.record;
  if (rejection) {
    const std::string_view label = kith::info(rejection->code).metric_label;
    if (probe_) probe_->rejected(r.channel, label);
    observe::log_info("intake.rejected", {{"id", r.id},
                                           {"channel", r.channel},
                                           {"sha256", r.payload_sha256.substr(0, 16)},
                                           {"reason", label},
                                           {"answer", p.outcome}});
  } else if (r.state == MessageState::kHeld) {
    if (probe_) probe_->held(r.channel, p.metric_type);
    observe::log_debug("intake.held", {{"id", r.id}, {"channel", r.channel}, {"type", p.metric_type}});
  }
}

}  // namespace helsebro::intake
