#include "gateway/mapping/json_tree.h"

#include "gateway/core/json_tape.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cstdlib>

namespace helsebro::mapping {
namespace {

// Line and column of a byte offset; columns count characters, as editors do, not bytes (an "ø"
// before the place is one column, not two).
struct LineIndex {
  std::string_view text;
  std::vector<std::size_t> starts{0};
  explicit LineIndex(std::string_view t) : text(t) {
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
    // Counted on from the place asked before when it lies on this line before this one: the
    // parser asks in file order, so a file on one line costs one pass, not one per value.
    std::size_t from = starts[lo];
    std::uint32_t column = 1;
    if (cached_line_ == lo && cached_offset_ <= offset && cached_offset_ >= from) {
      from = cached_offset_;
      column = cached_column_;
    }
    for (std::size_t i = from; i < offset && i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;  // not a continuation byte
    }
    cached_line_ = lo;
    cached_offset_ = offset;
    cached_column_ = column;
    return {static_cast<std::uint32_t>(lo + 1), column};
  }

 private:
  mutable std::size_t cached_line_ = static_cast<std::size_t>(-1);
  mutable std::size_t cached_offset_ = 0;
  mutable std::uint32_t cached_column_ = 1;
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
    n.string = std::to_string(i);
    return scalar(std::move(n));
  }
  bool Uint64(std::uint64_t u) { return RawNumber(std::to_string(u)); }
  bool Double(double d) {
    JsonNode n;
    n.type = JsonNode::Type::kDouble;
    n.number = d;
    return scalar(std::move(n));
  }
  // Numbers arrive as their text (kParseNumbersAsStringsFlag): a decimal keeps its digits
  // ("1.50" stays 1.50 in a FHIR decimal), and an integer too large for 64 bits its value.
  bool RawNumber(const char* s, rapidjson::SizeType length, bool) { return RawNumber(std::string(s, length)); }
  bool RawNumber(std::string text) {
    JsonNode n;
    n.type = JsonNode::Type::kDouble;
    if (text.find_first_of(".eE") == std::string::npos) {
      std::int64_t i = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec == std::errc{} && end == text.data() + text.size()) {
        n.type = JsonNode::Type::kInt;
        n.integer = i;
      }
    }
    n.number = n.type == JsonNode::Type::kInt ? static_cast<double>(n.integer) : std::strtod(text.c_str(), nullptr);
    n.string = std::move(text);
    return scalar(std::move(n));
  }
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
  bool too_deep = false;

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
    if (stack_.size() >= kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
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
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    return Error{Errc::kInvalidValue, "1:1: the file starts with a byte-order mark: save it as UTF-8 without one"};
  }
  const std::string copy(text);  // rapidjson's StringStream needs a terminated buffer
  rapidjson::StringStream stream(copy.c_str());
  LineIndex lines(copy);
  Builder builder(stream, lines, copy);
  rapidjson::Reader reader;
  // The reader recurses once per level, and the builder stops it at kMaxJsonDepth.
  constexpr unsigned kFlags = rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseCommentsFlag |
                              rapidjson::kParseNumbersAsStringsFlag;
  const rapidjson::ParseResult ok = reader.Parse<kFlags>(stream, builder);
  if (!ok) {
    // Too deep: the reader has taken the bracket that opened one level too many; point at it.
    const std::size_t at = builder.too_deep && ok.Offset() > 0 ? ok.Offset() - 1 : ok.Offset();
    auto [line, column] = lines.at(at);
    const std::string why = builder.too_deep ? "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                                             : rapidjson::GetParseError_En(ok.Code());
    return Error{Errc::kInvalidValue, std::to_string(line) + ":" + std::to_string(column) + ": " + why};
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
