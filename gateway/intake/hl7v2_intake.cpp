#include "gateway/intake/hl7v2_intake.h"

#include <algorithm>
#include <cctype>

#include "adapters/hl7v2/ack.h"
#include "adapters/hl7v2/charset.h"
#include "adapters/hl7v2/escape.h"
#include "adapters/hl7v2/source_view.h"
#include "gateway/core/ids.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"
#include "gateway/validate/fhir_validator.h"

namespace helsebro::intake {
namespace {

hl7v2::AckCode ack_code_from(std::string_view code) {
  if (code == "AA") return hl7v2::AckCode::kAA;
  if (code == "AE") return hl7v2::AckCode::kAE;
  if (code == "AR") return hl7v2::AckCode::kAR;
  if (code == "CA") return hl7v2::AckCode::kCA;
  if (code == "CE") return hl7v2::AckCode::kCE;
  return hl7v2::AckCode::kCR;
}

std::string encode_for(const std::string& text, const std::string& charset) {
  auto cs = hl7v2::charset_from_msh18(charset);
  return cs ? hl7v2::from_utf8(text, *cs) : text;
}

// Outcome 'A' (accepted), 'E' (error) or 'R' (rejected) as the code the mode calls for.
std::string code_for(AckMode mode, char outcome) {
  return std::string(1, mode == AckMode::kEnhanced ? 'C' : 'A') + outcome;
}

// MSH-15/16 as table 0155 spells it: "al " and "Al" are AL.
std::string ack_type(std::string_view field) {
  while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
  while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
  std::string out(field);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Whether an acknowledgement type (HL7 table 0155: AL, NE, ER, SU) asks for one on this outcome.
// A value the table does not have is read as AL: a sender waiting for an answer it never gets
// stops sending, and an answer it did not want costs it nothing.
bool asks(std::string_view type, char outcome) {
  if (type.empty() || type == "NE") return false;  // empty: none asked for (MSH-15's own default is read by wanted())
  if (type == "ER") return outcome != 'A';
  if (type == "SU") return outcome == 'A';
  return true;
}

// Enhanced mode: MSH-15 says when the sender wants an accept acknowledgement at all.
bool wanted(const PreparedMessage& p, char outcome) {
  if (p.mode != AckMode::kEnhanced) return true;
  if (p.accept_ack_type.empty()) return true;  // empty beside a set MSH-16: as AL
  return asks(p.accept_ack_type, outcome);
}

}  // namespace

ChannelRules channel_rules(const config::MllpConfig& c) {
  ChannelRules rules;
  rules.channel = c.channel;
  auto charset = [](const std::string& name) -> std::optional<hl7v2::Charset> {
    if (name.empty()) return std::nullopt;
    auto parsed = hl7v2::charset_from_msh18(name);
    return parsed ? std::optional<hl7v2::Charset>(*parsed) : std::nullopt;
  };
  rules.parse.forced_charset = charset(c.charset);
  rules.parse.fallback_charset = charset(c.fallback_charset);
  rules.original_ack_mode_only = c.original_ack_mode_only;
  rules.hold_unmapped = c.hold_unmapped;
  rules.processing_ids = c.processing_ids;
  rules.accept_invalid_person_id = c.accept_invalid_person_id;
  rules.translate_after_ack = c.translate_after_ack;
  for (const auto& r : c.allowed_senders) {
    rules.allowed.push_back({r.certificate_subject, r.sending_application, r.sending_facility});
  }
  return rules;
}

Hl7v2Intake::Hl7v2Intake(ChannelRules rules, MappingProvider mappings, Clock clock, observe::IntakeProbe* probe)
    : rules_(std::move(rules)), mappings_(std::move(mappings)), clock_(std::move(clock)), probe_(probe) {}

std::string Hl7v2Intake::ack_text(const PreparedMessage& p, std::string_view code,
                                  const std::optional<Error>& error, std::string_view raw) const {
  hl7v2::AckRequest request;
  request.message = p.message ? &*p.message : nullptr;
  request.raw_input = raw;
  request.code = ack_code_from(code);
  request.error = error;
  request.control_id = p.record.id;
  request.now = p.record.received_at;
  request.charset = p.charset;  // what encode_for writes it in
  return encode_for(hl7v2::build_ack(request), p.charset);
}

void Hl7v2Intake::acknowledge(PreparedMessage& p, char outcome, const std::optional<Error>& error,
                              std::string_view raw) const {
  p.ack_code = code_for(p.mode, outcome);
  p.send_ack = wanted(p, outcome);
  // No accept acknowledgement wanted, but MSH-16 asks for the application's on this outcome, which
  // is known now (the message was translated, or refused, before this answer): that is the
  // answer, AA/AE/AR. Not for a message translated after the ACK: its outcome is not known yet.
  if (p.mode == AckMode::kEnhanced && !p.send_ack && p.record.state != MessageState::kReceived &&
      asks(p.application_ack_type, outcome)) {
    p.ack_code = code_for(AckMode::kOriginal, outcome);
    p.send_ack = true;
  }
  p.ack = ack_text(p, p.ack_code, error, raw);
  p.record.ack = p.ack;
}

PreparedMessage Hl7v2Intake::reject(PreparedMessage p, const Error& error, std::string_view raw) const {
  const ErrcInfo& i = info(error.code);
  p.record.state = MessageState::kRejected;
  p.record.reason = error.message();
  acknowledge(p, i.ack_code == 'E' ? 'E' : 'R', error, raw);
  if (probe_) probe_->rejected(rules_.channel, i.name);
  observe::log_info("intake.rejected", {{"id", p.record.id},
                                         {"channel", rules_.channel},
                                         {"sha256", p.record.payload_sha256.substr(0, 16)},
                                         {"reason", i.name},
                                         {"ack", p.ack_code}});
  return p;
}

bool Hl7v2Intake::sender_allowed(const Peer& peer, std::string_view application,
                                 std::string_view facility) const {
  if (rules_.allowed.empty()) return true;
  for (const SenderRule& rule : rules_.allowed) {
    if (!rule.certificate_subject.empty() && rule.certificate_subject != peer.certificate_subject) continue;
    if (!rule.sending_application.empty() && rule.sending_application != application) continue;
    if (!rule.sending_facility.empty() && rule.sending_facility != facility) continue;
    return true;
  }
  return false;
}

PreparedMessage Hl7v2Intake::start(std::string_view bytes, const Peer& peer) const {
  PreparedMessage p;
  p.record = arriving(clock_.now_ms(), rules_.channel,
                      peer.certificate_subject.empty() ? peer.address : peer.certificate_subject);
  MessageRecord& r = p.record;
  r.sender = peer.address;
  r.format = "hl7v2";
  r.payload.assign(bytes);
  r.payload_sha256 = sha256_hex(bytes);
  r.charset = std::string(hl7v2::peek_msh18(bytes));
  p.metric_type = "other";
  return p;
}

PreparedMessage Hl7v2Intake::prepare(std::string_view bytes, const Peer& peer) const {
  return prepare_started(start(bytes, peer), bytes, peer, !rules_.translate_after_ack);
}

PreparedMessage Hl7v2Intake::prepare_again(const MessageRecord& stored, const Peer& peer) const {
  PreparedMessage p = start(stored.payload, peer);
  p.record.id = stored.id;
  p.record.received_at = stored.received_at;
  return prepare_started(std::move(p), stored.payload, peer, true);
}

PreparedMessage Hl7v2Intake::prepare_started(PreparedMessage p, std::string_view bytes, const Peer& peer,
                                             bool translate_now) const {
  MessageRecord& r = p.record;
  auto parsed = hl7v2::parse(bytes, rules_.parse);
  if (!parsed) {
    if (probe_) probe_->received(rules_.channel, "hl7v2", p.metric_type);
    return reject(std::move(p), parsed.error(), bytes);
  }
  p.message = std::move(*parsed);
  const hl7v2::Message& m = *p.message;
  p.charset = m.charset();
  r.charset = m.charset();
  const std::size_t msh = m.find_segment("MSH");
  const std::string facility = m.decode(m.component(msh, 4, 1, 1));
  const std::string application = m.decode(m.component(msh, 3, 1, 1));
  // The sender, for duplicate detection: sending application and facility.
  if (!facility.empty() || !application.empty()) r.sender = application + "@" + facility;
  r.control_id = m.decode(m.field(msh, 10));
  r.message_type = m.message_type();
  const bool has_type = !m.value("MSH", 9, 1).empty();
  p.accept_ack_type = ack_type(m.decode(m.field(msh, 15)));
  p.application_ack_type = ack_type(m.decode(m.field(msh, 16)));
  if (!rules_.original_ack_mode_only && (!p.accept_ack_type.empty() || !p.application_ack_type.empty())) {
    p.mode = AckMode::kEnhanced;
    // The sender wants no accept acknowledgement of a success, but the application's answer:
    // only a translation gives that, so this one is translated before it is answered.
    if (!wanted(p, 'A') && p.application_ack_type != "NE" && !p.application_ack_type.empty())
      translate_now = true;
  }

  auto set = mappings_();
  const mapping::Mapping* mapping = set ? set->find("hl7v2", r.message_type) : nullptr;
  if (mapping) p.metric_type = r.message_type;
  if (probe_) probe_->received(rules_.channel, "hl7v2", p.metric_type);

  if (!sender_allowed(peer, application, facility)) {
    return reject(std::move(p), Error{Errc::kSenderNotAllowed,
                                      "sender " + application + "@" + facility + " may not send on channel " +
                                          rules_.channel,
                                      Location{"MSH", 1, 4}}, bytes);
  }
  // An acknowledgement is never acknowledged: two systems answering each other's answers would
  // never stop. It is kept (held) for inspection, and not answered, not even when its store fails.
  if (m.decode(m.component(msh, 9, 1, 1)) == "ACK") {
    r.state = MessageState::kHeld;
    r.reason = "an acknowledgement (ACK) is kept, and not answered";
    p.send_ack = false;
    p.answerable = false;
    p.ack_code = "none";
    if (probe_) probe_->held(rules_.channel, p.metric_type);
    observe::log_info("intake.ack_received", {{"id", r.id}, {"channel", rules_.channel}});
    return p;
  }
  if (!has_type) {
    return reject(std::move(p), Error{Errc::kRequiredFieldMissing, "MSH-9 (message type) is empty",
                                      Location{"MSH", 1, 9}}, bytes);
  }
  if (r.control_id.empty()) {
    return reject(std::move(p), Error{Errc::kRequiredFieldMissing, "MSH-10 (message control id) is empty",
                                      Location{"MSH", 1, 10}}, bytes);
  }
  // A training or debugging message must not reach the record this channel delivers to.
  if (const std::string processing = m.decode(m.component(msh, 11, 1, 1));
      !processing.empty() &&
      std::find(rules_.processing_ids.begin(), rules_.processing_ids.end(), processing) == rules_.processing_ids.end()) {
    std::string taken;
    for (const std::string& id : rules_.processing_ids) taken.append(taken.empty() ? "" : ", ").append(id);
    return reject(std::move(p), Error{Errc::kUnsupportedProcessingId,
                                      "processing id " + processing + " is not taken on channel " + rules_.channel +
                                          " (it takes " + taken + ")",
                                      Location{"MSH", 1, 11}}, bytes);
  }
  if (mapping == nullptr && rules_.hold_unmapped) {
    // Kept for a mapping to come: answered AA, translated by `helsebro replay --state held`.
    r.state = MessageState::kHeld;
    r.reason = "held: no mapping takes " + r.message_type;
    // The type as a label only when a mapping knows it ("other" here): the sender writes MSH-9,
    // and every new text would be a series of its own for as long as the process runs.
    if (probe_) probe_->held(rules_.channel, p.metric_type);
    acknowledge(p, 'A', std::nullopt, bytes);
    return p;
  }
  if (mapping == nullptr) {
    return reject(std::move(p), Error{Errc::kNoMapping, "no mapping takes " + r.message_type,
                                      Location{"MSH", 1, 9}}, bytes);
  }
  const std::string version = m.decode(m.component(msh, 12, 1, 1));
  if (!mapping->accepts_version(version)) {
    return reject(std::move(p), Error{Errc::kUnsupportedVersion,
                                      "mapping '" + mapping->name() + "' does not take version " + version,
                                      Location{"MSH", 1, 12}}, bytes);
  }
  r.mapping = mapping->name();
  if (!translate_now) {
    // Translated by the Translator once stored; its refusal is then kept, not answered.
    r.state = MessageState::kReceived;
    acknowledge(p, 'A', std::nullopt, bytes);
    return p;
  }
  hl7v2::SourceView view(m);
  // The Bundle is checked before it is serialized: an invalid one is a mapping error, refused
  // here and never sent.
  auto translated = mapping->translate(
      view, {r.id, r.message_type, r.received_at, rules_.accept_invalid_person_id},
      validate::FhirValidator::check_r4_bundle);
  if (!translated) return reject(std::move(p), translated.error(), bytes);
  p.unmapped_fields = view.unread_count();
  if (probe_ && p.unmapped_fields > 0) probe_->unmapped_fields(mapping->name(), p.unmapped_fields);
  p.waived_checks = translated->warnings.size();
  for (const std::string& warning : translated->warnings) {
    // Locations and reasons only: the identifier itself is never logged.
    observe::log_warn("intake.check_waived", {{"id", r.id}, {"channel", rules_.channel}, {"detail", warning}});
    if (probe_) probe_->invalid_person_id_accepted(rules_.channel);
  }
  r.state = MessageState::kTranslated;
  r.bundle = std::move(translated->bundle);
  r.ordering_key = std::move(translated->ordering_key);
  acknowledge(p, 'A', std::nullopt, bytes);
  return p;
}

PreparedFrame Hl7v2Intake::prepare_frame(std::string_view frame, const Peer& peer) const {
  PreparedFrame out;
  hl7v2::BatchEnvelope envelope;
  auto slices = hl7v2::split_messages(frame, &envelope);
  if (!slices && slices.error().code != Errc::kNotHl7 && slices.error().code != Errc::kMissingMsh) {
    // Messages that do not add up to a batch (BTS-1 counting other than it holds, a segment
    // between them): refused whole, naming why. Read as one message, the frame would be taken
    // as its first message and the others silently left in it.
    PreparedMessage p = start(frame, peer);
    if (probe_) probe_->received(rules_.channel, "hl7v2", p.metric_type);
    out.messages.push_back(reject(std::move(p), slices.error(), frame));
    return out;
  }
  if (!slices || (slices->size() == 1 && !envelope.is_batch())) {
    // One message, or input without one: read as one so the NAK says why.
    out.messages.push_back(prepare(slices ? slices->front().bytes : frame, peer));
    return out;
  }
  out.batch = true;
  // The header read as an MSH: its delimiters, and its fields in the same places.
  auto header_of = [](std::string_view segment) -> std::optional<hl7v2::Message> {
    if (segment.size() < 4) return std::nullopt;
    auto parsed = hl7v2::parse("MSH" + std::string(segment.substr(3)));
    return parsed ? std::optional<hl7v2::Message>(std::move(*parsed)) : std::nullopt;
  };
  const auto bhs = header_of(envelope.bhs);
  const auto fhs = header_of(envelope.fhs);
  if (const auto& h = bhs ? bhs : fhs) {
    out.batch_delimiters = h->delimiters();
    out.batch_sending_application = std::string(h->field(0, 3));
    out.batch_sending_facility = std::string(h->field(0, 4));
    out.batch_receiving_application = std::string(h->field(0, 5));
    out.batch_receiving_facility = std::string(h->field(0, 6));
  }
  if (bhs) out.batch_control_id = bhs->decode(bhs->field(0, 11));
  if (envelope.batches.size() > 1) {
    for (const auto& batch : envelope.batches) {
      const auto header = header_of(batch.bhs);
      out.parts.push_back({header ? header->decode(header->field(0, 11)) : std::string(), batch.first_message});
    }
  }
  if (fhs) {
    out.file = true;
    out.file_control_id = fhs->decode(fhs->field(0, 11));
  }
  for (const auto& slice : *slices) out.messages.push_back(prepare(slice.bytes, peer));
  return out;
}

// The answer to a batch: a batch of the acknowledgements, with the batch's own delimiters, from
// its receiver back to its sender; BHS-12 names the batch answered. A file (FHS … FTS)
// is answered as a file.
std::string Hl7v2Intake::batch_ack(const PreparedFrame& frame, const std::vector<std::string>& acks) const {
  const hl7v2::Delimiters& d = frame.batch_delimiters;
  const std::string f(1, d.field);
  const std::string enc = std::string{d.component, d.repetition, d.escape, d.subcomponent} +
                          (d.truncation ? std::string(1, d.truncation) : std::string());
  const std::string from_app = frame.batch_receiving_application.empty() ? "HELSEBRO" : frame.batch_receiving_application;
  const std::string from_facility =
      frame.batch_receiving_facility.empty() ? "HELSEBRO" : frame.batch_receiving_facility;
  const std::string when = hl7v2::hl7_timestamp(clock_.now_ms());
  auto header = [&](const char* id, const std::string& control_id) {
    const std::string reference = hl7v2::encode_escapes(control_id, d);
    // -11, this batch's own id, is left empty (optional); -12 names the batch answered.
    return std::string(id) + f + enc + f + from_app + f + from_facility + f + frame.batch_sending_application + f +
           frame.batch_sending_facility + f + when + f + f + f + f + f + reference + "\r";
  };
  std::string out;
  if (frame.file) out += header("FHS", frame.file_control_id);
  // One answering batch for each batch of the file (one, when it has one or none).
  std::vector<PreparedFrame::Part> parts = frame.parts;
  if (parts.empty()) parts.push_back({frame.batch_control_id, 0});
  for (std::size_t b = 0; b < parts.size(); ++b) {
    const std::size_t end = b + 1 < parts.size() ? parts[b + 1].first_message : acks.size();
    out += header("BHS", parts[b].control_id);
    std::size_t count = 0;
    for (std::size_t i = parts[b].first_message; i < end && i < acks.size(); ++i) {
      if (acks[i].empty()) continue;
      out += acks[i];
      ++count;
    }
    out += "BTS" + f + std::to_string(count) + "\r";
  }
  if (frame.file) out += "FTS" + f + std::to_string(parts.size()) + "\r";
  return out;
}

PreparedMessage Hl7v2Intake::prepare_oversized(std::string_view prefix, std::size_t limit,
                                               const Peer& peer) const {
  PreparedMessage p = start(prefix, peer);
  if (probe_) probe_->received(rules_.channel, "hl7v2", p.metric_type);
  return reject(std::move(p),
                Error{Errc::kFrameTooLarge, "the frame is larger than " + std::to_string(limit) +
                                                " bytes; only its first " + std::to_string(prefix.size()) +
                                                " bytes were kept"},
                prefix);
}

PreparedMessage Hl7v2Intake::prepare_abandoned(std::string_view bytes, const Peer& peer) const {
  PreparedMessage p = start(bytes, peer);
  if (probe_) probe_->received(rules_.channel, "hl7v2", p.metric_type);
  p = reject(std::move(p),
             Error{Errc::kNotHl7, "the frame was cut short: a start block (0x0B) came before its end block (0x1C); "
                                  "what came is kept, and not answered"},
             bytes);
  p.send_ack = false;
  p.answerable = false;
  p.ack_code = "none";  // what the acknowledged metric counts: no answer was sent
  return p;
}

std::string Hl7v2Intake::storage_failed_ack(const PreparedMessage& p) const {
  const Error error{Errc::kJournalWriteFailed, "please resend later"};
  if (wanted(p, 'E')) return ack_text(p, code_for(p.mode, 'E'), error, p.record.payload);
  if (asks(p.application_ack_type, 'E')) return ack_text(p, "AE", error, p.record.payload);
  return {};  // the sender asked for no answer (MSH-15/16 NE)
}

}  // namespace helsebro::intake
