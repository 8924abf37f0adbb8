#include "adapters/kith/source_view.h"

#include <algorithm>

#include <pugixml.hpp>

#include "adapters/kith/strings.h"
#include "adapters/kith/xpath.h"

namespace helsebro::kith {

using mapping::SourceNode;

namespace {

const void* key_of(const pugi::xpath_node& n) {
  if (n.attribute()) return n.attribute().internal_object();
  return n.node().internal_object();
}

std::uint32_t kind_of(const pugi::xpath_node& n) {
  if (n.attribute()) return kAttributeNode;
  switch (n.node().type()) {
    case pugi::node_document:
      return kDocumentNode;
    case pugi::node_element:
      return kElementNode;
    default:
      return kTextNode;
  }
}

bool is_text(pugi::xml_node n) { return n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata; }

// The element's string value; each text node taken is recorded in `read`.
// An XHTML element that ends a line (free-text elements of type anyType carry XHTML): its text
// stands on lines of its own, or "<p>…henvist</p><p>Linje 2" would read "henvistLinje 2".
bool breaks_line(pugi::xml_node element) {
  std::string_view name = element.name();
  if (const std::size_t colon = name.rfind(':'); colon != std::string_view::npos) name.remove_prefix(colon + 1);
  static constexpr std::string_view kBlocks[] = {"p",  "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5",
                                                  "h6", "ul", "ol", "table", "pre", "blockquote", "dd", "dt"};
  return std::find(std::begin(kBlocks), std::end(kBlocks), name) != std::end(kBlocks);
}

void new_line(std::string& out) {
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
}

// True when it ended a line for an XHTML block.
bool append_text(pugi::xml_node node, std::string& out, std::unordered_set<const void*>& read) {
  bool blocks = false;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (is_text(c)) {
      out.append(c.value());
      read.insert(c.internal_object());
    } else if (c.type() == pugi::node_element) {
      const bool block = breaks_line(c);
      if (block) new_line(out);
      blocks = append_text(c, out, read) || blocks;
      if (block) new_line(out);
      blocks = blocks || block;
    }
  }
  return blocks;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

bool is_declaration(std::string_view name) {
  return name == "xmlns" || name.rfind("xmlns:", 0) == 0 || name.rfind("xsi:", 0) == 0;
}

std::string step_of(pugi::xml_node n) {
  std::string step(n.name());
  int same = 0;
  int position = 0;
  for (pugi::xml_node s = n.parent().first_child(); s; s = s.next_sibling()) {
    if (s.type() != pugi::node_element || std::string_view(s.name()) != n.name()) continue;
    ++same;
    if (s == n) position = same;
  }
  if (same > 1) {
    step.append("[");
    step.append(std::to_string(position));
    step.append("]");
  }
  return step;
}

// The node's path from the root, e.g. "/mh:MsgHead/mh:Document[2]/mh:RefDoc/mh:MsgType/@V".
std::string path_of(const pugi::xpath_node& n) {
  std::vector<std::string> steps;
  if (n.attribute()) steps.push_back(cat({"@", n.attribute().name()}));
  pugi::xml_node x = n.attribute() ? n.parent() : n.node();
  if (is_text(x)) {
    steps.push_back("text()");
    x = x.parent();
  }
  for (; x && x.type() == pugi::node_element; x = x.parent()) steps.push_back(step_of(x));
  std::string path;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    path.append("/");
    path.append(*it);
  }
  return path;
}


}  // namespace

SourceView::SourceView(const pugi::xml_document& document) : document_(document) {
  nodes_.emplace_back(document_);
  index_.emplace(key_of(nodes_.front()), 0);
}

SourceView::~SourceView() = default;

SourceNode SourceView::root() const {
  return SourceNode{kDocumentNode, 0, 0, 0, 0, 0};
}

SourceNode SourceView::intern(const pugi::xpath_node& node) const {
  const auto [it, added] = index_.emplace(key_of(node), static_cast<std::uint32_t>(nodes_.size()));
  if (added) nodes_.push_back(node);
  return SourceNode{kind_of(node), it->second, 0, 0, 0, 0};
}

const pugi::xpath_node& SourceView::at(const SourceNode& node) const {
  return node.a < nodes_.size() ? nodes_[node.a] : nodes_.front();
}

void SourceView::select(const SourceNode& context, const mapping::SourcePath& base,
                        std::vector<SourceNode>& out) const {
  const auto& path = static_cast<const XPath&>(base);
  const pugi::xpath_node& from = at(context);
  // An attribute has no children; a relative path from it starts at its element.
  const pugi::xml_node start = from.attribute() ? from.parent() : from.node();
  selected_.clear();
  path.select(start, selected_);
  for (const pugi::xpath_node& n : selected_) out.push_back(intern(n));
}

std::string SourceView::text(const SourceNode& node) const {
  std::string scratch;
  const std::string_view value = text_view(node, scratch);
  return value.data() == scratch.data() ? std::move(scratch) : std::string(value);
}

std::string_view SourceView::text_view(const SourceNode& node, std::string& scratch) const {
  const pugi::xpath_node& n = at(node);
  if (n.attribute()) {
    read_.insert(n.attribute().internal_object());
    return n.attribute().value();
  }
  const pugi::xml_node x = n.node();
  if (is_text(x)) {
    read_.insert(x.internal_object());
    return x.value();
  }
  scratch.clear();
  if (append_text(x, scratch, read_)) {  // no line break after the last block
    while (!scratch.empty() && scratch.back() == '\n') scratch.pop_back();
  }
  return scratch;
}

template <class Visit>
void SourceView::for_each_unread(Visit&& visit) const {
  auto walk = [&](auto& self, pugi::xml_node element) -> void {
    const pugi::xml_attribute code = element.attribute("V");
    const bool code_read = code && read_.count(code.internal_object()) > 0;
    for (pugi::xml_attribute a = element.first_attribute(); a; a = a.next_attribute()) {
      const std::string_view name = a.name();
      if (is_declaration(name) || blank(a.value()) || read_.count(a.internal_object())) continue;
      if (code_read && (name == "S" || name == "DN")) continue;
      visit(pugi::xpath_node(a, element));
    }
    for (pugi::xml_node c = element.first_child(); c; c = c.next_sibling()) {
      if (c.type() == pugi::node_element) {
        self(self, c);
      } else if (is_text(c) && !blank(c.value()) && !read_.count(c.internal_object())) {
        visit(pugi::xpath_node(c));
      }
    }
  };
  for (pugi::xml_node c = document_.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) walk(walk, c);
  }
}

std::vector<std::string> SourceView::unread() const {
  std::vector<std::string> out;
  for_each_unread([&out](const pugi::xpath_node& n) { out.push_back(path_of(n)); });
  return out;
}

std::size_t SourceView::unread_count() const {
  std::size_t n = 0;
  for_each_unread([&n](const pugi::xpath_node&) { ++n; });
  return n;
}

bool SourceView::is_null(const SourceNode& node) const {
  const pugi::xpath_node& n = at(node);
  if (n.attribute() || n.node().type() != pugi::node_element) return false;
  const std::string_view nil = n.node().attribute("xsi:nil").value();
  return nil == "true" || nil == "1" || static_cast<bool>(n.node().attribute("NULL"));
}

Location SourceView::locate(const SourceNode& node) const {
  Location where;
  where.segment = path_of(at(node));
  return where;
}

bool SourceView::contains(const SourceNode& outer, const SourceNode& inner) const {
  const pugi::xpath_node& o = at(outer);
  const pugi::xpath_node& i = at(inner);
  if (o.attribute()) return o == i;
  if (o.node().type() == pugi::node_document) return true;
  for (pugi::xml_node x = i.attribute() ? i.parent() : i.node(); x; x = x.parent()) {
    if (x == o.node()) return true;
  }
  return false;
}

}  // namespace helsebro::kith
