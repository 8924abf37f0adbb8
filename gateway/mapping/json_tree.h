#pragma once
// A JSON document that remembers where each value stood in its file (line and column), so that
// mapping and configuration errors can point at the exact place an engineer has to fix.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/core/result.h"

namespace helsebro::mapping {

struct JsonNode {
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0;
  std::string string;  // kString: the text; kInt, kDouble: the number as written ("1.50")
  bool plain = false;  // a string of which no byte needs a JSON escape
  std::vector<JsonNode> items;                             // arrays
  std::vector<std::pair<std::string, JsonNode>> members;   // objects, in file order
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kInt || type == Type::kDouble; }
  /// Member by key, or nullptr.
  const JsonNode* find(std::string_view key) const;
  std::string_view type_name() const;
};

/// How deeply arrays and objects may nest in a mapping, terminology or configuration file.
inline constexpr std::size_t kMaxJsonDepth = 256;

/// Parses JSON text; errors carry "LINE:COLUMN: reason" in their detail. Nesting deeper than
/// kMaxJsonDepth is refused, so that no file can exhaust the stack.
/// Numbers keep the digits they were written with.
Result<JsonNode> parse_json_tree(std::string_view text);

}  // namespace helsebro::mapping
