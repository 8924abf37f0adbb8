#pragma once
// An injectable wall clock, so tests can pin time.

#include <chrono>
#include <functional>

#include "gateway/core/message.h"

namespace helsebro {

/// Thread-safe: the default reads the system clock; tests install a fixed or stepping function.
class Clock {
 public:
  using Source = std::function<EpochMillis()>;

  Clock() = default;
  explicit Clock(Source source) : source_(std::move(source)) {}

  EpochMillis now_ms() const {
    if (source_) return source_();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  Source source_;
};

}  // namespace helsebro
