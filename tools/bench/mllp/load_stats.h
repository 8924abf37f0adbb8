#pragma once
// What one MLLP load run measured, per sender and merged: acknowledgements counted, failures by
// kind, latency samples. What a watched process used is in ../load_run.h.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace helsebro::bench {

struct Failures {
  std::uint64_t nak = 0;         // MSA-1 not AA/CA
  std::uint64_t mismatch = 0;    // MSA-2 not the control id sent
  std::uint64_t malformed = 0;   // a frame without a readable MSA
  std::uint64_t unanswered = 0;  // sent, no acknowledgement before the drain deadline
  std::uint64_t connection = 0;  // connect, read or write failed

  std::uint64_t total() const { return nak + mismatch + malformed + unanswered + connection; }
  void add(const Failures& o) {
    nak += o.nak;
    mismatch += o.mismatch;
    malformed += o.malformed;
    unanswered += o.unanswered;
    connection += o.connection;
  }
};

struct SenderStats {
  std::uint64_t sent = 0;            // every message written
  std::uint64_t acked = 0;           // every good acknowledgement
  std::uint64_t acked_measured = 0;  // good acknowledgements received inside the measured window
  std::uint64_t bytes_sent = 0;
  Failures failures;
  std::vector<std::int64_t> latency_ns;  // of messages due inside the measured window

  void add(const SenderStats& o) {
    sent += o.sent;
    acked += o.acked;
    acked_measured += o.acked_measured;
    bytes_sent += o.bytes_sent;
    failures.add(o.failures);
    latency_ns.insert(latency_ns.end(), o.latency_ns.begin(), o.latency_ns.end());
  }
};

}  // namespace helsebro::bench
