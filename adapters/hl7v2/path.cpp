#include "adapters/hl7v2/path.h"

#include <charconv>
#include <cstdint>

namespace helsebro::hl7v2 {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  bool eat(char c) {
    if (!done() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool number(std::uint32_t& out) {
    const char* begin = text_.data() + pos_;
    auto [ptr, ec] = std::from_chars(begin, text_.data() + text_.size(), out);
    if (ec != std::errc{} || out == 0) return false;
    pos_ += static_cast<std::size_t>(ptr - begin);
    return true;
  }
  // "[n]" or "[*]" (every); absent leaves out untouched.
  bool index(std::uint32_t& out) {
    if (!eat('[')) return true;
    if (eat('*')) {
      out = 0;
    } else if (!number(out)) {
      return false;
    }
    return eat(']');
  }
  std::size_t pos() const { return pos_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

Error bad_path(std::string_view text, std::size_t at, std::string_view why) {
  return Error{Errc::kInvalidValue, "path '" + std::string(text) + "' at character " +
                                        std::to_string(at + 1) + ": " + std::string(why)};
}

bool is_segment_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// "-F[r].c.s" after a segment or '@'.
bool read_field_part(Reader& r, Path& p) {
  if (!r.number(p.field) || !r.index(p.repetition)) return false;
  if (r.eat('.')) {
    if (!r.number(p.component)) return false;
    if (r.eat('.') && !r.number(p.subcomponent)) return false;
  }
  return true;
}

}  // namespace

Location Path::location() const {
  Location where;
  if (!relative) where.segment = std::string(segment, 3);
  where.segment_seq = segment_index;
  where.field = field;
  where.repetition = repetition;
  where.component = component;
  where.subcomponent = subcomponent;
  return where;
}

// A segment id as one number, compared at once (a group's end is looked for at every segment
// of every group a mapping walks).
constexpr std::uint32_t segment_key(char a, char b, char c) {
  return static_cast<std::uint8_t>(a) | static_cast<std::uint32_t>(static_cast<std::uint8_t>(b)) << 8 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(c)) << 16;
}

int group_level(std::string_view id) {
  struct Level {
    std::uint32_t key;
    int level;
  };
  static constexpr Level kLevels[] = {
      {segment_key('M', 'S', 'H'), 0}, {segment_key('B', 'H', 'S'), 0}, {segment_key('F', 'H', 'S'), 0},
      {segment_key('P', 'I', 'D'), 1}, {segment_key('P', 'V', '1'), 2}, {segment_key('O', 'R', 'C'), 3},
      {segment_key('S', 'C', 'H'), 3}, {segment_key('T', 'X', 'A'), 3}, {segment_key('O', 'B', 'R'), 4},
      {segment_key('R', 'X', 'A'), 4}, {segment_key('R', 'X', 'O'), 4}, {segment_key('R', 'X', 'E'), 4},
      {segment_key('O', 'B', 'X'), 5}, {segment_key('S', 'P', 'M'), 5}};
  if (id.size() != 3) return -1;
  const std::uint32_t key = segment_key(id[0], id[1], id[2]);
  for (const Level& l : kLevels) {
    if (l.key == key) return l.level;
  }
  return -1;
}

Result<std::unique_ptr<Path>> compile_path(std::string_view text) {
  auto p = std::make_unique<Path>();
  p->source = std::string(text);
  if (text.rfind("group(", 0) == 0) {
    if (text.size() != 10 || text[9] != ')' || !is_segment_char(text[6]) || !is_segment_char(text[7]) ||
        !is_segment_char(text[8])) {
      return bad_path(text, 6, "expected group(SEG), e.g. group(OBR)");
    }
    if (group_level(text.substr(6, 3)) < 0) {
      return bad_path(text, 6, "groups are led by MSH, PID, PV1, ORC, SCH, TXA, OBR, RXA, RXO, RXE, OBX or SPM");
    }
    p->group = true;
    for (int i = 0; i < 3; ++i) p->segment[i] = text[6 + i];
    return p;
  }
  Reader r(text);
  if (r.eat('@')) {
    p->relative = true;
    if (r.eat('-')) {
      p->from_segment = true;
      if (!read_field_part(r, *p)) return bad_path(text, r.pos(), "expected -field[rep].comp.sub");
    } else if (r.eat('.')) {
      if (!r.number(p->component)) return bad_path(text, r.pos(), "expected a component number");
      if (r.eat('.') && !r.number(p->subcomponent)) {
        return bad_path(text, r.pos(), "expected a sub-component number");
      }
    }
  } else {
    if (text.size() < 3 || !is_segment_char(text[0]) || !is_segment_char(text[1]) ||
        !is_segment_char(text[2])) {
      return bad_path(text, 0, "expected a segment id such as PID, or @ for the current element");
    }
    for (int i = 0; i < 3; ++i) p->segment[i] = text[i];
    Reader rest(text.substr(3));
    if (!rest.index(p->segment_index)) return bad_path(text, 3 + rest.pos(), "bad segment index");
    if (rest.eat('-') && !read_field_part(rest, *p)) {
      return bad_path(text, 3 + rest.pos(), "expected -field[rep].comp.sub");
    }
    if (!rest.done()) return bad_path(text, 3 + rest.pos(), "unexpected characters");
    return p;
  }
  if (!r.done()) return bad_path(text, r.pos(), "unexpected characters");
  return p;
}

Result<std::unique_ptr<mapping::SourcePath>> PathDialect::compile(std::string_view text) const {
  auto compiled = compile_path(text);
  if (!compiled) return compiled.error();
  return std::unique_ptr<mapping::SourcePath>(std::move(*compiled));
}

}  // namespace helsebro::hl7v2
