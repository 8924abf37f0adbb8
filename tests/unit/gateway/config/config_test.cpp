#include "gateway/config/config.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <map>

#include "unit/temp_dir.h"

namespace helsebro::config {
namespace {

const char* const kEnvironment[] = {"HELSEBRO_MLLP_PORT", "HELSEBRO_HTTP_PORT", "HELSEBRO_HTTPS_PORT", "HELSEBRO_DATA_DIR",
                                    "HELSEBRO_MAPPINGS_DIR", "HELSEBRO_FHIR_BASE_URL",
                                    "HELSEBRO_FHIR_CLIENT_SECRET"};

// Each test starts without HELSEBRO_* variables; whatever the process had is restored after.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kEnvironment) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      ::unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kEnvironment) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

  /// The message of the ConfigError that parsing `text` throws.
  static std::string error_of(const std::string& text) {
    try {
      parse_config(text, "helsebro.json");
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted: " << text;
    return {};
  }

  /// The message of the ConfigError that applying the environment throws.
  static std::string env_error() {
    Config c;
    try {
      apply_environment(c);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "the environment was accepted";
    return {};
  }

  std::map<std::string, std::string> saved_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void expect_defaults(const Config& c) {
  EXPECT_EQ(c.data_dir, "./var/helsebro");
  EXPECT_EQ(c.mappings_dir, "./mappings");
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.mllp.channel, "mllp");
  EXPECT_EQ(c.mllp.host, "127.0.0.1");
  EXPECT_EQ(c.mllp.port, 2575);
  EXPECT_EQ(c.mllp.max_frame_bytes, 1u << 20);
  EXPECT_DOUBLE_EQ(c.mllp.idle_timeout_seconds, 300);
  EXPECT_DOUBLE_EQ(c.mllp.read_timeout_seconds, 30);
  EXPECT_EQ(c.mllp.max_connections, 256u);
  EXPECT_EQ(c.http.host, "127.0.0.1");
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_EQ(c.http.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.fhir.base_url, "http://127.0.0.1:8090/fhir");
  EXPECT_DOUBLE_EQ(c.fhir.timeout_seconds, 30);
  EXPECT_DOUBLE_EQ(c.fhir.retry.initial_seconds, 1);
  EXPECT_DOUBLE_EQ(c.fhir.retry.max_seconds, 300);
  EXPECT_EQ(c.fhir.tls.ca_file, "");
  EXPECT_EQ(c.fhir.tls.cert_file, "");
  EXPECT_EQ(c.fhir.auth.type, FhirAuthConfig::Type::kNone);
}

TEST_F(ConfigTest, Defaults) {
  expect_defaults(Config{});
  expect_defaults(parse_config("{}", "empty.json"));
  expect_defaults(load_config(std::nullopt));
}

TEST_F(ConfigTest, SchemaDefaultsMatchTheEmbeddedDefaults) {
  rapidjson::Document schema;
  schema.Parse(config_schema().c_str());
  ASSERT_FALSE(schema.HasParseError());
  const auto& props = schema["properties"];
  const Config c;
  EXPECT_EQ(props["dataDir"]["default"].GetString(), c.data_dir);
  EXPECT_EQ(props["mappingsDir"]["default"].GetString(), c.mappings_dir);
  EXPECT_EQ(props["threads"]["default"].GetInt(), c.threads);
  EXPECT_EQ(props["log"]["properties"]["level"]["default"].GetString(), c.log_level);
  const auto& mllp = props["mllp"]["properties"];
  EXPECT_EQ(mllp["channel"]["default"].GetString(), c.mllp.channel);
  EXPECT_EQ(mllp["host"]["default"].GetString(), c.mllp.host);
  EXPECT_EQ(mllp["port"]["default"].GetInt(), c.mllp.port);
  EXPECT_EQ(mllp["maxFrameBytes"]["default"].GetUint64(), c.mllp.max_frame_bytes);
  EXPECT_DOUBLE_EQ(mllp["idleTimeoutSeconds"]["default"].GetDouble(), c.mllp.idle_timeout_seconds);
  EXPECT_DOUBLE_EQ(mllp["readTimeoutSeconds"]["default"].GetDouble(), c.mllp.read_timeout_seconds);
  EXPECT_EQ(mllp["maxConnections"]["default"].GetUint64(), c.mllp.max_connections);
  const auto& http = props["http"]["properties"];
  EXPECT_EQ(http["host"]["default"].GetString(), c.http.host);
  EXPECT_EQ(http["port"]["default"].GetInt(), c.http.port);
  EXPECT_EQ(http["maxBodyBytes"]["default"].GetUint64(), c.http.max_body_bytes);
  const auto& fhir = props["fhir"]["properties"];
  EXPECT_EQ(fhir["baseUrl"]["default"].GetString(), c.fhir.base_url);
  EXPECT_DOUBLE_EQ(fhir["timeoutSeconds"]["default"].GetDouble(), c.fhir.timeout_seconds);
  EXPECT_DOUBLE_EQ(fhir["retry"]["properties"]["initialSeconds"]["default"].GetDouble(),
                   c.fhir.retry.initial_seconds);
  EXPECT_DOUBLE_EQ(fhir["retry"]["properties"]["maxSeconds"]["default"].GetDouble(),
                   c.fhir.retry.max_seconds);
}

TEST_F(ConfigTest, ReadsEveryField) {
  const Config c = parse_config(R"({
    "$schema": "../schemas/config.schema.json",
    "dataDir": "/var/lib/helsebro",
    "mappingsDir": "/etc/helsebro/mappings",
    "threads": 4,
    "log": {"level": "debug"},
    "mllp": {"channel": "lab-1", "host": "0.0.0.0", "port": 0, "maxFrameBytes": 2048,
             "idleTimeoutSeconds": 60.5, "readTimeoutSeconds": 5, "maxConnections": 10},
    "http": {"host": "0.0.0.0", "port": 9090, "maxBodyBytes": 4096},
    // comments are allowed
    "fhir": {"baseUrl": "https://fhir.example/r4", "timeoutSeconds": 10,
             "retry": {"initialSeconds": 0.5, "maxSeconds": 60}}
  })", "helsebro.json");
  EXPECT_EQ(c.data_dir, "/var/lib/helsebro");
  EXPECT_EQ(c.mappings_dir, "/etc/helsebro/mappings");
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.mllp.channel, "lab-1");
  EXPECT_EQ(c.mllp.host, "0.0.0.0");
  EXPECT_EQ(c.mllp.port, 0);
  EXPECT_EQ(c.mllp.max_frame_bytes, 2048u);
  EXPECT_DOUBLE_EQ(c.mllp.idle_timeout_seconds, 60.5);
  EXPECT_DOUBLE_EQ(c.mllp.read_timeout_seconds, 5);
  EXPECT_EQ(c.mllp.max_connections, 10u);
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.http.port, 9090);
  EXPECT_EQ(c.http.max_body_bytes, 4096u);
  EXPECT_EQ(c.fhir.base_url, "https://fhir.example/r4");
  EXPECT_DOUBLE_EQ(c.fhir.timeout_seconds, 10);
  EXPECT_DOUBLE_EQ(c.fhir.retry.initial_seconds, 0.5);
  EXPECT_DOUBLE_EQ(c.fhir.retry.max_seconds, 60);
}

TEST_F(ConfigTest, PartialSectionsKeepOtherDefaults) {
  const Config c = parse_config(R"({"mllp": {"port": 3000}})", "helsebro.json");
  EXPECT_EQ(c.mllp.port, 3000);
  EXPECT_EQ(c.mllp.host, "127.0.0.1");
  EXPECT_EQ(c.http.port, 8080);
}

TEST_F(ConfigTest, ChannelHoldAndPersonIdOptions) {
  const Config off = parse_config(R"({"mllp": {"port": 3000}})", "helsebro.json");
  EXPECT_FALSE(off.mllp.hold_unmapped);
  EXPECT_FALSE(off.mllp.accept_invalid_person_id);
  const Config c = parse_config(R"({"mllp": {"holdUnmapped": true},
      "mllpChannels": [{"channel": "legacy", "port": 3001, "acceptInvalidPersonId": true}]})",
                                "helsebro.json");
  EXPECT_TRUE(c.mllp.hold_unmapped);
  EXPECT_FALSE(c.mllp.accept_invalid_person_id);
  ASSERT_EQ(c.mllp_channels.size(), 1u);
  EXPECT_TRUE(c.mllp_channels[0].accept_invalid_person_id);
  EXPECT_FALSE(c.mllp_channels[0].hold_unmapped);
  EXPECT_TRUE(contains(error_of(R"({"mllp": {"holdUnmapped": "yes"}})"), "/mllp/holdUnmapped"));
}

TEST_F(ConfigTest, UnknownKeyIsNamedWithItsPointer) {
  const std::string e = error_of(R"({"mllp": {"prot": 2575}})");
  EXPECT_TRUE(contains(e, "helsebro.json")) << e;
  EXPECT_TRUE(contains(e, "/mllp/prot")) << e;
  EXPECT_TRUE(contains(e, "unknown key")) << e;
  EXPECT_EQ(e, "helsebro.json at /mllp/prot: unknown key \"prot\"");
}

TEST_F(ConfigTest, UnknownTopLevelKey) {
  const std::string e = error_of(R"({"dataDir": "x", "datadir": "y"})");
  EXPECT_TRUE(contains(e, "/datadir")) << e;
  EXPECT_TRUE(contains(e, "unknown key \"datadir\"")) << e;
}

TEST_F(ConfigTest, UnknownNestedKey) {
  const std::string e = error_of(R"({"fhir": {"retry": {"maxSecond": 3}}})");
  EXPECT_TRUE(contains(e, "/fhir/retry/maxSecond")) << e;
  EXPECT_TRUE(contains(e, "unknown key")) << e;
}

TEST_F(ConfigTest, WrongTypeIsNamed) {
  const std::string e = error_of(R"({"mllp": {"port": "2575"}})");
  EXPECT_TRUE(contains(e, "/mllp/port")) << e;
  EXPECT_TRUE(contains(e, "has the wrong type")) << e;
  EXPECT_TRUE(contains(e, "TCP port")) << e;  // the schema's description helps the reader

  const std::string threads = error_of(R"({"threads": 2.5})");
  EXPECT_TRUE(contains(threads, "/threads")) << threads;
  EXPECT_TRUE(contains(threads, "wrong type")) << threads;

  const std::string section = error_of(R"({"http": 8080})");
  EXPECT_TRUE(contains(section, "/http")) << section;
  EXPECT_TRUE(contains(section, "wrong type")) << section;
}

TEST_F(ConfigTest, OtherSchemaViolations) {
  const std::string range = error_of(R"({"mllp": {"port": 70000}})");
  EXPECT_TRUE(contains(range, "/mllp/port")) << range;
  EXPECT_TRUE(contains(range, "out of range")) << range;

  // A duration meant as "for ever" would overflow the timers' clock: durations end at a year.
  const std::string forever = error_of(R"({"mllp": {"idleTimeoutSeconds": 1e10}})");
  EXPECT_TRUE(contains(forever, "/mllp/idleTimeoutSeconds")) << forever;
  EXPECT_TRUE(contains(forever, "out of range")) << forever;
  const std::string retry = error_of(R"({"fhir": {"retry": {"maxAgeSeconds": 1e12}}})");
  EXPECT_TRUE(contains(retry, "/fhir/retry/maxAgeSeconds")) << retry;

  const std::string level = error_of(R"({"log": {"level": "verbose"}})");
  EXPECT_TRUE(contains(level, "/log/level")) << level;
  EXPECT_TRUE(contains(level, "not one of the allowed values")) << level;

  const std::string channel = error_of(R"({"mllp": {"channel": "Lab 1"}})");
  EXPECT_TRUE(contains(channel, "/mllp/channel")) << channel;
  EXPECT_TRUE(contains(channel, "does not match")) << channel;

  const std::string url = error_of(R"({"fhir": {"baseUrl": "ftp://x"}})");
  EXPECT_TRUE(contains(url, "/fhir/baseUrl")) << url;

  const std::string empty = error_of(R"({"dataDir": ""})");
  EXPECT_TRUE(contains(empty, "/dataDir")) << empty;
  EXPECT_TRUE(contains(empty, "must not be empty")) << empty;

  const std::string root = error_of("[]");
  EXPECT_TRUE(contains(root, "helsebro.json at /")) << root;
}

TEST_F(ConfigTest, RetryDelaysMustBeOrdered) {
  const std::string e = error_of(R"({"fhir": {"retry": {"initialSeconds": 10, "maxSeconds": 5}}})");
  EXPECT_TRUE(contains(e, "/fhir/retry/maxSeconds")) << e;
}

TEST_F(ConfigTest, SyntaxErrorsNameLineAndColumn) {
  const std::string e = error_of("{\n  \"threads\": 2,\n  \"dataDir\": \n}");
  EXPECT_TRUE(contains(e, "helsebro.json: line 4, column 1")) << e;
}

TEST_F(ConfigTest, EnvironmentOverrides) {
  ::setenv("HELSEBRO_MLLP_PORT", "0", 1);
  ::setenv("HELSEBRO_HTTP_PORT", "65535", 1);
  ::setenv("HELSEBRO_DATA_DIR", "/data", 1);
  ::setenv("HELSEBRO_MAPPINGS_DIR", "/maps", 1);
  ::setenv("HELSEBRO_FHIR_BASE_URL", "https://fhir.example", 1);
  Config c;
  apply_environment(c);
  EXPECT_EQ(c.mllp.port, 0);
  EXPECT_EQ(c.http.port, 65535);
  EXPECT_EQ(c.data_dir, "/data");
  EXPECT_EQ(c.mappings_dir, "/maps");
  EXPECT_EQ(c.fhir.base_url, "https://fhir.example");
}

TEST_F(ConfigTest, EmptyEnvironmentValuesAreIgnoredForPaths) {
  ::setenv("HELSEBRO_DATA_DIR", "", 1);
  Config c;
  apply_environment(c);
  EXPECT_EQ(c.data_dir, "./var/helsebro");
}

TEST_F(ConfigTest, InvalidPortNamesTheVariable) {
  for (const char* bad : {"70000", "abc", "-1", "80x", "", " 80"}) {
    ::setenv("HELSEBRO_MLLP_PORT", bad, 1);
    const std::string e = env_error();
    EXPECT_TRUE(contains(e, "HELSEBRO_MLLP_PORT")) << bad << ": " << e;
    EXPECT_TRUE(contains(e, "not a port number")) << bad << ": " << e;
  }
  ::unsetenv("HELSEBRO_MLLP_PORT");
  ::setenv("HELSEBRO_HTTP_PORT", "99999", 1);
  EXPECT_TRUE(contains(env_error(), "HELSEBRO_HTTP_PORT"));
}

TEST_F(ConfigTest, InvalidBaseUrlNamesTheVariable) {
  ::setenv("HELSEBRO_FHIR_BASE_URL", "fhir.example", 1);
  const std::string e = env_error();
  EXPECT_TRUE(contains(e, "HELSEBRO_FHIR_BASE_URL")) << e;
}

TEST_F(ConfigTest, LoadConfigReadsTheFileThenTheEnvironment) {
  test::TempDir dir("helsebro-config");
  const auto file = dir.write("helsebro.json", R"({"mllp": {"port": 3000}, "http": {"port": 3001}})");
  ::setenv("HELSEBRO_HTTP_PORT", "4000", 1);
  const Config c = load_config(file.string());
  EXPECT_EQ(c.mllp.port, 3000);
  EXPECT_EQ(c.http.port, 4000);
}

TEST_F(ConfigTest, LoadConfigNamesTheFileItCannotRead) {
  test::TempDir dir("helsebro-config");
  const std::string missing = (dir.path() / "missing.json").string();
  try {
    load_config(missing);
    FAIL() << "a missing file was accepted";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), missing)) << e.what();
    EXPECT_TRUE(contains(e.what(), "cannot be read")) << e.what();
  }
  const auto bad = dir.write("bad.json", R"({"mllp": {"prot": 1}})");
  try {
    load_config(bad.string());
    FAIL() << "an unknown key was accepted";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), bad.string() + " at /mllp/prot")) << e.what();
  }
}

TEST_F(ConfigTest, ReadsFhirTlsAndClientSecretAuth) {
  const Config c = parse_config(R"({"fhir": {
    "baseUrl": "https://fhir.example/r4",
    "tls": {"caFile": "/etc/helsebro/fhir-ca.pem", "certFile": "/etc/helsebro/gw.pem", "keyFile": "/etc/helsebro/gw.key"},
    "auth": {"type": "client_secret", "tokenUrl": "https://auth.example/token", "clientId": "helsebro",
             "clientSecret": "from-file", "scope": "system/*.write"}}})", "helsebro.json");
  EXPECT_EQ(c.fhir.tls.ca_file, "/etc/helsebro/fhir-ca.pem");
  EXPECT_EQ(c.fhir.tls.cert_file, "/etc/helsebro/gw.pem");
  EXPECT_EQ(c.fhir.tls.key_file, "/etc/helsebro/gw.key");
  EXPECT_EQ(c.fhir.auth.type, FhirAuthConfig::Type::kClientSecret);
  EXPECT_EQ(c.fhir.auth.token_url, "https://auth.example/token");
  EXPECT_EQ(c.fhir.auth.client_id, "helsebro");
  EXPECT_EQ(c.fhir.auth.client_secret, "from-file");
  EXPECT_EQ(c.fhir.auth.scope, "system/*.write");
}

TEST_F(ConfigTest, ReadsPrivateKeyJwtAuth) {
  const Config c = parse_config(R"({"fhir": {"auth": {"type": "private_key_jwt", "tokenUrl": "http://auth:8080/t",
    "clientId": "helsebro", "privateKeyFile": "/etc/helsebro/jwt.pem", "keyId": "k1", "algorithm": "ES256"}}})",
                                "helsebro.json");
  EXPECT_EQ(c.fhir.auth.type, FhirAuthConfig::Type::kPrivateKeyJwt);
  EXPECT_EQ(c.fhir.auth.private_key_file, "/etc/helsebro/jwt.pem");
  EXPECT_EQ(c.fhir.auth.key_id, "k1");
  EXPECT_EQ(c.fhir.auth.algorithm, "ES256");
  EXPECT_EQ(c.fhir.auth.client_secret, "");
}

TEST_F(ConfigTest, FhirTlsAndAuthErrorsNameTheirPointer) {
  const std::string unknown = error_of(R"({"fhir": {"tls": {"verify": false}}})");
  EXPECT_EQ(unknown, "helsebro.json at /fhir/tls/verify: unknown key \"verify\"");

  const std::string half = error_of(R"({"fhir": {"tls": {"certFile": "gw.pem"}}})");
  EXPECT_TRUE(contains(half, "/fhir/tls/keyFile")) << half;
  EXPECT_TRUE(contains(half, "go together")) << half;

  const std::string missing = error_of(R"({"fhir": {"auth": {"type": "client_secret", "clientId": "x"}}})");
  EXPECT_EQ(missing, "helsebro.json at /fhir/auth: needs \"tokenUrl\"");

  const std::string type = error_of(R"({"fhir": {"auth": {"type": "basic", "tokenUrl": "https://a", "clientId": "x"}}})");
  EXPECT_TRUE(contains(type, "/fhir/auth/type")) << type;
  EXPECT_TRUE(contains(type, "not one of the allowed values")) << type;

  const std::string url = error_of(R"({"fhir": {"auth": {"type": "client_secret", "tokenUrl": "auth.example",
                                                          "clientId": "x", "clientSecret": "s"}}})");
  EXPECT_TRUE(contains(url, "/fhir/auth/tokenUrl")) << url;

  const std::string algorithm = error_of(R"({"fhir": {"auth": {"type": "private_key_jwt", "tokenUrl": "https://a",
    "clientId": "x", "privateKeyFile": "k.pem", "algorithm": "HS256"}}})");
  EXPECT_TRUE(contains(algorithm, "/fhir/auth/algorithm")) << algorithm;
}

TEST_F(ConfigTest, AuthKeysOfTheOtherTypeAreRefused) {
  const std::string key_for_secret = error_of(R"({"fhir": {"auth": {"type": "client_secret", "tokenUrl": "https://a",
    "clientId": "x", "clientSecret": "s", "privateKeyFile": "k.pem"}}})");
  EXPECT_EQ(key_for_secret, "helsebro.json at /fhir/auth/privateKeyFile: only for type private_key_jwt");

  const std::string secret_for_jwt = error_of(R"({"fhir": {"auth": {"type": "private_key_jwt", "tokenUrl": "https://a",
    "clientId": "x", "privateKeyFile": "k.pem", "clientSecret": "s"}}})");
  EXPECT_EQ(secret_for_jwt, "helsebro.json at /fhir/auth/clientSecret: only for type client_secret");

  const std::string no_key = error_of(R"({"fhir": {"auth": {"type": "private_key_jwt", "tokenUrl": "https://a",
    "clientId": "x"}}})");
  EXPECT_EQ(no_key, "helsebro.json at /fhir/auth/privateKeyFile: type private_key_jwt needs privateKeyFile");
}

TEST_F(ConfigTest, ClientSecretComesFromTheEnvironmentToo) {
  test::TempDir dir("helsebro-config");
  const auto file = dir.write("helsebro.json", R"({"fhir": {"auth": {"type": "client_secret",
    "tokenUrl": "https://auth.example/token", "clientId": "helsebro"}}})");
  try {
    load_config(file.string());
    FAIL() << "client_secret without a secret was accepted";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), file.string() + " at /fhir/auth/clientSecret")) << e.what();
    EXPECT_TRUE(contains(e.what(), "HELSEBRO_FHIR_CLIENT_SECRET")) << e.what();
  }
  ::setenv("HELSEBRO_FHIR_CLIENT_SECRET", "from-env", 1);
  EXPECT_EQ(load_config(file.string()).fhir.auth.client_secret, "from-env");

  const auto with_secret = dir.write("secret.json", R"({"fhir": {"auth": {"type": "client_secret",
    "tokenUrl": "https://auth.example/token", "clientId": "helsebro", "clientSecret": "from-file"}}})");
  EXPECT_EQ(load_config(with_secret.string()).fhir.auth.client_secret, "from-env") << "the environment wins";
}

TEST_F(ConfigTest, ReadsInboundDirectories) {
  const Config c = parse_config(R"({"inboundDirectories": [
    {"channel": "plo-trondheim", "path": "/srv/inbox/plo", "format": "kith", "pollMilliseconds": 250},
    {"channel": "lab-files", "path": "/srv/inbox/lab", "format": "hl7v2", "maxFileBytes": 4096}]})",
                                "helsebro.json");
  ASSERT_EQ(c.inbound_directories.size(), 2u);
  EXPECT_EQ(c.inbound_directories[0].channel, "plo-trondheim");
  EXPECT_EQ(c.inbound_directories[0].path, "/srv/inbox/plo");
  EXPECT_EQ(c.inbound_directories[0].format, "kith");
  EXPECT_EQ(c.inbound_directories[0].poll_milliseconds, 250);
  EXPECT_EQ(c.inbound_directories[0].max_file_bytes, 1u << 20);
  EXPECT_EQ(c.inbound_directories[1].format, "hl7v2");
  EXPECT_EQ(c.inbound_directories[1].poll_milliseconds, 500);
  EXPECT_EQ(c.inbound_directories[1].max_file_bytes, 4096u);
}

TEST_F(ConfigTest, InboundDirectoryErrorsNameTheirPointer) {
  EXPECT_EQ(error_of(R"({"inboundDirectories": [{"channel": "a", "path": "/x"}]})"),
            "helsebro.json at /inboundDirectories/0: needs \"format\"");
  EXPECT_TRUE(contains(error_of(R"({"inboundDirectories": [{"channel": "a", "path": "/x", "format": "pdf"}]})"),
                       "helsebro.json at /inboundDirectories/0/format: is not one of the allowed values"));
  EXPECT_EQ(error_of(R"({"inboundDirectories": [{"channel": "a", "path": "/x", "format": "kith", "glob": "*"}]})"),
            "helsebro.json at /inboundDirectories/0/glob: unknown key \"glob\"");
  EXPECT_EQ(error_of(R"({"inboundDirectories": [{"channel": "a", "path": "/x", "format": "kith"},
                                                {"channel": "b", "path": "/x/", "format": "kith"}]})"),
            "helsebro.json at /inboundDirectories/1/path: \"/x/\" is, or is inside, another inbound directory");
  EXPECT_EQ(error_of(R"({"inboundDirectories": [{"channel": "a", "path": "/x", "format": "kith"},
                                                {"channel": "b", "path": "/x/sub", "format": "kith"}]})"),
            "helsebro.json at /inboundDirectories/1/path: \"/x/sub\" is, or is inside, another inbound directory");
  EXPECT_EQ(error_of(R"({"mllpChannels": [{"channel": "lab"}],
                         "inboundDirectories": [{"channel": "lab", "path": "/x", "format": "hl7v2"}]})"),
            "helsebro.json at /inboundDirectories/0/channel: channel name \"lab\" is used twice");
  // The gateway's own channels (HTTP intake) and listeners are taken.
  for (const char* own : {"http-hl7v2", "http-kith", "http-fhir", "https"}) {
    EXPECT_EQ(error_of(std::string(R"({"mllpChannels": [{"channel": ")") + own + R"("}]})"),
              std::string("helsebro.json at /mllpChannels/0/channel: channel name \"") + own +
                  "\" is the gateway's own (its HTTP intake and listeners)");
  }
  EXPECT_EQ(error_of(R"({"mllp": {"channel": "http-hl7v2"}})"),
            "helsebro.json at /mllp/channel: channel name \"http-hl7v2\" is the gateway's own (its HTTP intake and "
            "listeners)");
}

TEST_F(ConfigTest, ReadsHttpsWithMutualTlsAndAllowedSenders) {
  const Config c = parse_config(R"({"https": {"port": 0, "tls": {"certFile": "s.pem", "keyFile": "s.key",
    "caFile": "ca.pem", "requireClientCertificate": true},
    "allowedSenders": [{"certificateSubject": "/C=NO/O=Legekontoret/CN=fastlege"}]}})",
                                "helsebro.json");
  EXPECT_TRUE(c.https.enabled);
  EXPECT_EQ(c.https.host, "127.0.0.1");
  EXPECT_EQ(c.https.port, 0);
  EXPECT_TRUE(c.https.tls.enabled);
  EXPECT_EQ(c.https.tls.cert_file, "s.pem");
  EXPECT_TRUE(c.https.tls.require_client_certificate);
  ASSERT_EQ(c.https.allowed_senders.size(), 1u);
  EXPECT_EQ(c.https.allowed_senders[0].certificate_subject, "/C=NO/O=Legekontoret/CN=fastlege");
  EXPECT_FALSE(parse_config("{}", "helsebro.json").https.enabled);
}

TEST_F(ConfigTest, HttpsErrorsNameTheirPointer) {
  EXPECT_EQ(error_of(R"({"https": {"port": 8443}})"), "helsebro.json at /https: needs \"tls\"");
  EXPECT_EQ(error_of(R"({"https": {"tls": {"certFile": "s.pem", "keyFile": "s.key"},
    "allowedSenders": [{"certificateSubject": "/CN=a"}]}})"),
            "helsebro.json at /https/tls/caFile: allowedSenders needs caFile: senders are told apart by their "
            "client certificates");
  EXPECT_EQ(error_of(R"({"https": {"tls": {"certFile": "s.pem", "keyFile": "s.key", "caFile": "ca.pem"},
    "allowedSenders": [{"sendingFacility": "STOLAV"}]}})"),
            "helsebro.json at /https/allowedSenders/0/sendingFacility: unknown key \"sendingFacility\"");
  EXPECT_EQ(error_of(R"({"https": {"tls": {"certFile": "s.pem", "keyFile": "s.key",
    "requireClientCertificate": true}}})"),
            "helsebro.json at /https/tls/caFile: requireClientCertificate needs caFile to verify clients");
}

TEST_F(ConfigTest, HttpsPortComesFromTheEnvironment) {
  Config c;
  ::setenv("HELSEBRO_HTTPS_PORT", "9443", 1);
  apply_environment(c);
  EXPECT_EQ(c.https.port, 9443);
}

// Rules written as OpenSSL's one-line form printed a subject (each byte of "å" as \xC3\xA5) still
// match: those bytes are read as the bytes; an escaped backslash and \x09 (a tab, as the gateway
// writes control characters) stay as they are.
TEST_F(ConfigTest, CertificateSubjectRulesInOpenSslsOldFormStillMatch) {
  const Config c = parse_config(R"({"mllp": {"allowedSenders": [
      {"certificateSubject": "/C=NO/O=Fjellg\\xC3\\xA5rden legekontor/CN=kommunikasjon"},
      {"certificateSubject": "/O=back\\\\xC3/CN=tab\\x09here"}]}})",
                                "helsebro.json");
  ASSERT_EQ(c.mllp.allowed_senders.size(), 2u);
  EXPECT_EQ(c.mllp.allowed_senders[0].certificate_subject, "/C=NO/O=Fjellgården legekontor/CN=kommunikasjon");
  EXPECT_EQ(c.mllp.allowed_senders[1].certificate_subject, "/O=back\\\\xC3/CN=tab\\x09here");
}

TEST_F(ConfigTest, RetentionMustOutlastTheDuplicateWindow) {
  // Default retention (30 days) against a 90-day window on a channel.
  EXPECT_EQ(error_of(R"({"mllpChannels": [{"channel": "lab", "duplicateWindowSeconds": 7776000}]})"),
            "helsebro.json at /retention/deliveredDays: delivered messages are removed after 2592000 s, before "
            "the duplicate window of /mllpChannels/0/duplicateWindowSeconds (7776000 s) has passed: a resend after "
            "that would be stored and delivered again");
  EXPECT_TRUE(contains(error_of(R"({"retention": {"deliveredDays": 0}})"), "/mllp/duplicateWindowSeconds (86400 s)"));
  // No window, or retention long enough: fine.
  EXPECT_NO_THROW(parse_config(R"({"retention": {"deliveredDays": 0}, "mllp": {"duplicateWindowSeconds": 0}})", "c"));
  EXPECT_NO_THROW(parse_config(R"({"retention": {"deliveredDays": 1}})", "c"));
}

TEST_F(ConfigTest, CountsHaveAMaximumInsteadOfWrappingAround) {
  EXPECT_TRUE(contains(error_of(R"({"fhir": {"retry": {"maxAttempts": 4294967297}}})"), "/fhir/retry/maxAttempts"));
  EXPECT_TRUE(contains(error_of(R"({"maxBacklog": 18446744073709551615})"), "/maxBacklog"));
  EXPECT_TRUE(contains(error_of(R"({"mllp": {"maxConnections": 2147483648}})"), "/mllp/maxConnections"));
  EXPECT_TRUE(contains(error_of(R"({"http": {"maxConnections": 0}})"), "/http/maxConnections"));
  EXPECT_EQ(parse_config(R"({"http": {"maxConnections": 3}})", "c").http.max_connections, 3u);
}

}  // namespace
}  // namespace helsebro::config
