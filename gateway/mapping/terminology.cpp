#include "gateway/mapping/terminology.h"

#include "gateway/core/json_tape.h"
#include "gateway/mapping/json_tree.h"

namespace helsebro::mapping {
namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string fold(std::string_view s, bool case_insensitive) {
  std::string out(s);
  if (case_insensitive) {
    for (char& c : out) c = upper(c);
  }
  return out;
}

Error at(const std::string& file, const JsonNode& node, const std::string& why) {
  return Error{Errc::kInvalidValue, file + ":" + std::to_string(node.line) + ":" +
                                        std::to_string(node.column) + ": " + why};
}

Result<Coding> read_coding(const std::string& file, const JsonNode& node, const std::string& system) {
  if (!node.is_object()) return at(file, node, "expected an object with \"code\"");
  Coding c;
  c.system = system;
  for (const auto& [key, value] : node.members) {
    if (!value.is_string()) return at(file, value, "\"" + key + "\" must be a string");
    if (key == "code") c.code = value.string;
    else if (key == "system") c.system = value.string;
    else if (key == "display") c.display = value.string;
    else if (key != "from" && key != "comment") return at(file, value, "unknown key \"" + key + "\"");
  }
  c.plain = json_plain(c.system) && json_plain(c.code) && json_plain(c.display);
  return c;  // no code: a known source code with no target; the value is left out
}

}  // namespace

const Coding* TerminologyTable::lookup(std::string_view source_code) const {
  const Coding* listed = nullptr;
  if (!case_insensitive_) {
    listed = entries_.find(source_code);
  } else if (source_code.size() <= 64) {
    // Codes are short: folded on the stack rather than into a string.
    char folded[64];
    for (std::size_t i = 0; i < source_code.size(); ++i) folded[i] = upper(source_code[i]);
    listed = entries_.find({folded, source_code.size()});
  } else {
    listed = entries_.find(fold(source_code, true));
  }
  if (listed != nullptr) return listed;
  return default_ ? &*default_ : nullptr;
}

Result<TerminologyTable> TerminologyTable::load(const std::string& file, std::string_view text) {
  auto tree = parse_json_tree(text);
  if (!tree) return Error{Errc::kInvalidValue, file + ":" + tree.error().detail};
  const JsonNode& root = *tree;
  if (!root.is_object()) return at(file, root, "a terminology file is a JSON object");
  TerminologyTable t;
  const JsonNode* entries = nullptr;
  const JsonNode* fallback = nullptr;
  for (const auto& [key, value] : root.members) {
    if (key == "table" && value.is_string()) t.name_ = value.string;
    else if (key == "system" && value.is_string()) t.system_ = value.string;
    else if (key == "caseInsensitive" && value.type == JsonNode::Type::kBool) t.case_insensitive_ = value.boolean;
    else if (key == "entries" && value.is_array()) entries = &value;
    else if (key == "default") fallback = &value;
    else if (key == "$schema" || key == "description" || key == "source") continue;
    else return at(file, value, "unknown or mistyped key \"" + key + "\"");
  }
  if (t.name_.empty()) return at(file, root, "\"table\" (the table's name) is required");
  if (entries == nullptr) return at(file, root, "\"entries\" (an array) is required");
  for (const JsonNode& entry : entries->items) {
    const JsonNode* from = entry.find("from");
    if (from == nullptr || !from->is_string()) return at(file, entry, "each entry needs \"from\"");
    auto coding = read_coding(file, entry, t.system_);
    if (!coding) return coding.error();
    const std::string k = fold(from->string, t.case_insensitive_);
    if (!t.entries_.insert(k, std::move(*coding))) {
      return at(file, *from, "\"" + from->string + "\" is listed twice");
    }
  }
  if (fallback != nullptr) {
    auto coding = read_coding(file, *fallback, t.system_);
    if (!coding) return coding.error();
    t.default_ = std::move(*coding);
  }
  return t;
}

}  // namespace helsebro::mapping
