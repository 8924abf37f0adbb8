#pragma once
// Structured logs: one JSON object per line on stderr. Log ids, hashes, counts and codes — never
// message content or personal identifiers. Thread-safe: each line is written with one call.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace helsebro::observe {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

struct LogField {
  std::string_view key;
  std::variant<std::string_view, std::string, std::int64_t, double, bool> value;

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, std::int64_t v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  LogField(std::string_view k, unsigned v) : key(k), value(std::int64_t{v}) {}
  LogField(std::string_view k, std::uint64_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
};

void set_log_level(LogLevel level);
bool parse_log_level(std::string_view text, LogLevel& out);

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
inline void log_debug(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kDebug, e, f); }
inline void log_info(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kInfo, e, f); }
inline void log_warn(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kWarn, e, f); }
inline void log_error(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::kError, e, f); }

/// Appends s to out as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace helsebro::observe
