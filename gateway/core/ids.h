#pragma once
// Identifiers: UUID v7 for message ids (time-ordered), UUID v5 for deterministic FHIR resource ids,
// SHA-256 for logging a payload's fingerprint instead of its content.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace helsebro {

using Uuid = std::array<std::uint8_t, 16>;

/// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; returns false on malformed input.
bool parse_uuid(std::string_view text, Uuid& out);
std::string format_uuid(const Uuid& uuid);
/// The same 36 characters written at `out`, for callers that keep them elsewhere.
void format_uuid(const Uuid& uuid, char* out);

/// RFC 9562 UUID v5 (SHA-1 of namespace and name). Deterministic: same inputs, same id.
Uuid uuid_v5_bytes(const Uuid& name_space, std::string_view name);
std::string uuid_v5(const Uuid& name_space, std::string_view name);

/// RFC 9562 UUID v7: 48-bit Unix milliseconds then random bits. Thread-safe.
std::string uuid_v7(std::int64_t unix_ms);

/// Lower-case hex SHA-256 of the bytes. Throws std::runtime_error when OpenSSL offers no SHA-256
/// (as uuid_v5 does for SHA-1).
std::string sha256_hex(std::string_view bytes);

/// Helsebro's namespace for resource ids (UUID v5).
extern const Uuid kResourceNamespace;

}  // namespace helsebro
