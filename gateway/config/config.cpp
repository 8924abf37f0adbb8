#include "gateway/config/config.h"

#include "gateway/core/files.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace helsebro::config {
namespace {

std::string pointer_text(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.StringifyUriFragment(sb);
  std::string s = sb.GetString();
  if (!s.empty() && s[0] == '#') s.erase(0, 1);
  return s.empty() ? "/" : s;
}

// Turns RapidJSON's validation error into one readable sentence with a precise pointer.
[[noreturn]] void throw_schema_error(const rapidjson::SchemaValidator& v,
                                     const rapidjson::Document& doc, const std::string& source) {
  std::string pointer = pointer_text(v.GetInvalidDocumentPointer());
  const std::string keyword = v.GetInvalidSchemaKeyword();
  std::string reason = "violates \"" + keyword + "\"";
  rapidjson::Document schema;
  schema.Parse(config_schema().c_str());
  const std::string schema_ptr = pointer_text(v.GetInvalidSchemaPointer());
  const rapidjson::Value* s = rapidjson::Pointer(schema_ptr == "/" ? "" : schema_ptr.c_str()).Get(schema);
  const rapidjson::Value* value =
      rapidjson::Pointer(pointer == "/" ? "" : pointer.c_str()).Get(doc);
  if (keyword == "additionalProperties" && s && s->HasMember("properties")) {
    // The object's schema sits at /properties/a/properties/b…: one document token per pair.
    const rapidjson::Pointer& at = v.GetInvalidDocumentPointer();
    const std::size_t tokens = at.GetTokenCount();
    const auto* last = tokens > 0 ? &at.GetTokens()[tokens - 1] : nullptr;
    const std::string last_key = last ? std::string(last->name, last->length) : std::string();
    if (last && last->index == rapidjson::kPointerInvalidIndex && !(*s)["properties"].HasMember(last_key.c_str())) {
      // RapidJSON 1.1 reports the pointer of the offending key itself (also inside arrays).
      reason = "unknown key \"" + last_key + "\"";
    } else if (value && value->IsObject()) {
      // The pointer names the object: find the first key the schema does not list.
      for (auto it = value->MemberBegin(); it != value->MemberEnd(); ++it) {
        if (!(*s)["properties"].HasMember(it->name)) {
          const std::string key = it->name.GetString();
          pointer = (pointer == "/" ? "" : pointer) + "/" + key;
          reason = "unknown key \"" + key + "\"";
          break;
        }
      }
    }
  } else if (keyword == "required" && s && s->HasMember("required") && value && value->IsObject()) {
    for (const auto& key : (*s)["required"].GetArray()) {
      if (!value->HasMember(key)) {
        reason = "needs \"" + std::string(key.GetString()) + "\"";
        break;
      }
    }
  } else {
    if (keyword == "type") reason = "has the wrong type";
    else if (keyword == "minimum" || keyword == "maximum") reason = "is out of range";
    else if (keyword == "enum") reason = "is not one of the allowed values";
    else if (keyword == "pattern") reason = "does not match the expected form";
    else if (keyword == "minLength") reason = "must not be empty";
    if (s && s->HasMember("description")) reason += " (" + std::string((*s)["description"].GetString()) + ")";
  }
  throw ConfigError(source, pointer, reason);
}

const rapidjson::Value* member(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

void read(const rapidjson::Value& v, const char* key, std::string& out) {
  if (auto* m = member(v, key)) out = m->GetString();
}
void read(const rapidjson::Value& v, const char* key, double& out) {
  if (auto* m = member(v, key)) out = m->GetDouble();
}
void read(const rapidjson::Value& v, const char* key, bool& out) {
  if (auto* m = member(v, key)) out = m->GetBool();
}
template <class Int>
void read_int(const rapidjson::Value& v, const char* key, Int& out) {
  if (auto* m = member(v, key)) out = static_cast<Int>(m->GetInt64());
}

std::uint16_t env_port(const char* name, const char* value) {
  unsigned port = 0;
  const std::string_view text(value);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || ptr != text.data() + text.size() || port > 65535) {
    throw ConfigError(std::string("environment variable ") + name, "", "'" + std::string(text) +
                                                                          "' is not a port number (0-65535)");
  }
  return static_cast<std::uint16_t>(port);
}

TlsConfig read_tls(const rapidjson::Value& t) {
  TlsConfig c;
  c.enabled = true;
  read(t, "certFile", c.cert_file);
  read(t, "keyFile", c.key_file);
  read(t, "caFile", c.ca_file);
  read(t, "requireClientCertificate", c.require_client_certificate);
  return c;
}

// A certificate subject written as OpenSSL's one-line form wrote it, with each byte of a letter
// such as "å" as \xC3\xA5: those bytes (0x80 and up, which the gateway's own form keeps as they
// are) become the bytes again, so that a rule written before still matches. An escaped
// backslash ("\\") and the control characters the gateway writes as \xHH stay as they are.
std::string subject_rule(const std::string& text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\\') {
      out.append("\\\\");
      ++i;
      continue;
    }
    if (text[i] == '\\' && i + 3 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
      const int high = hex(text[i + 2]), low = hex(text[i + 3]);
      if (high >= 8 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::vector<SenderRuleConfig> read_senders(const rapidjson::Value& list) {
  std::vector<SenderRuleConfig> out;
  for (const auto& rule : list.GetArray()) {
    SenderRuleConfig r;
    read(rule, "certificateSubject", r.certificate_subject);
    r.certificate_subject = subject_rule(r.certificate_subject);
    read(rule, "sendingApplication", r.sending_application);
    read(rule, "sendingFacility", r.sending_facility);
    out.push_back(std::move(r));
  }
  return out;
}

MllpConfig read_mllp(const rapidjson::Value& m) {
  MllpConfig c;
  read(m, "channel", c.channel);
  read(m, "host", c.host);
  read_int(m, "port", c.port);
  read_int(m, "maxFrameBytes", c.max_frame_bytes);
  read(m, "idleTimeoutSeconds", c.idle_timeout_seconds);
  read(m, "readTimeoutSeconds", c.read_timeout_seconds);
  read_int(m, "maxConnections", c.max_connections);
  read(m, "charset", c.charset);
  read(m, "fallbackCharset", c.fallback_charset);
  read(m, "duplicateWindowSeconds", c.duplicate_window_seconds);
  if (auto* mode = member(m, "ackMode")) c.original_ack_mode_only = std::string(mode->GetString()) == "original";
  read(m, "holdUnmapped", c.hold_unmapped);
  if (auto* ids = member(m, "processingIds")) {
    c.processing_ids.clear();
    for (const auto& id : ids->GetArray()) c.processing_ids.emplace_back(id.GetString());
  }
  read(m, "acceptInvalidPersonId", c.accept_invalid_person_id);
  if (auto* translate = member(m, "translate")) c.translate_after_ack = std::string(translate->GetString()) == "afterAck";
  if (auto* tls = member(m, "tls")) c.tls = read_tls(*tls);
  if (auto* senders = member(m, "allowedSenders")) c.allowed_senders = read_senders(*senders);
  return c;
}

HttpsConfig read_https(const rapidjson::Value& h, const std::string& source) {
  HttpsConfig c;
  c.enabled = true;
  read(h, "host", c.host);
  read_int(h, "port", c.port);
  c.tls = read_tls(*member(h, "tls"));  // required by the schema
  if (auto* senders = member(h, "allowedSenders")) c.allowed_senders = read_senders(*senders);
  if (!c.allowed_senders.empty() && c.tls.ca_file.empty()) {
    throw ConfigError(source, "/https/tls/caFile",
                      "allowedSenders needs caFile: senders are told apart by their client certificates");
  }
  return c;
}

std::string normal_path(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  if (ec) p = std::filesystem::path(path).lexically_normal();
  std::string text = p.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

std::vector<InboundDirectoryConfig> read_inbound_directories(const rapidjson::Value& list, const std::string& source) {
  std::vector<InboundDirectoryConfig> out;
  std::vector<std::string> paths;
  for (const auto& item : list.GetArray()) {
    InboundDirectoryConfig d;
    read(item, "channel", d.channel);
    read(item, "path", d.path);
    read(item, "format", d.format);
    read_int(item, "pollMilliseconds", d.poll_milliseconds);
    read_int(item, "maxFileBytes", d.max_file_bytes);
    const std::string at = "/inboundDirectories/" + std::to_string(out.size());
    const std::string path = normal_path(d.path);
    for (const auto& seen : paths) {
      // One watcher per folder, and none inside another's (its processed/ and error/ live there).
      const bool nested = path.rfind(seen + "/", 0) == 0 || seen.rfind(path + "/", 0) == 0;
      if (seen == path || nested) {
        throw ConfigError(source, at + "/path", "\"" + d.path + "\" is, or is inside, another inbound directory");
      }
    }
    paths.push_back(path);
    out.push_back(std::move(d));
  }
  return out;
}

FhirTlsConfig read_fhir_tls(const rapidjson::Value& t, const std::string& source) {
  FhirTlsConfig c;
  read(t, "caFile", c.ca_file);
  read(t, "certFile", c.cert_file);
  read(t, "keyFile", c.key_file);
  if (c.cert_file.empty() != c.key_file.empty()) {
    throw ConfigError(source, c.cert_file.empty() ? "/fhir/tls/certFile" : "/fhir/tls/keyFile",
                      "certFile and keyFile go together (the client certificate for mutual TLS and its key)");
  }
  return c;
}

FhirAuthConfig read_fhir_auth(const rapidjson::Value& a, const std::string& source) {
  using Type = FhirAuthConfig::Type;
  FhirAuthConfig c;
  const std::string type = member(a, "type")->GetString();
  c.type = type == "client_secret" ? Type::kClientSecret : Type::kPrivateKeyJwt;
  read(a, "tokenUrl", c.token_url);
  read(a, "clientId", c.client_id);
  read(a, "clientSecret", c.client_secret);
  read(a, "scope", c.scope);
  read(a, "privateKeyFile", c.private_key_file);
  read(a, "keyId", c.key_id);
  read(a, "algorithm", c.algorithm);
  // Keys of the other type are refused rather than ignored: they show a misunderstanding.
  const char* const jwt_only[] = {"privateKeyFile", "keyId", "algorithm"};
  if (c.type == Type::kClientSecret) {
    for (const char* key : jwt_only) {
      if (member(a, key)) throw ConfigError(source, std::string("/fhir/auth/") + key, "only for type private_key_jwt");
    }
  } else {
    if (member(a, "clientSecret")) throw ConfigError(source, "/fhir/auth/clientSecret", "only for type client_secret");
    if (c.private_key_file.empty()) {
      throw ConfigError(source, "/fhir/auth/privateKeyFile", "type private_key_jwt needs privateKeyFile");
    }
  }
  return c;
}

}  // namespace

void check_fhir_auth(const Config& c, const std::string& source) {
  if (c.fhir.auth.type == FhirAuthConfig::Type::kClientSecret && c.fhir.auth.client_secret.empty()) {
    throw ConfigError(source, "/fhir/auth/clientSecret",
                      "type client_secret needs clientSecret or the environment variable HELSEBRO_FHIR_CLIENT_SECRET");
  }
}

Config parse_config(const std::string& text, const std::string& source) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag>(text.c_str(), text.size());
  if (doc.HasParseError()) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < doc.GetErrorOffset() && i < text.size(); ++i) {
      if (text[i] == '\n') ++line, column = 1;
      else ++column;
    }
    throw ConfigError(source, "", "line " + std::to_string(line) + ", column " + std::to_string(column) +
                                      ": " + rapidjson::GetParseError_En(doc.GetParseError()));
  }
  rapidjson::Document schema_doc;
  schema_doc.Parse(config_schema().c_str());
  rapidjson::SchemaDocument schema(schema_doc);
  rapidjson::SchemaValidator validator(schema);
  if (!doc.Accept(validator)) throw_schema_error(validator, doc, source);

  Config c;
  read(doc, "dataDir", c.data_dir);
  read(doc, "mappingsDir", c.mappings_dir);
  read_int(doc, "threads", c.threads);
  read_int(doc, "maxBacklog", c.max_backlog);
  if (auto* keep = member(doc, "retention")) {
    read(*keep, "deliveredDays", c.keep_delivered_days);
    read(*keep, "rejectedDays", c.keep_rejected_days);
  }
  if (auto* log = member(doc, "log")) read(*log, "level", c.log_level);
  if (auto* admin = member(doc, "admin")) read(*admin, "token", c.admin_token);
  read(doc, "mappingsWatch", c.mappings_watch);
  if (auto* m = member(doc, "mllp")) c.mllp = read_mllp(*m);
  if (auto* list = member(doc, "mllpChannels")) {
    for (const auto& item : list->GetArray()) c.mllp_channels.push_back(read_mllp(item));
  }
  auto check_tls = [&source](const TlsConfig& tls, const std::string& at) {
    if (tls.require_client_certificate && tls.ca_file.empty()) {
      throw ConfigError(source, at + "/tls/caFile", "requireClientCertificate needs caFile to verify clients");
    }
  };
  check_tls(c.mllp.tls, "/mllp");
  for (std::size_t i = 0; i < c.mllp_channels.size(); ++i) {
    check_tls(c.mllp_channels[i].tls, "/mllpChannels/" + std::to_string(i));
  }
  if (auto* list = member(doc, "inboundDirectories")) c.inbound_directories = read_inbound_directories(*list, source);
  // Channel names are journal columns and metric labels: MLLP channels and inbound directories
  // share one name space.
  // The HTTP intake's and the listeners' own names are taken too.
  static const std::vector<std::string> kOwn{"http-hl7v2", "http-kith", "http-fhir", "http", "https"};
  std::vector<std::string> names;
  auto check_unique = [&names, &source](const std::string& name, const std::string& at) {
    if (std::find(kOwn.begin(), kOwn.end(), name) != kOwn.end()) {
      throw ConfigError(source, at, "channel name \"" + name + "\" is the gateway's own (its HTTP intake and listeners)");
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      throw ConfigError(source, at, "channel name \"" + name + "\" is used twice");
    }
    names.push_back(name);
  };
  check_unique(c.mllp.channel, "/mllp/channel");
  for (std::size_t i = 0; i < c.mllp_channels.size(); ++i) {
    check_unique(c.mllp_channels[i].channel, "/mllpChannels/" + std::to_string(i) + "/channel");
  }
  for (std::size_t i = 0; i < c.inbound_directories.size(); ++i) {
    check_unique(c.inbound_directories[i].channel, "/inboundDirectories/" + std::to_string(i) + "/channel");
  }
  // A resend is known as one only while its original is in the journal: retention must not
  // remove delivered messages before the duplicate window has passed.
  auto seconds = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", v);
    return std::string(text);
  };
  auto check_window = [&](const MllpConfig& m, const std::string& at) {
    if (m.duplicate_window_seconds > c.keep_delivered_days * 86400) {
      throw ConfigError(source, "/retention/deliveredDays",
                        "delivered messages are removed after " + seconds(c.keep_delivered_days * 86400) +
                            " s, before the duplicate window of " + at + " (" +
                            seconds(m.duplicate_window_seconds) +
                            " s) has passed: a resend after that would be stored and delivered again");
    }
  };
  check_window(c.mllp, "/mllp/duplicateWindowSeconds");
  for (std::size_t i = 0; i < c.mllp_channels.size(); ++i) {
    check_window(c.mllp_channels[i], "/mllpChannels/" + std::to_string(i) + "/duplicateWindowSeconds");
  }
  if (auto* h = member(doc, "http")) {
    read(*h, "host", c.http.host);
    read_int(*h, "port", c.http.port);
    read_int(*h, "maxBodyBytes", c.http.max_body_bytes);
    read_int(*h, "maxConnections", c.http.max_connections);
    read(*h, "readTimeoutSeconds", c.http.read_timeout_seconds);
  }
  if (auto* h = member(doc, "https")) {
    c.https = read_https(*h, source);
    check_tls(c.https.tls, "/https");
  }
  if (auto* k = member(doc, "kith")) {
    c.kith.configured = true;
    if (auto* ids = member(*k, "receiverHerIds")) {
      for (const auto& id : ids->GetArray()) c.kith.receiver_her_ids.emplace_back(id.GetString());
    }
    read(*k, "apprecVersion", c.kith.apprec_version);
    read(*k, "schemasDir", c.kith.schemas_dir);
    read(*k, "requireKnownPatient", c.kith.require_known_patient);
    read(*k, "acceptTestMessages", c.kith.accept_test_messages);
    read_int(*k, "maxBodyBytes", c.kith.max_body_bytes);
    if (auto* l = member(*k, "patientLookup")) {
      PatientLookupConfig& lookup = c.kith.patient_lookup;
      read(*l, "cacheSeconds", lookup.cache_seconds);
      read(*l, "unknownCacheSeconds", lookup.unknown_cache_seconds);
      read(*l, "timeoutSeconds", lookup.timeout_seconds);
      read_int(*l, "maxCachedPatients", lookup.max_cached);
      read_int(*l, "connections", lookup.connections);
      read_int(*l, "maxWaiting", lookup.max_waiting);
    }
  }
  if (auto* f = member(doc, "fhir")) {
    read(*f, "baseUrl", c.fhir.base_url);
    read(*f, "timeoutSeconds", c.fhir.timeout_seconds);
    read_int(*f, "lanes", c.fhir.lanes);
    if (auto* r = member(*f, "retry")) {
      read(*r, "initialSeconds", c.fhir.retry.initial_seconds);
      read(*r, "maxSeconds", c.fhir.retry.max_seconds);
      read_int(*r, "maxAttempts", c.fhir.retry.max_attempts);
      read(*r, "maxAgeSeconds", c.fhir.retry.max_age_seconds);
    }
    if (auto* t = member(*f, "tls")) c.fhir.tls = read_fhir_tls(*t, source);
    if (auto* a = member(*f, "auth")) c.fhir.auth = read_fhir_auth(*a, source);
  }
  if (c.fhir.retry.max_seconds < c.fhir.retry.initial_seconds) {
    throw ConfigError(source, "/fhir/retry/maxSeconds", "must not be smaller than initialSeconds");
  }
  return c;
}

void apply_environment(Config& c) {
  if (const char* v = std::getenv("HELSEBRO_MLLP_PORT")) c.mllp.port = env_port("HELSEBRO_MLLP_PORT", v);
  if (const char* v = std::getenv("HELSEBRO_HTTP_PORT")) c.http.port = env_port("HELSEBRO_HTTP_PORT", v);
  if (const char* v = std::getenv("HELSEBRO_HTTPS_PORT")) c.https.port = env_port("HELSEBRO_HTTPS_PORT", v);
  if (const char* v = std::getenv("HELSEBRO_DATA_DIR"); v && *v) c.data_dir = v;
  if (const char* v = std::getenv("HELSEBRO_MAPPINGS_DIR"); v && *v) c.mappings_dir = v;
  if (const char* v = std::getenv("HELSEBRO_ADMIN_TOKEN"); v && *v) {
    if (std::string_view(v).size() < 16) {
      throw ConfigError("environment variable HELSEBRO_ADMIN_TOKEN", "", "must be at least 16 characters");
    }
    c.admin_token = v;
  }
  if (const char* v = std::getenv("HELSEBRO_FHIR_BASE_URL"); v && *v) {
    const std::string url = v;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      throw ConfigError("environment variable HELSEBRO_FHIR_BASE_URL", "", "must start with http:// or https://");
    }
    c.fhir.base_url = url;
  }
  if (const char* v = std::getenv("HELSEBRO_FHIR_CLIENT_SECRET"); v && *v) c.fhir.auth.client_secret = v;
}

Config load_config(const std::optional<std::string>& file) {
  Config c;
  if (file) {
    const auto text = read_file(*file);
    if (!text) throw ConfigError(*file, "", "cannot be read");
    c = parse_config(*text, *file);
  }
  apply_environment(c);
  check_fhir_auth(c, file.value_or("configuration"));
  return c;
}

}  // namespace helsebro::config
