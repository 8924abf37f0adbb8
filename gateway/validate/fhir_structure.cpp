#include "gateway/validate/fhir_structure.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace helsebro::validate {
namespace {

using rapidjson::Value;

constexpr std::size_t kMaxStringBytes = 1024 * 1024;  // R4: strings SHALL NOT exceed 1 MB

[[noreturn]] void bad(const std::string& why) {
  throw std::invalid_argument("FHIR structure table: " + why);
}

std::string_view text(const Value& v) {
  if (!v.IsString()) bad("expected a string");
  return {v.GetString(), v.GetStringLength()};
}

const Value& member(const Value& object, const char* key) {
  if (!object.IsObject()) bad(std::string("expected an object holding '") + key + "'");
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) bad(std::string("missing '") + key + "'");
  return it->value;
}

const Value* optional_member(const Value& object, const char* key) {
  auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::uint32_t parse_max(std::string_view max) {
  if (max == "*") return ElementDef::kMany;
  std::uint32_t n = 0;
  auto [end, ec] = std::from_chars(max.data(), max.data() + max.size(), n);
  if (ec != std::errc() || end != max.data() + max.size())
    bad("bad max '" + std::string(max) + "'");
  return n;
}

std::string choice_key(std::string_view base, std::string_view code) {
  std::string key(base);
  key += static_cast<char>(code[0] >= 'a' && code[0] <= 'z' ? code[0] - 'a' + 'A' : code[0]);
  key += code.substr(1);
  return key;
}

PrimitiveType::Number number_rule(std::string_view name) {
  if (name == "integer") return PrimitiveType::Number::kInteger;
  if (name == "positiveInt") return PrimitiveType::Number::kPositive;
  if (name == "unsignedInt") return PrimitiveType::Number::kUnsigned;
  return PrimitiveType::Number::kAny;
}

}  // namespace

StructureTable::StructureTable(std::string_view table_json) {
  rapidjson::Document doc;
  doc.Parse(table_json.data(), table_json.size());
  if (doc.HasParseError()) {
    bad(std::string("not JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) + " at " +
        std::to_string(doc.GetErrorOffset()));
  }
  load_primitives(member(doc, "primitives"));
  load_value_sets(member(doc, "valueSets"), member(doc, "unchecked"));
  load_types(member(doc, "types"));
}

void StructureTable::load_primitives(const Value& json) {
  if (!json.IsObject()) bad("primitives: expected an object");
  for (auto m = json.MemberBegin(); m != json.MemberEnd(); ++m) {
    PrimitiveType p;
    p.name = text(m->name);
    const std::string_view kind = text(member(m->value, "json"));
    p.json = kind == "boolean"  ? PrimitiveType::Json::kBoolean
             : kind == "number" ? PrimitiveType::Json::kNumber
                                : PrimitiveType::Json::kString;
    p.number = number_rule(p.name);
    p.is_code = p.name == "code";
    if (p.name == "string" || p.name == "markdown") p.max_bytes = kMaxStringBytes;
    if (const Value* regex = optional_member(m->value, "regex");
        regex && p.json == PrimitiveType::Json::kString) {
      p.regex.emplace(text(*regex));
    }
    std::string name = p.name;
    primitives_.emplace(std::move(name), std::move(p));
  }
}

void StructureTable::load_value_sets(const Value& json, const Value& unchecked) {
  if (!json.IsObject() || !unchecked.IsObject()) bad("valueSets/unchecked: expected objects");
  for (auto m = json.MemberBegin(); m != json.MemberEnd(); ++m) {
    ValueSet vs;
    vs.url = text(m->name);
    if (!m->value.IsObject()) bad("value set " + vs.url + ": expected an object");
    for (auto s = m->value.MemberBegin(); s != m->value.MemberEnd(); ++s) {
      if (!s->value.IsArray()) bad("value set " + vs.url + ": expected arrays of codes");
      const std::string_view system = text(s->name);
      if (vs.codes_of(system) != nullptr) bad("value set " + vs.url + ": system " + std::string(system) + " twice");
      KeySet& codes = vs.by_system.emplace_back(std::string(system), KeySet{}).second;
      for (const Value& code : s->value.GetArray()) {
        codes.insert(std::string(text(code)));
        vs.all_codes.insert(std::string(text(code)));
      }
    }
    std::string url = vs.url;
    value_sets_.emplace(std::move(url), std::move(vs));
  }
  for (auto m = unchecked.MemberBegin(); m != unchecked.MemberEnd(); ++m) {
    unchecked_.emplace(std::string(text(m->name)), std::string(text(m->value)));
  }
}

void StructureTable::load_types(const Value& json) {
  if (!json.IsObject()) bad("types: expected an object");
  // First every type, so that elements can point at any of them.
  for (auto m = json.MemberBegin(); m != json.MemberEnd(); ++m) {
    ComplexType& t = types_.emplace_back();
    t.name = text(m->name);
    const std::string_view kind = text(member(m->value, "kind"));
    t.kind = kind == "resource"   ? ComplexType::Kind::kResource
             : kind == "backbone" ? ComplexType::Kind::kBackbone
                                  : ComplexType::Kind::kDatatype;
    if (t.name == "Coding") t.coded = ComplexType::Coded::kCoding;
    if (t.name == "CodeableConcept") t.coded = ComplexType::Coded::kCodeableConcept;
    if (!by_name_.emplace(t.name, &t).second) bad("type " + t.name + " twice");
    if (t.kind == ComplexType::Kind::kResource) resources_.insert(t.name, &t);
  }
  std::size_t i = 0;
  for (auto m = json.MemberBegin(); m != json.MemberEnd(); ++m, ++i) {
    load_elements(types_[i], member(m->value, "elements"));
  }
  // The extensions of a primitive ("_birthDate") are an Element: id and extension.
  if (auto it = by_name_.find("Element"); it != by_name_.end()) {
    element_ = it->second;
    return;
  }
  ComplexType& element = types_.emplace_back();
  element.name = "Element";
  element.elements.resize(2);
  element.elements[0].name = "id";
  element.elements[0].types = {resolve("string")};
  element.elements[1].name = "extension";
  element.elements[1].index = 1;
  element.elements[1].max = ElementDef::kMany;
  element.elements[1].is_array = true;
  element.elements[1].types = {resolve("Extension")};
  for (const ElementDef& e : element.elements) element.slots.insert(e.name, Slot(e, e.types.front(), false));
  element_ = &element;
}

void StructureTable::load_elements(ComplexType& type, const Value& json) {
  if (!json.IsObject()) bad(type.name + ": elements: expected an object");
  if (json.MemberCount() > ComplexType::kMaxElements) bad(type.name + ": too many elements");
  type.elements.reserve(json.MemberCount());  // slots point into it: no reallocation after this
  std::vector<std::pair<std::string, Slot>> slots;
  for (auto m = json.MemberBegin(); m != json.MemberEnd(); ++m) {
    ElementDef& e = type.elements.emplace_back();
    e.name = text(m->name);
    e.index = static_cast<std::uint16_t>(type.elements.size() - 1);
    const Value& min = member(m->value, "min");
    if (!min.IsUint()) bad(type.name + "." + e.name + ": bad min");
    e.min = min.GetUint();
    e.max = parse_max(text(member(m->value, "max")));
    e.is_array = e.max > 1;
    const Value& codes = member(m->value, "types");
    if (!codes.IsArray() || codes.Empty()) bad(type.name + "." + e.name + ": no types");
    for (const Value& code : codes.GetArray()) e.types.push_back(resolve(text(code)));
    if (const Value* binding = optional_member(m->value, "binding")) {
      e.binding_url = text(*binding);
      auto vs = value_sets_.find(e.binding_url);
      e.binding = vs == value_sets_.end() ? nullptr : &vs->second;
      if (!e.binding && !unchecked_.count(e.binding_url))
        bad("value set " + e.binding_url + " missing");
    }
    if (e.min > 0) type.required.push_back(&e);
    add_slots(slots, e, codes);
  }
  for (auto& [key, slot] : slots) {
    if (!type.slots.insert(key, slot)) bad(type.name + ": key " + key + " twice");
  }
}

void StructureTable::add_slots(std::vector<std::pair<std::string, Slot>>& slots,
                               const ElementDef& e, const Value& codes) const {
  auto add = [&](std::string key, TypeRef ref) {
    if (ref.primitive) slots.emplace_back("_" + key, Slot(e, ref, true));
    slots.emplace_back(std::move(key), Slot(e, ref, false));
  };
  const std::string_view name = e.name;
  if (name.size() > 3 && name.substr(name.size() - 3) == "[x]") {
    for (std::size_t i = 0; i < e.types.size(); ++i) {
      add(choice_key(name.substr(0, name.size() - 3), text(codes[static_cast<unsigned>(i)])),
          e.types[i]);
    }
    return;
  }
  if (e.types.size() != 1) bad(e.name + ": several types but no [x]");
  add(e.name, e.types.front());
}

TypeRef StructureTable::resolve(std::string_view code) const {
  if (auto p = primitives_.find(code); p != primitives_.end()) return TypeRef{&p->second, nullptr};
  if (code == "Resource") return TypeRef{};
  if (auto t = by_name_.find(code); t != by_name_.end()) return TypeRef{nullptr, t->second};
  bad("unknown type " + std::string(code));
}

const ComplexType* StructureTable::resource(std::string_view name) const {
  const ComplexType* const* type = resources_.find(name);
  return type == nullptr ? nullptr : *type;
}

}  // namespace helsebro::validate
