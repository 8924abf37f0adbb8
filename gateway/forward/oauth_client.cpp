#include "gateway/forward/oauth_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <optional>

#include "gateway/forward/http_client.h"
#include "gateway/forward/jwt.h"
#include "gateway/forward/outcome.h"
#include "gateway/forward/token_cache.h"
#include "gateway/forward/token_request.h"
#include "gateway/forward/url.h"
#include "gateway/observe/log.h"

namespace helsebro::forward {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {
constexpr std::int64_t kAssertionLifetimeSeconds = 60;
constexpr const char* kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

Url token_url(const config::FhirAuthConfig& auth) {
  auto url = parse_url(auth.token_url);
  if (!url) throw config::ConfigError("configuration", "/fhir/auth/tokenUrl", url.error().detail);
  return std::move(*url);
}
}  // namespace

struct OAuthClient::Impl {
  config::FhirAuthConfig auth;  // holds the secret: never logged
  Url url;
  HttpClient http;
  Clock clock;
  TokenCache cache;
  std::optional<SigningKey> key;
  asio::steady_timer refreshed;  // callers park here while a token request is in flight
  bool refreshing = false;
  std::uint64_t refreshes = 0;  // token requests completed, to tell waiters theirs is done
  Result<std::string> last;     // the outcome of the latest token request
  EpochMillis not_before = 0;   // the endpoint's Retry-After: no request before then

  Impl(asio::any_io_executor executor, const config::FhirAuthConfig& a,
       std::shared_ptr<asio::ssl::context> tls, std::chrono::milliseconds timeout, Clock k)
      : auth(a),
        url(token_url(a)),
        http(executor, url, timeout, std::move(tls), 1 << 20),
        clock(k),
        cache(k),
        refreshed(executor, asio::steady_timer::time_point::max()) {}

  Error failure(const std::string& why) const {
    observe::log_warn("forward.token_failed", {{"host", url.host}, {"error", why}});
    return Error{Errc::kUpstreamTransient, "token endpoint " + url.host + ": " + why};
  }

  Result<HttpRequest> token_request() const {
    FormFields form{{"grant_type", "client_credentials"}};
    if (!auth.scope.empty()) form.emplace_back("scope", auth.scope);
    HttpRequest request;
    request.target = url.path;
    request.content_type = "application/x-www-form-urlencoded";
    request.accept = "application/json";
    if (auth.type == config::FhirAuthConfig::Type::kClientSecret) {
      request.authorization = basic_authorization(auth.client_id, auth.client_secret);
    } else {
      auto jti = random_jti();
      if (!jti) return jti.error();
      const std::int64_t now = clock.now_ms() / 1000;
      auto assertion = make_client_assertion(
          *key,
          {auth.client_id, auth.token_url, std::move(*jti), now, now + kAssertionLifetimeSeconds},
          auth.key_id);
      if (!assertion) return assertion.error();
      form.emplace_back("client_assertion_type", kJwtBearer);
      form.emplace_back("client_assertion", std::move(*assertion));
    }
    request.body = form_encode(form);
    return request;
  }

  asio::awaitable<Result<TokenGrant>> fetch() {
    auto request = token_request();
    if (!request) co_return failure(request.error().detail);
    auto reply = co_await http.request(std::move(*request));
    if (!reply) co_return failure(reply.error().detail);
    if (reply->status < 200 || reply->status >= 300) {
      if (reply->status == 429 || reply->status == 503) {
        const EpochMillis now = clock.now_ms();
        if (auto wait = retry_after_seconds(reply->retry_after, now)) {
          not_before = now + static_cast<EpochMillis>(std::min(*wait, kMostRetryAfterSeconds) * 1000);
        }
      }
      co_return failure(describe_token_error(reply->status, reply->body));
    }
    auto grant = parse_token_response(reply->body);
    if (!grant) co_return failure(grant.error().detail);
    observe::log_info(
        "forward.token_issued",
        {{"host", url.host}, {"expires_in_s", grant->expires_in_seconds.value_or(-1)}});
    co_return grant;
  }
};

OAuthClient::OAuthClient(asio::any_io_executor executor, const config::FhirAuthConfig& auth,
                         std::shared_ptr<asio::ssl::context> tls, std::chrono::milliseconds timeout,
                         Clock clock)
    : impl_(std::make_unique<Impl>(std::move(executor), auth, std::move(tls), timeout,
                                   std::move(clock))) {
  using Type = config::FhirAuthConfig::Type;
  if (auth.type == Type::kClientSecret && auth.client_secret.empty()) {
    throw config::ConfigError(
        "configuration", "/fhir/auth/clientSecret",
        "type client_secret needs clientSecret or HELSEBRO_FHIR_CLIENT_SECRET");
  }
  if (auth.type == Type::kPrivateKeyJwt) {
    auto key = SigningKey::load_file(auth.private_key_file, auth.algorithm);
    if (!key)
      throw config::ConfigError("configuration", "/fhir/auth/privateKeyFile", key.error().detail);
    impl_->key.emplace(std::move(*key));
  }
}

OAuthClient::~OAuthClient() = default;

asio::awaitable<Result<std::string>> OAuthClient::token() {
  Impl& s = *impl_;
  if (const std::string* fresh = s.cache.fresh()) co_return *fresh;
  if (auto wait = wait_seconds()) {  // the endpoint asked for time: not asked again before then
    co_return Error{Errc::kUpstreamTransient, "token endpoint " + s.url.host + ": asked for " +
                                                  std::to_string(static_cast<std::int64_t>(std::ceil(*wait))) +
                                                  " s more before the next request (Retry-After)"};
  }
  if (s.refreshing) {  // share the request in flight rather than send another
    const std::uint64_t waiting_for = s.refreshes + 1;
    while (s.refreshes < waiting_for) co_await s.refreshed.async_wait(kTuple);
    co_return s.last;
  }
  s.refreshing = true;
  auto grant = co_await s.fetch();
  if (grant) {
    s.cache.store(grant->access_token, grant->expires_in_seconds);
    s.last = std::move(grant->access_token);
  } else {
    s.last = grant.error();
  }
  s.refreshing = false;
  ++s.refreshes;
  s.refreshed.cancel();
  co_return s.last;
}

void OAuthClient::invalidate(std::string_view token) {
  impl_->cache.invalidate(token);
}

std::optional<double> OAuthClient::wait_seconds() const {
  const EpochMillis now = impl_->clock.now_ms();
  if (impl_->not_before <= now) return std::nullopt;
  return static_cast<double>(impl_->not_before - now) / 1000.0;
}

}  // namespace helsebro::forward
