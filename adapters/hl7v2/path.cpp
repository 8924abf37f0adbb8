#include "adapters/hl7v2/path.h"

#include <charconv>

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

int group_level(std::string_view id) {
  static constexpr std::pair<std::string_view, int> kLevels[] = {
      {"MSH", 0}, {"BHS", 0}, {"FHS", 0}, {"PID", 1}, {"PV1", 2}, {"ORC", 3}, {"SCH", 3}, {"TXA", 3},
      {"OBR", 4}, {"RXA", 4}, {"RXO", 4}, {"RXE", 4}, {"OBX", 5}, {"SPM", 5}};
  for (const auto& [segment, level] : kLevels) {
    if (segment == id) return level;
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
