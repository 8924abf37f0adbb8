#pragma once
// What the shared record said about a patient, remembered for a while so that a GP sending ten
// messages about one patient costs one search: "known" for longer (patients are seldom removed),
// "unknown" briefly (the patient may be registered any minute). Bounded: the least recently used
// answer goes first. "Unavailable" is never remembered. Pure and clock-driven; not thread-safe
// (it lives on the patient directory's strand).

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "gateway/core/clock.h"
#include "gateway/core/patient_directory.h"

namespace helsebro::forward {

class PresenceCache {
 public:
  PresenceCache(EpochMillis known_ms, EpochMillis unknown_ms, std::size_t capacity, Clock clock = {})
      : known_ms_(known_ms), unknown_ms_(unknown_ms), capacity_(capacity), clock_(std::move(clock)) {}

  /// The remembered answer while it is fresh; nullopt when there is none (an expired one is
  /// forgotten).
  std::optional<PatientPresence> get(const std::string& key) {
    const auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (clock_.now_ms() >= it->second.expires_at) {
      order_.erase(it->second.position);
      entries_.erase(it);
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, it->second.position);
    return it->second.presence;
  }

  /// Remembers `presence` for `key` (kUnavailable, or a lifetime of 0, is not remembered).
  void put(const std::string& key, PatientPresence presence) {
    const EpochMillis lifetime = presence == PatientPresence::kKnown     ? known_ms_
                                 : presence == PatientPresence::kUnknown ? unknown_ms_
                                                                         : 0;
    if (auto it = entries_.find(key); it != entries_.end()) {
      order_.erase(it->second.position);
      entries_.erase(it);
    }
    if (lifetime <= 0 || capacity_ == 0) return;
    while (entries_.size() >= capacity_) {
      entries_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(key);
    entries_.emplace(key, Entry{presence, clock_.now_ms() + lifetime, order_.begin()});
  }

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    PatientPresence presence;
    EpochMillis expires_at;
    std::list<std::string>::iterator position;
  };

  EpochMillis known_ms_;
  EpochMillis unknown_ms_;
  std::size_t capacity_;
  Clock clock_;
  std::list<std::string> order_;  // most recently used first
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace helsebro::forward
