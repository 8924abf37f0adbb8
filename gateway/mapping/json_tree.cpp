#include "gateway/mapping/json_tree.h"

#include "gateway/core/json_tape.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

namespace helsebro::mapping {
namespace {

struct LineIndex {
  std::vector<std::size_t> starts{0};
  explicit LineIndex(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts.push_back(i + 1);
    }
  }
  std::pair<std::uint32_t, std::uint32_t> at(std::size_t offset) const {
    std::size_t lo = 0, hi = starts.size();
    while (hi - lo > 1) {
      const std::size_t mid = (lo + hi) / 2;
      (starts[mid] <= offset ? lo : hi) = mid;
    }
    return {static_cast<std::uint32_t>(lo + 1), static_cast<std::uint32_t>(offset - starts[lo] + 1)};
  }
};

// Builds JsonNodes from SAX events; the stream's position tells where each token ended.
class Builder {
 public:
  Builder(const rapidjson::StringStream& stream, const LineIndex& lines, std::string_view text)
      : stream_(stream), lines_(lines), text_(text) {}

  bool Null() { return scalar(JsonNode{}); }
  bool Bool(bool b) {
    JsonNode n;
    n.type = JsonNode::Type::kBool;
    n.boolean = b;
    return scalar(std::move(n));
  }
  bool Int(int i) { return Int64(i); }
  bool Uint(unsigned u) { return Int64(u); }
  bool Int64(std::int64_t i) {
    JsonNode n;
    n.type = JsonNode::Type::kInt;
    n.integer = i;
    n.number = static_cast<double>(i);
    return scalar(std::move(n));
  }
  // RapidJSON reports every positive integer above UINT32_MAX here, not through Int64.
  bool Uint64(std::uint64_t u) {
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return Int64(static_cast<std::int64_t>(u));
    return Double(static_cast<double>(u));
  }
  bool Double(double d) {
    JsonNode n;
    n.type = JsonNode::Type::kDouble;
    n.number = d;
    return scalar(std::move(n));
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
  bool String(const char* s, rapidjson::SizeType length, bool) {
    JsonNode n;
    n.type = JsonNode::Type::kString;
    n.string.assign(s, length);
    n.plain = json_plain(n.string);
    return scalar(std::move(n));
  }
  bool StartObject() { return open(JsonNode::Type::kObject); }
  bool Key(const char* s, rapidjson::SizeType length, bool) {
    stack_.back().members.emplace_back(std::string(s, length), JsonNode{});
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(JsonNode::Type::kArray); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  JsonNode result;

 private:
  // Position of the token that just ended, pointing at its first character.
  void locate(JsonNode& n, bool container) {
    std::size_t end = stream_.Tell();
    std::size_t start = end > 0 ? end - 1 : 0;
    if (!container) {
      // Walk back over the scalar token that just ended to its first character.
      start = end;
      if (start > 0 && text_[start - 1] == '"') {
        start -= 1;  // the closing quote
        while (start > 0 && !(text_[start - 1] == '"' && (start < 2 || text_[start - 2] != '\\'))) --start;
        if (start > 0) --start;
      } else {
        while (start > 0 && std::string_view("0123456789+-.eEtruefalsn").find(text_[start - 1]) !=
                                std::string_view::npos) {
          --start;
        }
      }
    }
    auto [line, column] = lines_.at(start);
    n.line = line;
    n.column = column;
  }
  bool scalar(JsonNode n) {
    locate(n, false);
    place(std::move(n));
    return true;
  }
  bool open(JsonNode::Type type) {
    JsonNode n;
    n.type = type;
    locate(n, true);
    stack_.push_back(std::move(n));
    return true;
  }
  bool close() {
    JsonNode n = std::move(stack_.back());
    stack_.pop_back();
    place(std::move(n));
    return true;
  }
  void place(JsonNode n) {
    if (stack_.empty()) {
      result = std::move(n);
    } else if (stack_.back().is_array()) {
      stack_.back().items.push_back(std::move(n));
    } else {
      stack_.back().members.back().second = std::move(n);
    }
  }

  const rapidjson::StringStream& stream_;
  const LineIndex& lines_;
  std::string_view text_;
  std::vector<JsonNode> stack_;
};

}  // namespace

const JsonNode* JsonNode::find(std::string_view key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string_view JsonNode::type_name() const {
  switch (type) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kInt:
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "value";
}

Result<JsonNode> parse_json_tree(std::string_view text) {
  const std::string copy(text);  // rapidjson's StringStream needs a terminated buffer
  rapidjson::StringStream stream(copy.c_str());
  LineIndex lines(copy);
  Builder builder(stream, lines, copy);
  rapidjson::Reader reader;
  const rapidjson::ParseResult ok =
      reader.Parse<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseCommentsFlag>(stream, builder);
  if (!ok) {
    auto [line, column] = lines.at(ok.Offset());
    return Error{Errc::kInvalidValue, std::to_string(line) + ":" + std::to_string(column) +
                                          ": " + rapidjson::GetParseError_En(ok.Code())};
  }
  std::size_t rest = stream.Tell();
  while (rest < copy.size() && (copy[rest] == ' ' || copy[rest] == '\n' || copy[rest] == '\r' ||
                                copy[rest] == '\t')) {
    ++rest;
  }
  if (rest != copy.size()) {
    auto [line, column] = lines.at(rest);
    return Error{Errc::kInvalidValue,
                 std::to_string(line) + ":" + std::to_string(column) + ": text after the JSON value"};
  }
  return std::move(builder.result);
}

}  // namespace helsebro::mapping
