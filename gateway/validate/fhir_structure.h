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

#include "gateway/core/key_index.h"
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

/// What a JSON key of an object means. The element's cardinality is copied in, so that checking
/// a member reads the element itself only to report an issue or check a binding.
struct Slot {
  Slot() = default;
  Slot(const ElementDef& e, TypeRef t, bool extension)
      : element(&e), type(t), primitive_extension(extension), is_array(e.is_array), index(e.index), min(e.min),
        max(e.max) {}

  const ElementDef* element = nullptr;
  TypeRef type;
  bool primitive_extension = false;  // the "_name" sibling of a primitive
  bool is_array = false;
  std::uint16_t index = 0;
  std::uint32_t min = 0;
  std::uint32_t max = 1;
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
