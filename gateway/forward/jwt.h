#pragma once
// JSON Web Tokens for OAuth 2.0 client authentication with a private key (RFC 7523 §2.2): the
// client assertion, signed RS256 (RSA PKCS#1 v1.5 with SHA-256) or ES256 (ECDSA on P-256 with
// SHA-256, signature as r‖s) through OpenSSL's EVP interface. A SigningKey is immutable once
// loaded and may be shared between threads.

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/core/result.h"

namespace helsebro::forward {

/// Base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);

/// Base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);

class SigningKey {
 public:
  /// Reads a PEM private key (PKCS#8, or traditional RSA or EC). `algorithm` is "RS256", "ES256",
  /// or empty for the key's own (RS256 for RSA, ES256 for EC). Refuses encrypted keys, RSA keys
  /// under 2048 bits, EC keys on curves other than P-256, and an algorithm the key cannot make.
  static Result<SigningKey> from_pem(std::string_view pem, std::string_view algorithm = {});
  static Result<SigningKey> load_file(const std::string& pem_file, std::string_view algorithm = {});

  const std::string& algorithm() const { return algorithm_; }

  /// The JWS signature of `signing_input`, as raw bytes.
  Result<std::string> sign(std::string_view signing_input) const;

 private:
  SigningKey(std::shared_ptr<EVP_PKEY> key, std::string algorithm)
      : key_(std::move(key)), algorithm_(std::move(algorithm)) {}

  std::shared_ptr<EVP_PKEY> key_;
  std::string algorithm_;
};

/// The claims of a client assertion: iss and sub are the client id, aud the token endpoint.
struct AssertionClaims {
  std::string client_id;
  std::string audience;
  std::string jti;              // unique per assertion, so the server can refuse a replay
  std::int64_t issued_at = 0;   // seconds since the epoch
  std::int64_t expires_at = 0;  // seconds since the epoch
};

/// The signed assertion in compact serialization: header.payload.signature. `key_id`, when not
/// empty, goes into the header as "kid".
Result<std::string> make_client_assertion(const SigningKey& key, const AssertionClaims& claims,
                                          std::string_view key_id = {});

/// 128 random bits from OpenSSL's CSPRNG, base64url: a fresh jti.
Result<std::string> random_jti();

}  // namespace helsebro::forward
