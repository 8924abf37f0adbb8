#include "gateway/app/plan_check.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <tuple>

#include "gateway/mapping/plan_node.h"

namespace helsebro::app {
namespace {

using mapping::JsonNode;
using mapping::PlanNode;
using validate::ComplexType;
using validate::TypeRef;

// "file" of a plan node's "file:line:column".
std::string_view file_of(std::string_view where) {
  for (int i = 0; i < 2; ++i) {
    const auto colon = where.rfind(':');
    if (colon == std::string_view::npos) break;
    where = where.substr(0, colon);
  }
  return where;
}

// "table NAME gives it for 'CODE'": where a text a table gives comes from.
std::string from_table(const mapping::TerminologyTable& table, std::string_view source_code) {
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on a chain of operator+.
  std::string whence = "table ";
  whence.append(table.name()).append(" gives it for ");
  if (source_code.empty()) whence.append("codes it does not list");
  else whence.append("'").append(source_code).append("'");
  return whence;
}

// How many values an element takes where a node stands: one (max 1), a list (a JSON array), or
// one item of a list being written.
enum class Shape { kOne, kList, kItem };

// Where a node's value goes: the element's type and definition (null for a resource's body),
// and how many values it takes there.
struct Place {
  TypeRef type;
  const validate::ElementDef* element = nullptr;
  Shape shape = Shape::kOne;
  // A Coding or CodeableConcept of an element with a required value set: that value set.
  const validate::ValueSet* binding = nullptr;
};

// What is wrong with a list (or one value) where an element takes `shape`, or "". A list's own
// "$each" and "$refs" items are flattened into it by the engine; any other list among its items
// would be a list inside the list.
std::string_view shape_problem(bool list, Shape shape) {
  if (list && shape == Shape::kOne) return "a list where FHIR takes one value";
  if (list && shape == Shape::kItem) return "a list inside a list";
  if (!list && shape == Shape::kList) return "one value where FHIR takes a list: write it inside [ ]";
  return {};
}

// Walks the plans with the FHIR type and shape each node's value takes.
class Checker {
 public:
  Checker(const validate::StructureTable& table, std::vector<std::string>& problems)
      : table_(table), problems_(problems) {}

  void resource(const mapping::ResourcePlan& plan, const mapping::Mapping& mapping) {
    const ComplexType* type = table_.resource(plan.resource_type);
    if (type == nullptr) {
      const std::string& where = plan.where_in_file.empty() ? mapping.file() : plan.where_in_file;
      problems_.push_back(where + ": resource '" + plan.name + "': " + plan.resource_type +
                          " is not a resource type of FHIR R4");
      return;
    }
    if (!plan.body) return;
    path_.assign(1, plan.resource_type);
    node(*plan.body, Place{TypeRef{nullptr, type}, nullptr, Shape::kOne}, true);
  }

 private:
  // `resource_body`: the node is a resource's body, whose "resourceType" the engine replaces.
  void node(const PlanNode& n, const Place& at, bool resource_body = false) {
    using Op = PlanNode::Op;
    const bool list = n.op == Op::kArray || n.op == Op::kEach || n.op == Op::kRefs ||
                      (n.op == Op::kConst && n.constant.is_array());
    // $if is neither: its branches are judged.
    if (const auto wrong = shape_problem(list, at.shape); !wrong.empty() && n.op != Op::kIf) {
      return problem(n.where_in_file, std::string(wrong));
    }
    const TypeRef& type = at.type;
    if (type.primitive == nullptr && type.complex == nullptr) return;  // any resource: not known here
    const Place item{type, at.element, Shape::kItem, at.binding};
    switch (n.op) {
      case Op::kObject:
        if (type.complex == nullptr) return problem(n.where_in_file, "an object where FHIR has a " + type.primitive->name);
        for (auto m = n.members.begin(); m != n.members.end(); ++m) {
          const auto& [key, child] = *m;
          if (resource_body && (key == "resourceType" || key == "id")) continue;
          if (std::any_of(n.members.begin(), m, [&](const auto& earlier) { return earlier.first == key; })) {
            twice(key, child->where_in_file);
            continue;
          }
          member(key, at, child->where_in_file, [&](const Place& p) { node(*child, p); });
        }
        required(*type.complex, n.where_in_file, [&](std::string_view key) {
          return std::any_of(n.members.begin(), n.members.end(), [&](const auto& m) { return m.first == key; });
        });
        if (at.binding != nullptr && type.complex->coded == ComplexType::Coded::kCoding) coding(n, *at.binding);
        return;
      case Op::kArray:
        for (const auto& i : n.items) {
          if (i->op == Op::kRefs) continue;  // References, one for each entry
          if (i->op != Op::kEach) {
            node(*i, item);
            continue;
          }
          if (i->use != nullptr) use(*i->use, item);  // flattened into this list: its values are items
          if (i->body) node(*i->body, item);
        }
        return;
      case Op::kIf:
        if (n.body) node(*n.body, at, resource_body);
        if (n.otherwise) node(*n.otherwise, at, resource_body);
        return;
      case Op::kPath:
      case Op::kFirst:
      case Op::kEach:
      case Op::kVar:
        // One value per occurrence: an item of the list $each makes.
        if (n.use != nullptr) use(*n.use, item);
        if (n.body) node(*n.body, n.op == Op::kEach ? item : at, resource_body);
        if (n.use == nullptr && !n.body) {
          value_kind(kind_of(n.mods.as), at, n.where_in_file);
          texts(n, at);
        }
        return;
      case Op::kTemplate:
      case Op::kRef:
        return value_kind(JsonKind::kString, at, n.where_in_file);
      case Op::kJoin:
        return value_kind(kind_of(n.mods.as), at, n.where_in_file);
      case Op::kConst:
        return constant(n.constant, at, n.where_in_file, resource_body);
      default:  // $refs: References, each an object
        return;
    }
  }

  // The JSON type of a value the plan makes from a text: what "$as" turns it into.
  enum class JsonKind { kString, kNumber, kBoolean, kObject };
  static JsonKind kind_of(mapping::ValueType as) {
    switch (as) {
      case mapping::ValueType::kInteger:
      case mapping::ValueType::kDecimal: return JsonKind::kNumber;
      case mapping::ValueType::kBoolean: return JsonKind::kBoolean;
      default: return JsonKind::kString;
    }
  }
  static const char* kind_name(JsonKind kind) {
    switch (kind) {
      case JsonKind::kString: return "text";
      case JsonKind::kNumber: return "number";
      case JsonKind::kBoolean: return "true/false";
      case JsonKind::kObject: return "object";
    }
    return "value";
  }

  // A value of JSON type `kind` placed `at`: the validator refuses every message it is in when
  // FHIR has another type there (a reference's text where a Reference object goes, a text where
  // an integer goes).
  void value_kind(JsonKind kind, const Place& at, const std::string& where) {
    const TypeRef& type = at.type;
    if (type.complex != nullptr) {
      if (kind == JsonKind::kObject) return;
      return problem(where, std::string("a ") + kind_name(kind) + " where FHIR has a " + type.complex->name +
                                " (an object" + (type.complex->name == "Reference" ? ": {\"reference\": …}" : "") + ")");
    }
    if (type.primitive == nullptr) return;
    using Json = validate::PrimitiveType::Json;
    const JsonKind wanted = type.primitive->json == Json::kNumber    ? JsonKind::kNumber
                            : type.primitive->json == Json::kBoolean ? JsonKind::kBoolean
                                                                     : JsonKind::kString;
    if (kind == wanted) return;
    std::string hint;
    if (wanted == JsonKind::kNumber) {
      hint = type.primitive->name == "decimal" ? "; \"$as\": \"decimal\" makes one" : "; \"$as\": \"integer\" makes one";
    } else if (wanted == JsonKind::kBoolean) {
      hint = "; \"$as\": \"boolean\" makes one";
    }
    const std::string& name = type.primitive->name;
    const bool vowel = !name.empty() && std::string_view("aeiou").find(name.front()) != std::string_view::npos;
    problem(where, std::string("a ") + kind_name(kind) + " where FHIR has " + (vowel ? "an " : "a ") + name +
                       " (a JSON " + kind_name(wanted) + hint + ")");
  }

  // A datatype map, once for each type and required value set it is used with (what it is
  // judged by); it makes one value.
  void use(const PlanNode& map, const Place& at) {
    const void* type = at.type.complex != nullptr ? static_cast<const void*>(at.type.complex)
                                                  : static_cast<const void*>(at.type.primitive);
    const validate::ValueSet* required = at.binding;
    if (required == nullptr && at.type.primitive != nullptr && at.element != nullptr) required = at.element->binding;
    if (used_.insert({&map, type, required}).second) node(map, at);
  }

  // The texts a value node can give that the plan holds: the codes of its table, its default.
  void texts(const PlanNode& n, const Place& at) {
    const mapping::Modifiers& m = n.mods;
    if (at.type.primitive == nullptr) return;
    if (m.table != nullptr) {
      if (m.table_field != mapping::TableField::kCode) return;
      m.table->for_each_coding([&](std::string_view from, const mapping::Coding& coding) {
        if (coding.code.empty()) return;  // no equivalent: left out
        text(coding.code, at, n.where_in_file, from_table(*m.table, from));
      });
    } else if (m.has_default && (m.as == mapping::ValueType::kString || m.as == mapping::ValueType::kCode)) {
      text(m.default_value, at, n.where_in_file, "the default");
    }
  }

  void constant(const JsonNode& j, const Place& at, const std::string& where, bool resource_body) {
    const TypeRef& type = at.type;
    if (type.primitive == nullptr && type.complex == nullptr) return;
    if (j.is_array()) {
      for (const JsonNode& item : j.items) constant(item, Place{type, at.element, Shape::kItem, at.binding}, where, false);
      return;
    }
    if (!j.is_object()) {
      if (j.type == JsonNode::Type::kNull) return;  // null: left out
      const JsonKind kind = j.is_string() ? JsonKind::kString : j.is_number() ? JsonKind::kNumber : JsonKind::kBoolean;
      value_kind(kind, at, place(where, j));
      if (j.is_string() && type.primitive != nullptr) text(j.string, at, place(where, j), "");
      return;
    }
    if (type.complex == nullptr) return problem(place(where, j), "an object where FHIR has a " + type.primitive->name);
    required(*type.complex, place(where, j), [&](std::string_view key) { return j.find(key) != nullptr; });
    if (at.binding != nullptr && type.complex->coded == ComplexType::Coded::kCoding) {
      const JsonNode* system = j.find("system");
      const JsonNode* code = j.find("code");
      if (system != nullptr && code != nullptr && system->is_string() && code->is_string()) {
        check_coding(system->string, code->string, *at.binding, place(where, *code), "");
      }
    }
    for (auto m = j.members.begin(); m != j.members.end(); ++m) {
      const auto& [key, value] = *m;
      if (resource_body && (key == "resourceType" || key == "id")) continue;
      if (std::any_of(j.members.begin(), m, [&](const auto& earlier) { return earlier.first == key; })) {
        twice(key, place(where, value));
        continue;
      }
      member(key, at, place(where, value), [&](const Place& p) {
        if (const auto wrong = shape_problem(value.is_array(), p.shape); !wrong.empty()) {
          return problem(place(where, value), std::string(wrong));
        }
        constant(value, p, where, false);
      });
    }
  }

  // A text the plan holds, as the validator would judge it where it goes: the primitive's format,
  // and for a code the required value set. `whence` says where the text comes from, if not the
  // place itself.
  void text(const std::string& value, const Place& at, const std::string& where, const std::string& whence) {
    const validate::PrimitiveType& p = *at.type.primitive;
    if (p.json != validate::PrimitiveType::Json::kString) return;  // numbers and booleans: JSON's own types
    const std::string from = whence.empty() ? "" : " (" + whence + ")";
    if (p.regex && !p.regex->matches(value)) return problem(where, "'" + value + "' is not a valid " + p.name + from);
    const validate::ValueSet* required = at.element != nullptr ? at.element->binding : nullptr;
    if (p.is_code && required != nullptr && !required->all_codes.contains(value)) {
      problem(where, "code '" + value + "' is not in required value set " + required->url + from);
    }
  }

  // The required elements (min 1 or more) an object of `type` never writes, for it has no member
  // for them (`has`: whether it has the member of that JSON key). A member that may come out
  // empty is the message's business; one that is not there at all fails every message.
  template <class Has>
  void required(const ComplexType& type, const std::string& where, Has&& has) {
    for (const validate::ElementDef* e : type.required) {
      bool written = false;
      type.slots.for_each([&](std::string_view key, const validate::Slot& slot) {
        written = written || (slot.element == e && has(key));
      });
      if (written) continue;
      path_.push_back(e->name);
      problem(where, type.name + "." + e->name + " is required (min " + std::to_string(e->min) +
                         ") and this object has no member for it");
      path_.pop_back();
    }
  }

  // A Coding of a required value set made by a plan object: the pairs of system and code its
  // "system" and "code" members can make from constants and tables, where the plan holds them.
  void coding(const PlanNode& n, const validate::ValueSet& binding) {
    const PlanNode* system = nullptr;
    const PlanNode* code = nullptr;
    for (const auto& [key, child] : n.members) {
      if (key == "system") system = child.get();
      if (key == "code") code = child.get();
    }
    if (system == nullptr || code == nullptr) return;
    const auto constant_text = [](const PlanNode& v) { return v.op == PlanNode::Op::kConst && v.constant.is_string(); };
    const auto table_of = [](const PlanNode& v, mapping::TableField field) {
      return v.use == nullptr && !v.body && v.mods.table != nullptr && v.mods.table_field == field;
    };
    if (constant_text(*system) && constant_text(*code)) {
      return check_coding(system->constant.string, code->constant.string, binding, code->where_in_file, "");
    }
    if (!table_of(*code, mapping::TableField::kCode)) return;
    const mapping::TerminologyTable& table = *code->mods.table;
    const bool same_table = table_of(*system, mapping::TableField::kSystem) && system->mods.table == &table;
    if (!same_table && !constant_text(*system)) return;
    table.for_each_coding([&](std::string_view from, const mapping::Coding& c) {
      if (c.code.empty()) return;
      check_coding(same_table ? c.system : system->constant.string, c.code, binding, code->where_in_file,
                   from_table(table, from));
    });
  }

  // As the validator judges a Coding: only a system the value set draws on is judged.
  void check_coding(const std::string& system, const std::string& code, const validate::ValueSet& binding,
                    const std::string& where, const std::string& whence) {
    const KeySet* codes = binding.codes_of(system);
    if (codes == nullptr || codes->contains(code)) return;
    std::string reason = "code '";
    reason.append(code).append("' of ").append(system).append(" is not in required value set ").append(binding.url);
    if (!whence.empty()) reason.append(" (").append(whence).append(")");
    problem(where, reason);
  }

  // The member `key` of an object placed `at`: where its value goes is given to `inside`, or a
  // problem.
  template <class Inside>
  void member(const std::string& key, const Place& at, const std::string& where, Inside&& inside) {
    const ComplexType& type = *at.type.complex;
    path_.push_back(key);
    if (const validate::Slot* slot = type.find(key)) {
      const TypeRef t = slot->primitive_extension ? TypeRef{nullptr, &table_.element_type()} : slot->type;
      // The value set a Coding must draw from: its element's, or that of the CodeableConcept
      // whose "coding" it is in.
      const validate::ValueSet* binding = nullptr;
      if (type.coded == ComplexType::Coded::kCodeableConcept && key == "coding") binding = at.binding;
      else if (t.complex != nullptr && t.complex->coded != ComplexType::Coded::kNo) binding = slot->element->binding;
      inside(Place{t, slot->primitive_extension ? nullptr : slot->element,
                   slot->element->is_array ? Shape::kList : Shape::kOne, binding});
    } else {
      problem(where, type.name + " has no element '" + key + "'");
    }
    path_.pop_back();
  }

  // A key an object has twice: FHIR validation would refuse what it makes ("given twice").
  void twice(const std::string& key, const std::string& where) {
    path_.push_back(key);
    problem(where, "'" + key + "' is written twice in this object");
    path_.pop_back();
  }

  // "file:line:column" of a constant's node, in the file of the plan node that holds it.
  static std::string place(const std::string& where, const JsonNode& j) {
    return std::string(file_of(where)) + ":" + std::to_string(j.line) + ":" + std::to_string(j.column);
  }

  void problem(const std::string& where, const std::string& reason) {
    std::string at;
    for (const std::string& step : path_) at.append(at.empty() ? "" : ".").append(step);
    problems_.push_back(where + ": " + reason + " (" + at + ")");
  }

  const validate::StructureTable& table_;
  std::vector<std::string>& problems_;
  std::vector<std::string> path_;
  std::set<std::tuple<const PlanNode*, const void*, const validate::ValueSet*>> used_;
};

}  // namespace

std::vector<std::string> plan_problems(const mapping::MappingSet& set, const validate::StructureTable& table) {
  std::vector<std::string> problems;
  Checker checker(table, problems);
  for (const auto& mapping : set.mappings()) {
    for (const mapping::ResourcePlan& plan : mapping->resources()) checker.resource(plan, *mapping);
  }
  // A shared part is compiled into every mapping that includes it: its problems once each.
  std::vector<std::string> once;
  for (std::string& p : problems) {
    if (std::find(once.begin(), once.end(), p) == once.end()) once.push_back(std::move(p));
  }
  return once;
}

}  // namespace helsebro::app
