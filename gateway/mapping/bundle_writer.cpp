#include "gateway/mapping/bundle_writer.h"

#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>
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

// Writes into a buffer of this thread through a pointer, with room made beforehand for the worst
// case, instead of checking the capacity for every character. The buffer keeps its size from one
// document to the next, so growing a string (which zero-fills what it adds) happens a few times
// per thread, not a few times per document; one grown past kKeptBytes by a big document (an
// attachment) is given back when that document is written. Its last kSlackBytes are never given
// out as room: a write a few bytes past the room (a bug) lands there, and commit() refuses it.
class Output {
 public:
  static constexpr std::size_t kFirstBytes = 16 * 1024;
  static constexpr std::size_t kKeptBytes = 256 * 1024;
  static constexpr std::size_t kSlackBytes = 64;

  Output() : buffer_(buffer()), at_(buffer_.data()), end_(at_ + buffer_.size() - kSlackBytes) {}
  ~Output() {
    if (buffer_.size() > kKeptBytes) std::string(kFirstBytes, '\0').swap(buffer_);
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  /// Makes room for `n` more bytes and returns where to write them; commit() what was written.
  char* room(std::size_t n) {
    if (static_cast<std::size_t>(end_ - at_) < n) grow(n);
    return at_;
  }
  void commit(char* end) {
    if (end > end_) throw std::logic_error("bundle writer: wrote past the room it made");
    at_ = end;
  }
  std::string_view written() const { return {buffer_.data(), static_cast<std::size_t>(at_ - buffer_.data())}; }

 private:
  static std::string& buffer() {
    thread_local std::string kept(kFirstBytes, '\0');
    return kept;
  }
  void grow(std::size_t n) {
    const auto used = static_cast<std::size_t>(at_ - buffer_.data());
    buffer_.resize(std::max(buffer_.size() * 2, used + n + 1024 + kSlackBytes));
    at_ = buffer_.data() + used;
    end_ = buffer_.data() + buffer_.size() - kSlackBytes;
  }

  std::string& buffer_;
  char* at_;
  char* end_;
};

// Copies `n` bytes and returns the end: short texts (keys, codes, most values) with two
// overlapping word moves instead of a call to memcpy.
inline char* copy(char* to, const char* from, std::size_t n) {
  if (n >= 8 && n <= 16) {
    std::uint64_t a, b;
    std::memcpy(&a, from, 8);
    std::memcpy(&b, from + n - 8, 8);
    std::memcpy(to, &a, 8);
    std::memcpy(to + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    std::uint32_t a, b;
    std::memcpy(&a, from, 4);
    std::memcpy(&b, from + n - 4, 4);
    std::memcpy(to, &a, 4);
    std::memcpy(to + n - 4, &b, 4);
  } else if (n < 4) {
    for (std::size_t i = 0; i < n; ++i) to[i] = from[i];
  } else {
    std::memcpy(to, from, n);
  }
  return to + n;
}

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

// Writes `s` quoted and escaped (it needs escapes, or it is too long to tell at once), piece by
// piece: a long text needs room for six times a piece (all as \u00XX), not six times itself.
char* write_escaped_string(std::string_view s, char* to, Output& out) {
  constexpr std::size_t kPiece = 4096;
  *to++ = '"';
  while (!s.empty()) {
    const std::string_view piece = s.substr(0, kPiece);
    s.remove_prefix(piece.size());
    out.commit(to);
    to = write_escaped(piece, out.room(piece.size() * 6 + 8));  // a word may be stored whole
  }
  out.commit(to);
  to = out.room(2);
  *to++ = '"';
  return to;
}

// True when a string with these flags and text is written as it is, quoted.
bool as_it_is(std::string_view s, bool plain) {
  return plain || (s.size() <= 4096 && needs_no_escape(s));
}

char* write_quoted(std::string_view s, char* to) {
  *to++ = '"';
  to = copy(to, s.data(), s.size());
  *to++ = '"';
  return to;
}

// What writing a value needs at first: numbers take at most 32 bytes, a string its text quoted
// unless it needs escapes (more room is made then), a container its bracket.
std::size_t room_for(const JsonToken& v) {
  return v.kind == JsonToken::Kind::kString || v.kind == JsonToken::Kind::kNumber ? v.size + 2 : 32;
}

// Writes the value at token `i` where `to` points, with room_for() it made, and returns the token
// after it. Containers are written member by member, each member's comma, key and scalar value
// in one step with one check for room, as most of a Bundle is short strings.
std::size_t write_value(const JsonTape& tape, std::size_t i, char* to, Output& out) {
  const JsonToken& t = tape[i];
  switch (t.kind) {
    case JsonToken::Kind::kNull: to = copy(to, "null", 4); break;
    case JsonToken::Kind::kFalse: to = copy(to, "false", 5); break;
    case JsonToken::Kind::kTrue: to = copy(to, "true", 4); break;
    case JsonToken::Kind::kInt: to = rapidjson::internal::i64toa(t.integer, to); break;
    case JsonToken::Kind::kDouble: to = rapidjson::internal::dtoa(t.real, to); break;
    case JsonToken::Kind::kNumber: to = copy(to, t.text, t.size); break;
    case JsonToken::Kind::kString:
      if (as_it_is(t.text_view(), t.flags & JsonToken::kPlainText)) to = write_quoted(t.text_view(), to);
      else to = write_escaped_string(t.text_view(), to, out);
      break;
    case JsonToken::Kind::kObject:
    case JsonToken::Kind::kArray: {
      const bool object = t.kind == JsonToken::Kind::kObject;
      *to++ = object ? '{' : '[';
      std::size_t at = i + 1;
      for (std::uint32_t k = 0; k < t.size; ++k) {
        const JsonToken& v = tape[at];
        // The comma, the key, the value's start, and the container's closing bracket should
        // this be its last value.
        out.commit(to);
        to = out.room(1 + (object ? v.key_size + 3 : 0) + room_for(v) + 1);
        if (k > 0) *to++ = ',';
        if (object) {
          if (as_it_is(v.key_view(), v.flags & JsonToken::kPlainKey)) {
            to = write_quoted(v.key_view(), to);
          } else {  // the room made was for the key as it is
            to = write_escaped_string(v.key_view(), to, out);
            out.commit(to);
            to = out.room(1 + room_for(v) + 1);
          }
          *to++ = ':';
        }
        if (v.kind == JsonToken::Kind::kString && as_it_is(v.text_view(), v.flags & JsonToken::kPlainText)) {
          to = write_quoted(v.text_view(), to);
          ++at;
          continue;
        }
        at = write_value(tape, at, to, out);
        to = out.room(1);  // the closing bracket
      }
      *to++ = object ? '}' : ']';
      out.commit(to);
      return at;
    }
  }
  out.commit(to);
  return i + t.span;
}

}  // namespace

bool plain_json_text(std::string_view s) { return needs_no_escape(s); }

void write_json(const JsonTape& tape, std::string& out) {
  if (tape.empty()) return;
  Output output;
  write_value(tape, 0, output.room(room_for(tape[0])), output);
  out.append(output.written());
}

}  // namespace helsebro::mapping
