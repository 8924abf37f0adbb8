#include "gateway/core/json_tape.h"

#include <rapidjson/document.h>

namespace helsebro {

void JsonTape::close(std::size_t at) {
  std::uint32_t count = 0;
  for (std::size_t i = at + 1; i < tokens_.size(); i += tokens_[i].span) ++count;
  tokens_[at].size = count;
  tokens_[at].span = static_cast<std::uint32_t>(tokens_.size() - at);
}

const JsonToken* find_member(const JsonToken& object, std::string_view key) {
  const JsonToken* member = &object + 1;
  for (std::uint32_t k = 0; k < object.size; ++k, member += member->span) {
    if (member->key_view() == key) return member;
  }
  return nullptr;
}

void append_rapidjson(const rapidjson::Value& root, JsonTape& tape) {
  struct Frame {
    const rapidjson::Value* container;
    rapidjson::SizeType next;
    std::size_t at;
  };
  std::vector<Frame> open;
  auto put = [&](const rapidjson::Value& v, const rapidjson::Value* key) {
    const std::size_t at = tape.size();
    switch (v.GetType()) {
      case rapidjson::kNullType: tape.push_null(); break;
      case rapidjson::kFalseType: tape.push_bool(false); break;
      case rapidjson::kTrueType: tape.push_bool(true); break;
      case rapidjson::kNumberType:
        if (v.IsInt64()) tape.push_int(v.GetInt64());
        else tape.push_double(v.GetDouble());  // a uint64 above int64 too
        break;
      case rapidjson::kStringType: tape.push_string({v.GetString(), v.GetStringLength()}); break;
      case rapidjson::kObjectType:
      case rapidjson::kArrayType:
        tape.open(v.IsObject() ? JsonToken::Kind::kObject : JsonToken::Kind::kArray);
        open.push_back({&v, 0, at});
        break;
    }
    if (key != nullptr) tape.set_key(at, {key->GetString(), key->GetStringLength()});
  };
  put(root, nullptr);
  while (!open.empty()) {
    Frame& f = open.back();
    const rapidjson::Value& c = *f.container;
    if (c.IsObject() && f.next < c.MemberCount()) {
      const auto m = c.MemberBegin() + f.next++;
      put(m->value, &m->name);  // may grow `open`: f is not used after this
      continue;
    }
    if (c.IsArray() && f.next < c.Size()) {
      put(c[f.next++], nullptr);
      continue;
    }
    tape.close(f.at);
    open.pop_back();
  }
}

}  // namespace helsebro
