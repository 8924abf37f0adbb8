#include "gateway/validate/regex_dfa.h"

#include <algorithm>
#include <bitset>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

namespace helsebro::validate {
namespace {

using ByteSet = std::bitset<256>;

constexpr int kUnbounded = -1;
constexpr std::size_t kMaxNfaStates = 200'000;
constexpr int kMaxRepeat = 1000;

struct Node {
  enum Kind { kSet, kConcat, kAlt, kRepeat } kind = kConcat;
  ByteSet set;
  std::vector<Node> children;
  int min = 0;
  int max = 0;

  static Node of(Kind kind, ByteSet set = {}) {
    Node n;
    n.kind = kind;
    n.set = set;
    return n;
  }
};

ByteSet range(unsigned char from, unsigned char to) {
  ByteSet s;
  for (unsigned c = from; c <= to; ++c) s.set(c);
  return s;
}

ByteSet single(unsigned char c) {
  return range(c, c);
}

ByteSet whitespace() {
  ByteSet s;
  for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '\v'}) s.set(c);
  return s;
}

ByteSet word() {
  return range('a', 'z') | range('A', 'Z') | range('0', '9') | single('_');
}

// Recursive descent over the pattern into a small syntax tree.
class Parser {
 public:
  explicit Parser(std::string_view pattern) : p_(pattern) {}

  Node parse() {
    Node n = alternation();
    if (pos_ != p_.size()) fail("unbalanced ')'");
    return n;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument("regex '" + std::string(p_) + "' at " + std::to_string(pos_) +
                                ": " + why);
  }
  bool more() const { return pos_ < p_.size(); }
  bool peek(char c) const { return more() && p_[pos_] == c; }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }

  Node alternation() {
    Node first = concatenation();
    if (!peek('|')) return first;
    Node alt = Node::of(Node::kAlt);
    alt.children.push_back(std::move(first));
    while (eat('|')) alt.children.push_back(concatenation());
    return alt;
  }

  Node concatenation() {
    Node cat = Node::of(Node::kConcat);
    while (more() && !peek('|') && !peek(')')) cat.children.push_back(repetition());
    return cat;
  }

  Node repetition() {
    Node atom = this->atom();
    for (;;) {
      int min = 0, max = 0;
      if (eat('?')) {
        max = 1;
      } else if (eat('*')) {
        max = kUnbounded;
      } else if (eat('+')) {
        min = 1, max = kUnbounded;
      } else if (eat('{')) {
        braces(min, max);
      } else {
        return atom;
      }
      Node rep = Node::of(Node::kRepeat);
      rep.min = min;
      rep.max = max;
      rep.children.push_back(std::move(atom));
      atom = std::move(rep);
    }
  }

  int number() {
    if (!more() || p_[pos_] < '0' || p_[pos_] > '9') fail("expected a number");
    int n = 0;
    while (more() && p_[pos_] >= '0' && p_[pos_] <= '9') {
      n = n * 10 + (p_[pos_++] - '0');
      if (n > kMaxRepeat) fail("repetition too large");
    }
    return n;
  }

  void braces(int& min, int& max) {
    min = number();
    max = min;
    if (eat(',')) max = peek('}') ? kUnbounded : number();
    if (!eat('}')) fail("expected '}'");
    if (max != kUnbounded && max < min) fail("{n,m} with m < n");
  }

  Node atom() {
    if (!more()) fail("unexpected end");
    const char c = p_[pos_++];
    if (c == '(') {
      if (eat('?') && !eat(':')) fail("only (?:...) groups are supported");
      Node inner = alternation();
      if (!eat(')')) fail("expected ')'");
      return inner;
    }
    if (c == '[') return Node::of(Node::kSet, bracket());
    if (c == '.') return Node::of(Node::kSet, ~single('\n'));
    if (c == '\\') return Node::of(Node::kSet, escape());
    if (c == '*' || c == '+' || c == '?' || c == '{') fail("quantifier without operand");
    return Node::of(Node::kSet, single(static_cast<unsigned char>(c)));
  }

  ByteSet escape() {
    if (!more()) fail("trailing backslash");
    const char c = p_[pos_++];
    switch (c) {
      case 's':
        return whitespace();
      case 'S':
        return ~whitespace();
      case 'd':
        return range('0', '9');
      case 'D':
        return ~range('0', '9');
      case 'w':
        return word();
      case 'W':
        return ~word();
      case 'n':
        return single('\n');
      case 'r':
        return single('\r');
      case 't':
        return single('\t');
      case 'f':
        return single('\f');
      case 'v':
        return single('\v');
      default:
        break;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      fail(std::string("unsupported escape \\") + c);
    }
    return single(static_cast<unsigned char>(c));
  }

  // [...] after the '['; a single character (not a class escape) may start a range.
  ByteSet bracket() {
    const bool negate = eat('^');
    ByteSet set;
    bool first = true;
    while (more() && (first || !peek(']'))) {
      first = false;
      ByteSet item;
      bool is_char = true;
      unsigned char lo = static_cast<unsigned char>(p_[pos_]);
      if (eat('\\')) {
        item = escape();
        is_char = item.count() == 1;
        if (is_char) lo = first_of(item);
      } else {
        ++pos_;
        item = single(lo);
      }
      if (is_char && peek('-') && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
        ++pos_;
        unsigned char hi = static_cast<unsigned char>(p_[pos_]);
        if (eat('\\')) {
          ByteSet h = escape();
          if (h.count() != 1) fail("class escape as range end");
          hi = first_of(h);
        } else {
          ++pos_;
        }
        if (hi < lo) fail("reversed range");
        item = range(lo, hi);
      }
      set |= item;
    }
    if (!eat(']')) fail("expected ']'");
    return negate ? ~set : set;
  }

  static unsigned char first_of(const ByteSet& s) {
    for (unsigned c = 0; c < 256; ++c) {
      if (s.test(c)) return static_cast<unsigned char>(c);
    }
    return 0;
  }

  std::string_view p_;
  std::size_t pos_ = 0;
};

// Thompson NFA: each state has at most one byte-set edge and any number of epsilon edges.
struct Nfa {
  struct State {
    int set = -1;  // index into sets, or -1
    int target = -1;
    std::vector<int> eps;
  };
  std::vector<State> states;
  std::vector<ByteSet> sets;

  int add() {
    if (states.size() >= kMaxNfaStates) throw std::invalid_argument("regex too large");
    states.emplace_back();
    return static_cast<int>(states.size() - 1);
  }

  int set_index(const ByteSet& s) {
    auto it = std::find(sets.begin(), sets.end(), s);
    if (it != sets.end()) return static_cast<int>(it - sets.begin());
    sets.push_back(s);
    return static_cast<int>(sets.size() - 1);
  }

  // Returns {start, end} of a fresh fragment for `n`.
  std::pair<int, int> build(const Node& n) {
    const int start = add();
    int end = start;
    switch (n.kind) {
      case Node::kSet:
        end = add();
        states[start].set = set_index(n.set);
        states[start].target = end;
        break;
      case Node::kConcat:
        for (const Node& c : n.children) end = chain(end, build(c));
        break;
      case Node::kAlt:
        end = add();
        for (const Node& c : n.children) {
          auto [s, e] = build(c);
          states[start].eps.push_back(s);
          states[e].eps.push_back(end);
        }
        break;
      case Node::kRepeat:
        end = repeat(start, n);
        break;
    }
    return {start, end};
  }

  int chain(int from, std::pair<int, int> frag) {
    states[from].eps.push_back(frag.first);
    return frag.second;
  }

  int repeat(int start, const Node& n) {
    const Node& body = n.children.front();
    int end = start;
    for (int i = 0; i < n.min; ++i) end = chain(end, build(body));
    if (n.max == kUnbounded) {
      auto [s, e] = build(body);
      const int out = add();
      states[end].eps.push_back(s);
      states[end].eps.push_back(out);
      states[e].eps.push_back(s);
      states[e].eps.push_back(out);
      return out;
    }
    const int out = add();
    for (int i = n.min; i < n.max; ++i) {
      states[end].eps.push_back(out);
      end = chain(end, build(body));
    }
    states[end].eps.push_back(out);
    return out;
  }

  std::vector<int> closure(std::vector<int> seed) const {
    std::vector<char> seen(states.size(), 0);
    std::vector<int> out;
    while (!seed.empty()) {
      const int s = seed.back();
      seed.pop_back();
      if (seen[s]) continue;
      seen[s] = 1;
      out.push_back(s);
      for (int e : states[s].eps) seed.push_back(e);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

RegexDfa::RegexDfa(std::string_view pattern, std::size_t max_states) {
  Nfa nfa;
  const Node tree = Parser(pattern).parse();
  const auto [start, accept] = nfa.build(tree);
  const Node* run = &tree;
  while ((run->kind == Node::kConcat || run->kind == Node::kAlt) && run->children.size() == 1) {
    run = &run->children.front();
  }
  const Node* item = run->kind == Node::kRepeat && run->children.size() == 1 ? &run->children.front() : nullptr;
  while (item != nullptr && (item->kind == Node::kConcat || item->kind == Node::kAlt) && item->children.size() == 1) {
    item = &item->children.front();  // (?:[a-c]){2,5}: the group holds the set alone
  }
  if (item != nullptr && item->kind == Node::kSet) {
    run_ = true;
    run_min_ = static_cast<std::size_t>(run->min);
    run_max_ = run->max == kUnbounded ? SIZE_MAX : static_cast<std::size_t>(run->max);
    const ByteSet& set = item->set;
    for (unsigned b = 0; b < 256; ++b) run_set_[b] = set.test(b) ? 1 : 0;
    run_above_space_ = true;
    for (unsigned b = '!'; b < 256; ++b) run_above_space_ = run_above_space_ && set.test(b);
  }

  // Bytes that every edge treats alike share one column of the table.
  std::map<std::vector<bool>, std::uint8_t> signature_class;
  std::vector<unsigned char> representative;
  for (unsigned b = 0; b < 256; ++b) {
    std::vector<bool> signature;
    for (const ByteSet& s : nfa.sets) signature.push_back(s.test(b));
    auto [it, fresh] =
        signature_class.emplace(signature, static_cast<std::uint8_t>(signature_class.size()));
    if (fresh) representative.push_back(static_cast<unsigned char>(b));
    byte_class_[b] = it->second;
  }
  classes_ = static_cast<std::uint32_t>(representative.size());

  // Subset construction; state 0 is the dead state, state 1 the start.
  std::map<std::vector<int>, std::uint32_t> ids{{{}, 0}};
  std::vector<std::vector<int>> subsets{{}};
  auto id_of = [&](std::vector<int> subset) {
    auto [it, fresh] = ids.emplace(subset, static_cast<std::uint32_t>(subsets.size()));
    if (fresh) {
      if (subsets.size() >= max_states) {
        throw std::invalid_argument("regex '" + std::string(pattern) + "' needs too many states");
      }
      subsets.push_back(std::move(subset));
    }
    return it->second;
  };
  id_of(nfa.closure({start}));
  std::vector<std::vector<std::uint32_t>> moves;  // [state][class] → state
  for (std::size_t d = 0; d < subsets.size(); ++d) {
    std::vector<std::uint32_t>& row = moves.emplace_back(classes_, 0);
    for (std::uint32_t c = 0; c < classes_ && d != 0; ++c) {
      std::vector<int> moved;
      for (int s : subsets[d]) {
        const auto& st = nfa.states[s];
        if (st.set >= 0 && nfa.sets[st.set].test(representative[c])) moved.push_back(st.target);
      }
      row[c] = moved.empty() ? 0 : id_of(nfa.closure(std::move(moved)));
    }
  }
  accepting_.resize(subsets.size(), 0);
  for (std::size_t d = 0; d < subsets.size(); ++d) {
    accepting_[d] = std::binary_search(subsets[d].begin(), subsets[d].end(), accept) ? 1 : 0;
  }
  lay_out(moves);
  // Every state a plain text reaches (after its first byte) must accept: a walk over the states
  // from the start with those bytes alone.
  std::vector<std::uint8_t> seen(moves.size(), 0);
  std::vector<std::uint32_t> todo{1};
  matches_every_plain_text_ = true;
  while (!todo.empty() && matches_every_plain_text_) {
    const std::uint32_t state = todo.back();
    todo.pop_back();
    for (unsigned b = 0x20; b < 256; ++b) {
      if (b == '"' || b == '\\') continue;
      const std::uint32_t next = moves[state][byte_class_[b]];
      if (next == 0 || !accepting_[next]) {
        matches_every_plain_text_ = false;
        break;
      }
      if (!seen[next]) {
        seen[next] = 1;
        todo.push_back(next);
      }
    }
  }
}

void RegexDfa::lay_out(const std::vector<std::vector<std::uint32_t>>& moves) {
  while ((1u << shift_) < classes_ || shift_ == 0) ++shift_;  // bit 0 of a row is the stay flag
  // States that stay put on many bytes (the body of a string, uri, base64Binary) get a byte mask
  // so that matching can scan through such runs without stepping the automaton.
  stay_index_.assign(moves.size(), -1);
  for (std::size_t d = 1; d < moves.size(); ++d) {
    std::array<std::uint8_t, 256> stay{};
    int count = 0;
    for (unsigned b = 0; b < 256; ++b) {
      stay[b] = moves[d][byte_class_[b]] == d ? 1 : 0;
      count += stay[b];
    }
    if (count < kMinStayBytes) continue;
    stay_index_[d] = static_cast<std::int16_t>(stays_.size());
    stays_.push_back(stay);
    bool above_space = true;
    for (unsigned b = '!'; b < 256; ++b) above_space = above_space && stay[b];
    stays_above_space_.push_back(above_space ? 1 : 0);
  }
  auto row_of = [&](std::uint32_t state) {
    return (state << shift_) | (state != 0 && stay_index_[state] >= 0 ? kStayFlag : 0u);
  };
  next_.assign(moves.size() << shift_, 0);
  for (std::size_t d = 0; d < moves.size(); ++d) {
    for (std::uint32_t c = 0; c < classes_; ++c) next_[(d << shift_) + c] = row_of(moves[d][c]);
  }
  start_ = row_of(1);
}

}  // namespace helsebro::validate
