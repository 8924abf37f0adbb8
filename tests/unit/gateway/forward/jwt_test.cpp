#include "gateway/forward/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>

#include <memory>

namespace helsebro::forward {
namespace {

using Key = std::shared_ptr<EVP_PKEY>;

Key generate(const char* type, const char* curve_or_bits) {
  EVP_PKEY* key = std::string_view(type) == "RSA"
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                          static_cast<std::size_t>(std::stoul(curve_or_bits)))
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve_or_bits);
  return Key(key, EVP_PKEY_free);
}

std::string pem_of(const Key& key, const EVP_CIPHER* cipher = nullptr,
                   const char* passphrase = nullptr) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key.get(), cipher, nullptr, 0, nullptr,
                           const_cast<char*>(passphrase));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

const Key& rsa_key() {
  static const Key key = generate("RSA", "2048");
  return key;
}
const Key& ec_key() {
  static const Key key = generate("EC", "P-256");
  return key;
}

std::string base64url_decode(std::string text) {
  for (char& c : text) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
  }
  const std::size_t padding = (4 - text.size() % 4) % 4;
  text.append(padding, '=');
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  EXPECT_GE(n, 0);
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

struct Jwt {
  std::string header_b64, payload_b64, signature_b64;
  rapidjson::Document header, payload;
};

Jwt split(const std::string& jwt) {
  Jwt out;
  const std::size_t first = jwt.find('.');
  const std::size_t second = jwt.find('.', first + 1);
  EXPECT_NE(second, std::string::npos);
  EXPECT_EQ(jwt.find('.', second + 1), std::string::npos);
  out.header_b64 = jwt.substr(0, first);
  out.payload_b64 = jwt.substr(first + 1, second - first - 1);
  out.signature_b64 = jwt.substr(second + 1);
  out.header.Parse(base64url_decode(out.header_b64).c_str());
  out.payload.Parse(base64url_decode(out.payload_b64).c_str());
  return out;
}

// Verifies a JWS signature with the public half of `key`, independently of jwt.cpp's signing.
bool verifies(const Key& key, const std::string& signing_input, std::string signature) {
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC) {  // JWS r‖s back to DER for OpenSSL
    if (signature.size() != 64) return false;
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* der = nullptr;
    const int n = i2d_ECDSA_SIG(sig, &der);
    signature.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get());
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

const AssertionClaims kClaims{"helsebro-gw", "https://auth.example/oauth2/token", "jti-1",
                              1700000000, 1700000060};

void expect_valid_assertion(const Key& key, const char* algorithm) {
  auto signing_key = SigningKey::from_pem(pem_of(key));
  ASSERT_TRUE(signing_key) << signing_key.error().detail;
  EXPECT_EQ(signing_key->algorithm(), algorithm);
  auto jwt = make_client_assertion(*signing_key, kClaims, "key-2024");
  ASSERT_TRUE(jwt) << jwt.error().detail;
  const Jwt parts = split(*jwt);
  EXPECT_STREQ(parts.header["alg"].GetString(), algorithm);
  EXPECT_STREQ(parts.header["typ"].GetString(), "JWT");
  EXPECT_STREQ(parts.header["kid"].GetString(), "key-2024");
  EXPECT_STREQ(parts.payload["iss"].GetString(), "helsebro-gw");
  EXPECT_STREQ(parts.payload["sub"].GetString(), "helsebro-gw");
  EXPECT_STREQ(parts.payload["aud"].GetString(), "https://auth.example/oauth2/token");
  EXPECT_STREQ(parts.payload["jti"].GetString(), "jti-1");
  EXPECT_EQ(parts.payload["iat"].GetInt64(), 1700000000);
  EXPECT_EQ(parts.payload["exp"].GetInt64(), 1700000060);
  const std::string signing_input = parts.header_b64 + "." + parts.payload_b64;
  const std::string signature = base64url_decode(parts.signature_b64);
  EXPECT_TRUE(verifies(key, signing_input, signature));
  EXPECT_FALSE(verifies(key, parts.header_b64 + "." + parts.payload_b64 + "x", signature))
      << "tampering shows";
}

TEST(Base64, EncodesWithAndWithoutPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(ClientAssertion, Rs256IsSignedWithTheRsaKeyAndCarriesTheRfc7523Claims) {
  expect_valid_assertion(rsa_key(), "RS256");
}

TEST(ClientAssertion, Es256IsSignedWithTheEcKeyAsRawRAndS) {
  expect_valid_assertion(ec_key(), "ES256");
}

TEST(ClientAssertion, NoKidWithoutAKeyId) {
  auto key = SigningKey::from_pem(pem_of(ec_key()));
  ASSERT_TRUE(key);
  auto jwt = make_client_assertion(*key, kClaims);
  ASSERT_TRUE(jwt);
  EXPECT_FALSE(split(*jwt).header.HasMember("kid"));
}

TEST(ClientAssertion, ClaimsAreJsonEscaped) {
  auto key = SigningKey::from_pem(pem_of(ec_key()));
  ASSERT_TRUE(key);
  AssertionClaims claims = kClaims;
  claims.client_id = "a\"b\\c";
  auto jwt = make_client_assertion(*key, claims);
  ASSERT_TRUE(jwt);
  EXPECT_STREQ(split(*jwt).payload["iss"].GetString(), "a\"b\\c");
}

TEST(SigningKey, AlgorithmMustSuitTheKey) {
  EXPECT_TRUE(SigningKey::from_pem(pem_of(rsa_key()), "RS256"));
  EXPECT_TRUE(SigningKey::from_pem(pem_of(ec_key()), "ES256"));
  auto rsa_as_es = SigningKey::from_pem(pem_of(rsa_key()), "ES256");
  ASSERT_FALSE(rsa_as_es);
  EXPECT_NE(rsa_as_es.error().detail.find("RSA key signs RS256"), std::string::npos)
      << rsa_as_es.error().detail;
  EXPECT_FALSE(SigningKey::from_pem(pem_of(ec_key()), "RS256"));
}

TEST(SigningKey, RefusesWeakForeignAndUnreadableKeys) {
  auto weak = SigningKey::from_pem(pem_of(generate("RSA", "1024")));
  ASSERT_FALSE(weak);
  EXPECT_NE(weak.error().detail.find("2048"), std::string::npos);
  auto p384 = SigningKey::from_pem(pem_of(generate("EC", "P-384")));
  ASSERT_FALSE(p384);
  EXPECT_NE(p384.error().detail.find("P-256"), std::string::npos) << p384.error().detail;
  auto ed = SigningKey::from_pem(
      pem_of(Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free)));
  ASSERT_FALSE(ed);
  EXPECT_NE(ed.error().detail.find("neither RSA nor EC"), std::string::npos);
  EXPECT_FALSE(
      SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"));
  EXPECT_FALSE(SigningKey::from_pem(""));
}

TEST(SigningKey, RefusesAnEncryptedKeyWithoutAskingForItsPassphrase) {
  auto encrypted = SigningKey::from_pem(pem_of(ec_key(), EVP_aes_128_cbc(), "secret"));
  ASSERT_FALSE(encrypted);
  EXPECT_NE(encrypted.error().detail.find("unencrypted"), std::string::npos);
}

TEST(SigningKey, LoadFileNamesTheFile) {
  auto missing = SigningKey::load_file("/nonexistent/key.pem");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("/nonexistent/key.pem"), std::string::npos);
}

TEST(RandomJti, IsFreshEachTime) {
  auto a = random_jti();
  auto b = random_jti();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 22u);  // 128 bits, base64url
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace helsebro::forward
