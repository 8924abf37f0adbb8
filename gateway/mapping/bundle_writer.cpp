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
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif


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

// Writes straight into the caller's string through a pointer, with room made beforehand for the
// worst case, instead of checking the capacity for every character. Making the room fills it
// with zeros once (a memset); for a Bundle of mostly plain texts that costs less than writing
// into a buffer of our own and copying the document out of it. Past the room lie kSlackBytes
// more: a write a few bytes past the room (a bug) lands there, and commit() refuses it. A string
// left with far more room than text (texts that needed escapes were counted six bytes a byte) is
// shrunk, as it is kept as long as the message is (the journal's queue).
class Output {
 public:
  static constexpr std::size_t kSlackBytes = 64;

  Output(std::string& out, std::size_t room) : out_(out), begin_(out.size()) {
    out_.reserve(begin_ + room + kSlackBytes);  // one allocation of what is needed, not doubled
    out_.resize(begin_ + room + kSlackBytes);
    at_ = out_.data() + begin_;
    end_ = at_ + room;
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  // Unless committed (an exception on the way), the string is as it was.
  ~Output() {
    if (!committed_) out_.resize(begin_);
  }

  /// Where to write; commit() what was written.
  char* at() const { return at_; }
  void commit(char* end) {
    if (end > end_) throw std::logic_error("bundle writer: wrote past the room it made");
    out_.resize(static_cast<std::size_t>(end - out_.data()));
    if (out_.capacity() > 4096 && out_.capacity() > 2 * out_.size()) out_.shrink_to_fit();
    committed_ = true;
  }

 private:
  std::string& out_;
  std::size_t begin_;
  char* at_;
  char* end_;
  bool committed_ = false;
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
#if defined(__SSE2__)
  } else if (n <= 256) {
    // 16 bytes a step and the last 16 overlapping. A plain memcpy here becomes `rep movsq` in
    // the profile-guided build, whose start-up costs more than these moves for URLs and codes.
    for (std::size_t i = 0; i + 16 < n; i += 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(to + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(from + i)));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(to + n - 16),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(from + n - 16)));
#endif
  } else {
    std::memcpy(to, from, n);
  }
  return to + n;
}

// Writes a string's text escaped; the room made beforehand has space for its worst case.
char* write_escaped(std::string_view s, char* to) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char* from = s.data();
  const char* const end = from + s.size();
  while (from < end) {
    if (end - from >= 8) {
      std::uint64_t word;
      std::memcpy(&word, from, 8);
      std::memcpy(to, from, 8);
      const std::uint64_t special = json_special_bytes(word);
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

// A string quoted, as it is when `plain` or when no byte needs an escape, else escaped.
char* write_string(std::string_view s, bool plain, char* to) {
  *to++ = '"';
  to = plain || json_plain(s) ? copy(to, s.data(), s.size()) : write_escaped(s, to);
  *to++ = '"';
  return to;
}

// The most bytes a token can take written, with the comma before it and its key: a string six
// for each byte (all as \u00XX) unless it is known to need no escape, a number the digits the
// sender wrote or 32, a container its two brackets. What the document needs in all is made room
// for at once, so that writing it never checks.
std::size_t most_bytes(const JsonToken& t) {
  using Kind = JsonToken::Kind;
  std::size_t n = 1;
  if (t.key != nullptr) {
    n += (t.flags & JsonToken::kPlainKey ? t.key_size : 6 * std::size_t{t.key_size}) + 3;
  }
  switch (t.kind) {
    case Kind::kString:
      return n + (t.flags & JsonToken::kPlainText ? t.size : 6 * std::size_t{t.size}) + 2;
    case Kind::kNumber: return n + t.size;
    case Kind::kObject:
    case Kind::kArray: return n + 2;
    default: return n + 32;
  }
}

// A container being written: its values so far, of how many.
struct Open {
  std::uint32_t written;
  std::uint32_t size;
  bool object;
};

}  // namespace

void write_json(const JsonTape& tape, std::string& out) {
  using Kind = JsonToken::Kind;
  if (tape.empty()) return;
  const std::size_t end = tape[0].span;
  std::size_t most = 8;  // write_escaped() may store a last word whole
  for (std::size_t i = 0; i < end; ++i) most += most_bytes(tape[i]);
  Output output(out, most);
  char* to = output.at();
  // One pass over the tokens in document order, without recursion: the containers open at the
  // current token are on a stack of this thread.
  thread_local std::vector<Open> open;
  open.clear();
  for (std::size_t i = 0; i < end; ++i) {
    const JsonToken& t = tape[i];
    if (!open.empty()) {
      Open& in = open.back();
      if (in.written++ > 0) *to++ = ',';
      if (in.object) {
        to = write_string(t.key_view(), t.flags & JsonToken::kPlainKey, to);
        *to++ = ':';
      }
    }
    switch (t.kind) {
      case Kind::kNull: to = copy(to, "null", 4); break;
      case Kind::kFalse: to = copy(to, "false", 5); break;
      case Kind::kTrue: to = copy(to, "true", 4); break;
      case Kind::kInt: to = rapidjson::internal::i64toa(t.integer, to); break;
      case Kind::kDouble: to = rapidjson::internal::dtoa(t.real, to); break;
      case Kind::kNumber: to = copy(to, t.text, t.size); break;
      case Kind::kString: to = write_string(t.text_view(), t.flags & JsonToken::kPlainText, to); break;
      case Kind::kObject:
      case Kind::kArray: {
        const bool object = t.kind == Kind::kObject;
        *to++ = object ? '{' : '[';
        if (t.size > 0) {
          open.push_back({0, t.size, object});
          continue;  // its values come next
        }
        *to++ = object ? '}' : ']';
        break;
      }
    }
    // A value is complete, and so is every container whose last value it was.
    while (!open.empty() && open.back().written == open.back().size) {
      *to++ = open.back().object ? '}' : ']';
      open.pop_back();
    }
  }
  output.commit(to);
}

}  // namespace helsebro::mapping
