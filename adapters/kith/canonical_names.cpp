#include "adapters/kith/canonical_names.h"

#include <algorithm>
#include <map>
#include <pugixml.hpp>
#include <string_view>

#include "adapters/kith/strings.h"

namespace helsebro::kith {
namespace {

constexpr std::string_view kXmlNamespace = "http://www.w3.org/XML/1998/namespace";

class Renamer {
 public:
  explicit Renamer(const PrefixMap& prefixes) : prefixes_(prefixes) {}

  void element(pugi::xml_node node) {
    const std::size_t mark = scope_.size();
    declare_and_strip(node);
    node.set_name(canonical(split(node.name()), true).c_str());
    for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
      const auto [prefix, local] = split(a.name());
      if (!prefix.empty()) a.set_name(canonical({prefix, local}, false).c_str());
    }
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
      if (c.type() == pugi::node_element) element(c);
    }
    scope_.resize(mark);
  }

  void declare_on(pugi::xml_node root) const {
    // Prepend in reverse so the declarations read in the order the prefixes were first used.
    for (auto it = used_order_.rbegin(); it != used_order_.rend(); ++it) {
      std::string name = "xmlns:";
      name.append(*it);
      root.prepend_attribute(name.c_str()).set_value(used_.at(*it).c_str());
    }
  }

 private:
  using Name = std::pair<std::string_view, std::string_view>;  // prefix, local

  static Name split(const char* qname) {
    const std::string_view name(qname);
    const std::size_t colon = name.find(':');
    if (colon == std::string_view::npos) return {{}, name};
    return {name.substr(0, colon), name.substr(colon + 1)};
  }

  // Reads this element's namespace declarations into scope and removes them.
  void declare_and_strip(pugi::xml_node node) {
    for (pugi::xml_attribute a = node.first_attribute(); a;) {
      const pugi::xml_attribute next = a.next_attribute();
      const std::string_view name(a.name());
      if (name == "xmlns") {
        scope_.emplace_back(std::string{}, a.value());
        node.remove_attribute(a);
      } else if (name.substr(0, 6) == "xmlns:") {
        scope_.emplace_back(std::string(name.substr(6)), a.value());
        node.remove_attribute(a);
      }
      a = next;
    }
  }

  std::string_view lookup(std::string_view prefix) const {
    if (prefix == "xml") return kXmlNamespace;
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it) {
      if (it->first == prefix) return it->second;
    }
    return {};
  }

  std::string canonical(Name name, bool element) {
    const auto [prefix, local] = name;
    if (prefix == "xml") return cat({prefix, ":", local});
    // An unprefixed element is in the default namespace; an unprefixed attribute in none.
    const std::string_view ns = prefix.empty() && !element ? std::string_view{} : lookup(prefix);
    if (ns.empty()) return std::string(local);
    std::string out = prefix_for(ns);
    out.append(":");
    out.append(local);
    return out;
  }

  const std::string& prefix_for(std::string_view ns) {
    const std::string key(ns);
    if (const auto it = chosen_.find(key); it != chosen_.end()) return it->second;
    std::string prefix;
    const auto known = std::find_if(prefixes_.begin(), prefixes_.end(),
                                    [&](const auto& p) { return p.second == ns; });
    if (known != prefixes_.end()) {
      prefix = known->first;
    } else {
      prefix = cat({"ns", std::to_string(++generated_)});
    }
    if (used_.emplace(prefix, key).second) used_order_.push_back(prefix);
    return chosen_.emplace(key, std::move(prefix)).first->second;
  }

  const PrefixMap& prefixes_;
  std::vector<std::pair<std::string, std::string>> scope_;  // prefix ("" = default) → namespace
  std::map<std::string, std::string> chosen_;               // namespace → prefix
  std::map<std::string, std::string> used_;                 // prefix → first namespace
  std::vector<std::string> used_order_;
  int generated_ = 0;
};

}  // namespace

void canonicalize_names(pugi::xml_document& doc, const PrefixMap& prefixes) {
  pugi::xml_node root = doc.document_element();
  if (!root) return;
  Renamer renamer(prefixes);
  renamer.element(root);
  renamer.declare_on(root);
}

}  // namespace helsebro::kith
