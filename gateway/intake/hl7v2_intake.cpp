#include "gateway/intake/hl7v2_intake.h"

#include "adapters/hl7v2/ack.h"
#include "adapters/hl7v2/charset.h"
#include "adapters/hl7v2/parser.h"
#include "adapters/hl7v2/source_view.h"
#include "gateway/core/ids.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::intake {
namespace {

hl7v2::AckCode ack_code_from(std::string_view code) {
  if (code == "AA") return hl7v2::AckCode::kAA;
  if (code == "AE") return hl7v2::AckCode::kAE;
  return hl7v2::AckCode::kAR;
}

std::string encode_for(const std::string& ack, const std::string& charset) {
  auto cs = hl7v2::charset_from_msh18(charset);
  return cs ? hl7v2::from_utf8(ack, *cs) : ack;
}

}  // namespace

Hl7v2Intake::Hl7v2Intake(std::string channel, MappingProvider mappings, Clock clock,
                         observe::IntakeProbe* probe)
    : channel_(std::move(channel)), mappings_(std::move(mappings)), clock_(std::move(clock)), probe_(probe) {}

std::string Hl7v2Intake::ack_for(const PreparedMessage& p, std::string_view code,
                                 const std::optional<Error>& error, std::string_view raw) const {
  hl7v2::AckRequest request;
  request.message = p.message ? &*p.message : nullptr;
  request.raw_input = raw;
  request.code = ack_code_from(code);
  request.error = error;
  request.control_id = p.record.id;
  request.now = p.record.received_at;
  return encode_for(hl7v2::build_ack(request), p.charset);
}

PreparedMessage Hl7v2Intake::reject(PreparedMessage p, const Error& error, std::string_view frame) const {
  const ErrcInfo& i = info(error.code);
  p.ack_code = i.ack_code == 'E' ? "AE" : "AR";
  p.record.state = MessageState::kRejected;
  p.record.reason = error.message();
  p.ack = ack_for(p, p.ack_code, error, frame);
  p.record.ack = p.ack;
  if (probe_) probe_->rejected(channel_, i.name);
  observe::log_info("intake.rejected", {{"id", p.record.id},
                                         {"channel", channel_},
                                         {"sha256", p.record.payload_sha256.substr(0, 16)},
                                         {"reason", i.name},
                                         {"ack", p.ack_code}});
  return p;
}

PreparedMessage Hl7v2Intake::prepare(std::string_view frame, std::string_view peer) const {
  PreparedMessage p;
  MessageRecord& r = p.record;
  r.received_at = clock_.now_ms();
  r.id = uuid_v7(r.received_at);
  r.channel = channel_;
  r.sender = std::string(peer);
  r.format = "hl7v2";
  r.payload.assign(frame);
  r.payload_sha256 = sha256_hex(frame);
  p.metric_type = "other";

  auto parsed = hl7v2::parse(frame);
  if (!parsed) {
    r.charset = std::string(hl7v2::peek_msh18(frame));
    if (probe_) probe_->received(channel_, "hl7v2", p.metric_type);
    return reject(std::move(p), parsed.error(), frame);
  }
  p.message = std::move(*parsed);
  const hl7v2::Message& m = *p.message;
  p.charset = m.charset();
  r.charset = m.charset();
  const std::size_t msh = m.find_segment("MSH");
  const std::string facility = m.decode(m.component(msh, 4, 1, 1));
  const std::string application = m.decode(m.component(msh, 3, 1, 1));
  if (!facility.empty() || !application.empty()) r.sender = application + "@" + facility;
  r.control_id = m.decode(m.field(msh, 10));
  const std::string type = m.decode(m.component(msh, 9, 1, 1));
  const std::string trigger = m.decode(m.component(msh, 9, 1, 2));
  r.message_type = trigger.empty() ? type : type + "^" + trigger;

  auto set = mappings_();
  const mapping::Mapping* mapping = set ? set->find("hl7v2", r.message_type) : nullptr;
  if (mapping) p.metric_type = r.message_type;
  if (probe_) probe_->received(channel_, "hl7v2", p.metric_type);

  if (type.empty()) {
    return reject(std::move(p), Error{Errc::kRequiredFieldMissing, "MSH-9 (message type) is empty",
                                      Location{"MSH", 1, 9}}, frame);
  }
  if (r.control_id.empty()) {
    return reject(std::move(p), Error{Errc::kRequiredFieldMissing, "MSH-10 (message control id) is empty",
                                      Location{"MSH", 1, 10}}, frame);
  }
  if (mapping == nullptr) {
    return reject(std::move(p), Error{Errc::kNoMapping, "no mapping takes " + r.message_type,
                                      Location{"MSH", 1, 9}}, frame);
  }
  const std::string version = m.decode(m.component(msh, 12, 1, 1));
  if (!mapping->accepts_version(version)) {
    return reject(std::move(p), Error{Errc::kNoMapping, "mapping '" + mapping->name() + "' does not take version " + version,
                                      Location{"MSH", 1, 12}}, frame);
  }
  hl7v2::SourceView view(m);
  auto translated = mapping->translate(view, {r.id, r.message_type, r.received_at});
  r.mapping = mapping->name();
  if (!translated) return reject(std::move(p), translated.error(), frame);
  r.state = MessageState::kTranslated;
  r.bundle = std::move(translated->bundle);
  r.ordering_key = std::move(translated->ordering_key);
  p.ack_code = "AA";
  p.ack = ack_for(p, "AA", std::nullopt, frame);
  r.ack = p.ack;
  return p;
}

PreparedMessage Hl7v2Intake::prepare_oversized(std::string_view prefix, std::size_t limit,
                                               std::string_view peer) const {
  PreparedMessage p;
  p.record.received_at = clock_.now_ms();
  p.record.id = uuid_v7(p.record.received_at);
  p.record.channel = channel_;
  p.record.sender = std::string(peer);
  p.record.format = "hl7v2";
  p.record.payload.assign(prefix);
  p.record.payload_sha256 = sha256_hex(prefix);
  p.record.charset = std::string(hl7v2::peek_msh18(prefix));
  p.metric_type = "other";
  if (probe_) probe_->received(channel_, "hl7v2", p.metric_type);
  return reject(std::move(p),
                Error{Errc::kFrameTooLarge, "the frame is larger than " + std::to_string(limit) +
                                                " bytes; only its first " + std::to_string(prefix.size()) +
                                                " bytes were kept"},
                prefix);
}

std::string Hl7v2Intake::storage_failed_ack(const PreparedMessage& p) const {
  const Error error{Errc::kJournalWriteFailed, "please resend later"};
  return ack_for(p, "AE", error, p.record.payload);
}

}  // namespace helsebro::intake
