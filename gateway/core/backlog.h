#pragma once
// The undelivered backlog: stored messages waiting for the shared record. Listeners stop
// reading while it is over its limit (senders wait, memory stays bounded); deliveries bring it
// down. The journal sets it (SqliteJournal::undelivered). Thread-safe, lock-free.

#include <atomic>
#include <cstdint>

namespace helsebro {

class Backlog {
 public:
  /// `limit` 0: never over.
  explicit Backlog(std::int64_t limit) : limit_(limit) {}

  /// The journal's count of undelivered messages, after each commit.
  void set(std::int64_t n) { count_.store(n, std::memory_order_relaxed); }
  std::int64_t count() const { return count_.load(std::memory_order_relaxed); }
  std::int64_t limit() const { return limit_; }
  bool over_limit() const { return limit_ > 0 && count() >= limit_; }

 private:
  const std::int64_t limit_;
  std::atomic<std::int64_t> count_{0};
};

}  // namespace helsebro
