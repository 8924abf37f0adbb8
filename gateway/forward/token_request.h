#pragma once
// The pure parts of an OAuth 2.0 client-credentials token request (RFC 6749 §4.4): the form body,
// HTTP Basic client authentication, and reading the answer. No I/O; unit-tested on their own.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/core/result.h"

namespace helsebro::forward {

using FormFields = std::vector<std::pair<std::string, std::string>>;

/// One value in application/x-www-form-urlencoded form (RFC 6749 Appendix B): letters, digits and
/// "-._*" stay, a space becomes "+", every other byte "%XX".
std::string form_urlencode(std::string_view value);

/// name=value pairs joined with "&", both sides encoded.
std::string form_encode(const FormFields& fields);

/// "Basic …" for client_secret authentication (RFC 6749 §2.3.1): id and secret are each
/// form-urlencoded, joined with ":", then base64.
std::string basic_authorization(std::string_view client_id, std::string_view client_secret);

struct TokenGrant {
  std::string access_token;
  std::optional<double> expires_in_seconds;  // absent when the server did not say
};

/// The longest access token taken: it goes into every request's Authorization header.
inline constexpr std::size_t kMaxAccessTokenBytes = 16 * 1024;

/// A successful token response (RFC 6749 §5.1): a JSON object with access_token and token_type
/// "Bearer" (any case); expires_in optional.
Result<TokenGrant> parse_token_response(std::string_view body);

/// What a refused token request says, short and fit for logs: "HTTP 400 invalid_client: …" from
/// the error response's "error" and "error_description" (RFC 6749 §5.2). Holds nothing that was
/// sent, so never a secret.
std::string describe_token_error(int status, std::string_view body);

}  // namespace helsebro::forward
