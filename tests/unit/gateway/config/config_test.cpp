#include "gateway/config/config.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <map>

#include "unit/temp_dir.h"

namespace helsebro::config {
namespace {

const char* const kEnvironment[] = {"HELSEBRO_MLLP_PORT", "HELSEBRO_HTTP_PORT", "HELSEBRO_DATA_DIR",
                                    "HELSEBRO_MAPPINGS_DIR", "HELSEBRO_FHIR_BASE_URL"};

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

}  // namespace
}  // namespace helsebro::config
