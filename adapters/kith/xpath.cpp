#include "adapters/kith/xpath.h"

#include <algorithm>
#include <optional>
#include <pugixml.hpp>

#include "adapters/kith/strings.h"

namespace helsebro::kith {
namespace {

Error bad_path(std::string_view text, std::size_t at, std::string_view why) {
  std::string detail = "XPath '";
  detail.append(text);
  detail.append("' at character ");
  detail.append(std::to_string(at + 1));
  detail.append(": ");
  detail.append(why);
  return Error{Errc::kInvalidValue, std::move(detail)};
}

bool name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// The first prefix of a QName in `text` that is not allowed, with its offset; string literals
// and axes ("child::") are skipped. pugixml matches prefixes literally, so an unknown one would
// silently select nothing.
std::optional<std::pair<std::size_t, std::string>> unknown_prefix(
    std::string_view text, const std::set<std::string>& allowed) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\'' || c == '"') {
      const std::size_t close = text.find(c, i + 1);
      i = close == std::string_view::npos ? text.size() : close + 1;
      continue;
    }
    if (!name_start(c) || (i > 0 && (name_char(text[i - 1]) || text[i - 1] == '$'))) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && name_char(text[end])) ++end;
    const bool qname = end + 1 < text.size() && text[end] == ':' && text[end + 1] != ':';
    if (qname) {
      std::string prefix(text.substr(i, end - i));
      if (allowed.count(prefix) == 0) return std::make_pair(i, std::move(prefix));
    }
    i = end;
  }
  return std::nullopt;
}

// A name test: "local" or "prefix:local".
bool qualified_name(std::string_view s) {
  auto plain_name = [](std::string_view n) {
    if (n.empty() || !name_start(n[0])) return false;
    for (const char c : n) {
      if (!name_char(c)) return false;
    }
    return true;
  };
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return plain_name(s);
  return plain_name(s.substr(0, colon)) && plain_name(s.substr(colon + 1));
}

// XPath's attribute axis never holds namespace declarations.
bool declaration(std::string_view name) { return name == "xmlns" || name.rfind("xmlns:", 0) == 0; }

// Appends what steps [step, end) select from `node`. Root and parent steps keep one node; a child
// step visits the children in order and walks the rest from each, so the results come out in
// document order, and none twice (a node has one parent).
void walk(pugi::xml_node node, const PlainStep* step, const PlainStep* end,
          std::vector<pugi::xpath_node>& out) {
  for (; step != end; ++step) {
    switch (step->kind) {
      case PlainStep::kRoot:
        node = node.root();
        break;
      case PlainStep::kParent:
        node = node.parent();
        if (!node) return;
        break;
      case PlainStep::kChild:
        for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
          if (c.type() == pugi::node_element && step->name == c.name()) walk(c, step + 1, end, out);
        }
        return;
      case PlainStep::kAttribute:
        if (node.type() != pugi::node_element) return;
        for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
          // The first match only, as pugixml's engine does: canonical names can give two
          // attributes one name (two versions of a namespace under one prefix).
          if (step->name == a.name()) {
            out.emplace_back(a, node);
            return;
          }
        }
        return;
    }
  }
  out.emplace_back(node);
}

}  // namespace

std::optional<std::vector<PlainStep>> plain_steps(std::string_view text) {
  std::vector<PlainStep> steps;
  if (text.empty()) return std::nullopt;
  std::size_t at = 0;
  if (text.front() == '/') {
    steps.push_back({PlainStep::kRoot, {}});
    if (text.size() == 1) return steps;
    at = 1;
  }
  bool named = false;  // a ".." after a name could reach one node twice
  for (;;) {
    if (!steps.empty() && steps.back().kind == PlainStep::kAttribute) return std::nullopt;
    const std::size_t slash = std::min(text.find('/', at), text.size());
    const std::string_view part = text.substr(at, slash - at);
    if (part == ".") {
      // the node itself
    } else if (part == "..") {
      if (named) return std::nullopt;
      steps.push_back({PlainStep::kParent, {}});
    } else if (part.size() > 1 && part.front() == '@' && qualified_name(part.substr(1)) &&
               !declaration(part.substr(1))) {
      steps.push_back({PlainStep::kAttribute, std::string(part.substr(1))});
    } else if (qualified_name(part)) {
      steps.push_back({PlainStep::kChild, std::string(part)});
      named = true;
    } else {
      return std::nullopt;  // "//", a trailing "/", "*", a predicate, an axis, a function …
    }
    if (slash == text.size()) return steps;
    at = slash + 1;
  }
}

XPath::XPath(std::string text, std::vector<PlainStep> steps)
    : text_(std::move(text)), steps_(std::move(steps)) {}

XPath::XPath(std::string text, std::shared_ptr<const pugi::xpath_query> query)
    : text_(std::move(text)), query_(std::move(query)) {}

XPath::~XPath() = default;

void XPath::select(const pugi::xml_node& start, std::vector<pugi::xpath_node>& out) const {
  if (!query_) {
    walk(start, steps_.data(), steps_.data() + steps_.size(), out);
    return;
  }
  pugi::xpath_node_set found = query_->evaluate_node_set(start);
  found.sort();  // occurrences in document order, also for reverse axes
  for (const pugi::xpath_node& n : found) out.push_back(n);
}

Location XPath::location() const {
  Location where;
  where.segment = text_;
  return where;
}

XPathDialect::XPathDialect(const SchemaIndex& index) {
  for (const auto& [prefix, ns] : index.prefixes()) prefixes_.insert(prefix);
  prefixes_.insert("xml");
  for (const SchemaEntry& entry : index.entries()) {
    if (entry.kind == SchemaKind::kMessage && !entry.message.empty()) payloads_.insert(entry.message);
  }
}

XPathDialect::XPathDialect(std::set<std::string> prefixes) : prefixes_(std::move(prefixes)) {}

Result<std::unique_ptr<mapping::SourcePath>> XPathDialect::compile(std::string_view text) const {
  auto path = compile_xpath(text);
  if (!path) return path.error();
  return std::unique_ptr<mapping::SourcePath>(std::move(*path));
}

Result<std::unique_ptr<XPath>> XPathDialect::compile_xpath(std::string_view text) const {
  if (text.empty()) return bad_path(text, 0, "empty path");
  if (auto unknown = unknown_prefix(text, prefixes_)) {
    return bad_path(text, unknown->first,
                    cat({"unknown namespace prefix '", unknown->second, "'"}));
  }
  std::string source(text);
  if (auto steps = plain_steps(text)) {
    return std::make_unique<XPath>(std::move(source), std::move(*steps));
  }
  std::lock_guard lock(mutex_);
  auto known = queries_.find(text);
  if (known == queries_.end()) {
    std::shared_ptr<pugi::xpath_query> query;
    try {
      query = std::make_shared<pugi::xpath_query>(source.c_str());
    } catch (const pugi::xpath_exception& e) {
      const auto offset = e.result().offset;
      return bad_path(text, offset > 0 ? static_cast<std::size_t>(offset) : 0,
                      e.result().description());
    }
    if (query->return_type() != pugi::xpath_type_node_set) {
      return bad_path(text, 0, "the path must select nodes, not a number, string or boolean");
    }
    known = queries_.emplace(source, std::move(query)).first;
  }
  return std::make_unique<XPath>(std::move(source), known->second);
}

std::size_t XPathDialect::compiled_queries() const {
  std::lock_guard lock(mutex_);
  return queries_.size();
}

}  // namespace helsebro::kith
