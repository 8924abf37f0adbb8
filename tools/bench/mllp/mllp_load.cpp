// MLLP load generator: N senders, each on its own connection, send synthetic ADT^A01 / ORU^R01
// messages and check every acknowledgement (MSA-1 AA or CA, MSA-2 the control id sent).
//
//   closed loop (--mode closed): each sender keeps --window messages in flight and sends the next
//     when an acknowledgement comes back; measures messages/s.
//   open loop (--mode open): the senders together send --rate messages/s on a fixed schedule,
//     whatever the acknowledgements do; latency counts from the time a message was due, not from
//     when it was written, so a stalled server is not hidden (no coordinated omission).
//
// One JSON line on stdout describes the run; --watch-pid adds the RSS and CPU of that process
// during the measured window. See docs/BENCHMARKS.md, "MLLP in → journal → ACK".

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "load_options.h"
#include "load_stats.h"
#include "messages.h"
#include "sender.h"

using namespace helsebro::bench;

namespace {

[[noreturn]] void usage(const char* why) {
  std::fprintf(
      stderr,
      "mllp_load: %s\nusage: mllp_load --port P [--host H] [--label NAME] [--mode closed|open]\n"
      "  [--senders N] [--window W] [--rate MSGS_PER_S] [--warmup S] [--seconds S] [--drain S]\n"
      "  [--mix adt|oru|both] [--patients N] [--seed N] [--watch-pid PID] [--threads N]\n"
      "  mllp_load --dump DIR   (writes two messages of each type, then exits)\n",
      why);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = v;
    else if (a == "--label")
      o.label = v;
    else if (a == "--mode")
      o.mode = v;
    else if (a == "--senders")
      o.senders = std::stoi(v);
    else if (a == "--window")
      o.window = std::stoi(v);
    else if (a == "--rate")
      o.rate = std::stod(v);
    else if (a == "--warmup")
      o.warmup = std::stod(v);
    else if (a == "--seconds")
      o.seconds = std::stod(v);
    else if (a == "--drain")
      o.drain = std::stod(v);
    else if (a == "--mix")
      o.mix = v;
    else if (a == "--patients")
      o.patients = std::stoi(v);
    else if (a == "--seed")
      o.seed = static_cast<unsigned>(std::stoul(v));
    else if (a == "--watch-pid")
      o.watch_pid = std::stol(v);
    else if (a == "--threads")
      o.threads = std::stoi(v);
    else if (a == "--dump")
      o.dump_dir = v;
    else
      usage(("unknown option " + a).c_str());
  }
  if (o.dump_dir.empty() && o.port.empty()) usage("--port is required");
  if (o.mode != "closed" && o.mode != "open") usage("--mode is closed or open");
  if (o.mix != "adt" && o.mix != "oru" && o.mix != "both") usage("--mix is adt, oru or both");
  if (o.senders < 1 || o.window < 1 || o.rate <= 0 || o.seconds <= 0 || o.patients < 1)
    usage("bad number");
  return o;
}

// Six base-36 characters from the clock: MSH-10 differs between runs against one journal.
std::string run_prefix() {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  auto n = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  std::string out(6, '0');
  for (int i = 5; i >= 0; --i, n /= 36) out[static_cast<std::size_t>(i)] = kDigits[n % 36];
  return out;
}

double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

unsigned long long u(std::uint64_t v) {
  return static_cast<unsigned long long>(v);
}

void print_report(const Options& o, SenderStats& all, const Watch& w) {
  std::sort(all.latency_ns.begin(), all.latency_ns.end());
  const auto& f = all.failures;
  const auto& l = all.latency_ns;
  const bool watched = o.watch_pid > 0;
  std::printf(
      "{\"label\":\"%s\",\"mode\":\"%s\",\"senders\":%d,\"window\":%d,\"target_rate\":%.0f,\"mix\":"
      "\"%s\","
      "\"seconds\":%.1f,\"sent\":%llu,\"acked\":%llu,\"acked_measured\":%llu,\"msgs_per_s\":%.0f,"
      "\"avg_message_bytes\":%.0f,\"latency_ms\":{\"samples\":%zu,\"p50\":%.3f,\"p90\":%.3f,"
      "\"p99\":%.3f,"
      "\"p999\":%.3f,\"max\":%.3f},\"failures\":{\"total\":%llu,\"nak\":%llu,\"mismatch\":%llu,"
      "\"malformed\":%llu,\"unanswered\":%llu,\"connection\":%llu},\"server\":{\"pid\":%ld,\"rss_"
      "peak_kb\":%ld,"
      "\"rss_mean_kb\":%.0f,\"hwm_kb\":%ld,\"cpu_cores\":%.2f},\"generator_cpu_cores\":%.2f}\n",
      o.label.c_str(), o.mode.c_str(), o.senders, o.mode == "closed" ? o.window : 0,
      o.mode == "open" ? o.rate : 0.0, o.mix.c_str(), o.seconds, u(all.sent), u(all.acked),
      u(all.acked_measured), static_cast<double>(all.acked_measured) / o.seconds,
      all.sent ? static_cast<double>(all.bytes_sent) / static_cast<double>(all.sent) : 0.0,
      l.size(), ms(quantile(l, 0.50)), ms(quantile(l, 0.90)), ms(quantile(l, 0.99)),
      ms(quantile(l, 0.999)), ms(l.empty() ? 0 : l.back()), u(f.total()), u(f.nak), u(f.mismatch),
      u(f.malformed), u(f.unanswered), u(f.connection), o.watch_pid, watched ? w.rss_peak_kb : -1L,
      watched && w.rss_samples ? w.rss_sum_kb / w.rss_samples : -1.0,
      watched ? w.server_to.hwm_kb : -1L,
      watched ? (w.server_to.cpu_seconds - w.server_from.cpu_seconds) / o.seconds : 0.0,
      (w.self_to.cpu_seconds - w.self_from.cpu_seconds) / o.seconds);
  std::fflush(stdout);
}

int dump(const Options& o) {
  const auto patients = make_patients(static_cast<std::size_t>(o.patients), o.seed);
  std::filesystem::create_directories(o.dump_dir);
  MessageFactory factory(patients, Mix::kBoth, "DUMP00", o.seed);
  std::string text;
  for (int i = 0; i < 4; ++i) {
    const std::string id = factory.next(text);
    std::ofstream(std::filesystem::path(o.dump_dir) / (id + (i % 2 == 0 ? "-adt.hl7" : "-oru.hl7")),
                  std::ios::binary)
        << text;
  }
  for (const auto& p : patients) {
    if (!valid_fnr(p.fnr)) {
      std::fprintf(stderr, "mllp_load: generated an invalid fødselsnummer\n");
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  if (!o.dump_dir.empty()) return dump(o);
  const auto patients = make_patients(static_cast<std::size_t>(o.patients), o.seed);
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(o.host, o.port);

  Timeline t;
  std::vector<std::shared_ptr<Sender>> senders;
  const std::string prefix = run_prefix();
  for (int i = 0; i < o.senders; ++i)
    senders.push_back(std::make_shared<Sender>(io, o, t, patients, i, prefix));

  int connected = 0;
  for (auto& s : senders) {
    asio::co_spawn(
        io,
        [&s, &endpoints, &connected]() -> asio::awaitable<void> {
          if (co_await s->connect(endpoints)) ++connected;
        },
        asio::detached);
  }
  io.run();
  io.restart();
  if (connected != o.senders) return 1;

  auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  t.start = Clock::now() + std::chrono::milliseconds(50);
  t.measure_from = t.start + seconds(o.warmup);
  t.measure_to = t.measure_from + seconds(o.seconds);
  t.give_up = t.measure_to + seconds(o.drain);
  for (auto& s : senders) s->start();

  Watch watch;
  asio::co_spawn(io, watch_and_end(io, o.watch_pid, t, senders, watch), asio::detached);

  std::vector<std::thread> threads;
  for (int i = 1; i < o.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& th : threads) th.join();

  SenderStats all;
  for (auto& s : senders) all.add(s->stats());
  print_report(o, all, watch);
  return all.failures.total() == 0 && all.acked > 0 ? 0 : 1;
}
