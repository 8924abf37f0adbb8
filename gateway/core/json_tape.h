#pragma once
// JsonTape: a JSON document as one array of tokens in document order. A container's token comes
// first and knows how many tokens it spans, so a reader steps over a whole subtree at once; the
// members of an object carry their keys. The mapping engine builds each Bundle this way (appending,
// and taking back what came out empty by truncating), the validator and the writer read it front
// to back. Strings are not owned: their bytes live in the mapping plan, the source message or the
// builder's own arena, which must outlive the tape.

#include <rapidjson/fwd.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace helsebro {

struct JsonToken {
  enum class Kind : std::uint8_t { kNull, kFalse, kTrue, kInt, kDouble, kNumber, kString, kObject, kArray };

  /// Known when the token was made, so the writer need not look for bytes to escape.
  static constexpr std::uint8_t kPlainKey = 1;   // the key has none
  static constexpr std::uint8_t kPlainText = 2;  // the text has none

  Kind kind = Kind::kNull;
  std::uint8_t flags = 0;
  std::uint32_t key_size = 0;
  const char* key = nullptr;  // the member's name; nullptr for array items and the root
  union {
    const char* text = nullptr;  // kString; kNumber: a JSON number as the sender wrote it ("1.50")
    std::int64_t integer;        // kInt
    double real;                 // kDouble
  };
  std::uint32_t size = 0;  // kString, kNumber: bytes of text; kObject, kArray: members or items
  std::uint32_t span = 1;  // tokens this value takes: itself and, for a container, all inside it

  std::string_view key_view() const { return {key, key_size}; }
  std::string_view text_view() const { return {text, size}; }
  bool is_container() const { return kind == Kind::kObject || kind == Kind::kArray; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kDouble || kind == Kind::kNumber; }
};

class JsonTape {
 public:
  using Kind = JsonToken::Kind;

  std::size_t size() const { return tokens_.size(); }
  bool empty() const { return tokens_.empty(); }
  const JsonToken& operator[](std::size_t i) const { return tokens_[i]; }
  JsonToken& operator[](std::size_t i) { return tokens_[i]; }
  void clear() { tokens_.clear(); }
  /// Takes back everything from token `n` on (a value that came out empty).
  void truncate(std::size_t n) { tokens_.resize(n); }
  void reserve(std::size_t n) { tokens_.reserve(n); }

  void push_null() { tokens_.emplace_back(); }
  void push_bool(bool b) { tokens_.emplace_back().kind = b ? Kind::kTrue : Kind::kFalse; }
  void push_int(std::int64_t v) {
    JsonToken& t = tokens_.emplace_back();
    t.kind = Kind::kInt;
    t.integer = v;
  }
  void push_double(double v) {
    JsonToken& t = tokens_.emplace_back();
    t.kind = Kind::kDouble;
    t.real = v;
  }
  /// `text` must be a JSON number; it is written as it is.
  void push_number(std::string_view text) { push_text(Kind::kNumber, text, JsonToken::kPlainText); }
  /// `plain`: the caller knows that no byte of `text` needs a JSON escape.
  void push_string(std::string_view text, bool plain = false) {
    push_text(Kind::kString, text, plain ? JsonToken::kPlainText : 0);
  }
  void push(const JsonToken& t) { tokens_.push_back(t); }

  /// Opens an object or array and returns its place; close() it after its members or items.
  std::size_t open(Kind kind) {
    tokens_.emplace_back().kind = kind;
    return tokens_.size() - 1;
  }
  /// Closes the container opened at `at`: counts the values directly inside and sets its span.
  void close(std::size_t at);
  /// Closes the container opened at `at` and returns true; or, when `keep` is false or nothing
  /// went into it, takes it back and returns false (a value that came out empty).
  bool close_unless_empty(std::size_t at, bool keep = true) {
    if (!keep || tokens_.size() == at + 1) {
      truncate(at);
      return false;
    }
    close(at);
    return true;
  }

  /// Names the value that starts at token `at` (a member of the object it is in); `plain`: no
  /// byte of `key` needs a JSON escape.
  void set_key(std::size_t at, std::string_view key, bool plain = false) {
    JsonToken& t = tokens_[at];
    t.key = key.data();
    t.key_size = static_cast<std::uint32_t>(key.size());
    t.flags = static_cast<std::uint8_t>(plain ? t.flags | JsonToken::kPlainKey : t.flags & ~JsonToken::kPlainKey);
  }

  /// Removes the token at `at`, which must be a scalar or a container whose inside stays: an
  /// object's members become members of the object around it.
  void erase_one(std::size_t at) { tokens_.erase(tokens_.begin() + static_cast<std::ptrdiff_t>(at)); }
  /// Removes the value at `at` with everything inside it.
  void erase_value(std::size_t at) {
    const auto from = tokens_.begin() + static_cast<std::ptrdiff_t>(at);
    tokens_.erase(from, from + tokens_[at].span);
  }

 private:
  void push_text(Kind kind, std::string_view text, std::uint8_t flags) {
    JsonToken& t = tokens_.emplace_back();
    t.kind = kind;
    t.flags = flags;
    t.text = text.data();
    t.size = static_cast<std::uint32_t>(text.size());
  }

  std::vector<JsonToken> tokens_;
};

/// Bit 7 of each byte of `w` that a JSON string must escape: below 0x20, '"' or '\\'. Exact for
/// the lowest such byte (borrows may mark higher bytes falsely, which only costs a closer look).
inline std::uint64_t json_special_bytes(std::uint64_t w) {
  static_assert(std::endian::native == std::endian::little);
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  auto zero_bytes = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  return ((w - kOnes * 0x20) & ~w & kHigh) | zero_bytes(w ^ (kOnes * '"')) | zero_bytes(w ^ (kOnes * '\\'));
}

/// True when no byte of `s` needs an escape in a JSON string (what the plain flags say), looked
/// at a word at a time (the last word overlapping the one before; two half words below eight
/// bytes): most keys and values are short.
inline bool json_plain(std::string_view s) {
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n >= 8) {
    std::uint64_t word;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&word, p + i, 8);
      if (json_special_bytes(word) != 0) return false;
    }
    std::memcpy(&word, p + n - 8, 8);
    return json_special_bytes(word) == 0;
  }
  if (n >= 4) {
    std::uint32_t head, tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return json_special_bytes(head | static_cast<std::uint64_t>(tail) << 32) == 0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == '"' || c == '\\') return false;
  }
  return true;
}

/// The member `key` of the object token `object` (the first, if it repeats), or nullptr.
const JsonToken* find_member(const JsonToken& object, std::string_view key);

/// Appends a rapidjson value to `tape` (its keys and strings referenced, not copied), without
/// recursion, so that deeply nested input cannot exhaust the stack.
void append_rapidjson(const rapidjson::Value& value, JsonTape& tape);

}  // namespace helsebro
