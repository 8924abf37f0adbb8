#pragma once
// RegexDfa: a regular expression compiled to a byte-level DFA, for checking FHIR primitive values
// against the regexes the specification publishes. Matching is one table step per byte (or a
// scan through runs of bytes that keep the state), with no backtracking and no recursion, so a
// 1 MB base64Binary costs well under a millisecond and cannot overflow the stack the way std::regex
// does.
//
// Supported syntax (all the FHIR R4 regexes use): literals, escapes (\. \- \+ \\ \/ ...), \s \S
// \d \D \w \W, classes [a-z0-9\-] and [^...], '.', groups (...) and (?:...), alternation '|',
// quantifiers ? * + {n} {n,} {n,m}. The pattern matches the whole value (XML Schema semantics).
// \s is ASCII whitespace; bytes of UTF-8 sequences count as non-whitespace.
//
// Thread-safety: immutable after construction; matches() may be called from any thread.

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace helsebro::validate {

class RegexDfa {
 public:
  /// Compiles `pattern`; throws std::invalid_argument on syntax outside the supported subset or
  /// when the automaton would exceed `max_states`.
  explicit RegexDfa(std::string_view pattern, std::size_t max_states = 4096);

  /// True when the whole of `text` matches.
  bool matches(std::string_view text) const {
    auto p = reinterpret_cast<const unsigned char*>(text.data());
    const auto end = p + text.size();
    if (run_) {  // one byte set, min to max times: no automaton steps (each waits for the last)
      if (text.size() < run_min_ || text.size() > run_max_) return false;
      if (run_above_space_) p = skip_above_space(p, end);
      const std::uint8_t* in = run_set_.data();
      while (end - p >= 4 && (in[p[0]] & in[p[1]] & in[p[2]] & in[p[3]])) p += 4;
      while (p != end && in[*p]) ++p;
      return p == end;
    }
    std::uint32_t row = start_;
    while (p != end) {
      if (row & kStayFlag) {  // a run of bytes that keep the state: no table steps needed
        const auto k = static_cast<std::size_t>(stay_index_[row >> shift_]);
        const std::uint8_t* stay = stays_[k].data();
        if (stays_above_space_[k]) p = skip_above_space(p, end);  // \S and the like
        while (end - p >= 4 && (stay[p[0]] & stay[p[1]] & stay[p[2]] & stay[p[3]])) p += 4;
        while (p != end && stay[*p]) ++p;
        if (p == end) break;
      }
      row = next_[(row & ~kStayFlag) + byte_class_[*p++]];
      if (row == 0) return false;
    }
    return accepting_[row >> shift_] != 0;
  }

  std::size_t state_count() const { return accepting_.size(); }
  /// True when every non-empty text of bytes a JSON string need not escape (none below 0x20, no
  /// '"' or '\\') matches, as FHIR's string and markdown do: a text known to be such (JsonToken's
  /// plain flag) needs no look.
  bool matches_every_plain_text() const { return matches_every_plain_text_; }

 private:
  // Past the bytes from '!' up, eight at a time while none is below '!'.
  static const unsigned char* skip_above_space(const unsigned char* p, const unsigned char* end) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ull;
    constexpr std::uint64_t kHigh = 0x8080808080808080ull;
    std::uint64_t w;
    while (end - p >= 8 && (std::memcpy(&w, p, 8), ((w - kOnes * 0x21) & ~w & kHigh) == 0)) p += 8;
    return p;
  }

  static constexpr std::uint32_t kStayFlag = 1;
  static constexpr int kMinStayBytes = 64;

  void lay_out(const std::vector<std::vector<std::uint32_t>>& moves);

  std::array<std::uint8_t, 256> byte_class_{};
  std::uint32_t classes_ = 1;
  std::uint32_t shift_ = 0;                           // rows are 1 << shift_ entries wide
  std::uint32_t start_ = 0;                           // the start state's row
  std::vector<std::uint32_t> next_;                   // [row + class] → next row, | kStayFlag
  std::vector<std::uint8_t> accepting_;               // per state
  std::vector<std::int16_t> stay_index_;              // per state: index into stays_, or -1
  std::vector<std::array<std::uint8_t, 256>> stays_;  // bytes that keep the state
  std::vector<std::uint8_t> stays_above_space_;       // per stay: every byte from '!' up keeps it
  bool matches_every_plain_text_ = false;
  // A pattern that is one byte set repeated (FHIR's id: [A-Za-z0-9\-\.]{1,64}) is checked as
  // a length and the bytes of the set.
  bool run_ = false;
  std::size_t run_min_ = 0;
  std::size_t run_max_ = 0;
  std::array<std::uint8_t, 256> run_set_{};
  bool run_above_space_ = false;  // every byte from '!' up is in the set
};

}  // namespace helsebro::validate
