#pragma once
// KeyIndex and KeySet: immutable-after-loading lookups by text, for the per-message paths.
//
// Thread-safety: build on one thread, then read from any.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace helsebro {

/// Texts and what each means, for lookups made for every value of every message (the JSON keys
/// of a FHIR type, resource types, codes of value sets and terminology tables): open addressing
/// over a power-of-two table with a hash of the key's length and first and last eight bytes,
/// cheaper than std::unordered_map's byte-wise hash and prime modulo.
class KeyIndexBase {
 public:
  std::size_t size() const { return keys_.size(); }
  static std::uint64_t hash(std::string_view key) noexcept;
  /// a == b; keys of up to 16 bytes (nearly all) compared with two overlapping word loads each
  /// (of 8 bytes, or 4 below 8 bytes) instead of a call to memcmp.
  static bool same(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size();
    if (n != b.size()) return false;
    if (n > 16) return a == b;
    if (n >= 8) return same_words<std::uint64_t>(a.data(), b.data(), n);
    if (n >= 4) return same_words<std::uint32_t>(a.data(), b.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

 protected:
  /// The index of `key` in keys_, or -1.
  std::ptrdiff_t position(std::string_view key) const {
    if (buckets_.empty()) return -1;
    for (std::size_t b = hash(key) & mask_;; b = (b + 1) & mask_) {
      const std::uint32_t i = buckets_[b];
      if (i == 0) return -1;
      if (same(keys_[i - 1], key)) return static_cast<std::ptrdiff_t>(i - 1);
    }
  }
  /// Adds `key` as keys_.back() + 1; false (and nothing added) when it is there already.
  bool add_key(std::string key);

  std::vector<std::string> keys_;

 private:
  // The first and the last word of two n-byte texts are equal (sizeof(Word) <= n).
  template <class Word>
  static bool same_words(const char* a, const char* b, std::size_t n) noexcept {
    Word a1, a2, b1, b2;
    std::memcpy(&a1, a, sizeof(Word));
    std::memcpy(&b1, b, sizeof(Word));
    std::memcpy(&a2, a + n - sizeof(Word), sizeof(Word));
    std::memcpy(&b2, b + n - sizeof(Word), sizeof(Word));
    return ((a1 ^ b1) | (a2 ^ b2)) == 0;
  }
  void place(std::size_t i);

  std::vector<std::uint32_t> buckets_;  // 1-based index into keys_; 0 is empty; at most half full
  std::size_t mask_ = 0;
};

/// Keys and a value for each.
template <class V>
class KeyIndex : public KeyIndexBase {
 public:
  /// False (and nothing added) when the key is there already.
  bool insert(std::string key, V value) {
    if (!add_key(std::move(key))) return false;
    values_.push_back(std::move(value));
    return true;
  }
  const V* find(std::string_view key) const {
    const std::ptrdiff_t i = position(key);
    return i < 0 ? nullptr : &values_[static_cast<std::size_t>(i)];
  }
  /// visit(key, value) for every key, in the order they were inserted.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (std::size_t i = 0; i < values_.size(); ++i) visit(std::string_view(keys_[i]), values_[i]);
  }

 private:
  std::vector<V> values_;
};

/// Keys alone.
class KeySet : public KeyIndexBase {
 public:
  bool insert(std::string key) { return add_key(std::move(key)); }
  bool contains(std::string_view key) const { return position(key) >= 0; }
};

}  // namespace helsebro
