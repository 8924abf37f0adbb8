#pragma once
// An HTTP/1.1 client with one keep-alive connection to one target, over TCP or TLS. Used by one
// coroutine at a time (one forwarding lane, or the token fetch); not thread-safe.
//
// TLS always verifies the server: its chain against the configured (or system) authorities and
// its name against the target host (RFC 6125 through OpenSSL's X509_check_host/ip), with SNI.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "gateway/config/config.h"
#include "gateway/core/result.h"
#include "gateway/forward/url.h"

namespace boost::asio::ssl {
class context;
}

namespace helsebro::forward {

struct HttpRequest {
  std::string method = "POST";
  std::string target;  // path and query
  std::string body;
  std::string content_type;
  std::string accept = "application/fhir+json";
  std::string authorization;  // the Authorization header; empty: none
};

struct HttpReply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // the Retry-After header, if any
};

/// Where a request that got no reply failed: a bounded metric label for each (label()).
/// kRequest: the request could not be built (a header too large for it), so nothing was sent.
enum class TransportFailure { kNone, kResolve, kConnect, kTls, kSend, kReceive, kRequest };
const char* label(TransportFailure failure);

/// A TLS client context: the trusted authorities (caFile, or the system's) and the client
/// certificate for mutual TLS, if any. Built once; shared by every connection. Throws
/// config::ConfigError naming the file that cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(
    const config::FhirTlsConfig& tls);

/// The TLS context for talking to the FHIR server at `url` and to its token endpoint (fhir.auth):
/// made from fhir.tls when either is https, null when neither is. Throws as
/// make_tls_client_context does.
std::shared_ptr<boost::asio::ssl::context> fhir_tls_context(const Url& url, const config::FhirConfig& fhir);

class HttpClient {
 public:
  /// `tls` is required for an https target and unused for http.
  HttpClient(boost::asio::any_io_executor executor, Url target, std::chrono::milliseconds timeout,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr,
             std::size_t max_response_bytes = 64 << 20);
  ~HttpClient();

  /// Sends one request. Transport failures (connect, TLS, reset, timeout) come back as
  /// Errc::kUpstreamUnreachable, with last_failure() telling which; any HTTP status is a
  /// successful reply.
  boost::asio::awaitable<Result<HttpReply>> request(HttpRequest request);

  /// Where the last request without a reply failed; kNone after a reply.
  TransportFailure last_failure() const;
  /// Whether the last request may have reached the server without its answer reaching us (a
  /// timeout, or an answer cut off): the server may still be working on it, and a copy sent soon
  /// after could be worked on beside it (two conditional creates at once can both create).
  bool last_unanswered() const;

  const Url& target() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace helsebro::forward
