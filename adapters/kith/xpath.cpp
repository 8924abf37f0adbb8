#include "adapters/kith/xpath.h"

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

}  // namespace

XPath::XPath(std::string text, std::unique_ptr<pugi::xpath_query> query)
    : text_(std::move(text)), query_(std::move(query)) {}

XPath::~XPath() = default;

Location XPath::location() const {
  Location where;
  where.segment = text_;
  return where;
}

XPathDialect::XPathDialect(const SchemaIndex& index) {
  for (const auto& [prefix, ns] : index.prefixes()) prefixes_.insert(prefix);
  prefixes_.insert("xml");
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
  const std::string source(text);
  std::unique_ptr<pugi::xpath_query> query;
  try {
    query = std::make_unique<pugi::xpath_query>(source.c_str());
  } catch (const pugi::xpath_exception& e) {
    const auto offset = e.result().offset;
    return bad_path(text, offset > 0 ? static_cast<std::size_t>(offset) : 0,
                    e.result().description());
  }
  if (query->return_type() != pugi::xpath_type_node_set) {
    return bad_path(text, 0, "the path must select nodes, not a number, string or boolean");
  }
  return std::make_unique<XPath>(source, std::move(query));
}

}  // namespace helsebro::kith
