// SHA1_Init and friends (uuid_v5_bytes) are deprecated in OpenSSL 3; see there why they are used.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "gateway/core/ids.h"

#include <initializer_list>
#include <memory>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace helsebro {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

Uuid namespace_from(std::string_view text) {
  Uuid out{};
  if (!parse_uuid(text, out)) throw std::logic_error("bad namespace uuid");
  return out;
}

}  // namespace

const Uuid kResourceNamespace = namespace_from("5b0f4c1e-8a2d-4f57-9c43-1d6e2a7b9e10");

bool parse_uuid(std::string_view text, Uuid& out) {
  if (text.size() != 36) return false;
  std::size_t byte = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[byte++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return byte == 16;
}

void format_uuid(const Uuid& uuid, char* out) {
  // 8-4-4-4-12 hex digits.
  static constexpr char kDigits[] = "0123456789abcdef";
  std::size_t at = 0;
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[at++] = '-';
    out[at++] = kDigits[uuid[i] >> 4];
    out[at++] = kDigits[uuid[i] & 0x0f];
  }
}

std::string format_uuid(const Uuid& uuid) {
  std::string out(36, '-');
  format_uuid(uuid, out.data());
  return out;
}

namespace {

// The digest of `parts` one after the other, in `out` (EVP_MAX_MD_SIZE bytes); its length. The
// algorithm is fetched once by the caller and one context is kept per thread: OpenSSL 3 looks the
// algorithm up again on every EVP_sha1()/EVP_sha256() initialisation. Throws `unavailable` when
// OpenSSL fails.
unsigned int digest_of(const EVP_MD* md, std::initializer_list<std::string_view> parts,
                       unsigned char* out, const char* unavailable) {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                  EVP_MD_CTX_free);
  bool ok = md != nullptr && ctx != nullptr && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  unsigned int length = 0;
  if (!ok || EVP_DigestFinal_ex(ctx.get(), out, &length) != 1) throw std::runtime_error(unavailable);
  return length;
}

}  // namespace

Uuid uuid_v5_bytes(const Uuid& name_space, std::string_view name) {
  // Every Bundle entry needs one, fourteen for an ORU^R01 with ten results. SHA-1's own functions,
  // not EVP: an EVP digest allocates its state and asks the provider for it on every
  // initialisation, which took half of the 90 ns an id cost here. They are deprecated in OpenSSL 3
  // in favour of EVP, not removed, and compute the same digest (the RFC 4122 test vector checks).
  SHA_CTX ctx;
  unsigned char digest[SHA_DIGEST_LENGTH];
  if (SHA1_Init(&ctx) != 1 || SHA1_Update(&ctx, name_space.data(), name_space.size()) != 1 ||
      SHA1_Update(&ctx, name.data(), name.size()) != 1 || SHA1_Final(digest, &ctx) != 1) {
    throw std::runtime_error("SHA-1 is not available for UUID v5");
  }
  Uuid out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = digest[i];
  out[6] = static_cast<std::uint8_t>((out[6] & 0x0f) | 0x50);
  out[8] = static_cast<std::uint8_t>((out[8] & 0x3f) | 0x80);
  return out;
}

std::string uuid_v5(const Uuid& name_space, std::string_view name) {
  return format_uuid(uuid_v5_bytes(name_space, name));
}

std::string uuid_v7(std::int64_t unix_ms) {
  Uuid out{};
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    throw std::runtime_error("no randomness available for UUID v7");
  }
  for (int i = 0; i < 6; ++i) {
    out[i] = static_cast<std::uint8_t>((static_cast<std::uint64_t>(unix_ms) >> (8 * (5 - i))) & 0xff);
  }
  out[6] = static_cast<std::uint8_t>((out[6] & 0x0f) | 0x70);
  out[8] = static_cast<std::uint8_t>((out[8] & 0x3f) | 0x80);
  return format_uuid(out);
}

std::string sha256_hex(std::string_view bytes) {
  // Once per stored message or file.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  const unsigned int length = digest_of(sha256, {bytes}, digest, "SHA-256 is not available");
  return to_hex(digest, length);
}

}  // namespace helsebro
