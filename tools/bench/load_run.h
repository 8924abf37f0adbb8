#pragma once
// What both load generators (mllp/, kith/) share: the run's timeline, quantiles of latency
// samples, a process's memory and CPU from /proc, and the coroutine that watches the measured
// window and ends the run at the drain deadline.

#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace helsebro::bench {

using Clock = std::chrono::steady_clock;
inline constexpr auto kTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

/// When the run starts, when its measured window opens and closes, and when it gives up waiting.
struct Timeline {
  Clock::time_point start, measure_from, measure_to, give_up;
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

/// What the watcher saw of the server (--watch-pid) and of this process.
struct Watch {
  ProcessSample server_from, server_to, self_from, self_to;
  long rss_peak_kb = -1;
  double rss_sum_kb = 0;
  int rss_samples = 0;
};

/// Samples the watched process's RSS every 100 ms inside the measured window and both processes'
/// CPU across it; then waits for every worker (a sender, a connection: anything with finished()
/// and give_up()) to finish or the drain deadline, and then gives every one up (closing what a
/// finished worker may still hold open).
template <class Worker>
boost::asio::awaitable<void> watch_and_end(boost::asio::io_context& io, long watch_pid, const Timeline& t,
                                           const std::vector<std::shared_ptr<Worker>>& workers, Watch& w) {
  boost::asio::steady_timer timer(io);
  timer.expires_at(t.measure_from);
  co_await timer.async_wait(kTuple);
  w.server_from = sample_process(watch_pid);
  w.self_from = sample_process(0);
  while (Clock::now() < t.measure_to) {
    const ProcessSample s = sample_process(watch_pid);
    w.rss_peak_kb = std::max(w.rss_peak_kb, s.rss_kb);
    w.rss_sum_kb += static_cast<double>(s.rss_kb);
    ++w.rss_samples;
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(kTuple);
  }
  w.server_to = sample_process(watch_pid);
  w.self_to = sample_process(0);
  while (Clock::now() < t.give_up) {
    bool all_done = true;
    for (const auto& worker : workers) all_done = all_done && worker->finished();
    if (all_done) break;
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kTuple);
  }
  for (const auto& worker : workers) worker->give_up();
}

}  // namespace helsebro::bench
