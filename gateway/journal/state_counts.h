#pragma once
// How many journalled messages are in each state, kept in memory so that /metrics does not ask
// the database on every scrape. The journal's writer changes it only after a commit, by the
// changes that commit made; anyone may read it at any time (lock-free, each count on its own).

#include <array>
#include <atomic>
#include <cstdint>
#include <map>

#include "gateway/core/message.h"

namespace helsebro::journal {

/// Changes to the counts made by one operation or one transaction. Not thread-safe.
class StateDelta {
 public:
  void added(MessageState s, std::int64_t n = 1) { d_[index(s)] += n; }
  void removed(MessageState s, std::int64_t n = 1) { d_[index(s)] -= n; }
  void moved(MessageState from, MessageState to) {
    removed(from);
    added(to);
  }
  void add(const StateDelta& o) {
    for (std::size_t i = 0; i < d_.size(); ++i) d_[i] += o.d_[i];
  }
  void clear() { d_.fill(0); }
  std::int64_t operator[](std::size_t i) const { return d_[i]; }
  static constexpr std::size_t size() { return kMessageStateCount; }

 private:
  static std::size_t index(MessageState s) { return static_cast<std::size_t>(s); }
  std::array<std::int64_t, kMessageStateCount> d_{};
};

class StateCounts {
 public:
  void set(MessageState s, std::int64_t n) {
    c_[static_cast<std::size_t>(s)].store(n, std::memory_order_relaxed);
  }
  std::int64_t get(MessageState s) const { return c_[static_cast<std::size_t>(s)].load(std::memory_order_relaxed); }
  void apply(const StateDelta& d) {
    for (std::size_t i = 0; i < c_.size(); ++i) {
      if (d[i] != 0) c_[i].fetch_add(d[i], std::memory_order_relaxed);
    }
  }
  /// Every state, zero included.
  std::map<MessageState, std::int64_t> snapshot() const {
    std::map<MessageState, std::int64_t> out;
    for (std::size_t i = 0; i < c_.size(); ++i) {
      out[static_cast<MessageState>(i)] = c_[i].load(std::memory_order_relaxed);
    }
    return out;
  }

 private:
  std::array<std::atomic<std::int64_t>, kMessageStateCount> c_{};
};

}  // namespace helsebro::journal
