#include "gateway/app/map_command.h"

#include <rapidjson/document.h>
#include <rapidjson/reader.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <fstream>
#include <ostream>
#include <sstream>

#include "adapters/hl7v2/parser.h"
#include "adapters/hl7v2/source_view.h"
#include "adapters/kith/apprec_code.h"
#include "adapters/kith/classifier.h"
#include "adapters/kith/schema_set.h"
#include "adapters/kith/source_view.h"
#include "gateway/intake/kith_message.h"
#include "gateway/app/mappings.h"
#include "gateway/core/files.h"
#include "gateway/validate/fhir_validator.h"

namespace helsebro::app {
Result<mapping::Translation> map_message(const mapping::MappingSet& set, std::string_view bytes,
                                         std::vector<std::string>* unread, bool check_fhir) {
  auto message = hl7v2::parse(bytes);
  if (!message) return message.error();
  const std::size_t msh = message->find_segment("MSH");
  const std::string message_type = message->message_type();
  const mapping::Mapping* mapping = set.find("hl7v2", message_type);
  if (mapping == nullptr) {
    return Error{Errc::kNoMapping, "no mapping takes " + message_type, Location{"MSH", 1, 9}};
  }
  hl7v2::SourceView view(*message);
  const std::string control_id = message->decode(message->field(msh, 10));
  auto translated = mapping->translate(view, {"map:" + control_id, message_type, 0},
                                       check_fhir ? validate::FhirValidator::check_r4_bundle : nullptr);
  if (unread != nullptr) *unread = view.unread();
  return translated;
}

namespace {

// What the AppRec would say, as an error: its code and Norwegian text, never libxml2's detail.
Error refusal(const kith::Rejection& r) {
  using kith::AppRecCode;
  const Errc code = r.code == AppRecCode::kT10                                  ? Errc::kUnsupportedMessageType
                    : (r.code == AppRecCode::kE30 || r.code == AppRecCode::kE31) ? Errc::kInvalidIdentifier
                                                                                 : Errc::kInvalidValue;
  std::string detail = "AppRec ";
  detail.append(kith::info(r.code).code).append(": ").append(r.text);
  Location where;
  where.segment = "line " + std::to_string(r.line);
  return Error{code, std::move(detail), r.line > 0 ? where : Location{}};
}

}  // namespace

Result<mapping::Translation> map_e_message(const mapping::MappingSet& set,
                                           const std::shared_ptr<const kith::SchemaSet>& schemas,
                                           std::string_view bytes, std::vector<std::string>* unread,
                                           bool check_fhir) {
  const kith::Classifier classifier(schemas, kith::ClassifierOptions{});
  const kith::Classification classified = classifier.classify(bytes);
  if (classified.rejection) return refusal(*classified.rejection);
  if (!classified.accepted()) return Error{Errc::kInvalidValue, "not a KITH e-message"};
  const kith::EMessage& message = *classified.message;
  const intake::KithMessageKey key = intake::kith_message_key(message.header(), schemas->index());
  const mapping::Mapping* mapping = set.find("kith", key.type);
  if (mapping == nullptr) return Error{Errc::kNoMapping, "no mapping takes " + key.type};
  if (!mapping->accepts_version(key.version)) {
    return Error{Errc::kUnsupportedVersion,
                 "mapping '" + mapping->name() + "' does not take version " + key.version};
  }
  if (std::string why = intake::kith_payload_mismatch(message.header(), schemas->index(), *mapping); !why.empty()) {
    return Error{Errc::kInvalidValue, "AppRec T99: " + why};
  }
  kith::SourceView view(message.document());
  auto translated = mapping->translate(view, {"map:" + message.header().msg_id, key.type, 0},
                                       check_fhir ? validate::FhirValidator::check_r4_bundle : nullptr);
  if (unread != nullptr) *unread = view.unread();
  return translated;
}

bool looks_like_xml(std::string_view bytes) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  const std::size_t first = bytes.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && bytes[first] == '<';
}

namespace {

// RapidJSON 1.1's PrettyWriter quotes raw numbers; this passes them through as numbers.
template <class Writer>
struct NumbersAsWritten : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, NumbersAsWritten<Writer>> {
  explicit NumbersAsWritten(Writer& w) : writer(w) {}
  bool Null() { return writer.Null(); }
  bool Bool(bool b) { return writer.Bool(b); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return writer.RawValue(s, n, rapidjson::kNumberType); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return writer.String(s, n, copy); }
  bool StartObject() { return writer.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return writer.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) { return writer.EndObject(n); }
  bool StartArray() { return writer.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return writer.EndArray(n); }
  Writer& writer;
};

// A JSON value as written: a number keeps its text, because in FHIR "5.10" and "5.1" are two
// values (a decimal's precision is part of it), though a double holds them as one.
struct Json {
  enum class Kind { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;                                  // a number's or string's
  std::vector<std::pair<std::string, Json>> members;  // an object's, in order
  std::vector<Json> items;                           // an array's
};

// Builds a Json from the reader's events (numbers arrive as their text).
struct JsonBuilder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonBuilder> {
  Json root;
  std::vector<Json*> open;  // the containers being filled
  std::string key;

  Json& add(Json::Kind kind) {
    if (open.empty()) {
      root.kind = kind;
      return root;
    }
    Json& in = *open.back();
    if (in.kind == Json::Kind::kObject) {
      in.members.emplace_back(std::move(key), Json{});
      in.members.back().second.kind = kind;
      return in.members.back().second;
    }
    in.items.emplace_back().kind = kind;
    return in.items.back();
  }
  bool Null() { return add(Json::Kind::kNull), true; }
  bool Bool(bool b) { return add(b ? Json::Kind::kTrue : Json::Kind::kFalse), true; }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return add(Json::Kind::kNumber).text.assign(s, n), true; }
  bool String(const char* s, rapidjson::SizeType n, bool) { return add(Json::Kind::kString).text.assign(s, n), true; }
  bool Key(const char* s, rapidjson::SizeType n, bool) { return key.assign(s, n), true; }
  bool StartObject() { return open.push_back(&add(Json::Kind::kObject)), true; }
  bool EndObject(rapidjson::SizeType) { return open.pop_back(), true; }
  bool StartArray() { return open.push_back(&add(Json::Kind::kArray)), true; }
  bool EndArray(rapidjson::SizeType) { return open.pop_back(), true; }
};

std::optional<Json> parse_as_written(const std::string& text) {
  JsonBuilder builder;
  rapidjson::Reader reader;
  rapidjson::StringStream in(text.c_str());
  if (reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(in, builder).IsError()) return std::nullopt;
  return std::move(builder.root);
}

void write(const Json& v, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  switch (v.kind) {
    case Json::Kind::kNull: w.Null(); break;
    case Json::Kind::kFalse: w.Bool(false); break;
    case Json::Kind::kTrue: w.Bool(true); break;
    case Json::Kind::kNumber: w.RawValue(v.text.data(), v.text.size(), rapidjson::kNumberType); break;
    case Json::Kind::kString: w.String(v.text.data(), static_cast<rapidjson::SizeType>(v.text.size())); break;
    case Json::Kind::kArray:
      w.StartArray();
      for (const Json& item : v.items) write(item, w);
      w.EndArray();
      break;
    case Json::Kind::kObject:
      w.StartObject();
      for (const auto& [key, member] : v.members) {
        w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        write(member, w);
      }
      w.EndObject();
      break;
  }
}

std::string show(const Json& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  write(v, writer);
  std::string text = buffer.GetString();
  return text.size() > 120 ? text.substr(0, 117) + "..." : text;
}

std::string escape_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

const Json* member(const Json& object, const std::string& key) {
  for (const auto& [k, v] : object.members) {
    if (k == key) return &v;
  }
  return nullptr;
}

void diff(const Json& want, const Json& got, const std::string& at, std::vector<std::string>& out) {
  const std::string where = at.empty() ? "/" : at;
  if (want.kind != got.kind) {
    out.push_back(where + ": expected " + show(want) + ", got " + show(got));
    return;
  }
  if (want.kind == Json::Kind::kObject) {
    for (const auto& [key, value] : want.members) {
      const Json* other = member(got, key);
      if (other == nullptr) out.push_back(at + "/" + escape_token(key) + ": missing (expected " + show(value) + ")");
      else diff(value, *other, at + "/" + escape_token(key), out);
    }
    for (const auto& [key, value] : got.members) {
      if (member(want, key) == nullptr) out.push_back(at + "/" + escape_token(key) + ": not expected, got " + show(value));
    }
  } else if (want.kind == Json::Kind::kArray) {
    const std::size_t n = std::min(want.items.size(), got.items.size());
    for (std::size_t i = 0; i < n; ++i) diff(want.items[i], got.items[i], at + "/" + std::to_string(i), out);
    for (std::size_t i = n; i < want.items.size(); ++i) {
      out.push_back(at + "/" + std::to_string(i) + ": missing (expected " + show(want.items[i]) + ")");
    }
    for (std::size_t i = n; i < got.items.size(); ++i) {
      out.push_back(at + "/" + std::to_string(i) + ": not expected, got " + show(got.items[i]));
    }
  } else if (want.text != got.text) {
    out.push_back(where + ": expected " + show(want) + ", got " + show(got));
  }
}

}  // namespace

std::vector<std::string> json_differences(const std::string& expected, const std::string& actual) {
  const std::optional<Json> want = parse_as_written(expected);
  if (!want) return {"/: the expected file is not valid JSON"};
  const std::optional<Json> got = parse_as_written(actual);
  if (!got) return {"/: the Bundle is not valid JSON"};
  std::vector<std::string> out;
  diff(*want, *got, "", out);
  return out;
}

int map_file(const config::Config& config, const MapOptions& options, std::ostream& out, std::ostream& err) {
  const auto input = read_file(options.file);
  if (!input) {
    err << "helsebro map: " << options.file << ": cannot be read\n";
    return 2;
  }
  const std::string kith_schemas = kith_schema_dir(config);
  const bool xml = looks_like_xml(*input);
  std::shared_ptr<const kith::SchemaSet> schemas;
  if (xml) {
    auto loaded = kith::SchemaSet::load(kith_schemas);
    if (!loaded) {
      err << "helsebro map: KITH schemas: " << loaded.error().detail << "\n";
      return 2;
    }
    schemas = *loaded;
  }
  // One translation, as the gateway would make it.
  auto translate = [&](const mapping::MappingSet& set, std::vector<std::string>* unread) {
    return xml ? map_e_message(set, schemas, *input, unread, options.validate)
               : map_message(set, *input, unread, options.validate);
  };
  const auto load_started = std::chrono::steady_clock::now();
  auto set = load_mappings(config.mappings_dir, kith_schemas);
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_started).count();
  if (!set) {
    err << "helsebro map: mappings: " << set.error().detail << "\n";
    return 2;
  }
  if (options.repeat > 1) {
    // For benchmarks: parse, map, validate and serialize N times; and the mapping set's load time.
    const auto started = std::chrono::steady_clock::now();
    std::size_t size = 0;
    for (long i = 0; i < options.repeat; ++i) {
      auto t = translate(**set, nullptr);
      if (!t) {
        err << options.file << ": " << t.error().message() << "\n";
        return 1;
      }
      size += t->bundle.size();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    out << "{\"messages\":" << options.repeat << ",\"seconds\":" << seconds
        << ",\"messages_per_second\":" << options.repeat / seconds
        << ",\"bundle_bytes\":" << size / static_cast<std::size_t>(options.repeat)
        << ",\"validated\":" << (options.validate ? "true" : "false")
        << ",\"mapping_set_load_ms\":" << load_ms << "}\n";
    return 0;
  }
  std::vector<std::string> unread;
  auto translated = translate(**set, options.unmapped ? &unread : nullptr);
  if (!translated) {
    err << options.file << ": " << translated.error().message() << "\n";
    return 1;
  }
  int code = 0;
  if (options.expect_file) {
    const auto expected = read_file(*options.expect_file);
    if (!expected) {
      err << "helsebro map: " << *options.expect_file << ": cannot be read\n";
      return 2;
    }
    const auto differences = json_differences(*expected, translated->bundle);
    if (differences.empty()) {
      out << options.file << ": as expected (" << *options.expect_file << ")\n";
    } else {
      out << options.file << ": " << differences.size() << " difference(s) from " << *options.expect_file << "\n";
      for (const auto& d : differences) out << "  " << d << "\n";
      code = 1;
    }
  } else {
    // Re-indent without turning numbers into doubles: decimals keep the sender's digits.
    rapidjson::StringBuffer buffer;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
    writer.SetIndent(' ', 2);
    rapidjson::Reader reader;
    rapidjson::StringStream stream(translated->bundle.c_str());
    NumbersAsWritten<rapidjson::PrettyWriter<rapidjson::StringBuffer>> numbers(writer);
    reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, numbers);
    out << buffer.GetString() << "\n";
  }
  if (options.unmapped) {
    err << options.file << ": " << unread.size() << (xml ? " attribute(s) or text(s) with data" : " non-empty component(s) or sub-component(s)")
        << " no rule read"
        << (unread.empty() ? "" : ":") << "\n";
    for (const auto& path : unread) err << "  " << path << "\n";
  }
  return code;
}

}  // namespace helsebro::app
