#include "adapters/kith/schema_index.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>

#include "adapters/kith/strings.h"
#include "gateway/core/files.h"

namespace helsebro::kith {
namespace {

Error index_error(const std::filesystem::path& file, std::string_view why) {
  std::string detail = file.string();
  detail.append(": ");
  detail.append(why);
  return Error{Errc::kInvalidValue, std::move(detail)};
}

std::string member(const rapidjson::Value& v, const char* name) {
  const auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string{};
}

bool flag(const rapidjson::Value& v, const char* name) {
  const auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsBool() && it->value.GetBool();
}

bool parse_kind(std::string_view text, SchemaKind& out) {
  static constexpr std::pair<std::string_view, SchemaKind> kKinds[] = {
      {"envelope", SchemaKind::kEnvelope},
      {"receipt", SchemaKind::kReceipt},
      {"message", SchemaKind::kMessage},
      {"attachment", SchemaKind::kAttachment},
      {"component", SchemaKind::kComponent}};
  for (const auto& [name, kind] : kKinds) {
    if (name == text) {
      out = kind;
      return true;
    }
  }
  return false;
}

bool parse_patient(std::string_view text, PatientRule& out) {
  if (text.empty() || text == "none")
    out = PatientRule::kNone;
  else if (text == "optional")
    out = PatientRule::kOptional;
  else if (text == "required")
    out = PatientRule::kRequired;
  else
    return false;
  return true;
}

}  // namespace

Result<SchemaIndex> SchemaIndex::load(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "index.json";
  const auto text = read_file(file);
  if (!text) return index_error(file, "cannot be read");
  rapidjson::Document json;
  json.Parse(text->c_str(), text->size());
  if (json.HasParseError())
    return index_error(file, rapidjson::GetParseError_En(json.GetParseError()));
  const auto list = json.IsObject() ? json.FindMember("namespaces") : json.MemberEnd();
  if (!json.IsObject() || list == json.MemberEnd() || !list->value.IsArray()) {
    return index_error(file, "expected an object with an array \"namespaces\"");
  }
  SchemaIndex index;
  index.dir_ = dir;
  for (const auto& item : list->value.GetArray()) {
    SchemaEntry e;
    if (!item.IsObject())
      return index_error(file, "every entry of \"namespaces\" must be an object");
    e.ns = member(item, "namespace");
    e.schema = member(item, "schema");
    e.prefix = member(item, "prefix");
    e.message = member(item, "message");
    e.version = member(item, "version");
    e.root = flag(item, "root");
    e.payload = flag(item, "payload");
    const std::string where = cat({"entry for '", e.ns, "'"});
    if (e.ns.empty() || e.schema.empty() || e.prefix.empty()) {
      return index_error(file, cat({where, ": namespace, schema and prefix are required"}));
    }
    if (!parse_kind(member(item, "kind"), e.kind))
      return index_error(file, cat({where, ": unknown kind"}));
    if (!parse_patient(member(item, "patient"), e.patient)) {
      return index_error(file, cat({where, ": patient must be none, optional or required"}));
    }
    if (index.find(e.ns) != nullptr)
      return index_error(file, cat({where, ": namespace listed twice"}));
    if (!std::filesystem::is_regular_file(dir / e.schema)) {
      return index_error(file, cat({where, ": schema file '", e.schema, "' is missing"}));
    }
    index.entries_.push_back(std::move(e));
  }
  return index;
}

const SchemaEntry* SchemaIndex::find(std::string_view ns) const {
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [ns](const SchemaEntry& e) { return e.ns == ns; });
  return it == entries_.end() ? nullptr : &*it;
}

std::vector<std::pair<std::string, std::string>> SchemaIndex::prefixes() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(entries_.size() + 1);
  for (const SchemaEntry& e : entries_) out.emplace_back(e.prefix, e.ns);
  out.emplace_back("xsi", std::string(kXsiNamespace));
  return out;
}

}  // namespace helsebro::kith
