#include "gateway/app/plan_check.h"

#include <set>
#include <string_view>
#include <utility>

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

// How many values an element takes where a node stands: one (max 1), a list (a JSON array), or
// one item of a list being written.
enum class Shape { kOne, kList, kItem };

// Walks the plans with the FHIR type and shape each node's value takes.
class Checker {
 public:
  Checker(const validate::StructureTable& table, std::vector<std::string>& problems)
      : table_(table), problems_(problems) {}

  void resource(const mapping::ResourcePlan& plan, const mapping::Mapping& mapping) {
    const ComplexType* type = table_.resource(plan.resource_type);
    if (type == nullptr) {
      problems_.push_back(mapping.file() + ": resource '" + plan.name + "': " + plan.resource_type +
                          " is not a resource type of FHIR R4");
      return;
    }
    if (!plan.body) return;
    path_.assign(1, plan.resource_type);
    node(*plan.body, TypeRef{nullptr, type}, Shape::kOne, true);
  }

 private:
  // `resource_body`: the node is a resource's body, whose "resourceType" the engine replaces.
  void node(const PlanNode& n, const TypeRef& type, Shape shape, bool resource_body = false) {
    using Op = PlanNode::Op;
    const bool list = n.op == Op::kArray || n.op == Op::kEach || n.op == Op::kRefs ||
                      (n.op == Op::kConst && n.constant.is_array());
    if (list && shape == Shape::kOne) return problem(n.where_in_file, "a list where FHIR takes one value");
    if (!list && shape == Shape::kList && n.op != Op::kIf) {
      return problem(n.where_in_file, "one value where FHIR takes a list: write it inside [ ]");
    }
    if (type.primitive == nullptr && type.complex == nullptr) return;  // any resource: not known here
    switch (n.op) {
      case Op::kObject:
        if (type.complex == nullptr) return problem(n.where_in_file, "an object where FHIR has a " + type.primitive->name);
        for (const auto& [key, child] : n.members) {
          if (resource_body && (key == "resourceType" || key == "id")) continue;
          member(key, type, child->where_in_file,
                 [&](const TypeRef& t, Shape s) { node(*child, t, s); });
        }
        return;
      case Op::kArray:
        for (const auto& item : n.items) node(*item, type, Shape::kItem);
        return;
      case Op::kIf:
        if (n.body) node(*n.body, type, shape, resource_body);
        if (n.otherwise) node(*n.otherwise, type, shape, resource_body);
        return;
      case Op::kPath:
      case Op::kFirst:
      case Op::kEach:
        // One value per occurrence: an item of the list $each makes.
        if (n.use != nullptr) use(*n.use, type);
        if (n.body) node(*n.body, type, n.op == Op::kEach ? Shape::kItem : shape, resource_body);
        return;
      case Op::kConst:
        return constant(n.constant, type, n.where_in_file, resource_body);
      default:  // texts, variables, references, joined values: no members
        return;
    }
  }

  // A datatype map, once for each type it is used as; it makes one value.
  void use(const PlanNode& map, const TypeRef& type) {
    if (!used_.insert({&map, type.complex != nullptr ? static_cast<const void*>(type.complex)
                                                     : static_cast<const void*>(type.primitive)})
             .second) {
      return;
    }
    node(map, type, Shape::kItem);
  }

  void constant(const JsonNode& j, const TypeRef& type, const std::string& where, bool resource_body) {
    if (type.primitive == nullptr && type.complex == nullptr) return;
    if (j.is_array()) {
      for (const JsonNode& item : j.items) constant(item, type, where, false);
      return;
    }
    if (!j.is_object()) return;
    if (type.complex == nullptr) return problem(place(where, j), "an object where FHIR has a " + type.primitive->name);
    for (const auto& [key, value] : j.members) {
      if (resource_body && (key == "resourceType" || key == "id")) continue;
      member(key, type, place(where, value), [&](const TypeRef& t, Shape s) {
        if (value.is_array() && s == Shape::kOne) return problem(place(where, value), "a list where FHIR takes one value");
        if (!value.is_array() && s == Shape::kList) {
          return problem(place(where, value), "one value where FHIR takes a list: write it inside [ ]");
        }
        constant(value, t, where, false);
      });
    }
  }

  // The member `key` of an object of `type`: its element's type and shape go to `inside`, or a
  // problem.
  template <class Inside>
  void member(const std::string& key, const TypeRef& type, const std::string& where, Inside&& inside) {
    path_.push_back(key);
    if (const validate::Slot* slot = type.complex->find(key)) {
      inside(slot->primitive_extension ? TypeRef{nullptr, &table_.element_type()} : slot->type,
             slot->element->is_array ? Shape::kList : Shape::kOne);
    } else {
      problem(where, type.complex->name + " has no element '" + key + "'");
    }
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
  std::set<std::pair<const PlanNode*, const void*>> used_;
};

}  // namespace

std::vector<std::string> misnamed_elements(const mapping::MappingSet& set, const validate::StructureTable& table) {
  std::vector<std::string> problems;
  Checker checker(table, problems);
  for (const auto& mapping : set.mappings()) {
    for (const mapping::ResourcePlan& plan : mapping->resources()) checker.resource(plan, *mapping);
  }
  return problems;
}

}  // namespace helsebro::app
