#include "gateway/forward/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "gateway/core/files.h"

namespace helsebro::forward {
namespace {

constexpr std::size_t kEs256Half = 32;  // bytes of r and of s on P-256
constexpr int kMinRsaBits = 2048;

Error key_error(std::string what) {
  return Error{Errc::kInvalidValue, std::move(what)};
}

// OpenSSL's own reason for the last failure, then its queue cleared for the next caller.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  const char* text = code ? ERR_reason_error_string(code) : nullptr;
  std::string reason = text ? text : "unknown";
  ERR_clear_error();
  return reason;
}

// Never prompts on a terminal for a passphrase: an encrypted key simply fails to load.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

std::string json_text(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

void string_member(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key,
                   std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// ECDSA signatures come DER-encoded from OpenSSL; JWS wants r and s as two fixed-width integers.
Result<std::string> der_to_raw_ecdsa(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), ECDSA_SIG_free);
  if (!sig) return Error{Errc::kInvalidValue, "ECDSA signature: " + openssl_reason()};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kEs256Half, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kEs256Half) < 0 || BN_bn2binpad(s, out + kEs256Half, kEs256Half) < 0) {
    return Error{Errc::kInvalidValue, "ECDSA signature does not fit P-256"};
  }
  return raw;
}

// The algorithm this key signs with: the requested one if the key can, else an error.
Result<std::string> algorithm_for(EVP_PKEY* key, std::string_view requested) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_RSA) {
    if (!requested.empty() && requested != "RS256")
      return key_error("an RSA key signs RS256, not " + std::string(requested));
    if (EVP_PKEY_get_bits(key) < kMinRsaBits)
      return key_error("RSA keys under 2048 bits are refused");
    return std::string("RS256");
  }
  if (type == EVP_PKEY_EC) {
    if (!requested.empty() && requested != "ES256")
      return key_error("an EC key signs ES256, not " + std::string(requested));
    char curve[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(key, curve, sizeof curve, &length) != 1 ||
        (std::string_view(curve) != "prime256v1" && std::string_view(curve) != "P-256")) {
      return key_error("ES256 needs an EC key on P-256, this one is on " + std::string(curve));
    }
    return std::string("ES256");
  }
  return key_error("the key is neither RSA nor EC (P-256)");
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return out;
}

Result<SigningKey> SigningKey::from_pem(std::string_view pem, std::string_view algorithm) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return key_error("out of memory");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (!raw)
    return key_error("not a readable unencrypted PEM private key (" + openssl_reason() + ")");
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  auto chosen = algorithm_for(key.get(), algorithm);
  if (!chosen) return chosen.error();
  return SigningKey(std::move(key), std::move(*chosen));
}

Result<SigningKey> SigningKey::load_file(const std::string& pem_file, std::string_view algorithm) {
  const auto text = read_file(pem_file);
  if (!text) return key_error("cannot read " + pem_file);
  auto key = from_pem(*text, algorithm);
  if (!key) return key_error(pem_file + ": " + key.error().detail);
  return key;
}

Result<std::string> SigningKey::sign(std::string_view signing_input) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, data, signing_input.size()) != 1) {
    return Error{Errc::kInvalidValue, "signing failed: " + openssl_reason()};
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                     signing_input.size()) != 1) {
    return Error{Errc::kInvalidValue, "signing failed: " + openssl_reason()};
  }
  signature.resize(length);
  if (algorithm_ == "ES256") return der_to_raw_ecdsa(signature);
  return signature;
}

Result<std::string> make_client_assertion(const SigningKey& key, const AssertionClaims& claims,
                                          std::string_view key_id) {
  rapidjson::StringBuffer header;
  {
    rapidjson::Writer<rapidjson::StringBuffer> w(header);
    w.StartObject();
    string_member(w, "alg", key.algorithm());
    string_member(w, "typ", "JWT");
    if (!key_id.empty()) string_member(w, "kid", key_id);
    w.EndObject();
  }
  rapidjson::StringBuffer payload;
  {
    rapidjson::Writer<rapidjson::StringBuffer> w(payload);
    w.StartObject();
    string_member(w, "iss", claims.client_id);
    string_member(w, "sub", claims.client_id);
    string_member(w, "aud", claims.audience);
    string_member(w, "jti", claims.jti);
    w.Key("iat");
    w.Int64(claims.issued_at);
    w.Key("exp");
    w.Int64(claims.expires_at);
    w.EndObject();
  }
  std::string assertion = base64url_encode(json_text(header));
  assertion.append(1, '.').append(base64url_encode(json_text(payload)));
  auto signature = key.sign(assertion);
  if (!signature) return signature.error();
  assertion.append(1, '.').append(base64url_encode(*signature));
  return assertion;
}

Result<std::string> random_jti() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return Error{Errc::kInvalidValue, "no random bytes: " + openssl_reason()};
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace helsebro::forward
