#include "gateway/mapping/compiler.h"

#include "gateway/core/json_tape.h"

#include <algorithm>
#include <set>

namespace helsebro::mapping {
namespace {

const std::set<std::string, std::less<>> kValueDirectives{"$path", "$var",  "$each", "$first", "$if",
                                                          "$ref",  "$refs", "$const", "$join"};
const std::set<std::string, std::less<>> kModifierKeys{
    "$as", "$table", "$tableField", "$check", "$required", "$default", "$prefix", "$match", "$group",
    "$comparator", "$separator", "$use", "$do", "$where", "$then", "$else", "$comment"};

// A regular expression from a mapping file (ECMAScript syntax), compiled once at load. Boost's
// matcher, unlike libstdc++'s, does not recurse per character, so long texts cannot exhaust the
// stack; a match too complex for its memory budget throws, and the message is refused instead.
Result<std::shared_ptr<const boost::regex>> compile_regex(const std::string& text) {
  try {
    // As ECMAScript has it: ^ and $ at the ends of the text only, '.' not across line ends.
    return std::make_shared<const boost::regex>(
        text, boost::regex::ECMAScript | boost::regex::no_mod_m | boost::regex::no_mod_s);
  } catch (const boost::regex_error& e) {
    return Error{Errc::kInvalidValue, std::string("not a valid regular expression: ") + e.what()};
  }
}

bool is_directive_object(const JsonNode& j) {
  if (!j.is_object()) return false;
  for (const auto& [key, value] : j.members) {
    if (kValueDirectives.count(key)) return true;
  }
  return false;
}

std::string location(const std::string& file, const JsonNode& at) {
  return file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
}

}  // namespace

Error Compiler::error(const JsonNode& at, const std::string& why) const {
  return Error{Errc::kInvalidValue, location(file_, at) + ": " + why};
}

Result<std::unique_ptr<SourcePath>> Compiler::path(const JsonNode& j) {
  if (!j.is_string()) return error(j, "a path must be a string, found " + std::string(j.type_name()));
  auto compiled = dialect_.compile(j.string);
  if (!compiled) return error(j, compiled.error().detail);
  return std::move(*compiled);
}

Result<int> Compiler::var_slot(const std::string& name, const JsonNode& at) {
  if (mapping_ == nullptr) return error(at, "datatype maps cannot read variables ('" + name + "')");
  for (const auto& [local, slot] : local_vars_) {
    if (local == name) return slot;
  }
  const auto& names = mapping_->var_names_;
  for (std::size_t i = 0; i < global_var_count_; ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return error(at, "unknown variable '" + name + "' (define it in \"let\" before its use)");
}

namespace {

// The values a request URL's templates put in from the message are escaped where they land: a
// visit number "V1&_format=xml" or "V1,V2" must search for itself, not add a parameter or an
// alternative. `query`: the whole text is a query (ifNoneExist); otherwise from its '?' on.
void escape_url_values(PlanNode& n, bool query) {
  if (n.op == PlanNode::Op::kTemplate) {
    bool in_query = query;
    for (TemplatePart& part : n.parts) {
      if (part.var < 0) {
        if (part.literal.find('?') != std::string::npos) in_query = true;
        continue;
      }
      part.escape = in_query ? TemplatePart::Escape::kSearchValue : TemplatePart::Escape::kPathSegment;
    }
  }
  for (PlanNode* child : {n.body.get(), n.otherwise.get()}) {
    if (child != nullptr) escape_url_values(*child, query);
  }
}

}  // namespace

Result<std::unique_ptr<PlanNode>> Compiler::text_template(const JsonNode& j) {
  auto n = std::make_unique<PlanNode>();
  n->where_in_file = location(file_, j);
  const std::string& s = j.string;
  if (s.find("{{") == std::string::npos) {
    n->op = PlanNode::Op::kConst;
    n->constant = j;
    n->dynamic = false;
    return n;
  }
  n->op = PlanNode::Op::kTemplate;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t open = s.find("{{", pos);
    if (open == std::string::npos) {
      n->parts.push_back({s.substr(pos), -1});
      break;
    }
    if (open > pos) n->parts.push_back({s.substr(pos, open - pos), -1});
    const std::size_t close = s.find("}}", open + 2);
    if (close == std::string::npos) return error(j, "'{{' without a closing '}}'");
    std::string name = s.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    auto slot = var_slot(name, j);
    if (!slot) return slot.error();
    n->parts.push_back({{}, *slot});
    pos = close + 2;
  }
  return n;
}

Result<Condition> Compiler::condition(const JsonNode& j) {
  if (!j.is_object()) return error(j, "a condition is an object such as {\"path\": …, \"equals\": …}");
  Condition c;
  if (const JsonNode* all = j.find("all"); all != nullptr || j.find("any") != nullptr) {
    const JsonNode& list = all ? *all : *j.find("any");
    if (!list.is_array() || list.items.empty()) return error(list, "expected a non-empty array of conditions");
    c.kind = all ? Condition::Kind::kAll : Condition::Kind::kAny;
    for (const JsonNode& item : list.items) {
      auto child = condition(item);
      if (!child) return child.error();
      c.children.push_back(std::move(*child));
    }
    return c;
  }
  if (const JsonNode* inner = j.find("not")) {
    auto child = condition(*inner);
    if (!child) return child.error();
    c.kind = Condition::Kind::kNot;
    c.children.push_back(std::move(*child));
    return c;
  }
  for (const auto& [key, value] : j.members) {
    if (key == "path") {
      auto p = path(value);
      if (!p) return p.error();
      c.path = std::move(*p);
    } else if (key == "var") {
      if (!value.is_string()) return error(value, "\"var\" names a variable");
      auto slot = var_slot(value.string, value);
      if (!slot) return slot.error();
      c.var = *slot;
    } else if (key == "equals") {
      if (!value.is_string()) return error(value, "\"equals\" takes a string");
      c.kind = Condition::Kind::kEquals;
      c.values = {value.string};
    } else if (key == "in") {
      if (!value.is_array()) return error(value, "\"in\" takes an array of strings");
      c.kind = Condition::Kind::kIn;
      for (const JsonNode& v : value.items) {
        if (!v.is_string()) return error(v, "\"in\" takes an array of strings");
        c.values.push_back(v.string);
      }
    } else if (key == "exists") {
      if (value.type != JsonNode::Type::kBool) return error(value, "\"exists\" takes true or false");
      c.kind = Condition::Kind::kExists;
      c.exists = value.boolean;
    } else if (key == "matches") {
      if (!value.is_string()) return error(value, "\"matches\" takes a regular expression");
      auto re = compile_regex(value.string);
      if (!re) return error(value, re.error().detail);
      c.kind = Condition::Kind::kMatches;
      c.pattern = std::move(*re);
    } else if (key != "$comment") {
      return error(value, "unknown condition key \"" + key + "\" (path, var, equals, in, exists, matches, all, any, not)");
    }
  }
  if (!c.path && c.var < 0) return error(j, "a condition needs \"path\" or \"var\"");
  return c;
}

Result<Modifiers> Compiler::modifiers(const JsonNode& j, PlanNode& target) {
  Modifiers m;
  for (const auto& [key, value] : j.members) {
    if (key == "$as") {
      static const std::map<std::string, ValueType, std::less<>> kTypes{
          {"string", ValueType::kString},   {"code", ValueType::kCode},
          {"integer", ValueType::kInteger}, {"decimal", ValueType::kDecimal},
          {"boolean", ValueType::kBoolean}, {"date", ValueType::kDate},
          {"dateTime", ValueType::kDateTime}, {"instant", ValueType::kInstant},
          {"base64", ValueType::kBase64}, {"base64Binary", ValueType::kBase64Binary}};
      auto it = value.is_string() ? kTypes.find(value.string) : kTypes.end();
      if (it == kTypes.end()) {
        return error(value, "\"$as\" is one of string, code, integer, decimal, boolean, date, dateTime, "
                            "instant, base64, base64Binary");
      }
      m.as = it->second;
      m.time_syntax = dialect_.format() == "kith" ? TimeSyntax::kXmlSchema : TimeSyntax::kHl7;
    } else if (key == "$table") {
      auto it = value.is_string() ? set_.terminology_.find(value.string) : set_.terminology_.end();
      if (it == set_.terminology_.end()) {
        return error(value, "no terminology table named " +
                                (value.is_string() ? "'" + value.string + "'" : std::string("(not a string)")) +
                                " in terminology/");
      }
      m.table = &it->second;
    } else if (key == "$tableField") {
      if (value.is_string() && value.string == "system") m.table_field = TableField::kSystem;
      else if (value.is_string() && value.string == "display") m.table_field = TableField::kDisplay;
      else if (value.is_string() && value.string == "code") m.table_field = TableField::kCode;
      else return error(value, "\"$tableField\" is one of code, system, display");
    } else if (key == "$check") {
      if (value.is_string() && value.string == "norwegian-person-id") m.person_id = PersonIdKind::kEither;
      else if (value.is_string() && value.string == "fodselsnummer") m.person_id = PersonIdKind::kFodselsnummer;
      else if (value.is_string() && value.string == "d-nummer") m.person_id = PersonIdKind::kDNummer;
      else {
        return error(value, "\"$check\" is one of norwegian-person-id (fødselsnummer or D-nummer), "
                            "fodselsnummer, d-nummer");
      }
    } else if (key == "$required") {
      if (!value.is_string() || value.string.empty()) {
        return error(value, "\"$required\" takes the text a sender sees when the value is missing");
      }
      m.required = value.string;
      m.must = true;
    } else if (key == "$default") {
      if (!value.is_string()) return error(value, "\"$default\" takes a string");
      m.has_default = true;
      m.default_value = value.string;
      m.default_plain = value.plain;
    } else if (key == "$prefix") {
      if (!value.is_string()) return error(value, "\"$prefix\" takes a string");
      m.prefix = value.string;
      m.has_prefix = !m.prefix.empty();
    } else if (key == "$match") {
      if (!value.is_string()) return error(value, "\"$match\" takes a regular expression");
      auto re = compile_regex(value.string);
      if (!re) return error(value, re.error().detail);
      m.match = std::move(*re);
      if (m.match->mark_count() > 0 && j.find("$group") == nullptr) m.group = 1;
    } else if (key == "$comparator") {
      if (value.is_string() && value.string == "comparator") m.comparator = ComparatorPart::kComparator;
      else if (value.is_string() && value.string == "value") m.comparator = ComparatorPart::kValue;
      else return error(value, "\"$comparator\" is comparator or value");
    } else if (key == "$group") {
      if (value.type != JsonNode::Type::kInt || value.integer < 0) {
        return error(value, "\"$group\" takes the number of a capture group of \"$match\" (0: the whole match)");
      }
      m.group = static_cast<int>(value.integer);
    } else if (key == "$separator") {
      if (!value.is_string()) return error(value, "\"$separator\" takes a string");
      m.separator = value.string;
    } else if (key == "$use") {
      if (!value.is_string()) return error(value, "\"$use\" names a datatype map, e.g. \"XPN\"");
      auto dt = datatype(value.string, value);
      if (!dt) return dt.error();
      target.use = (*dt)->body.get();
    }
  }
  if (j.find("$group") != nullptr && !m.match) return error(*j.find("$group"), "\"$group\" needs \"$match\"");
  if (m.match && m.comparator != ComparatorPart::kNone) {
    return error(*j.find("$comparator"), "use either \"$match\" or \"$comparator\", not both");
  }
  if (m.match && static_cast<unsigned>(m.group) > m.match->mark_count()) {
    return error(*j.find("$group"), "\"$match\" has only " + std::to_string(m.match->mark_count()) +
                                        " capture group(s)");
  }
  if (j.find("$separator") != nullptr && j.find("$join") == nullptr) {
    return error(*j.find("$separator"), "\"$separator\" belongs with \"$join\"");
  }
  return m;
}

Result<std::unique_ptr<PlanNode>> Compiler::directive(const JsonNode& j) {
  auto n = std::make_unique<PlanNode>();
  n->where_in_file = location(file_, j);
  const JsonNode* main = nullptr;
  std::string main_key;
  for (const auto& [key, value] : j.members) {
    if (kValueDirectives.count(key)) {
      if (main != nullptr) return error(value, "\"" + main_key + "\" and \"" + key + "\" cannot be combined");
      main = &value;
      main_key = key;
    } else if (!kModifierKeys.count(key)) {
      return error(value, "unknown key \"" + key + "\" beside \"$…\" directives");
    }
  }
  auto mods = modifiers(j, *n);
  if (!mods) return mods.error();
  n->mods = std::move(*mods);
  auto child = [&](const char* key, std::unique_ptr<PlanNode>& out) -> Result<void> {
    if (const JsonNode* v = j.find(key)) {
      auto compiled = node(*v);
      if (!compiled) return compiled.error();
      out = std::move(*compiled);
    }
    return {};
  };
  if (const JsonNode* w = j.find("$where")) {
    auto c = condition(*w);
    if (!c) return c.error();
    n->where = std::make_unique<Condition>(std::move(*c));
  }
  if (main_key == "$const") {
    n->op = PlanNode::Op::kConst;
    n->constant = *main;
    n->dynamic = false;
  } else if (main_key == "$path" || main_key == "$each" || main_key == "$first") {
    n->op = main_key == "$path" ? PlanNode::Op::kPath
          : main_key == "$each" ? PlanNode::Op::kEach : PlanNode::Op::kFirst;
    auto p = path(*main);
    if (!p) return p.error();
    n->path = std::move(*p);
    if (auto r = child("$do", n->body); !r) return r.error();
    if (n->body && n->use) return error(j, "use either \"$do\" or \"$use\", not both");
  } else if (main_key == "$var") {
    if (!main->is_string()) return error(*main, "\"$var\" names a variable");
    auto slot = var_slot(main->string, *main);
    if (!slot) return slot.error();
    n->op = PlanNode::Op::kVar;
    n->var = *slot;
  } else if (main_key == "$if") {
    auto c = condition(*main);
    if (!c) return c.error();
    n->op = PlanNode::Op::kIf;
    n->where = std::make_unique<Condition>(std::move(*c));
    if (auto r = child("$then", n->body); !r) return r.error();
    if (auto r = child("$else", n->otherwise); !r) return r.error();
    if (!n->body) return error(j, "\"$if\" needs \"$then\"");
  } else if (main_key == "$join") {
    if (!main->is_array() && !is_directive_object(*main)) {
      return error(*main, "\"$join\" takes an array of values or one directive that yields several ($each)");
    }
    n->op = PlanNode::Op::kJoin;
    auto inner = node(*main);
    if (!inner) return inner.error();
    n->body = std::move(*inner);
  } else if (main_key == "$ref" || main_key == "$refs") {
    if (!main->is_string()) return error(*main, "\"" + main_key + "\" names a resource of this mapping");
    if (mapping_ == nullptr) return error(*main, "datatype maps cannot reference resources");
    n->op = main_key == "$ref" ? PlanNode::Op::kRef : PlanNode::Op::kRefs;
    n->ref = main->string;
    bool known = main_key == "$refs" && n->ref == "*";  // every other entry of the Bundle
    for (const auto& r : resource_names_) known = known || r == n->ref;
    if (!known) return error(*main, "no resource named '" + n->ref + "' in this mapping");
  }
  return n;
}

Result<std::unique_ptr<PlanNode>> Compiler::node(const JsonNode& j) {
  if (j.is_string()) return text_template(j);
  if (is_directive_object(j)) return directive(j);
  auto n = std::make_unique<PlanNode>();
  n->where_in_file = location(file_, j);
  if (j.is_object()) {
    n->op = PlanNode::Op::kObject;
    for (const auto& [key, value] : j.members) {
      if (key == "$comment") continue;
      if (!key.empty() && key[0] == '$') {
        return error(value, "\"" + key + "\" is not a directive here (an object needs one of $path, $var, "
                            "$each, $first, $if, $ref, $refs, $const, $join)");
      }
      auto child = node(value);
      if (!child) return child.error();
      n->members.emplace_back(key, std::move(*child));
    }
    n->dynamic = false;
    n->plain_keys = true;
    for (const auto& member : n->members) {
      n->dynamic = n->dynamic || member.second->dynamic;
      n->plain_keys = n->plain_keys && json_plain(member.first);
    }
    return n;
  }
  if (j.is_array()) {
    n->op = PlanNode::Op::kArray;
    for (const JsonNode& item : j.items) {
      auto child = node(item);
      if (!child) return child.error();
      n->items.push_back(std::move(*child));
    }
    n->dynamic = false;
    for (const auto& item : n->items) n->dynamic = n->dynamic || item->dynamic;
    return n;
  }
  n->op = PlanNode::Op::kConst;
  n->constant = j;
  n->dynamic = false;
  return n;
}

Result<const DatatypePlan*> Compiler::datatype(const std::string& name, const JsonNode& at) {
  const std::string key = std::string(dialect_.format()) + "/" + name;
  if (auto it = set_.datatypes_.find(key); it != set_.datatypes_.end()) return it->second.get();
  auto pending = pending_.find(name);
  if (pending == pending_.end()) return error(at, "no datatype map named '" + name + "'");
  if (pending->second.compiling) return error(at, "datatype map '" + name + "' uses itself");
  pending->second.compiling = true;
  Compiler inner(set_, dialect_, pending_);
  inner.file_ = pending->second.file;
  auto body = inner.node(pending->second.body);
  pending->second.compiling = false;
  if (!body) return body.error();
  auto plan = std::make_unique<DatatypePlan>();
  plan->name = name;
  plan->file = pending->second.file;
  plan->body = std::move(*body);
  const DatatypePlan* out = plan.get();
  set_.datatypes_.emplace(key, std::move(plan));
  return out;
}

Result<ResourcePlan> Compiler::resource(const JsonNode& j) {
  if (!j.is_object()) return error(j, "each resource is an object");
  ResourcePlan r;
  const JsonNode* body = nullptr;
  local_vars_.clear();
  struct ClearLocals {
    std::vector<std::pair<std::string, int>>& locals;
    ~ClearLocals() { locals.clear(); }
  } clear_locals{local_vars_};
  // "when" decides whether the resource is made at all, before any occurrence: it reads the
  // message and the mapping's variables, not the resource's own (not yet compiled, so unknown).
  if (const JsonNode* when = j.find("when")) {
    auto c = condition(*when);
    if (!c) return c.error();
    r.when = std::make_unique<Condition>(std::move(*c));
  }
  if (const JsonNode* lets = j.find("let")) {
    // Occurrence variables: slots after the mapping's own, visible only inside this resource.
    if (!lets->is_object()) return error(*lets, "\"let\" is an object of name → value");
    const JsonNode* name = j.find("name");
    const std::string owner = name && name->is_string() ? name->string : "?";
    for (const auto& [var, value] : lets->members) {
      if (var == "$comment") continue;
      for (std::size_t i = 0; i < global_var_count_; ++i) {
        if (mapping_->var_names_[i] == var) {
          return error(value, "variable '" + var + "' is already defined in the mapping's \"let\"");
        }
      }
      for (const auto& local : local_vars_) {
        if (local.first == var) return error(value, "variable '" + var + "' is defined twice");
      }
      auto compiled = node(value);  // may read the occurrence and earlier variables
      if (!compiled) return compiled.error();
      const int slot = static_cast<int>(mapping_->var_names_.size());
      mapping_->var_names_.push_back(owner + "." + var);
      local_vars_.emplace_back(var, slot);
      r.lets.emplace_back(slot, std::move(*compiled));
    }
  }
  if (const JsonNode* where = j.find("where")) {
    auto c = condition(*where);
    if (!c) return c.error();
    r.where = std::make_unique<Condition>(std::move(*c));
  }
  for (const auto& [key, value] : j.members) {
    if (key == "name" && value.is_string()) {
      r.name = value.string;
    } else if (key == "resourceType" && value.is_string()) {
      // A name of letters, so the Bundle writer copies it as it is.
      const std::string& type = value.string;
      const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
      if (type.empty() || type.front() < 'A' || type.front() > 'Z' || !std::all_of(type.begin(), type.end(), letter)) {
        return error(value, "\"resourceType\" is the name of a FHIR resource type, such as \"Patient\"");
      }
      r.resource_type = type;
      r.where_in_file = location(file_, value);
    } else if (key == "when") {
      // compiled above, before the occurrence variables
    } else if (key == "forEach") {
      auto p = path(value);
      if (!p) return p.error();
      r.for_each = std::move(*p);
    } else if (key == "let" || key == "where") {
      // compiled below, once every occurrence variable is known
    } else if (key == "key") {
      auto k = node(value);
      if (!k) return k.error();
      r.key = std::move(*k);
    } else if (key == "request") {
      if (!value.is_object()) return error(value, "\"request\" is an object");
      for (const auto& [rk, rv] : value.members) {
        if (rk == "method" && is_directive_object(rv)) {
          auto n = node(rv);  // chosen per message; checked when evaluated
          if (!n) return n.error();
          r.method_node = std::move(*n);
        } else if (rk == "method") {
          if (!rv.is_string() || (rv.string != "POST" && rv.string != "PUT")) {
            return error(rv, "\"method\" is POST or PUT, or a directive ($if …) that yields one of them");
          }
          r.method = rv.string;
        } else if (rk == "url" || rk == "ifNoneExist") {
          auto n = node(rv);
          if (!n) return n.error();
          escape_url_values(**n, rk == "ifNoneExist");
          (rk == "url" ? r.url : r.if_none_exist) = std::move(*n);
        } else {
          return error(rv, "unknown request key \"" + rk + "\" (method, url, ifNoneExist)");
        }
      }
    } else if (key == "resource") {
      body = &value;
    } else if (key != "$comment" && key != "description") {
      return error(value, "unknown or mistyped resource key \"" + key + "\"");
    }
  }
  if (r.name.empty()) return error(j, "a resource needs a \"name\"");
  if (r.resource_type.empty()) return error(j, "resource '" + r.name + "' needs a \"resourceType\"");
  if (body == nullptr || !body->is_object()) return error(j, "resource '" + r.name + "' needs a \"resource\" object");
  auto b = node(*body);
  if (!b) return b.error();
  r.body = std::move(*b);
  return r;
}

Result<std::string> Compiler::shared_part_name(const std::string& file, const JsonNode& root) {
  if (!root.is_object()) return Error{Errc::kInvalidValue, location(file, root) + ": a shared part is a JSON object"};
  for (const auto& [key, value] : root.members) {
    static const std::set<std::string, std::less<>> kKnown{"$schema", "part", "description", "let",
                                                           "orderingKey", "resources", "$comment"};
    if (!kKnown.count(key)) {
      return Error{Errc::kInvalidValue, location(file, value) + ": unknown top-level key \"" + key +
                                            "\" in a shared part"};
    }
  }
  const JsonNode* name = root.find("part");
  if (name == nullptr || !name->is_string() || name->string.empty()) {
    return Error{Errc::kInvalidValue, location(file, root) + ": \"part\" (the shared part's name) is required"};
  }
  if (const JsonNode* r = root.find("resources"); r && !r->is_array()) {
    return Error{Errc::kInvalidValue, location(file, *r) + ": \"resources\" is an array"};
  }
  return name->string;
}

Result<void> Compiler::lets(const JsonNode& j) {
  if (!j.is_object()) return error(j, "\"let\" is an object of name → value");
  for (const auto& [name, value] : j.members) {
    for (const auto& existing : mapping_->var_names_) {
      if (existing == name) return error(value, "variable '" + name + "' is defined twice");
    }
    auto compiled = node(value);  // may read earlier variables only
    if (!compiled) return compiled.error();
    mapping_->var_names_.push_back(name);
    mapping_->lets_.push_back(std::move(*compiled));
    global_var_count_ = mapping_->var_names_.size();
  }
  return {};
}

Result<std::vector<const Compiler::SharedPart*>> Compiler::includes(const JsonNode& root) {
  std::vector<const SharedPart*> out;
  const JsonNode* include = root.find("include");
  if (include == nullptr) return out;
  if (!include->is_array()) return error(*include, "\"include\" lists the names of shared parts");
  for (const JsonNode& name : include->items) {
    if (!name.is_string()) return error(name, "\"include\" lists the names of shared parts");
    auto it = parts_ ? parts_->find(name.string) : SharedParts::const_iterator{};
    if (parts_ == nullptr || it == parts_->end()) {
      return error(name, "no shared part named '" + name.string + "' in " + std::string(dialect_.format()) +
                             "/shared/");
    }
    for (const SharedPart* seen : out) {
      if (seen == &it->second) return error(name, "shared part '" + name.string + "' is included twice");
    }
    out.push_back(&it->second);
  }
  return out;
}

Result<std::unique_ptr<Mapping>> Compiler::compile_mapping(const std::string& file, const JsonNode& root) {
  file_ = file;
  auto m = std::make_unique<Mapping>();
  mapping_ = m.get();
  m->file_ = file;
  for (const char* builtin : kBuiltinVars) m->var_names_.emplace_back(builtin);
  m->lets_.resize(kBuiltinVarCount);
  global_var_count_ = m->var_names_.size();
  if (!root.is_object()) return error(root, "a mapping file is a JSON object");
  const JsonNode* accepts = root.find("accepts");
  const JsonNode* resources = root.find("resources");
  for (const auto& [key, value] : root.members) {
    static const std::set<std::string, std::less<>> kKnown{"$schema", "mapping", "description", "accepts", "include",
                                                           "let", "orderingKey", "resources", "$comment"};
    if (!kKnown.count(key)) return error(value, "unknown top-level key \"" + key + "\"");
  }
  if (const JsonNode* name = root.find("mapping"); name && name->is_string()) m->name_ = name->string;
  else return error(root, "\"mapping\" (the mapping's name) is required");
  if (accepts == nullptr || !accepts->is_object()) return error(root, "\"accepts\" is required");
  for (const auto& [key, value] : accepts->members) {
    if (key == "format" && value.is_string()) {
      m->format_ = value.string;
    } else if ((key == "messages" || key == "versions") && value.is_array()) {
      for (const JsonNode& v : value.items) {
        if (!v.is_string()) return error(v, "\"" + key + "\" lists strings");
        (key == "messages" ? m->message_types_ : m->versions_).push_back(v.string);
      }
    } else if (key == "payloads" && value.is_array()) {
      if (!dialect_.has_payloads()) {
        return error(value, "\"accepts.payloads\": format \"" + std::string(dialect_.format()) +
                                "\" carries no kinds of content to name");
      }
      for (const JsonNode& v : value.items) {
        if (!v.is_string()) return error(v, "\"payloads\" lists strings");
        if (!dialect_.knows_payload(v.string)) {
          return error(v, "unknown payload \"" + v.string + "\": not a message of the KITH schema index");
        }
        m->payloads_.push_back(v.string);
      }
    } else {
      return error(value, "unknown or mistyped key \"accepts." + key + "\"");
    }
  }
  if (m->format_ != dialect_.format()) return error(*accepts, "format must be \"" + std::string(dialect_.format()) + "\" here");
  if (m->message_types_.empty()) return error(*accepts, "\"messages\" lists at least one message type");
  if (dialect_.has_payloads() && m->payloads_.empty()) {
    return error(*accepts, "\"payloads\" names the message(s) the mapping reads (e.g. \"Dialogmelding\"), so that "
                           "a message whose type and content disagree is refused");
  }
  auto parts = includes(root);
  if (!parts) return parts.error();
  // Each piece is compiled with the file it was written in, so errors point into that file.
  struct Piece {
    const std::string* file;
    const JsonNode* root;
  };
  std::vector<Piece> pieces;
  for (const SharedPart* part : *parts) pieces.push_back({&part->file, &part->root});
  pieces.push_back({&file, &root});  // the mapping's own variables come after its parts'
  for (const Piece& piece : pieces) {
    file_ = *piece.file;
    if (const JsonNode* l = piece.root->find("let")) {
      if (auto ok = lets(*l); !ok) return ok.error();
    }
  }
  // Resources: the mapping's own first, then each part's, in Bundle order.
  std::rotate(pieces.begin(), pieces.end() - 1, pieces.end());
  if ((resources == nullptr || !resources->is_array() || resources->items.empty()) && parts->empty()) {
    file_ = file;
    return error(root, "\"resources\" lists at least one resource");
  }
  if (resources != nullptr && !resources->is_array()) {
    file_ = file;
    return error(*resources, "\"resources\" is an array");
  }
  for (const Piece& piece : pieces) {
    file_ = *piece.file;
    const JsonNode* rs = piece.root->find("resources");
    if (rs == nullptr) continue;
    for (const JsonNode& r : rs->items) {
      if (const JsonNode* n = r.find("name"); n && n->is_string()) {
        for (const auto& existing : resource_names_) {
          if (existing == n->string) return error(*n, "resource name '" + n->string + "' is used twice");
        }
        resource_names_.push_back(n->string);
      }
    }
  }
  for (const Piece& piece : pieces) {
    file_ = *piece.file;
    const JsonNode* rs = piece.root->find("resources");
    if (rs == nullptr) continue;
    for (const JsonNode& r : rs->items) {
      auto compiled = resource(r);
      if (!compiled) return compiled.error();
      m->resources_.push_back(std::move(*compiled));
    }
  }
  if (m->resources_.empty()) {
    file_ = file;
    return error(root, "\"resources\" lists at least one resource, here or in an included part");
  }
  // The ordering key: the mapping's own, else the one part that gives one.
  const Piece* key_piece = nullptr;
  for (const Piece& piece : pieces) {
    if (piece.root->find("orderingKey") == nullptr) continue;
    if (piece.root == &root) {
      key_piece = &piece;
      break;
    }
    if (key_piece != nullptr) {
      file_ = file;
      return error(root, "the parts " + *key_piece->file + " and " + *piece.file +
                             " both give an orderingKey: give this mapping its own");
    }
    key_piece = &piece;
  }
  if (key_piece != nullptr) {
    file_ = *key_piece->file;
    auto compiled = node(*key_piece->root->find("orderingKey"));
    if (!compiled) return compiled.error();
    m->ordering_key_ = std::move(*compiled);
  }
  file_ = file;
  return m;
}

}  // namespace helsebro::mapping
