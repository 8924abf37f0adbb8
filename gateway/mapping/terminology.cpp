#include "gateway/mapping/terminology.h"

#include "gateway/mapping/json_tree.h"

namespace helsebro::mapping {
namespace {

std::string fold(std::string_view s, bool case_insensitive) {
  std::string out(s);
  if (case_insensitive) {
    for (char& c : out) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
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
  return c;  // no code: a known source code with no target; the value is left out
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace

std::uint64_t TerminologyTable::hash(std::string_view code) const {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: codes are a few bytes
  for (char c : code) h = (h ^ static_cast<unsigned char>(case_insensitive_ ? upper(c) : c)) * 1099511628211ull;
  return h ^ h >> 29;
}

const Coding* TerminologyTable::find(std::string_view code) const {
  if (buckets_.empty()) return nullptr;
  const std::size_t mask = buckets_.size() - 1;
  for (std::size_t b = hash(code) & mask;; b = (b + 1) & mask) {
    const std::uint32_t i = buckets_[b];
    if (i == 0) return nullptr;
    const std::string& key = entries_[i - 1].first;
    if (key.size() != code.size()) continue;
    bool same = true;
    for (std::size_t k = 0; k < code.size() && same; ++k) {
      same = key[k] == (case_insensitive_ ? upper(code[k]) : code[k]);
    }
    if (same) return &entries_[i - 1].second;
  }
}

bool TerminologyTable::add(std::string code, Coding coding) {
  if (find(code) != nullptr) return false;
  entries_.emplace_back(std::move(code), std::move(coding));
  // At most half full, so that a miss (a code the table does not list) ends soon.
  if (entries_.size() * 2 > buckets_.size()) {
    buckets_.assign(std::max<std::size_t>(16, buckets_.size() * 2), 0);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      std::size_t b = hash(entries_[i].first) & (buckets_.size() - 1);
      while (buckets_[b] != 0) b = (b + 1) & (buckets_.size() - 1);
      buckets_[b] = static_cast<std::uint32_t>(i + 1);
    }
    return true;
  }
  const std::size_t mask = buckets_.size() - 1;
  std::size_t b = hash(entries_.back().first) & mask;
  while (buckets_[b] != 0) b = (b + 1) & mask;
  buckets_[b] = static_cast<std::uint32_t>(entries_.size());
  return true;
}

const Coding* TerminologyTable::lookup(std::string_view source_code) const {
  if (const Coding* listed = find(source_code)) return listed;
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
    if (!t.add(k, std::move(*coding))) {
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
