#include "gateway/validate/fhir_validator.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <bitset>
#include <charconv>
#include <cstdio>
#include <cstdint>

#include "gateway/core/json_tape.h"
#include "gateway/validate/fhir_structure.h"

namespace helsebro::validate {

std::string_view embedded_r4_structure();  // generated from embedded_structure.cpp.in

namespace {

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') ++i;
  else if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

using Kind = JsonToken::Kind;

// True for a text of only spaces, tabs and line ends, or none (a loop: find_first_not_of looks
// each byte up in the set with a call).
bool is_blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

// The members of an object or the items of an array, in order.
class Children {
 public:
  explicit Children(const JsonToken& container) : first_(&container + 1), count_(container.size) {}
  class Iterator {
   public:
    Iterator(const JsonToken* at, std::uint32_t left) : at_(at), left_(left) {}
    const JsonToken& operator*() const { return *at_; }
    const JsonToken* operator->() const { return at_; }
    Iterator& operator++() {
      at_ += at_->span;
      --left_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return left_ != o.left_; }

   private:
    const JsonToken* at_;
    std::uint32_t left_;
  };
  Iterator begin() const { return {first_, count_}; }
  Iterator end() const { return {nullptr, 0}; }

 private:
  const JsonToken* first_;
  std::uint32_t count_;
};


// A code or resource type quoted in a reason, cut short so a reason stays a line.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out(1, '\'');
  out.append(s.substr(0, kMax));
  out.append(s.size() > kMax ? "...'" : "'");
  return out;
}

const char* json_kind(const JsonToken& v) {
  switch (v.kind) {
    case Kind::kString: return "a string";
    case Kind::kFalse:
    case Kind::kTrue: return "a boolean";
    case Kind::kInt:
    case Kind::kDouble:
    case Kind::kNumber: return "a number";
    case Kind::kObject: return "an object";
    case Kind::kArray: return "an array";
    case Kind::kNull: break;
  }
  return "null";
}

std::string max_text(std::uint32_t max) {
  return max == ElementDef::kMany ? "*" : std::to_string(max);
}

// The slot of a key, remembered per thread by type and by where the key's text is: the keys of a
// translated Bundle are the mappings' own strings, the same ones message after message, and a
// hit costs one line of this table instead of the type's hash table. A line also holds the key's
// bytes (keys of up to 16 bytes; longer ones are looked up), so that a place now holding another
// text never matches.
const Slot* find_slot(const ComplexType& type, std::string_view key) {
  struct Line {
    const ComplexType* type = nullptr;
    const char* data = nullptr;
    std::uint64_t head = 0, tail = 0;
    std::size_t size = 0;
    const Slot* slot = nullptr;
  };
  constexpr std::size_t kLines = 1024;
  thread_local std::array<Line, kLines> lines{};
  const std::size_t n = key.size();
  if (n == 0 || n > 16) return type.find(key);
  std::uint64_t head = 0, tail = 0;
  if (n >= 8) {
    std::memcpy(&head, key.data(), 8);
    std::memcpy(&tail, key.data() + n - 8, 8);
  } else if (n >= 4) {
    std::uint32_t a, b;
    std::memcpy(&a, key.data(), 4);
    std::memcpy(&b, key.data() + n - 4, 4);
    head = a;
    tail = b;
  } else {
    for (std::size_t i = 0; i < n; ++i) head |= static_cast<std::uint64_t>(static_cast<unsigned char>(key[i])) << (8 * i);
  }
  const auto where = reinterpret_cast<std::uintptr_t>(key.data()) ^ reinterpret_cast<std::uintptr_t>(&type) >> 3;
  Line& line = lines[(where ^ where >> 11) % kLines];
  if (line.type == &type && line.data == key.data() && line.size == n && line.head == head && line.tail == tail) {
    return line.slot;
  }
  line = Line{&type, key.data(), head, tail, n, type.find(key)};
  return line.slot;
}

// Walks one resource depth first. The path of the current value is kept as a stack of segments
// and only spelled out when there is an issue to report.
class Walker {
 public:
  Walker(const StructureTable& table, std::vector<ValidationIssue>& issues)
      : table_(table), issues_(issues) {
    path_.reserve(32);
  }

  void root(const JsonToken& v) {
    path_.push_back({"Resource", kNoIndex});  // until the resourceType names it
    resource(v, true);
  }

 private:
  using Bits = std::bitset<ComplexType::kMaxElements>;
  static constexpr std::uint32_t kNoIndex = ~std::uint32_t{0};
  static constexpr std::size_t kMaxDepth = 256;  // path segments; bounds the recursion

  struct Segment {
    std::string_view key;  // a member name; empty for an array index
    std::uint32_t index;
  };

  // Pops the segment pushed for a member or an array item when the step ends.
  class Step {
   public:
    explicit Step(std::vector<Segment>& path) : path_(path) {}
    Step(const Step&) = delete;
    ~Step() { path_.pop_back(); }

   private:
    std::vector<Segment>& path_;
  };

  Step push(std::string_view key) {
    path_.push_back({key, kNoIndex});
    return Step(path_);
  }

  Step push_index(std::uint32_t i) {
    path_.push_back({{}, i});
    return Step(path_);
  }

  std::string spelled_path() const {
    std::string out;
    for (const Segment& s : path_) {
      if (s.index != kNoIndex) {
        out += '[';
        out += std::to_string(s.index);
        out += ']';
        continue;
      }
      if (!out.empty()) out += '.';
      out += s.key;
    }
    return out;
  }

  bool full() const { return issues_.size() >= FhirValidator::kMaxIssues; }

  void issue(std::string reason) {
    if (!full()) issues_.push_back({spelled_path(), std::move(reason)});
  }

  void resource(const JsonToken& v, bool is_root) {
    if (v.kind != Kind::kObject) return issue("expected a resource, found " + std::string(json_kind(v)));
    const JsonToken* rt = find_member(v, "resourceType");
    if (rt == nullptr || rt->kind != Kind::kString) {
      auto step = push("resourceType");
      return issue("missing: a resource needs its resourceType");
    }
    const ComplexType* type = table_.resource(rt->text_view());
    if (!type) {
      auto step = push("resourceType");
      return issue("unknown resource type " + quoted(rt->text_view()));
    }
    if (is_root) path_.front().key = type->name;
    object(*type, v, true);
  }

  void object(const ComplexType& type, const JsonToken& obj, bool is_resource) {
    if (obj.size == 0) return issue("empty object: leave the element out instead");
    if (path_.size() > kMaxDepth) return issue("nested too deeply");
    Bits values, extensions;
    bool resource_type_seen = false;
    for (auto m = Children(obj).begin(); m != Children(obj).end() && !full(); ++m) {
      const std::string_view key = m->key_view();
      if (is_resource && key == "resourceType") {
        // Read once (the first): a second could name another type to a reader that takes the last.
        if (resource_type_seen) {
          auto step = push(key);
          issue("given twice");
        }
        resource_type_seen = true;
        continue;
      }
      auto step = push(key);
      const Slot* slot = find_slot(type, key);
      if (!slot) {
        issue("unknown element");
        continue;
      }
      Bits& seen = slot->primitive_extension ? extensions : values;
      if (seen.test(slot->index)) {
        issue(slot->element->name.find("[x]") != std::string::npos
                  ? "only one type of " + slot->element->name + " may be given"
                  : std::string("given twice"));
        continue;
      }
      seen.set(slot->index);
      member(*slot, obj, key, *m);
    }
    for (const ElementDef* e : type.required) {
      if (values.test(e->index) || extensions.test(e->index)) continue;
      auto step = push(e->name);
      issue("missing: required (min " + std::to_string(e->min) + ")");
    }
  }

  void member(const Slot& slot, const JsonToken& obj, std::string_view key, const JsonToken& v) {
    if (slot.max == 0) return issue("not allowed (max 0)");
    if (!slot.is_array) {
      if (v.kind == Kind::kArray) return issue("expected a single value, found an array (max 1)");
      return item(slot, v);
    }
    if (v.kind != Kind::kArray) {
      return issue("expected an array (max " + max_text(slot.max) + "), found " + json_kind(v));
    }
    if (v.size == 0) return issue("empty array: leave the element out instead");
    if (v.size < slot.min) issue("too few: " + std::to_string(slot.min) + " required");
    if (v.size > slot.max) issue("too many: at most " + max_text(slot.max));
    // The "_name" twin of a primitive array is looked up only when it matters (it rarely exists);
    // its items by position, once.
    std::vector<const JsonToken*> twin;
    bool twin_known = false;
    bool has_twin = false;
    auto find_twin = [&]() -> const std::vector<const JsonToken*>* {
      if (!twin_known) {
        twin_known = true;
        const JsonToken* t = sibling(obj, key, slot.primitive_extension);
        has_twin = t != nullptr && t->kind == Kind::kArray;
        if (has_twin) {
          for (const JsonToken& i : Children(*t)) twin.push_back(&i);
        }
      }
      return has_twin ? &twin : nullptr;
    };
    if (slot.primitive_extension && find_twin() && twin.size() != v.size) {
      issue("array length differs from " + std::string(key.substr(1)));
    }
    std::uint32_t i = 0;
    for (auto it = Children(v).begin(); it != Children(v).end() && !full(); ++it, ++i) {
      auto step = push_index(i);
      // A null keeps positions aligned with the twin array; it needs a partner there.
      if (it->kind == Kind::kNull && slot.type.primitive && find_twin() && i < twin.size() &&
          twin[i]->kind != Kind::kNull) {
        continue;
      }
      item(slot, *it);
    }
  }

  // The other half of a primitive: "_given" for "given" and the reverse.
  static const JsonToken* sibling(const JsonToken& obj, std::string_view key, bool is_extension) {
    const std::string other = is_extension ? std::string(key.substr(1)) : "_" + std::string(key);
    return find_member(obj, other);
  }

  void item(const Slot& slot, const JsonToken& v) {
    if (v.kind == Kind::kNull) return issue("null: leave the element out instead");
    if (slot.primitive_extension) {
      if (v.kind != Kind::kObject)
        return issue("expected an object (Element), found " + std::string(json_kind(v)));
      return object(table_.element_type(), v, false);
    }
    const TypeRef& type = slot.type;
    if (type.primitive) return primitive(*type.primitive, slot, v);
    if (!type.complex) return resource(v, false);
    if (v.kind != Kind::kObject) {
      return issue("expected an object (" + type.complex->name + "), found " + json_kind(v));
    }
    object(*type.complex, v, false);
    if (type.complex->coded != ComplexType::Coded::kNo && slot.element->binding) {
      coded(*slot.element->binding, type.complex->coded, v);
    }
  }

  void primitive(const PrimitiveType& p, const Slot& slot, const JsonToken& v) {
    using Json = PrimitiveType::Json;
    using Number = PrimitiveType::Number;
    switch (p.json) {
      case Json::kBoolean:
        if (v.kind != Kind::kTrue && v.kind != Kind::kFalse) {
          issue("expected a boolean, found " + std::string(json_kind(v)));
        }
        return;
      case Json::kNumber: {
        if (!v.is_number()) return issue("expected a number, found " + std::string(json_kind(v)));
        long long n = 0;
        if (v.kind == Kind::kNumber) {
          // A decimal as the sender wrote it ("1.50"), not yet serialized.
          const std::string_view digits = v.text_view();
          if (!is_json_number(digits)) return issue("not a valid JSON number");
          if (p.number == Number::kAny) return;
          auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
          if (ec != std::errc{} || end != digits.data() + digits.size()) n = INT64_MAX;
        } else {
          if (p.number == Number::kAny) return;
          n = v.kind == Kind::kInt ? v.integer : INT64_MAX;
        }
        if (n < INT32_MIN || n > INT32_MAX) return issue("not a valid " + p.name + " (a 32-bit integer)");
        if (p.number == Number::kPositive && n < 1) issue("not a valid positiveInt");
        if (p.number == Number::kUnsigned && n < 0) issue("not a valid unsignedInt");
        return;
      }
      case Json::kString:
        break;
    }
    if (v.kind != Kind::kString) return issue("expected a string, found " + std::string(json_kind(v)));
    const std::string_view s = v.text_view();
    if (s.size() > p.max_bytes) return issue("longer than 1 MB");
    // FHIR JSON: a string has some non-whitespace content (an absent value is left out instead).
    if (is_blank(s)) return issue("is empty or only whitespace");
    const bool plain = (v.flags & JsonToken::kPlainText) != 0;
    // FHIR strings hold no character below U+0020 but tab, line feed and carriage return (an
    // HL7 v2 \X00\ or \X07\ decodes to one; FHIR XML could not carry it at all). Plain text has
    // no byte JSON escapes, so none of these.
    if (!plain) {
      for (const char c : s) {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          char code[8];
          std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(static_cast<unsigned char>(c)));
          return issue(std::string("holds the control character ") + code);
        }
      }
    }
    if (p.regex && !(plain && p.regex->matches_every_plain_text()) && !p.regex->matches(s)) {
      return issue("not a valid " + p.name);
    }
    if (!p.is_code) return;
    if (const ValueSet* binding = slot.element->binding; binding && !binding->all_codes.contains(s)) {
      issue("code " + quoted(s) + " is not in required value set " + binding->url);
    }
  }

  void coded(const ValueSet& vs, ComplexType::Coded kind, const JsonToken& v) {
    if (kind == ComplexType::Coded::kCoding) return coding(vs, v);
    const JsonToken* codings = find_member(v, "coding");
    if (codings == nullptr || codings->kind != Kind::kArray) return;
    auto step = push("coding");
    std::uint32_t i = 0;
    for (const JsonToken& c : Children(*codings)) {
      auto item_step = push_index(i++);
      coding(vs, c);
    }
  }

  // Only codings of a system the value set draws on are judged (what the bound element means
  // may also be said in other systems).
  void coding(const ValueSet& vs, const JsonToken& c) {
    if (c.kind != Kind::kObject) return;
    const JsonToken* system = find_member(c, "system");
    const JsonToken* code = find_member(c, "code");
    if (system == nullptr || code == nullptr) return;
    if (system->kind != Kind::kString || code->kind != Kind::kString) return;
    const KeySet* codes = vs.codes_of(system->text_view());
    if (codes == nullptr || codes->contains(code->text_view())) return;
    auto step = push("code");
    issue("code " + quoted(code->text_view()) + " is not in required value set " + vs.url);
  }

  const StructureTable& table_;
  std::vector<ValidationIssue>& issues_;
  std::vector<Segment> path_;
};

// What makes a Bundle a transaction the forwarder can send.
void check_transaction(const JsonToken& bundle, std::vector<ValidationIssue>& issues) {
  if (bundle.kind != Kind::kObject) return issues.push_back({"Bundle", "expected a JSON object"});
  const JsonToken* rt = find_member(bundle, "resourceType");
  if (rt != nullptr && rt->kind == Kind::kString && rt->text_view() != "Bundle") {
    return issues.push_back({"Bundle.resourceType", "expected a Bundle, found " + quoted(rt->text_view())});
  }
  const JsonToken* type = find_member(bundle, "type");
  if (type != nullptr && type->kind == Kind::kString && type->text_view() != "transaction") {
    issues.push_back({"Bundle.type", "must be 'transaction', found " + quoted(type->text_view())});
  }
  const JsonToken* entries = find_member(bundle, "entry");
  if (entries == nullptr || entries->kind != Kind::kArray) return;
  std::size_t i = 0;
  for (const JsonToken& entry : Children(*entries)) {
    if (entry.kind != Kind::kObject || find_member(entry, "request") == nullptr) {
      issues.push_back({"Bundle.entry[" + std::to_string(i) + "].request",
                        "missing: a transaction entry needs request.method and request.url"});
    }
    ++i;
  }
}

// The issues of a Bundle, transaction rules first.
std::vector<ValidationIssue> bundle_issues(const StructureTable& table, const JsonTape& tape) {
  std::vector<ValidationIssue> issues;
  if (tape.empty()) return {{"Bundle", "expected a JSON object"}};
  check_transaction(tape[0], issues);
  Walker(table, issues).root(tape[0]);
  return issues;
}

}  // namespace

FhirValidator::FhirValidator() : FhirValidator(embedded_r4_structure()) {}

FhirValidator::FhirValidator(std::string_view table_json)
    : table_(std::make_unique<const StructureTable>(table_json)) {}

FhirValidator::~FhirValidator() = default;
FhirValidator::FhirValidator(FhirValidator&&) noexcept = default;
FhirValidator& FhirValidator::operator=(FhirValidator&&) noexcept = default;

const FhirValidator& FhirValidator::r4() {
  static const FhirValidator instance;
  return instance;
}

std::vector<ValidationIssue> FhirValidator::check(const rapidjson::Value& resource) const {
  JsonTape tape;
  append_rapidjson(resource, tape);
  std::vector<ValidationIssue> issues;
  Walker(*table_, issues).root(tape[0]);
  return issues;
}

Result<void> FhirValidator::validate_bundle(const JsonTape& bundle) const {
  return to_result(bundle_issues(*table_, bundle));
}

Result<void> FhirValidator::validate_bundle(std::string_view bundle_json) const {
  // In-situ parsing leaves strings in this copy instead of copying each into the document.
  std::string text(bundle_json);
  const bool has_nul = text.find('\0') != std::string::npos;  // in-situ parsing would stop there
  rapidjson::Document doc;
  doc.ParseInsitu<rapidjson::kParseIterativeFlag>(text.data());  // no recursion on deep input
  if (has_nul) return to_result({{"Bundle", "not JSON: contains a NUL byte"}});
  if (doc.HasParseError()) {
    return to_result({{"Bundle", std::string("not JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) +
                                     " at byte " + std::to_string(doc.GetErrorOffset())}});
  }
  JsonTape tape;
  append_rapidjson(doc, tape);
  return to_result(bundle_issues(*table_, tape));
}

Result<void> FhirValidator::to_result(const std::vector<ValidationIssue>& issues) {
  if (issues.empty()) return Result<void>();
  std::string detail = "FHIR validation: ";
  for (std::size_t i = 0; i < std::min(issues.size(), kIssuesInError); ++i) {
    if (i > 0) detail += "; ";
    detail += issues[i].path + ": " + issues[i].reason;
  }
  return Result<void>(Error(Errc::kMappingFailed, std::move(detail)));
}

std::vector<std::string> FhirValidator::unchecked_value_sets() const {
  std::vector<std::string> urls;
  for (const auto& [url, reason] : table_->unchecked_value_sets()) urls.push_back(url);
  std::sort(urls.begin(), urls.end());
  return urls;
}

}  // namespace helsebro::validate
