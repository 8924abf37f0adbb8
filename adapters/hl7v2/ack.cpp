#include "adapters/hl7v2/ack.h"

#include <algorithm>
#include <ctime>

#include "adapters/hl7v2/escape.h"
#include "adapters/hl7v2/parser.h"

namespace helsebro::hl7v2 {
std::string hl7_timestamp(EpochMillis now) {
  const std::time_t seconds = static_cast<std::time_t>(now / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S+0000", &tm);
  return buf;
}

namespace {

// The MSH fields an ACK echoes, raw (still escaped with the answered message's delimiters).
struct Header {
  Delimiters delimiters;
  std::string sending_app, sending_facility, receiving_app, receiving_facility;
  std::string trigger, control_id, processing_id = "P", version = "2.5", charset;
};

Header header_from(const Message& m) {
  Header h;
  h.delimiters = m.delimiters();
  const std::size_t msh = m.find_segment("MSH");
  h.sending_app = std::string(m.field(msh, 3));
  h.sending_facility = std::string(m.field(msh, 4));
  h.receiving_app = std::string(m.field(msh, 5));
  h.receiving_facility = std::string(m.field(msh, 6));
  h.trigger = std::string(m.component(msh, 9, 1, 2));
  h.control_id = std::string(m.field(msh, 10));
  if (!m.field(msh, 11).empty()) h.processing_id = std::string(m.field(msh, 11));
  if (!m.component(msh, 12, 1, 1).empty()) h.version = std::string(m.component(msh, 12, 1, 1));
  h.charset = std::string(m.field(msh, 18));
  return h;
}

// Best effort for input that did not parse: read MSH fields by splitting the first line.
Header header_from_raw(std::string_view raw) {
  Header h;
  // Near the start (after a byte order mark, say), or the first that starts a segment (a batch's
  // comes after FHS and BHS).
  std::size_t start = raw.find("MSH");
  while (start != std::string_view::npos && start > 16 && raw[start - 1] != '\r' && raw[start - 1] != '\n')
    start = raw.find("MSH", start + 1);
  if (start == std::string_view::npos || raw.size() < start + 8) return h;
  raw = raw.substr(start);
  const char sep = raw[3];
  const std::size_t line_end = raw.find_first_of("\r\n");
  const std::string_view line = raw.substr(0, line_end);
  std::vector<std::string_view> fields;  // fields[k] = MSH-(k+1) for k >= 1
  std::size_t pos = 3;
  fields.push_back(line.substr(3, 1));
  while (pos < line.size() && fields.size() < 20) {
    const std::size_t next = line.find(sep, pos + 1);
    fields.push_back(line.substr(pos + 1, next == std::string_view::npos ? std::string_view::npos
                                                                           : next - pos - 1));
    if (next == std::string_view::npos) break;
    pos = next;
  }
  auto field = [&](std::size_t n) { return n <= fields.size() ? std::string(fields[n - 1]) : ""; };
  const std::string enc = field(2);
  if (enc.size() >= 4) {
    h.delimiters = Delimiters{sep, enc[0], enc[1], enc[2], enc[3], enc.size() > 4 ? enc[4] : '\0'};
  } else {
    // MSH-2 short of its four characters: the answer has the default ones, and echoes only the
    // control id (escaped in them), so that the sender can still tell which message was refused.
    Header fallback;
    const std::string id = field(10);
    fallback.control_id = encode_escapes(id, fallback.delimiters);
    if (!field(12).empty()) fallback.version = field(12).substr(0, field(12).find_first_of("^&~\\"));
    return fallback;
  }
  auto first_component = [&](const std::string& v) { return v.substr(0, v.find(h.delimiters.component)); };
  h.sending_app = field(3);
  h.sending_facility = field(4);
  h.receiving_app = field(5);
  h.receiving_facility = field(6);
  const std::string type = field(9);
  const std::size_t comp = type.find(h.delimiters.component);
  if (comp != std::string::npos) h.trigger = first_component(type.substr(comp + 1));
  h.control_id = field(10);
  if (!field(11).empty()) h.processing_id = field(11);
  if (!field(12).empty()) h.version = first_component(field(12));
  h.charset = field(18);
  return h;
}

bool has_message_structure(const std::string& version) {
  return !(version == "2.1" || version == "2.2" || version == "2.3" || version.rfind("2.1.", 0) == 0 ||
           version.rfind("2.2.", 0) == 0 || version == "2.3.0");
}

bool version_before_2_5(const std::string& version) {
  return version.rfind("2.1", 0) == 0 || version.rfind("2.2", 0) == 0 ||
         version.rfind("2.3", 0) == 0 || version.rfind("2.4", 0) == 0;
}

// Versions before 2.7 give MSH-10 at most 20 characters (2.7 raised it to 199).
bool short_control_ids(const std::string& version) {
  if (version.rfind("2.", 0) != 0) return true;  // unknown: the older, stricter rule
  const std::string_view minor = std::string_view(version).substr(2);
  std::size_t digits = 0;
  while (digits < minor.size() && minor[digits] >= '0' && minor[digits] <= '9') ++digits;
  if (digits == 0) return true;
  return digits == 1 && minor[0] < '7';  // 2.10 and later are later than 2.7
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The ACK's own control id as `version` lets MSH-10 hold it. A message id (a UUID v7: 48 bits of
// time, then random bits) keeps its first 12 hex digits (the time) and its last 8 (random): 20
// characters, unique among the ids of one millisecond but for a chance of one in 2^32 a pair.
std::string control_id_for(const std::string& id, const std::string& version) {
  if (id.size() <= 20 || !short_control_ids(version)) return id;
  const bool uuid = id.size() == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' &&
                    std::all_of(id.begin(), id.end(), [](char c) { return c == '-' || is_hex(c); });
  if (uuid) return id.substr(0, 8) + id.substr(9, 4) + id.substr(28, 8);
  return id.substr(0, 20);
}

}  // namespace

std::string_view to_string(AckCode code) {
  switch (code) {
    case AckCode::kAA: return "AA";
    case AckCode::kAE: return "AE";
    case AckCode::kAR: return "AR";
    case AckCode::kCA: return "CA";
    case AckCode::kCE: return "CE";
    case AckCode::kCR: return "CR";
  }
  return "AR";
}

std::string build_ack(const AckRequest& request) {
  const Header h = request.message ? header_from(*request.message) : header_from_raw(request.raw_input);
  const Delimiters& d = h.delimiters;
  const std::string f(1, d.field);
  const std::string c(1, d.component);
  const std::string enc = std::string{d.component, d.repetition, d.escape, d.subcomponent} +
                          (d.truncation ? std::string(1, d.truncation) : std::string());
  std::string out;
  out.reserve(256);
  // Sender and receiver swapped: the ACK comes from the application the message was addressed
  // to (our own name when MSH-5/6 were empty) and goes back to the message's sender.
  const std::string from_app = h.receiving_app.empty() ? encode_escapes(request.application, d)
                                                       : h.receiving_app;
  const std::string from_facility = h.receiving_facility.empty() ? encode_escapes(request.facility, d)
                                                                 : h.receiving_facility;
  // MSH-9: ACK^<trigger>^ACK; plain "ACK" when the trigger is unknown (never "ACK^ACK"); the
  // message structure (its third component) exists from 2.3.1 on.
  const std::string type = h.trigger.empty()            ? "ACK"
                           : has_message_structure(h.version) ? "ACK" + c + h.trigger + c + "ACK"
                                                              : "ACK" + c + h.trigger;
  out += "MSH" + f + enc + f + from_app + f + from_facility + f + h.sending_app + f +
         h.sending_facility + f + hl7_timestamp(request.now) + f + f + type + f +
         encode_escapes(control_id_for(request.control_id, h.version), d) + f + h.processing_id + f + h.version;
  // MSH-18 names the bytes the ACK is in: the message's own declaration, unless the caller
  // encodes it in another set; nothing when neither the message nor the caller names one.
  // (An undeclared message read as ASCII or UTF-8 is answered in UTF-8 and says nothing, as before.)
  const bool other = !request.charset.empty() && request.charset != h.charset &&
                     (!h.charset.empty() || (request.charset != "UNICODE UTF-8" && request.charset != "ASCII"));
  const std::string& charset = other ? request.charset : h.charset;
  if (!charset.empty()) out += f + f + f + f + f + f + charset;
  out += '\r';
  out += "MSA" + f + std::string(to_string(request.code)) + f + h.control_id;
  if (request.error) out += f + encode_escapes(request.error->message(), d);
  out += '\r';
  if (request.error) {
    const Error& e = *request.error;
    const ErrcInfo& i = info(e.code);
    const std::string s(1, d.subcomponent);
    const std::string text = encode_escapes(e.message(), d);
    const Location& w = e.where;
    const std::string seq = w.segment.empty() ? "" : std::to_string(w.segment_seq ? w.segment_seq : 1);
    auto num = [](std::uint32_t n) { return n ? std::to_string(n) : std::string(); };
    if (version_before_2_5(h.version)) {
      out += "ERR" + f + w.segment + c + seq + c + num(w.field) + c + std::string(i.hl7_code) + s +
             encode_escapes(i.hl7_text, d) + s + "HL70357";
    } else {
      std::string location = w.segment + c + seq + c + num(w.field) + c + num(w.repetition) + c +
                             num(w.component) + c + num(w.subcomponent);
      while (!location.empty() && location.back() == d.component) location.pop_back();
      out += "ERR" + f + f + location + f + std::string(i.hl7_code) + c +
             encode_escapes(i.hl7_text, d) + c + "HL70357" + f + "E" + f + f + f + f + text;
    }
    out += '\r';
  }
  return out;
}

std::optional<AckSummary> read_ack(std::string_view ack) {
  auto parsed = parse(ack);
  if (!parsed) return std::nullopt;
  const std::size_t msa = parsed->find_segment("MSA");
  if (msa == Message::npos) return std::nullopt;
  return AckSummary{parsed->decode(parsed->field(msa, 1)), parsed->decode(parsed->field(msa, 2)),
                    parsed->decode(parsed->field(msa, 3))};
}

}  // namespace helsebro::hl7v2
