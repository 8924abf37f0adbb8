#pragma once
// RegexDfa: a regular expression compiled to a byte-level DFA, for checking FHIR primitive values
// against the regexes the specification publishes. Matching is one table step per byte, with no
// backtracking and no recursion, so a 1 MB base64Binary costs about a millisecond and cannot
// overflow the stack the way std::regex does.
//
// Supported syntax (all the FHIR R4 regexes use): literals, escapes (\. \- \+ \\ \/ ...), \s \S
// \d \D \w \W, classes [a-z0-9\-] and [^...], '.', groups (...) and (?:...), alternation '|',
// quantifiers ? * + {n} {n,} {n,m}. The pattern matches the whole value (XML Schema semantics).
// \s is ASCII whitespace; bytes of UTF-8 sequences count as non-whitespace.
//
// Thread-safety: immutable after construction; matches() may be called from any thread.

#include <array>
#include <cstdint>
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
    // Rows hold the next state's row offset, so the dependent chain per byte is one add and one
    // load (about 1.5 ns), with the byte's class looked up off that chain.
    std::uint32_t row = classes_;  // the start state's row; row 0 is the dead state
    for (unsigned char c : text) {
      row = next_[row + byte_class_[c]];
      if (row == 0) return false;
    }
    return accepting_[row / classes_] != 0;
  }

  std::size_t state_count() const { return accepting_.size(); }

 private:
  std::array<std::uint8_t, 256> byte_class_{};
  std::uint32_t classes_ = 1;
  std::vector<std::uint32_t> next_;      // [state * classes_ + class] → next state * classes_
  std::vector<std::uint8_t> accepting_;  // per state
};

}  // namespace helsebro::validate
