#include "adapters/hl7v2/parser.h"

#include <array>
#include <cstring>

namespace helsebro::hl7v2 {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

enum CharClass : std::uint8_t { kData = 0, kField, kRepetition, kComponent, kSubcomponent };

struct ClassTable {
  std::array<std::uint8_t, 256> cls{};
  explicit ClassTable(const Delimiters& d) {
    cls[static_cast<unsigned char>(d.field)] = kField;
    cls[static_cast<unsigned char>(d.repetition)] = kRepetition;
    cls[static_cast<unsigned char>(d.component)] = kComponent;
    cls[static_cast<unsigned char>(d.subcomponent)] = kSubcomponent;
  }
};

bool is_segment_id_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_line_end(char c) { return c == '\r' || c == '\n'; }

Location at_offset(std::size_t offset, std::string segment = {}) {
  Location where;
  where.segment = std::move(segment);
  where.byte_offset = offset;
  where.has_offset = true;
  return where;
}

std::size_t skip_leading(std::string_view bytes) {
  std::size_t i = bytes.substr(0, 3) == kBom ? 3 : 0;
  while (i < bytes.size() && (is_line_end(bytes[i]) || bytes[i] == ' ' || bytes[i] == '\t')) ++i;
  return i;
}

Result<Delimiters> read_delimiters(std::string_view text) {
  if (text.size() < 4 || text.substr(0, 3) != "MSH") {
    const bool looks_like_segment = text.size() >= 4 && is_segment_id_char(text[0]) &&
                                    is_segment_id_char(text[1]) && is_segment_id_char(text[2]) &&
                                    !is_segment_id_char(text[3]);
    if (looks_like_segment) {
      return Error{Errc::kMissingMsh,
                   "the first segment is '" + std::string(text.substr(0, 3)) + "', expected MSH",
                   at_offset(0)};
    }
    return Error{Errc::kNotHl7, "the data does not start with an MSH segment", at_offset(0)};
  }
  Delimiters d;
  d.field = text[3];
  std::size_t end = 4;
  while (end < text.size() && text[end] != d.field && !is_line_end(text[end])) ++end;
  const std::string_view enc = text.substr(4, end - 4);
  if (enc.size() < 4 || enc.size() > 5) {
    return Error{Errc::kBadEncodingCharacters,
                 "MSH-2 must hold 4 or 5 encoding characters, found " + std::to_string(enc.size()),
                 Location{"MSH", 1, 2}};
  }
  d.component = enc[0];
  d.repetition = enc[1];
  d.escape = enc[2];
  d.subcomponent = enc[3];
  d.truncation = enc.size() == 5 ? enc[4] : '\0';
  const std::string all = std::string(1, d.field) + std::string(enc);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const char c = all[i];
    if (is_segment_id_char(c) || (c >= 'a' && c <= 'z') || is_line_end(c) || c == ' ' ||
        all.find(c, i + 1) != std::string::npos) {
      return Error{Errc::kBadEncodingCharacters,
                   "MSH-1/MSH-2 delimiters must be distinct punctuation characters",
                   Location{"MSH", 1, 2}};
    }
  }
  return d;
}

Result<std::string> decode_charset(std::string_view bytes, const ParseOptions& options,
                                   std::string& charset_name_out, bool& single_byte) {
  Charset charset = Charset::kUtf8;
  bool declared = false;
  if (options.forced_charset) {
    charset = *options.forced_charset;
  } else {
    const std::string_view msh18 = peek_msh18(bytes);
    auto parsed = charset_from_msh18(msh18);
    if (!parsed) return parsed.error();
    declared = !msh18.empty();
    // Undeclared means ASCII by the standard; valid UTF-8 is read as UTF-8, safely.
    charset = declared ? *parsed : Charset::kUtf8;
  }
  auto decoded = to_utf8(bytes, charset);
  bool fell_back = false;
  if (!decoded && options.fallback_charset) {
    charset = *options.fallback_charset;
    decoded = to_utf8(bytes, charset);
    fell_back = true;
  }
  if (!decoded) {
    Error e = decoded.error();
    if (!declared && !options.forced_charset) {
      e.detail = "bytes are not valid UTF-8 and MSH-18 declares no charset (set MSH-18, e.g. 8859/1)";
    }
    return e;
  }
  // Name the charset the bytes were decoded from: after a fallback that is the fallback's, not
  // "UTF-8" (which also made \Xhh\ escapes of a Latin-9 fallback decode as Latin-1).
  charset_name_out = std::string(charset_name(declared || options.forced_charset || fell_back
                                                  ? charset
                                                  : (find_non_ascii(bytes) == std::string_view::npos
                                                         ? Charset::kAscii
                                                         : Charset::kUtf8)));
  single_byte = charset == Charset::kLatin1 || charset == Charset::kLatin9;
  return decoded;
}

}  // namespace

std::string_view peek_msh18(std::string_view bytes) {
  const std::size_t start = skip_leading(bytes);
  const std::string_view text = bytes.substr(start);
  if (text.size() < 4 || text.substr(0, 3) != "MSH") return {};
  const char sep = text[3];
  std::size_t pos = 3;
  for (int field = 2; field <= 18; ++field) {
    std::size_t next = pos + 1;
    while (next < text.size() && text[next] != sep && !is_line_end(text[next])) ++next;
    if (field == 18) {
      std::string_view value = text.substr(pos + 1, next - pos - 1);
      if (text.size() > 5) {
        const char comp = text[4];
        const char rep = text[5];
        value = value.substr(0, value.find(rep));
        value = value.substr(0, value.find(comp));
      }
      return value;
    }
    if (next >= text.size() || text[next] != sep) return {};
    pos = next;
  }
  return {};
}

Result<void> Parser::parse_into(std::string_view bytes, Message& m) const {
  m.segments_.clear();
  m.fields_.clear();
  m.reps_.clear();
  m.comps_.clear();
  m.subs_.clear();
  const std::size_t start = skip_leading(bytes);
  if (start >= bytes.size()) return Error{Errc::kNotHl7, "the message is empty", at_offset(0)};
  if (bytes.size() > UINT32_MAX) return Error{Errc::kFrameTooLarge, "message over 4 GiB"};
  auto delimiters = read_delimiters(bytes.substr(start));
  if (!delimiters) return delimiters.error();
  m.delimiters_ = *delimiters;

  auto decoded = decode_charset(bytes.substr(start), options_, m.charset_, m.single_byte_charset_);
  if (!decoded) {
    Error e = decoded.error();
    e.where.byte_offset += start;
    return e;
  }
  m.buffer_ = std::move(*decoded);

  const std::string& buf = m.buffer_;
  const auto size = static_cast<std::uint32_t>(buf.size());
  std::uint32_t pos = 0;
  while (pos < size) {
    std::uint32_t end = pos;
    while (end < size && !is_line_end(buf[end])) ++end;
    if (end > pos) {
      bool blank = true;
      for (std::uint32_t i = pos; i < end && blank; ++i) blank = buf[i] == ' ' || buf[i] == '\t';
      if (!blank) {
        if (m.segments_.size() >= options_.max_segments) {
          return Error{Errc::kBadSegmentId,
                       "more than " + std::to_string(options_.max_segments) + " segments",
                       at_offset(start + pos)};
        }
        auto indexed = index_segment(m, pos, end);
        if (!indexed) {
          Error e = indexed.error();
          e.where.byte_offset += start;
          return e;
        }
      }
    }
    pos = end;
    while (pos < size && is_line_end(buf[pos])) ++pos;
  }
  return {};
}

Result<void> Parser::index_segment(Message& m, std::uint32_t begin, std::uint32_t end) const {
  const std::string& buf = m.buffer_;
  const Delimiters& d = m.delimiters_;
  if (end - begin < 3 || !is_segment_id_char(buf[begin]) || !is_segment_id_char(buf[begin + 1]) ||
      !is_segment_id_char(buf[begin + 2]) || (end - begin > 3 && buf[begin + 3] != d.field)) {
    const std::string shown(buf.substr(begin, std::min<std::uint32_t>(8, end - begin)));
    return Error{Errc::kBadSegmentId,
                 "segment " + std::to_string(m.segments_.size() + 1) + " starts with '" + shown +
                     "', not a three-character segment id and a field separator",
                 at_offset(begin)};
  }
  SegmentEntry seg;
  seg.span = {begin, end};
  seg.first_field = static_cast<std::uint32_t>(m.fields_.size());
  std::uint32_t pos = begin + 3;  // at the separator before field 1 (or at end)

  auto push_plain_field = [&m](Span span) {
    m.comps_.push_back({span, static_cast<std::uint32_t>(m.subs_.size()), 0});
    m.reps_.push_back({span, static_cast<std::uint32_t>(m.comps_.size() - 1), 1});
    m.fields_.push_back({span, static_cast<std::uint32_t>(m.reps_.size() - 1), 1});
  };
  if (std::memcmp(buf.data() + begin, "MSH", 3) == 0 && end - begin > 3) {
    // MSH-1 is the field separator itself; MSH-2 holds the encoding characters, unsplit.
    push_plain_field({begin + 3, begin + 4});
    std::uint32_t enc_end = begin + 4;
    while (enc_end < end && buf[enc_end] != d.field) ++enc_end;
    push_plain_field({begin + 4, enc_end});
    pos = enc_end;
  }

  static thread_local Delimiters cached_delimiters{};
  static thread_local ClassTable table{cached_delimiters};
  if (std::memcmp(&cached_delimiters, &d, sizeof(Delimiters)) != 0) {
    cached_delimiters = d;
    table = ClassTable{d};
  }
  const auto* cls = table.cls.data();

  while (pos < end) {  // buf[pos] is a field separator
    std::uint32_t i = pos + 1;
    FieldEntry field{{i, i}, static_cast<std::uint32_t>(m.reps_.size()), 0};
    RepEntry rep{{i, i}, static_cast<std::uint32_t>(m.comps_.size()), 0};
    ComponentEntry comp{{i, i}, static_cast<std::uint32_t>(m.subs_.size()), 0};
    std::uint32_t sub_start = i;
    auto close_component = [&](std::uint32_t at) {
      comp.span.end = at;
      if (comp.sub_count > 0) {
        m.subs_.push_back({sub_start, at});
        ++comp.sub_count;
      }
      m.comps_.push_back(comp);
      ++rep.comp_count;
    };
    auto close_repetition = [&](std::uint32_t at) {
      close_component(at);
      rep.span.end = at;
      m.reps_.push_back(rep);
      ++field.rep_count;
    };
    for (;; ++i) {
      const std::uint8_t c = i < end ? cls[static_cast<unsigned char>(buf[i])] : std::uint8_t{kField};
      if (c == kData) continue;
      if (c == kField) break;
      if (c == kSubcomponent) {
        if (comp.sub_count == 0) {
          m.subs_.push_back({comp.span.begin, i});
          comp.sub_count = 1;
        } else {
          m.subs_.push_back({sub_start, i});
          ++comp.sub_count;
        }
        sub_start = i + 1;
      } else if (c == kComponent) {
        close_component(i);
        comp = {{i + 1, i + 1}, static_cast<std::uint32_t>(m.subs_.size()), 0};
        sub_start = i + 1;
      } else {  // repetition
        close_repetition(i);
        rep = {{i + 1, i + 1}, static_cast<std::uint32_t>(m.comps_.size()), 0};
        comp = {{i + 1, i + 1}, static_cast<std::uint32_t>(m.subs_.size()), 0};
        sub_start = i + 1;
      }
    }
    close_repetition(i);
    field.span.end = i;
    m.fields_.push_back(field);
    pos = i;
  }
  seg.field_count = static_cast<std::uint32_t>(m.fields_.size()) - seg.first_field;
  m.segments_.push_back(seg);
  return {};
}

namespace {

// The first field after the segment id, as a count; -1 when absent or not a number.
long count_field(std::string_view line) {
  if (line.size() < 5) return -1;
  const char sep = line[3];
  std::string_view rest = line.substr(4);
  rest = rest.substr(0, rest.find(sep));
  if (rest.empty()) return -1;
  long n = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

Result<std::vector<MessageSlice>> split_messages(std::string_view bytes, BatchEnvelope* envelope) {
  std::vector<MessageSlice> out;
  BatchEnvelope env;
  long bts_count = -1;
  std::size_t pos = skip_leading(bytes);
  std::size_t current = std::string_view::npos;  // start of the message being collected
  std::size_t current_end = 0;
  auto close = [&] {
    if (current != std::string_view::npos) out.push_back({bytes.substr(current, current_end - current), current});
    current = std::string_view::npos;
  };
  while (pos < bytes.size()) {
    std::size_t end = pos;
    while (end < bytes.size() && !is_line_end(bytes[end])) ++end;
    std::size_t next = end;
    while (next < bytes.size() && is_line_end(bytes[next])) ++next;
    const std::string_view line = bytes.substr(pos, end - pos);
    const std::string_view id = line.substr(0, 3);
    if (id == "MSH") {
      close();
      current = pos;
    } else if (id == "FHS" || id == "BHS" || id == "BTS" || id == "FTS") {
      close();
      if (id == "FHS") env.fhs = line;
      else if (id == "BHS") env.bhs = line;
      else if (id == "BTS") env.bts = line, bts_count = count_field(line);
      else env.fts = line;
    } else if (current == std::string_view::npos) {
      bool blank = true;
      for (char c : line) blank = blank && (c == ' ' || c == '\t');
      if (!blank) {
        return Error{out.empty() ? Errc::kMissingMsh : Errc::kBadSegmentId,
                     "segment '" + std::string(id) + "' stands outside any message (expected MSH)",
                     at_offset(pos)};
      }
    }
    if (current != std::string_view::npos) current_end = next;
    pos = next;
  }
  close();
  if (out.empty()) {
    return Error{env.is_batch() ? Errc::kMissingMsh : Errc::kNotHl7,
                 env.is_batch() ? "the batch holds no message" : "no MSH segment found", at_offset(0)};
  }
  if (bts_count >= 0 && static_cast<std::size_t>(bts_count) != out.size()) {
    return Error{Errc::kInvalidValue,
                 "BTS-1 counts " + std::to_string(bts_count) + " messages, the batch holds " +
                     std::to_string(out.size()),
                 Location{"BTS", 1, 1}};
  }
  if (envelope != nullptr) *envelope = env;
  return out;
}

Result<Message> parse(std::string_view bytes, const ParseOptions& options) {
  Message m;
  auto parsed = Parser{options}.parse_into(bytes, m);
  if (!parsed) return parsed.error();
  return m;
}

}  // namespace helsebro::hl7v2
