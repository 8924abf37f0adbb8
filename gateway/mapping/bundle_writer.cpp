#include "gateway/mapping/bundle_writer.h"

#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>


namespace helsebro::mapping {
namespace {

// What rapidjson::Writer writes after a backslash for each byte it escapes; 0: written as it is.
constexpr auto kEscapes = [] {
  std::array<char, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\t'] = 't';
  table['\n'] = 'n';
  table['\f'] = 'f';
  table['\r'] = 'r';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}();

// Writes into a string through a pointer, with room made beforehand for the worst case, instead
// of checking the capacity for every character.
class Output {
 public:
  explicit Output(std::string& s) : s_(s), at_(s.size()) {}
  ~Output() { s_.resize(at_); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  /// Makes room for `n` more bytes and returns where to write them; commit() what was written.
  char* room(std::size_t n) {
    if (s_.size() - at_ < n) s_.resize(std::max(s_.size() * 2, at_ + n + 1024));
    return s_.data() + at_;
  }
  void commit(const char* end) { at_ = static_cast<std::size_t>(end - s_.data()); }
  void put(char c) { *room(1) = c, ++at_; }
  void put(std::string_view text) {
    char* to = room(text.size());
    std::memcpy(to, text.data(), text.size());
    at_ += text.size();
  }

 private:
  std::string& s_;
  std::size_t at_;  // bytes written; the string's size beyond it is room
};

// Bit 7 of each byte of the word that rapidjson escapes: below 0x20, '"' or '\\'. Exact for the
// lowest such byte (borrows may mark higher bytes falsely, which only costs a byte-wise look).
static_assert(std::endian::native == std::endian::little);
std::uint64_t special_bytes(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  auto zero_bytes = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  return ((w - kOnes * 0x20) & ~w & kHigh) | zero_bytes(w ^ (kOnes * '"')) | zero_bytes(w ^ (kOnes * '\\'));
}

// Writes one piece of a string's text, escaped; `room` has space for its worst case.
char* write_escaped(std::string_view s, char* to) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char* from = s.data();
  const char* const end = from + s.size();
  while (from < end) {
    if (end - from >= 8) {
      std::uint64_t word;
      std::memcpy(&word, from, 8);
      std::memcpy(to, from, 8);
      const std::uint64_t special = special_bytes(word);
      if (special == 0) {
        from += 8;
        to += 8;
        continue;
      }
      const int plain = std::countr_zero(special) / 8;  // little-endian: the first byte is lowest
      from += plain;
      to += plain;
    }
    const auto c = static_cast<unsigned char>(*from++);
    const char escape = kEscapes[c];
    if (escape == 0) {
      *to++ = static_cast<char>(c);
      continue;
    }
    *to++ = '\\';
    *to++ = escape;
    if (escape == 'u') {
      *to++ = '0';
      *to++ = '0';
      *to++ = kHex[c >> 4];
      *to++ = kHex[c & 15];
    }
  }
  return to;
}

// True when no byte of `s` needs an escape, looked at a word at a time (the last word overlapping
// the one before; two half words below eight bytes), so that most keys and values, which are
// short, are copied at once instead of byte by byte.
bool needs_no_escape(std::string_view s) {
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n >= 8) {
    std::uint64_t word;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&word, p + i, 8);
      if (special_bytes(word) != 0) return false;
    }
    std::memcpy(&word, p + n - 8, 8);
    return special_bytes(word) == 0;
  }
  if (n >= 4) {
    std::uint32_t head, tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return special_bytes(head | static_cast<std::uint64_t>(tail) << 32) == 0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (kEscapes[static_cast<unsigned char>(p[i])] != 0) return false;
  }
  return true;
}

// A string known to need no escape.
void write_plain(std::string_view s, Output& out) {
  char* to = out.room(s.size() + 2);
  *to++ = '"';
  std::memcpy(to, s.data(), s.size());
  to += s.size();
  *to++ = '"';
  out.commit(to);
}

void write_string(std::string_view s, Output& out) {
  // In pieces, so that a long text (an attachment) needs room for six times a piece, not itself.
  constexpr std::size_t kPiece = 4096;
  if (s.size() <= kPiece && needs_no_escape(s)) return write_plain(s, out);
  out.put('"');
  while (!s.empty()) {
    const std::string_view piece = s.substr(0, kPiece);
    s.remove_prefix(piece.size());
    out.commit(write_escaped(piece, out.room(piece.size() * 6 + 8)));  // all as \u00XX; a word
  }
  out.put('"');
}

// Writes the value at token `i` and returns the token after it.
std::size_t write_value(const JsonTape& tape, std::size_t i, Output& out) {
  const JsonToken& t = tape[i];
  switch (t.kind) {
    case JsonToken::Kind::kNull: out.put("null"); break;
    case JsonToken::Kind::kFalse: out.put("false"); break;
    case JsonToken::Kind::kTrue: out.put("true"); break;
    case JsonToken::Kind::kInt: out.commit(rapidjson::internal::i64toa(t.integer, out.room(32))); break;
    case JsonToken::Kind::kDouble: out.commit(rapidjson::internal::dtoa(t.real, out.room(32))); break;
    case JsonToken::Kind::kNumber: out.put(t.text_view()); break;
    case JsonToken::Kind::kString:
      if (t.flags & JsonToken::kPlainText) write_plain(t.text_view(), out);
      else write_string(t.text_view(), out);
      break;
    case JsonToken::Kind::kObject:
    case JsonToken::Kind::kArray: {
      const bool object = t.kind == JsonToken::Kind::kObject;
      out.put(object ? '{' : '[');
      std::size_t at = i + 1;
      for (std::uint32_t k = 0; k < t.size; ++k) {
        if (k > 0) out.put(',');
        if (object) {
          if (tape[at].flags & JsonToken::kPlainKey) write_plain(tape[at].key_view(), out);
          else write_string(tape[at].key_view(), out);
          out.put(':');
        }
        at = write_value(tape, at, out);
      }
      out.put(object ? '}' : ']');
      break;
    }
  }
  return i + t.span;
}

}  // namespace

bool plain_json_text(std::string_view s) { return needs_no_escape(s); }

void write_json(const JsonTape& tape, std::string& out) {
  Output output(out);
  if (!tape.empty()) write_value(tape, 0, output);
}

}  // namespace helsebro::mapping
