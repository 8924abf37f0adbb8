#pragma once
// Helsebro's configuration: plain structs with embedded defaults, read from one JSON file that is
// validated against schemas/config.schema.json (unknown keys refused), then overridden by
// environment variables.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace helsebro::config {

struct TlsConfig {
  bool enabled = false;
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  bool require_client_certificate = false;
};

struct SenderRuleConfig {
  std::string certificate_subject;
  std::string sending_application;
  std::string sending_facility;
};

struct MllpConfig {
  std::string channel = "mllp";
  std::string host = "127.0.0.1";
  std::uint16_t port = 2575;
  std::size_t max_frame_bytes = 1 << 20;
  double idle_timeout_seconds = 300;
  double read_timeout_seconds = 30;
  std::size_t max_connections = 256;
  std::string charset;           // forced charset; empty: as declared in MSH-18
  std::string fallback_charset;  // when bytes contradict the declared charset; empty: AE
  double duplicate_window_seconds = 86400;
  bool original_ack_mode_only = false;  // ackMode "original": AA/AE/AR even when MSH-15/16 are set
  bool hold_unmapped = false;            // no mapping for the type: store as held and AA, not AR
  /// MSH-11.1 values taken (P production, T training, D debugging); others are refused AR, so
  /// that a test message never reaches a production record. An empty MSH-11 is taken.
  std::vector<std::string> processing_ids{"P"};
  bool accept_invalid_person_id = false; // bad fødselsnummer control digits: warn, do not AE
  /// translate "afterAck": acknowledge once the message is stored (MSH checked, a mapping for
  /// its type), translate it in the background; a mapping's refusal then makes it rejected after
  /// an AA. Default "beforeAck": translated first, so AE/AR can name a mapping's refusal.
  bool translate_after_ack = false;
  TlsConfig tls;
  std::vector<SenderRuleConfig> allowed_senders;
};

struct HttpConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t max_body_bytes = 1 << 20;
  /// Connections each HTTP listener (http, https) serves at once; each may hold a body of up to
  /// max_body_bytes. More are answered 503 (HTTPS: closed).
  std::size_t max_connections = 64;
  /// A request header not received within this long, or nothing of its body for this long (a
  /// body counts from its last bytes, at 64 KiB/s on average or within this time): closed.
  double read_timeout_seconds = 30;
};

/// A second listener serving only the /inbound/* endpoints over TLS (body limit: http's).
struct HttpsConfig {
  bool enabled = false;  // the file has an "https" section
  std::string host = "127.0.0.1";
  std::uint16_t port = 8443;
  TlsConfig tls;  // always enabled when the listener is
  std::vector<SenderRuleConfig> allowed_senders;  // certificate_subject only; empty: anyone
};

/// A directory watched for files, each taken through its format's inbound pipeline.
struct InboundDirectoryConfig {
  std::string channel;  // metric label and journal column
  std::string path;     // the inbox; processed/, error/ and .inflight/ are made inside it
  std::string format;   // "kith" or "hl7v2"
  int poll_milliseconds = 500;
  std::size_t max_file_bytes = 1 << 20;
};

/// How the shared record is asked whether it knows a patient (kith.requireKnownPatient).
struct PatientLookupConfig {
  double cache_seconds = 600;         // a known patient is not asked about again for this long
  double unknown_cache_seconds = 10;  // nor an unknown one (0: always asked again)
  double timeout_seconds = 5;         // no answer by then: unavailable, the message is accepted
  std::size_t max_cached = 100000;    // patients remembered; the least recently used go first
  int connections = 2;                // requests in flight to the record at once
  std::size_t max_waiting = 1000;     // lookups waiting for a connection; more: unavailable
};

/// KITH e-messages received on POST /inbound/kith, answered with an AppRec.
struct KithConfig {
  bool configured = false;  // the file has a "kith" section: failing to load its schemas is fatal
  std::vector<std::string> receiver_her_ids;  // our HER-ids; empty: any receiver (no E21 check)
  std::string apprec_version = "1.1";         // "1.0" or "1.1"
  std::string schemas_dir = "./schemas/kith";  // the directorate's XSDs and their index.json
  /// Accept an e-message only for a patient the shared record (fhir.baseUrl) already holds:
  /// others get AppRec status 2, E35. When the record cannot answer, the message is accepted.
  bool require_known_patient = false;
  /// Take messages marked for testing (Message/Status TEST, code list 8323). Off: refused with
  /// AppRec X99, as a production MLLP channel refuses MSH-11 T.
  bool accept_test_messages = false;
  PatientLookupConfig patient_lookup;
  /// The largest e-message taken by POST /inbound/kith (bytes): attachments make e-messages much
  /// larger than the other intakes' bodies (http.maxBodyBytes). Larger ones get 413.
  std::size_t max_body_bytes = 16 << 20;
};

struct RetryConfig {
  double initial_seconds = 1;
  double max_seconds = 300;
  int max_attempts = 0;           // give up (dead letter) after this many; 0: never by count
  double max_age_seconds = 345600;  // give up when the message is older (96 h); 0: never by age
};

/// TLS towards the FHIR server and its token endpoint. The server's certificate and host name are
/// always verified; these only choose whom to trust and who we are.
struct FhirTlsConfig {
  std::string ca_file;    // PEM authorities trusted; empty: the system's default CAs
  std::string cert_file;  // PEM client certificate chain for mutual TLS; empty: none
  std::string key_file;   // PEM private key of cert_file
};

/// OAuth 2.0 client credentials (RFC 6749 §4.4) for a bearer token on every FHIR request.
struct FhirAuthConfig {
  enum class Type { kNone, kClientSecret, kPrivateKeyJwt };
  Type type = Type::kNone;
  std::string token_url;
  std::string client_id;
  std::string client_secret;     // kClientSecret; HELSEBRO_FHIR_CLIENT_SECRET overrides
  std::string scope;             // empty: none requested
  std::string private_key_file;  // kPrivateKeyJwt: PEM RSA or EC (P-256) key
  std::string key_id;            // kPrivateKeyJwt: the JWT header's "kid"; empty: none
  std::string algorithm;         // kPrivateKeyJwt: "RS256" or "ES256"; empty: from the key
};

struct FhirConfig {
  std::string base_url = "http://127.0.0.1:8090/fhir";
  double timeout_seconds = 30;
  int lanes = 4;  // deliveries in parallel, each for a different ordering key
  RetryConfig retry;
  FhirTlsConfig tls;
  FhirAuthConfig auth;
};

struct Config {
  std::string data_dir = "./var/helsebro";
  std::string mappings_dir = "./mappings";
  int threads = 2;
  std::string log_level = "info";
  std::int64_t max_backlog = 100000;  // listeners pause above this many undelivered messages
  double keep_delivered_days = 30;    // retention of delivered messages (personal data)
  double keep_rejected_days = 30;     // retention of rejected messages
  std::string admin_token;     // empty: the admin API is off
  bool mappings_watch = true;  // reload mappings when their files change
  MllpConfig mllp;                      // the default channel
  std::vector<MllpConfig> mllp_channels;  // more channels, each on its own port
  HttpConfig http;
  HttpsConfig https;
  std::vector<InboundDirectoryConfig> inbound_directories;
  KithConfig kith;
  FhirConfig fhir;

  /// Every MLLP channel: the default one, then mllpChannels.
  std::vector<MllpConfig> all_mllp_channels() const {
    std::vector<MllpConfig> all{mllp};
    all.insert(all.end(), mllp_channels.begin(), mllp_channels.end());
    return all;
  }
};

/// A configuration that cannot be used; names the file (or variable), JSON pointer and reason.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& source, const std::string& pointer, const std::string& reason)
      : std::runtime_error(source + (pointer.empty() ? "" : " at " + pointer) + ": " + reason) {}
};

/// Parses and validates JSON configuration text; `source` names it in errors.
Config parse_config(const std::string& text, const std::string& source);

/// Loads the file (or the embedded defaults when none), then applies environment overrides.
Config load_config(const std::optional<std::string>& file);

/// Applies HELSEBRO_* environment overrides to a configuration.
void apply_environment(Config& config);

/// Throws when fhir.auth lacks a secret that neither the file nor the environment gave.
void check_fhir_auth(const Config& config, const std::string& source);

/// The schema text, embedded at build time.
const std::string& config_schema();

}  // namespace helsebro::config
