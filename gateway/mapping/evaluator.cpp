#include "gateway/mapping/evaluator.h"

#include <charconv>
#include <cstring>
#include <new>

namespace helsebro::mapping {
namespace {

// A value from the message in a request URL. Percent-encoded (RFC 3986) but for the unreserved
// characters, and ':' '@' (in a path segment) and also '/' '|' (in a search value, where a
// composed "system|code" passes as it is). A search value is escaped for FHIR search first:
// ',' would mean "or", '$' a composite's separator, '\\' an escape.
void append_url_value(std::string& out, std::string_view value, bool search) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto keeps = [search](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == ':' || c == '@' || (search && (c == '/' || c == '|'));
  };
  auto put = [&](unsigned char c) {
    if (keeps(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  };
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (search && (c == ',' || c == '$' || c == '\\')) put('\\');
    put(c);
  }
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = static_cast<std::uint8_t>(in[i]) << 16 | static_cast<std::uint8_t>(in[i + 1]) << 8 |
                            static_cast<std::uint8_t>(in[i + 2]);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t v = static_cast<std::uint8_t>(in[i]) << 16;
    if (rest == 2) v |= static_cast<std::uint8_t>(in[i + 1]) << 8;
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// True for a non-empty text of only spaces, tabs and line ends (a loop: find_first_not_of looks
// each byte up in the set with a call).
bool is_blank(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return !text.empty();
}

// a == b for the short codes conditions compare, without a call to memcmp.
bool same_text(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

// Strings are referenced, not copied: the plan outlives the tape.
void Evaluator::push_constant(const JsonNode& j) {
  switch (j.type) {
    case JsonNode::Type::kNull: tape_.push_null(); break;
    case JsonNode::Type::kBool: tape_.push_bool(j.boolean); break;
    case JsonNode::Type::kInt: tape_.push_int(j.integer); break;
    case JsonNode::Type::kDouble: tape_.push_number(j.string); break;  // as written, e.g. 1.50
    case JsonNode::Type::kString: tape_.push_string(j.string, j.plain); break;
    case JsonNode::Type::kArray: {
      const std::size_t at = tape_.open(JsonToken::Kind::kArray);
      for (const JsonNode& item : j.items) push_constant(item);
      tape_.close(at);
      break;
    }
    case JsonNode::Type::kObject: {
      const std::size_t at = tape_.open(JsonToken::Kind::kObject);
      for (const auto& [key, value] : j.members) {
        const std::size_t member = tape_.size();
        push_constant(value);
        tape_.set_key(member, key);
      }
      tape_.close(at);
      break;
    }
  }
}

std::string_view Evaluator::keep(std::string_view text) {
  if (text.empty()) return "";  // not a null pointer: the writer copies from it
  char* copy = static_cast<char*>(arena_.Malloc(text.size()));
  if (copy == nullptr) throw std::bad_alloc();  // the pool returns null when malloc does: translate() refuses
  std::memcpy(copy, text.data(), text.size());
  return {copy, text.size()};
}

void Evaluator::fail(Errc code, std::string detail, const PlanNode& n, const SourceNode* node) {
  if (error_) return;
  Location where;
  if (node != nullptr) where = view_.locate(*node);
  else if (n.path) where = n.path->location();
  error_ = Error{code, std::move(detail), std::move(where)};
}

bool Evaluator::missing(const PlanNode& n, const SourceNode* node) {
  if (n.mods.must) fail(Errc::kRequiredFieldMissing, n.mods.required, n, node);
  return false;
}

// The nodes a path selects, on the evaluator's stack until the selection ends. Read by copy:
// selections made meanwhile (by nested values) may move the stack.
class Evaluator::Selection {
 public:
  Selection(Evaluator& e, SourceNode context, const SourcePath& path)
      : stack_(e.selected_), begin_(stack_.size()) {
    e.view_.select(context, path, stack_);
    end_ = stack_.size();
  }
  ~Selection() { stack_.resize(begin_); }
  Selection(const Selection&) = delete;
  Selection& operator=(const Selection&) = delete;

  std::size_t size() const { return end_ - begin_; }
  SourceNode operator[](std::size_t i) const { return stack_[begin_ + i]; }

 private:
  std::vector<SourceNode>& stack_;
  std::size_t begin_;
  std::size_t end_;
};

bool Evaluator::text_value(const PlanNode& n, std::string_view text, const SourceNode* node, bool occurrence) {
  const Modifiers& m = n.mods;
  if (m.match && !text.empty()) {
    bool matched = false;
    try {
      matched = boost::regex_search(text.data(), text.data() + text.size(), match_, *m.match);
    } catch (const std::runtime_error&) {  // the matcher's complexity or memory limit
      fail(Errc::kMappingFailed, "$match: the text is too long or complex for the expression", n, node);
      return false;
    }
    const auto& part = match_[m.group];
    text = matched && part.matched ? std::string_view(part.first, static_cast<std::size_t>(part.length()))
                                   : std::string_view{};
  } else if (m.comparator != ComparatorPart::kNone && !text.empty()) {
    text = m.comparator == ComparatorPart::kComparator ? comparator_part(text) : value_part(text).value_or("");
  }
  // FHIR has no whitespace-only strings: such a value counts as absent.
  if (is_blank(text)) text = {};
  TextHome home = TextHome::kElsewhere;
  if (text.empty()) {
    if (!m.has_default) return occurrence ? false : missing(n, node);
    text = m.default_value;
    home = m.default_plain ? TextHome::kPlanPlain : TextHome::kPlan;
  }
  if (m.person_id) {
    const std::string why = check_norwegian_person_id(text, *m.person_id);
    // The channel may waive the control digits and the date (test and legacy numbers), never
    // the shape: something that is not 11 digits is no fødselsnummer at all.
    if (!why.empty() && accept_invalid_person_id_ && why != kNotElevenDigits) {
      Location where = node != nullptr ? view_.locate(*node) : n.path ? n.path->location() : Location{};
      std::string note = to_string(where);
      if (note.empty()) note = n.where_in_file;
      note.append(": invalid fødselsnummer or D-nummer accepted (").append(why).append(")");
      warnings_.push_back(std::move(note));
    } else if (!why.empty()) {
      fail(Errc::kInvalidIdentifier, "not a valid fødselsnummer or D-nummer: " + why, n, node);
      return false;
    }
  }
  if (m.table != nullptr) {
    const Coding* coding = m.table->lookup(text);
    if (coding == nullptr) {
      fail(Errc::kInvalidValue, "code '" + std::string(text) + "' is not in table " + m.table->name(), n, node);
      return false;
    }
    // A listed code without a target code has no equivalent: left out whole, so "$tableField":
    // "system" or "display" must not produce half a Coding (a system with no code).
    if (coding->code.empty()) return false;
    text = m.table_field == TableField::kSystem    ? coding->system
         : m.table_field == TableField::kDisplay ? coding->display
                                                  : coding->code;
    if (text.empty()) return false;
    home = coding->plain ? TextHome::kPlanPlain : TextHome::kPlan;
  }
  return converted_value(n, text, node, home);
}

// The text as the type "$as" asks for.
bool Evaluator::converted_value(const PlanNode& n, std::string_view text, const SourceNode* node,
                                TextHome home) {
  const Modifiers& m = n.mods;
  switch (m.as) {
    case ValueType::kBase64:
      push_copy(base64(text), true);
      return true;
    case ValueType::kBase64Binary: {
      // Already base64 (an XML base64Binary, often wrapped in lines): FHIR wants it unbroken.
      std::string& packed = work_;
      packed.clear();
      packed.reserve(text.size());
      for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                        c == '/' || c == '=';
        if (!ok) {
          fail(Errc::kInvalidValue, "not base64: the character '" + std::string(1, c) + "' is not in its alphabet", n, node);
          return false;
        }
        packed.push_back(c);
      }
      const std::size_t pad = packed.find('=');
      if (packed.size() % 4 != 0 || (pad != std::string::npos && pad + 2 < packed.size()) ||
          (pad != std::string::npos && packed.find_first_not_of('=', pad) != std::string::npos)) {
        fail(Errc::kInvalidValue, "not base64: its length or padding is wrong", n, node);
        return false;
      }
      push_copy(packed, true);
      return true;
    }
    case ValueType::kString:
    case ValueType::kCode:
      if (m.as == ValueType::kCode) {
        while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
        while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
      }
      if (!m.has_prefix) {
        // The message and the plan outlive the tape.
        if (view_.holds(text)) tape_.push_string(text, view_.holds_plain(text));
        else if (home != TextHome::kElsewhere) tape_.push_string(text, home == TextHome::kPlanPlain);
        else push_copy(text);
      } else {
        work_.assign(m.prefix).append(text);
        push_copy(work_);
      }
      return true;
    case ValueType::kInteger: {
      std::int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || ptr != text.data() + text.size()) {
        fail(Errc::kInvalidValue, std::string("'").append(text).append("' is not an integer"), n, node);
        return false;
      }
      tape_.push_int(v);
      return true;
    }
    case ValueType::kDecimal: {
      auto d = hl7_number_to_decimal(text);
      if (!d) {
        fail(Errc::kInvalidValue, d.error().detail, n, node);
        return false;
      }
      tape_.push_number(keep(*d));
      return true;
    }
    case ValueType::kBoolean:
      if (text == "Y" || text == "y" || text == "true" || text == "1") tape_.push_bool(true);
      else if (text == "N" || text == "n" || text == "false" || text == "0") tape_.push_bool(false);
      else {
        fail(Errc::kInvalidValue, std::string("'").append(text).append("' is not a yes/no value (Y or N)"), n, node);
        return false;
      }
      return true;
    case ValueType::kDate:
    case ValueType::kDateTime:
    case ValueType::kInstant: {
      const TimeType t = m.as == ValueType::kDate ? TimeType::kDate
                       : m.as == ValueType::kDateTime ? TimeType::kDateTime : TimeType::kInstant;
      auto converted = time_to_fhir(text, t, m.time_syntax);
      if (!converted) {
        fail(Errc::kInvalidValue, converted.error().detail, n, node);
        return false;
      }
      push_copy(*converted, true);  // digits, '-', ':', '.', 'T', '+' and 'Z'
      return true;
    }
  }
  return false;
}

// The value one source node yields: its $do body, its datatype map, or its text.
bool Evaluator::from_node(const PlanNode& n, const SourceNode& node) {
  if (n.body) return value(*n.body, node);
  if (n.use) return value(*n.use, node);
  const auto text = view_.text_unless_null(node, read_);
  return text && text_value(n, *text, &node);
}

void Evaluator::collect(const PlanNode& n, const SourceNode& context) {
  const Selection nodes(*this, context, *n.path);
  const bool must = n.mods.must;
  bool any = false;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const SourceNode node = nodes[i];
    if (n.where && !test(*n.where, node)) continue;
    if (!n.body && !n.use) {
      // A plain value: read the text once (it is decoded on every read).
      const auto text = view_.text_unless_null(node, read_);
      if (!text || text->empty()) continue;
      if (text_value(n, *text, &node, true)) any = true;
      if (failed()) return;
      continue;
    }
    if (from_node(n, node)) any = true;
    if (failed()) return;
  }
  if (!any && must) missing(n, nullptr);
}

bool Evaluator::value(const PlanNode& n, const SourceNode& context) {
  if (failed()) return false;
  switch (n.op) {
    case PlanNode::Op::kConst:
      push_constant(n.constant);
      return true;
    case PlanNode::Op::kTemplate: {
      auto s = string(n, context);
      if (!s) return false;
      push_copy(*s);
      return true;
    }
    case PlanNode::Op::kObject: {
      const std::size_t at = tape_.open(JsonToken::Kind::kObject);
      // An object whose members from the message all came out empty is left out, constants
      // beside them notwithstanding.
      const bool data = object_members(n, context);
      return tape_.close_unless_empty(at, data);
    }
    case PlanNode::Op::kArray: {
      const std::size_t at = tape_.open(JsonToken::Kind::kArray);
      bool data = !n.dynamic;
      for (const auto& item : n.items) {
        const std::size_t before = tape_.size();
        if (item->op == PlanNode::Op::kEach) collect(*item, context);  // flattened into this array
        else if (item->op == PlanNode::Op::kRefs) push_refs(*item, context);
        else value(*item, context);
        if (failed()) return false;
        data = data || (item->dynamic && tape_.size() > before);
      }
      return tape_.close_unless_empty(at, data);
    }
    case PlanNode::Op::kEach: {
      const std::size_t at = tape_.open(JsonToken::Kind::kArray);
      collect(n, context);
      return tape_.close_unless_empty(at, !failed());
    }
    case PlanNode::Op::kPath:
    case PlanNode::Op::kFirst: {
      if (!n.where && !n.body && !n.use) {
        // A plain value: the first non-empty occurrence.
        if (const auto first = view_.first_text(context, *n.path, true, read_, selected_)) {
          return text_value(n, first->text, &first->node);
        }
        if (n.mods.has_default) return text_value(n, {}, nullptr);
        return missing(n, nullptr);
      }
      const Selection nodes(*this, context, *n.path);
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        const SourceNode node = nodes[i];
        if (n.where && !test(*n.where, node)) continue;
        if (!n.body && !n.use) {
          // A plain value: the first non-empty occurrence.
          const auto text = view_.text_unless_null(node, read_);
          if (!text || text->empty()) continue;
          return text_value(n, *text, &node);
        }
        if (from_node(n, node)) return true;
        if (failed()) return false;
      }
      if (n.mods.has_default) return text_value(n, {}, nullptr);
      return missing(n, nullptr);
    }
    case PlanNode::Op::kVar: {
      const auto& v = vars_[static_cast<std::size_t>(n.var)];
      if (!v) return n.mods.has_default ? text_value(n, {}, nullptr) : missing(n, nullptr);
      return text_value(n, *v, nullptr);
    }
    case PlanNode::Op::kIf:
      if (test(*n.where, context)) return value(*n.body, context);
      return n.otherwise ? value(*n.otherwise, context) : false;
    case PlanNode::Op::kJoin: {
      // The text values the inner node yields, in order, with the separator between them.
      const std::size_t at = tape_.size();
      if (!value(*n.body, context)) {
        if (failed()) return false;
        return text_value(n, {}, nullptr);
      }
      std::string joined;
      bool first = true;
      auto add = [&](const JsonToken& v) {
        std::string_view piece;
        std::string number;
        if (v.kind == JsonToken::Kind::kString || v.kind == JsonToken::Kind::kNumber) {
          piece = v.text_view();
        } else if (v.kind == JsonToken::Kind::kInt) {
          number = std::to_string(v.integer);
          piece = number;
        } else if (v.kind == JsonToken::Kind::kTrue || v.kind == JsonToken::Kind::kFalse) {
          piece = v.kind == JsonToken::Kind::kTrue ? "true" : "false";
        }
        if (piece.empty()) return;
        if (!first) joined += n.mods.separator;
        joined += piece;
        first = false;
      };
      const JsonToken& inner = tape_[at];
      if (inner.kind == JsonToken::Kind::kArray) {
        for (std::size_t i = at + 1; i < at + inner.span; i += tape_[i].span) add(tape_[i]);
      } else {
        add(inner);
      }
      tape_.truncate(at);
      return text_value(n, joined, nullptr);
    }
    case PlanNode::Op::kRef: {
      const Ref* ref = resolve_ref(n.ref, context);
      if (ref == nullptr) return false;
      tape_.push_string(ref->full_url, true);  // "urn:uuid:" and the id
      return true;
    }
    case PlanNode::Op::kRefs: {
      const std::size_t at = tape_.open(JsonToken::Kind::kArray);
      push_refs(n, context);
      return tape_.close_unless_empty(at);
    }
  }
  return false;
}

void Evaluator::members(const PlanNode& n, const SourceNode& context) {
  if (n.op == PlanNode::Op::kObject) {
    object_members(n, context);
    return;
  }
  if (n.op == PlanNode::Op::kIf) {
    if (test(*n.where, context)) members(*n.body, context);
    else if (n.otherwise) members(*n.otherwise, context);
    return;
  }
  // Another kind of node: its value, unwrapped when it is an object.
  const std::size_t at = tape_.size();
  if (!value(n, context)) return;
  if (tape_[at].kind == JsonToken::Kind::kObject) tape_.erase_one(at);
  else tape_.truncate(at);
}

bool Evaluator::object_members(const PlanNode& n, const SourceNode& context) {
  bool data = !n.dynamic;
  for (const auto& [key, child] : n.members) {
    const std::size_t member = tape_.size();
    if (value(*child, context)) {
      data = data || child->dynamic;
      // Keys are referenced, not copied: the plan outlives the tape.
      tape_.set_key(member, key, n.plain_keys);
    }
    if (failed()) return false;
  }
  return data;
}

// Every entry of that resource made within the current context, as References; "*": every entry
// of the Bundle but those of the resource being built.
void Evaluator::push_refs(const PlanNode& n, const SourceNode& context) {
  for (const Ref& ref : refs_) {
    if (n.ref == "*" ? ref.name == building_ : (ref.name != n.ref || !view_.contains(context, ref.context))) {
      continue;
    }
    const std::size_t at = tape_.open(JsonToken::Kind::kObject);
    tape_.push_string(ref.full_url, true);
    tape_.set_key(at + 1, "reference", true);
    tape_.close(at);
  }
}

// The entry named `name` made for the innermost context holding `from` (the Specimen of this
// order for an Observation of that order); otherwise the first one.
const Evaluator::Ref* Evaluator::resolve_ref(std::string_view name, const SourceNode& from) const {
  const Ref* first = nullptr;
  const Ref* best = nullptr;
  for (const Ref& ref : refs_) {
    if (ref.name != name) continue;
    if (first == nullptr) first = &ref;
    if (view_.contains(ref.context, from) && (best == nullptr || view_.contains(best->context, ref.context))) {
      best = &ref;
    }
  }
  return best ? best : first;
}

std::optional<std::string_view> Evaluator::string(const PlanNode& n, const SourceNode& context) {
  if (n.op == PlanNode::Op::kTemplate) {
    std::string& s = joined_;
    s.clear();
    for (const TemplatePart& part : n.parts) {
      if (part.var < 0) {
        s += part.literal;
        continue;
      }
      const auto& v = vars_[static_cast<std::size_t>(part.var)];
      if (!v || v->empty()) return std::nullopt;
      if (part.escape == TemplatePart::Escape::kNone) {
        s += *v;
      } else {
        append_url_value(s, *v, part.escape == TemplatePart::Escape::kSearchValue);
      }
    }
    return keep(s);
  }
  const std::size_t at = tape_.size();
  if (!value(n, context)) return std::nullopt;
  const JsonToken v = tape_[at];
  tape_.truncate(at);
  switch (v.kind) {
    case JsonToken::Kind::kString:
    case JsonToken::Kind::kNumber: return v.text_view();  // a decimal, as text
    case JsonToken::Kind::kInt: return keep(std::to_string(v.integer));
    case JsonToken::Kind::kTrue: return "true";
    case JsonToken::Kind::kFalse: return "false";
    default: return std::nullopt;
  }
}

bool Evaluator::test(const Condition& c, const SourceNode& context) {
  switch (c.kind) {
    case Condition::Kind::kAll:
      for (const Condition& child : c.children) {
        if (!test(child, context)) return false;
      }
      return true;
    case Condition::Kind::kAny:
      for (const Condition& child : c.children) {
        if (test(child, context)) return true;
      }
      return false;
    case Condition::Kind::kNot:
      return !test(c.children.front(), context);
    default: break;
  }
  std::string_view text;
  if (c.path) {
    text = first_text(*c.path, context);
  } else {
    const auto& v = vars_[static_cast<std::size_t>(c.var)];
    if (v) text = *v;
  }
  switch (c.kind) {
    case Condition::Kind::kExists: return c.exists == !text.empty();
    case Condition::Kind::kMatches:
      try {
        return !text.empty() && boost::regex_search(text.data(), text.data() + text.size(), *c.pattern);
      } catch (const std::runtime_error&) {  // the matcher's complexity or memory limit
        error_ = Error{Errc::kMappingFailed, "matches: the text is too long or complex for the expression"};
        return false;
      }
    case Condition::Kind::kEquals: return same_text(text, c.values.front());
    case Condition::Kind::kIn:
      for (const std::string& v : c.values) {
        if (same_text(text, v)) return true;
      }
      return false;
    default: return false;
  }
}

std::string_view Evaluator::first_text(const SourcePath& path, const SourceNode& context) {
  const auto first = view_.first_text(context, path, false, read_, selected_);
  return first ? first->text : std::string_view{};
}

}  // namespace helsebro::mapping
