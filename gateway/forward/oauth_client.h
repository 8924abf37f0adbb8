#pragma once
// OAuth 2.0 client credentials (RFC 6749 §4.4) for the forwarder: fetches a bearer token from the
// token endpoint, authenticating with a client secret (HTTP Basic, §2.3.1) or a signed JWT
// assertion (private_key_jwt, RFC 7523 §2.2), and caches it for every lane until shortly before
// it expires. However many lanes ask at once, one token request is in flight (single-flight).
//
// Thread-safety: every call on the executor (the forwarder's strand) given at construction.
// Secrets and tokens are never logged.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/core/result.h"

namespace boost::asio::ssl {
class context;
}

namespace helsebro::forward {

class OAuthClient {
 public:
  /// Throws config::ConfigError when the token URL, the secret or the private key cannot be used.
  /// `tls` is required when the token URL is https.
  OAuthClient(boost::asio::any_io_executor executor, const config::FhirAuthConfig& auth,
              std::shared_ptr<boost::asio::ssl::context> tls, std::chrono::milliseconds timeout,
              Clock clock = {});
  ~OAuthClient();

  /// A bearer token: the cached one while fresh, else a new one. Callers arriving while a token
  /// request is in flight wait for it and share its outcome. A failure (endpoint unreachable,
  /// refused, malformed answer) is Errc::kUpstreamTransient, described without any secret.
  boost::asio::awaitable<Result<std::string>> token();

  /// The FHIR server refused `token` (401): the next token() fetches a new one, unless a newer
  /// token has already replaced it.
  void invalidate(std::string_view token);

  /// How long the token endpoint asked to be left alone (429 or 503 with Retry-After), from now;
  /// nullopt when it did not, or the time has passed. Until then token() fails without asking.
  std::optional<double> wait_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace helsebro::forward
