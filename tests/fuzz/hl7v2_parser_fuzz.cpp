// Fuzz target: arbitrary bytes through split_messages, Parser::parse_into (strict, then with a
// Latin-1 fallback when that refuses), every accessor of the parsed Message, decode(), build_ack.
// Oracles beyond "no crash": the index tables rebuild each segment exactly, everything read lies
// inside the buffer and is valid UTF-8, errors point into the input, and an ACK Helsebro builds
// for a message it parsed is one it can read back.

#include <optional>
#include <string>
#include <string_view>

#include "adapters/hl7v2/ack.h"
#include "adapters/hl7v2/charset.h"
#include "adapters/hl7v2/parser.h"
#include "tests/fuzz/fuzz_target.h"

namespace helsebro::fuzz {
namespace {

using hl7v2::Message;

bool inside(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// True when `offset` starts a line: after a line end, or after nothing but a BOM and blanks.
bool starts_line(std::string_view bytes, std::size_t offset) {
  std::string_view before = bytes.substr(0, offset);
  if (!before.empty() && (before.back() == '\r' || before.back() == '\n')) return true;
  if (before.substr(0, 3) == "\xEF\xBB\xBF") before.remove_prefix(3);
  return before.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Non-ASCII delimiters split UTF-8 sequences, so the UTF-8 oracles only hold without them.
bool ascii_delimiters(const hl7v2::Delimiters& d) {
  for (char c : {d.field, d.component, d.repetition, d.escape, d.subcomponent, d.truncation}) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

void check_decoded(const Message& m, std::string_view raw, bool utf8_oracle) {
  const std::string decoded = m.decode(raw);
  if (utf8_oracle) {
    check(hl7v2::find_invalid_utf8(decoded) == std::string_view::npos,
          "decode() produced invalid UTF-8");
  }
}

// One component: its sub-components, joined by the sub-component separator, give it back.
void walk_component(const Message& m, std::size_t seg, std::size_t f, std::size_t r, std::size_t c,
                    bool utf8_oracle) {
  const std::string_view comp = m.component(seg, f, r, c);
  check(inside(comp, m.repetition(seg, f, r)), "component outside its repetition");
  check_decoded(m, comp, utf8_oracle);
  const std::size_t subs = m.subcomponent_count(seg, f, r, c);
  check(subs >= 1, "a component has no sub-component");
  std::string rebuilt;
  for (std::size_t s = 1; s <= subs; ++s) {
    const std::string_view sub = m.subcomponent(seg, f, r, c, s);
    check(inside(sub, comp), "sub-component outside its component");
    check_decoded(m, sub, utf8_oracle);
    if (s > 1) rebuilt.push_back(m.delimiters().subcomponent);
    rebuilt.append(sub);
  }
  check(rebuilt == comp, "sub-components do not rebuild their component");
  check(m.subcomponent(seg, f, r, c, subs + 1).empty(), "a sub-component past the count");
}

void walk_field(const Message& m, std::size_t seg, std::size_t f, bool utf8_oracle) {
  const hl7v2::Delimiters& d = m.delimiters();
  const std::string_view field = m.field(seg, f);
  check(inside(field, m.segment_text(seg)), "field outside its segment");
  check_decoded(m, field, utf8_oracle);
  const std::size_t reps = m.repetition_count(seg, f);
  check(reps >= 1, "a present field has no repetition");
  std::string rebuilt_field;
  for (std::size_t r = 1; r <= reps; ++r) {
    const std::string_view rep = m.repetition(seg, f, r);
    check(inside(rep, field), "repetition outside its field");
    check_decoded(m, rep, utf8_oracle);
    const std::size_t comps = m.component_count(seg, f, r);
    check(comps >= 1, "a repetition has no component");
    std::string rebuilt_rep;
    for (std::size_t c = 1; c <= comps; ++c) {
      walk_component(m, seg, f, r, c, utf8_oracle);
      if (c > 1) rebuilt_rep.push_back(d.component);
      rebuilt_rep.append(m.component(seg, f, r, c));
    }
    check(rebuilt_rep == rep, "components do not rebuild their repetition");
    if (r > 1) rebuilt_field.push_back(d.repetition);
    rebuilt_field.append(rep);
  }
  check(rebuilt_field == field, "repetitions do not rebuild their field");
  check(!m.component_entry(seg, f, reps + 1, 1), "a repetition past the count");
}

// Every level of every segment; the fields, joined again, give back the segment's text.
void walk(const Message& m) {
  const std::string_view buffer = m.buffer();
  check(hl7v2::find_invalid_utf8(buffer) == std::string_view::npos, "buffer is not UTF-8");
  check(hl7v2::charset_from_msh18(m.charset()).has_value(), "charset() is not a known name");
  check(m.segment_count() >= 1 && m.segment_id(0) == "MSH", "a message not starting with MSH");
  const bool utf8_oracle = ascii_delimiters(m.delimiters());
  for (std::size_t seg = 0; seg < m.segment_count(); ++seg) {
    const std::string_view text = m.segment_text(seg);
    check(inside(text, buffer) && text.size() >= 3, "segment outside the buffer");
    check(text.find_first_of("\r\n") == std::string_view::npos, "a segment holds a line end");
    const bool msh = m.segment_id(seg) == "MSH";
    std::string rebuilt(m.segment_id(seg));
    for (std::size_t f = 1; f <= m.field_count(seg); ++f) {
      if (!(msh && f <= 2)) {
        rebuilt.push_back(m.delimiters().field);
        walk_field(m, seg, f, utf8_oracle);
      }
      rebuilt.append(m.field(seg, f));
    }
    check(rebuilt == text, "fields do not rebuild their segment");
    check(m.field_entry(seg, m.field_count(seg) + 1) == nullptr, "a field past the count");
  }
  for (std::string_view id : {"MSH", "PID", "OBX"}) (void)m.find_segment(id, 2);
  for (std::size_t f = 1; f <= 21; ++f) (void)m.value("MSH", f, 1, 1);
}

// As Intake does it: the ACK is encoded to the message's charset (UTF-8 when it did not parse).
void acknowledge(const Message* m, std::string_view raw, std::optional<Error> error,
                 bool must_read_back) {
  hl7v2::AckRequest request;
  request.message = m;
  request.raw_input = raw;
  request.code = !error ? hl7v2::AckCode::kAA : m ? hl7v2::AckCode::kAE : hl7v2::AckCode::kAR;
  request.error = std::move(error);
  request.control_id = "ACK|^~\\&0001";
  request.now = 1700000000000;
  std::string ack = hl7v2::build_ack(request);
  if (m != nullptr) ack = hl7v2::from_utf8(ack, hl7v2::charset_from_msh18(m->charset()).value());
  const auto summary = hl7v2::read_ack(ack);
  if (!must_read_back) return;
  check(summary.has_value(), "an ACK for a parsed message does not parse");
  check(summary->code == hl7v2::to_string(request.code), "the ACK's MSA-1 is not its code");
}

void check_error(const Error& e, std::string_view bytes) {
  check(e.code != Errc::kOk && e.code < Errc::kCount, "an error with no code");
  check(!e.message().empty(), "an error with no text");
  if (!e.where.has_offset) return;
  check(e.where.byte_offset <= bytes.size(), "error offset past the input");
  if (e.code == Errc::kBadSegmentId) {
    check(starts_line(bytes, e.where.byte_offset),
          "a bad segment's offset is not the start of a line of the input");
  }
}

// The parsers and the message live as long as one input: reused between its messages, as a
// connection reuses them, yet every crash reproduces from the saved input alone.
struct Parsers {
  hl7v2::Parser strict;
  hl7v2::Parser lenient{hl7v2::ParseOptions{std::nullopt, hl7v2::Charset::kLatin1}};
  Message message;
};

// Returns whether the message was read; `m` then holds it.
bool parse_with(const hl7v2::Parser& parser, std::string_view bytes, Message& m,
                bool must_read_back) {
  auto parsed = parser.parse_into(bytes, m);
  if (!parsed) {
    check_error(parsed.error(), bytes);
    acknowledge(nullptr, bytes, parsed.error(), false);
    return false;
  }
  walk(m);
  const bool round_trip = must_read_back && ascii_delimiters(m.delimiters());
  acknowledge(&m, bytes, std::nullopt, round_trip);
  acknowledge(&m, bytes, Error{Errc::kRequiredFieldMissing, "PID-3 is empty", {"PID", 1, 3}},
              round_trip);
  return true;
}

void parse_one(std::string_view bytes, Parsers& p) {
  if (parse_with(p.strict, bytes, p.message, true)) return;
  // The Latin-1 fallback reads differently only what the strict parse refused.
  parse_with(p.lenient, bytes, p.message, false);
}

void check_slices(std::string_view input, const std::vector<hl7v2::MessageSlice>& slices,
                  const hl7v2::BatchEnvelope& envelope) {
  check(!slices.empty() || envelope.is_batch(), "split_messages succeeded with no message outside a batch");
  std::size_t after_previous = 0;
  for (const auto& slice : slices) {
    check(inside(slice.bytes, input), "a slice outside the input");
    check(slice.offset == static_cast<std::size_t>(slice.bytes.data() - input.data()),
          "a slice's offset is not where its bytes are");
    check(slice.offset >= after_previous, "slices overlap or go backwards");
    check(slice.bytes.substr(0, 3) == "MSH", "a slice does not start with MSH");
    after_previous = slice.offset + slice.bytes.size();
  }
}

}  // namespace

void exercise_hl7v2_parser(std::string_view input) {
  (void)hl7v2::peek_msh18(input);
  Parsers parsers;
  hl7v2::BatchEnvelope envelope;
  auto slices = hl7v2::split_messages(input, &envelope);
  if (slices) {
    check_slices(input, *slices, envelope);
    for (const auto& slice : *slices) parse_one(slice.bytes, parsers);
    if (slices->size() == 1 && slices->front().bytes.size() == input.size()) return;
  } else {
    check_error(slices.error(), input);
  }
  parse_one(input, parsers);  // a frame holding several messages is also what a sender may send
}

}  // namespace helsebro::fuzz

HELSEBRO_FUZZ_ENTRY(helsebro::fuzz::exercise_hl7v2_parser)
