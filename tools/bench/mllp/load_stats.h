#pragma once
// What one load run measured, per sender and merged: acknowledgements counted, failures by kind,
// latency samples; and what a watched process used (RSS, CPU) while it ran.

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
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

/// The q-quantile (0 < q ≤ 1) of sorted samples, nearest rank; 0 when there are none.
inline std::int64_t quantile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

/// A process's memory and CPU, read from /proc.
struct ProcessSample {
  long rss_kb = -1;
  long hwm_kb = -1;
  double cpu_seconds = -1;  // user + system
};

inline ProcessSample sample_process(long pid) {
  ProcessSample s;
  const std::string base = pid > 0 ? "/proc/" + std::to_string(pid) : std::string("/proc/self");
  std::ifstream status(base + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = std::stol(line.substr(6));
  }
  std::ifstream stat(base + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const auto close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoul(field);
      if (i == 15) stime = std::stoul(field);
    }
    s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return s;
}

}  // namespace helsebro::bench
