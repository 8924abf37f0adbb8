#pragma once
// A circuit breaker for one delivery target: after `threshold` transient failures in a row it
// opens, and no request is sent until the cool-down has passed; then one trial request is let
// through (half-open). Success closes it; the trial's failure opens it again for twice as long (up
// to a maximum). Requests sent before it opened may still come back meanwhile: their failures are
// not the trial's. Pure and clock-driven, so it is tested without a server. Not thread-safe: it
// lives on the forwarder's strand.

#include <algorithm>
#include <cstdint>

#include "gateway/core/message.h"

namespace helsebro::forward {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  /// What allow() granted, told back to success(), failure() or unused() with the request's
  /// outcome.
  enum class Grant { kNone, kRequest, kTrial };

  CircuitBreaker(int threshold, EpochMillis cool_down_ms, EpochMillis max_cool_down_ms)
      : threshold_(threshold), base_ms_(cool_down_ms), max_ms_(max_cool_down_ms), cool_down_ms_(cool_down_ms) {}

  /// May a request go now? In the half-open state only one, until its outcome is known: the trial
  /// granted is held until success() or failure(), so ask only for a request that really goes
  /// (blocks() looks without taking it).
  Grant allow(EpochMillis now) {
    switch (state(now)) {
      case State::kClosed: return Grant::kRequest;
      case State::kOpen: return Grant::kNone;
      case State::kHalfOpen:
        if (trial_in_flight_) return Grant::kNone;
        trial_in_flight_ = true;
        return Grant::kTrial;
    }
    return Grant::kNone;
  }

  /// The target answered a request granted as `grant` (any reply that is not a transient
  /// failure): it is there again, whichever request found it.
  void success(Grant grant) {
    failures_ = 0;
    open_until_ = 0;
    if (grant == Grant::kTrial) trial_in_flight_ = false;
    cool_down_ms_ = base_ms_;
  }

  /// A transient failure (no connection, timeout, 408/429/5xx) of a request granted as `grant`.
  /// Only the trial's failure opens the circuit again; a request sent while it was closed that
  /// fails once it is open tells nothing new.
  void failure(EpochMillis now, Grant grant) {
    if (grant == Grant::kTrial) trial_in_flight_ = false;
    if (open_until_ != 0) {
      if (grant == Grant::kTrial) {
        cool_down_ms_ = std::min(max_ms_, cool_down_ms_ * 2);
        open_until_ = now + cool_down_ms_;
      }
      return;
    }
    if (++failures_ >= threshold_) open_until_ = now + cool_down_ms_;
  }

  /// A request granted as `grant` was never sent (there was no token to send it with, or it
  /// could not be built): it tells nothing about the target, and a trial is given back.
  void unused(Grant grant) {
    if (grant == Grant::kTrial) trial_in_flight_ = false;
  }

  State state(EpochMillis now) const {
    if (open_until_ == 0) return State::kClosed;
    return now < open_until_ ? State::kOpen : State::kHalfOpen;
  }
  /// Nothing may go now: the circuit is open, or half-open with its one trial still out. Takes
  /// nothing, however often asked.
  bool blocks(EpochMillis now) const {
    const State s = state(now);
    return s == State::kOpen || (s == State::kHalfOpen && trial_in_flight_);
  }
  /// When an open circuit lets its next trial through.
  EpochMillis open_until() const { return open_until_; }

 private:
  int threshold_;
  EpochMillis base_ms_, max_ms_, cool_down_ms_;
  int failures_ = 0;
  EpochMillis open_until_ = 0;
  bool trial_in_flight_ = false;
};

}  // namespace helsebro::forward
