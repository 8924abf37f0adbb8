#pragma once
// StructureTable: FHIR R4's resources, datatypes and required value sets as the validator walks
// them, built once from schemas/fhir/r4-structure.json (derived from the specification by
// tools/fhir-spec/generate.mjs). Every JSON key a type accepts — "gender", "_gender",
// "valueQuantity" for value[x] — is resolved at load time to one Slot, so checking an object
// costs one hash lookup per member.
//
// Thread-safety: immutable after construction; share one instance between threads.

#include <rapidjson/fwd.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gateway/validate/regex_dfa.h"

namespace helsebro::validate {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a: keys are short
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return static_cast<std::size_t>(h);
  }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct PrimitiveType {
  enum class Json : std::uint8_t { kString, kBoolean, kNumber };
  enum class Number : std::uint8_t { kAny, kInteger, kPositive, kUnsigned };
  std::string name;
  Json json = Json::kString;
  Number number = Number::kAny;
  bool is_code = false;  // required bindings apply to the value itself
  std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
  std::optional<RegexDfa> regex;  // the spec's regex, for string-valued primitives
};


struct ComplexType;
struct ValueSet;

/// One type an element may take: a primitive, a complex type (datatype or backbone element), or
/// any resource (both null; dispatched on resourceType).
struct TypeRef {
  const PrimitiveType* primitive = nullptr;
  const ComplexType* complex = nullptr;
};

struct ElementDef {
  static constexpr std::uint32_t kMany = std::numeric_limits<std::uint32_t>::max();
  std::string name;  // as in the definitions: "gender", "value[x]"
  std::uint32_t min = 0;
  std::uint32_t max = 1;  // kMany for '*'
  bool is_array = false;  // JSON arrays where the base cardinality allows more than one
  std::uint16_t index = 0;
  std::vector<TypeRef> types;
  std::string binding_url;            // required binding, if any
  const ValueSet* binding = nullptr;  // null when absent or not expandable offline
};

/// What a JSON key of an object means.
struct Slot {
  const ElementDef* element = nullptr;
  TypeRef type;
  bool primitive_extension = false;  // the "_name" sibling of a primitive
};

/// Texts and what each means, for the validator's hot lookups (the JSON keys of a type, resource
/// types, the codes of a value set): open addressing over a power-of-two table with a hash of the
/// key's length and first and last eight bytes, cheaper than std::unordered_map's byte-wise hash
/// and prime modulo.
class KeyIndexBase {
 public:
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
  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<V> values_;
};

/// Keys alone.
class KeySet : public KeyIndexBase {
 public:
  bool insert(std::string key) { return add_key(std::move(key)); }
  bool contains(std::string_view key) const { return position(key) >= 0; }
  std::size_t size() const { return keys_.size(); }
};

/// Codes of a required value set, by code system and all together.
struct ValueSet {
  std::string url;
  std::vector<std::pair<std::string, KeySet>> by_system;  // a value set draws on a few systems
  KeySet all_codes;

  /// The codes drawn from `system`, or null.
  const KeySet* codes_of(std::string_view system) const {
    for (const auto& [url, codes] : by_system) {
      if (url == system) return &codes;
    }
    return nullptr;
  }
};

struct ComplexType {
  static constexpr std::size_t kMaxElements = 128;
  enum class Kind : std::uint8_t { kResource, kDatatype, kBackbone };
  enum class Coded : std::uint8_t { kNo, kCoding, kCodeableConcept };
  std::string name;  // "Patient", "HumanName", "Patient.contact"
  Kind kind = Kind::kDatatype;
  Coded coded = Coded::kNo;
  std::vector<ElementDef> elements;
  std::vector<const ElementDef*> required;
  KeyIndex<Slot> slots;

  const Slot* find(std::string_view key) const { return slots.find(key); }
};

class StructureTable {
 public:
  /// Throws std::invalid_argument when the table is not what generate.mjs writes.
  explicit StructureTable(std::string_view table_json);
  StructureTable(const StructureTable&) = delete;
  StructureTable& operator=(const StructureTable&) = delete;

  /// A concrete resource type, or null.
  const ComplexType* resource(std::string_view name) const;
  /// Element (id and extension): what a "_name" object holds.
  const ComplexType& element_type() const { return *element_; }

  std::size_t type_count() const { return types_.size(); }
  std::size_t value_set_count() const { return value_sets_.size(); }
  /// Required value sets a terminology server would be needed for; their codes are not checked.
  const StringMap<std::string>& unchecked_value_sets() const { return unchecked_; }

 private:
  void load_primitives(const rapidjson::Value& json);
  void load_value_sets(const rapidjson::Value& json, const rapidjson::Value& unchecked);
  void load_types(const rapidjson::Value& json);
  void load_elements(ComplexType& type, const rapidjson::Value& json);
  void add_slots(std::vector<std::pair<std::string, Slot>>& slots, const ElementDef& e,
                 const rapidjson::Value& codes) const;
  TypeRef resolve(std::string_view code) const;

  StringMap<PrimitiveType> primitives_;
  StringMap<ValueSet> value_sets_;
  StringMap<std::string> unchecked_;
  std::deque<ComplexType> types_;  // stable addresses: TypeRefs point here
  StringMap<const ComplexType*> by_name_;
  KeyIndex<const ComplexType*> resources_;  // the concrete resource types, for resource()
  const ComplexType* element_ = nullptr;
};

}  // namespace helsebro::validate
