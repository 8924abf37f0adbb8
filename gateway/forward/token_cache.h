#pragma once
// The bearer token every forwarding lane shares, and when it is due for renewal: a token is used
// until a margin before it expires (a tenth of its lifetime, at most 30 s), so requests do not
// reach the server with a token about to lapse. Pure and clock-driven; not thread-safe (it lives
// on the forwarder's strand).

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/clock.h"

namespace helsebro::forward {

class TokenCache {
 public:
  /// Lifetime assumed when the token response has no expires_in.
  static constexpr EpochMillis kDefaultLifetimeMs = 300'000;
  static constexpr EpochMillis kMaxMarginMs = 30'000;
  /// A longer expires_in counts as this long (a day): past it the arithmetic would overflow, and
  /// no issuer means a token for longer.
  static constexpr double kMaxLifetimeSeconds = 86'400;

  explicit TokenCache(Clock clock = {}) : clock_(std::move(clock)) {}

  /// The token while it is good for longer than the refresh margin; nullptr otherwise.
  const std::string* fresh() const {
    if (!token_ || clock_.now_ms() >= renew_at_) return nullptr;
    return &*token_;
  }

  /// Keeps a newly issued token; `expires_in_seconds` as the token endpoint said.
  void store(std::string token, std::optional<double> expires_in_seconds) {
    const EpochMillis lifetime =
        expires_in_seconds ? static_cast<EpochMillis>(std::clamp(*expires_in_seconds, 0.0, kMaxLifetimeSeconds) * 1000)
                           : kDefaultLifetimeMs;
    token_ = std::move(token);
    renew_at_ = clock_.now_ms() + lifetime - refresh_margin_ms(lifetime);
  }

  /// The server refused `token`: forget it, unless a newer one has replaced it meanwhile.
  void invalidate(std::string_view token) {
    if (token_ && *token_ == token) token_.reset();
  }

  static EpochMillis refresh_margin_ms(EpochMillis lifetime_ms) {
    return std::min(kMaxMarginMs, lifetime_ms / 10);
  }

 private:
  Clock clock_;
  std::optional<std::string> token_;
  EpochMillis renew_at_ = 0;
};

}  // namespace helsebro::forward
