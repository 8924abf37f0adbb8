// KITH load generator: N keep-alive HTTP/1.1 connections POST synthetic Dialogmelding 1.1
// e-messages (MsgHead 1.2) to /inbound/kith and check every reply: HTTP 200, an AppRec with
// status 1 (OK) whose OriginalMsgId is the MsgId sent.
//
//   closed loop (--mode closed): each connection sends the next message when the reply to the
//     previous one is in (HTTP/1.1 without pipelining); measures e-messages/s.
//   open loop (--mode open): the connections together send --rate messages/s on a fixed
//     schedule, each connection its share; latency counts from the time a message was due, so a
//     reply that holds up the connection's next message is counted in that message's latency too
//     (no coordinated omission).
//
// One JSON line on stdout describes the run; --watch-pid adds the RSS and CPU of that process
// during the measured window. --dump DIR writes a few messages and exits. All data is invented:
// fictional people, HER-ids and HPR numbers; fødselsnumre with valid check digits.
// See docs/BENCHMARKS.md, "KITH e-messages in → journal → AppRec".

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../load_run.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using helsebro::bench::Clock;
using helsebro::bench::kTuple;
using helsebro::bench::quantile;
using helsebro::bench::Timeline;
using helsebro::bench::Watch;
using helsebro::bench::watch_and_end;

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string label = "helsebro";
  std::string mode = "closed";
  int connections = 8;
  double rate = 200;
  double warmup = 2;
  double seconds = 6;
  double drain = 5;
  int patients = 20;
  unsigned seed = 1;
  long watch_pid = 0;
  std::string receiver_her = "8765432";
  std::string dump_dir;
};

// ---- Synthetic e-messages -------------------------------------------------------------------

struct Patient {
  std::string fnr, family, given;
};

struct Sender {
  const char* her;
  const char* name;
  const char* family;
  const char* given;
  const char* hpr;
};

constexpr std::array<Sender, 4> kSenders = {{
    {"8123456", "Fjellgården legekontor", "Ødegård", "Åse", "9144897"},
    {"8123457", "Sjøkanten legesenter", "Bråthen", "Øystein", "9144898"},
    {"8123458", "Dalbygda legekontor", "Kværnes", "Sølvi", "9144899"},
    {"8123459", "Elvebakken fastlegesenter", "Håland", "Jørgen", "9144900"},
}};
constexpr std::array<const char*, 10> kFamilies = {"Bæverfjord", "Sæther", "Ødegård", "Bjørnstad",
                                                   "Håland",     "Strøm",  "Næss",    "Aasen",
                                                   "Hægeland",   "Dahl"};
constexpr std::array<const char*, 8> kGiven = {"Kjærstin", "Åse",   "Øyvor", "Ingrid",
                                               "Kåre",     "Håkon", "Per",   "Marte"};
constexpr std::array<const char*, 8> kSentences = {
    "Pasienten er henvist til poliklinikken for utredning av brystsmerter.",
    "Ettersender EKG tatt i dag uten funn; tolkning i vedlegg.",
    "Ber om oppdatert medisinliste etter utskrivning.",
    "Blodprøver viser stabil nyrefunksjon, kreatinin 78 µmol/L.",
    "Pasienten ønsker time etter kl. 14 på grunn av arbeid.",
    "Hjemmesykepleien melder økt hevelse i begge ankler siste uke.",
    "Kontroll om tre måneder er avtalt; pasienten er informert.",
    "Spørsmål om dosering av blodfortynnende før planlagt inngrep.",
};

// The two mod-11 check digits for a fødselsnummer's first nine digits; -1 when none exists.
int check_digits(const std::string& nine) {
  static constexpr int w1[] = {3, 7, 6, 1, 8, 9, 4, 5, 2};
  static constexpr int w2[] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += w1[i] * (nine[i] - '0');
  const int k1 = (11 - sum % 11) % 11;
  if (k1 == 10) return -1;
  sum = 0;
  for (int i = 0; i < 9; ++i) sum += w2[i] * (nine[i] - '0');
  sum += w2[9] * k1;
  const int k2 = (11 - sum % 11) % 11;
  return k2 == 10 ? -1 : k1 * 10 + k2;
}

std::vector<Patient> make_patients(int count, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<Patient> out;
  while (static_cast<int>(out.size()) < count) {
    char nine[16];
    const int day = 1 + static_cast<int>(random() % 28),
              month = 1 + static_cast<int>(random() % 12);
    const int year =
        1930 + static_cast<int>(random() % 70);  // individual numbers 000–499: 1900–1999
    std::snprintf(nine, sizeof nine, "%02d%02d%02d%03d", day, month, year % 100,
                  static_cast<int>(random() % 500));
    const int k = check_digits(nine);
    if (k < 0) continue;
    const std::string fnr =
        std::string(nine) + static_cast<char>('0' + k / 10) + static_cast<char>('0' + k % 10);
    out.push_back(
        {fnr, kFamilies[out.size() % kFamilies.size()], kGiven[random() % kGiven.size()]});
  }
  return out;
}

// A message's MsgId: a UUID v4 unique within the run (the counter) and across runs (the random
// prefix), so the gateway's duplicate check never answers from an earlier message.
std::string uuid(std::uint64_t prefix, std::uint64_t counter) {
  char b[40];
  std::snprintf(b, sizeof b, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(prefix >> 32),
                static_cast<unsigned>((prefix >> 16) & 0xffff),
                static_cast<unsigned>(prefix & 0xfff),
                0x8000u | static_cast<unsigned>((counter >> 48) & 0x3fff),
                static_cast<unsigned long long>(counter & 0xffffffffffffULL));
  return b;
}

// Builds Dialogmelding 1.1 e-messages in MsgHead 1.2 like mappings/kith/examples/
// dialogmelding-helsefaglig-odegard.xml: type, sender, patient, note length and an attachment
// (every third message, 0.4–2.4 KB of base64) vary. Not thread-safe: one per connection.
class MessageFactory {
 public:
  MessageFactory(const std::vector<Patient>& patients, const Options& o, unsigned stream)
      : patients_(patients), receiver_(o.receiver_her), random_(o.seed * 7919u + stream) {
    prefix_ = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ random_();
    prefix_ ^= static_cast<std::uint64_t>(stream) << 16;
  }

  /// Writes the next message into `out` and returns its MsgId.
  std::string next(std::string& out) {
    const std::uint64_t n = counter_++;
    const std::string id = uuid(prefix_, n);
    const Patient& p = patients_[random_() % patients_.size()];
    const Sender& s = kSenders[random_() % kSenders.size()];
    const bool notat = random_() % 2 == 0;
    out.clear();
    out += R"(<?xml version="1.0" encoding="UTF-8"?>
<MsgHead xmlns="http://www.kith.no/xmlstds/msghead/2006-05-24" xmlns:fk1="http://www.kith.no/xmlstds/felleskomponent1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<MsgInfo><Type V=")";
    out += notat ? R"(DIALOG_NOTAT" DN="Notat"/>)"
                 : R"(DIALOG_HELSEFAGLIG" DN="Helsefaglig dialog"/>)";
    out += "<MIGversion>v1.2 2006-05-24</MIGversion><GenDate>2026-11-23T09:35:22</GenDate><MsgId>";
    out += id;
    out += "</MsgId><Sender><Organisation><OrganisationName>";
    out += s.name;
    out += R"(</OrganisationName><Ident><Id>)";
    out += s.her;
    out +=
        R"(</Id><TypeId V="HER" DN="HER-id" S="2.16.578.1.12.4.1.1.9051"/></Ident><HealthcareProfessional><RoleToPatient DN="Fastlege" V="6" S="2.16.578.1.12.4.1.1.9034"/><FamilyName>)";
    out += s.family;
    out += "</FamilyName><GivenName>";
    out += s.given;
    out += R"(</GivenName><Ident><Id>)";
    out += s.hpr;
    out +=
        R"(</Id><TypeId V="HPR" DN="HPR-nummer" S="2.16.578.1.12.4.1.1.8116"/></Ident></HealthcareProfessional></Organisation></Sender>
<Receiver><Organisation><OrganisationName>Sjøsiden sykehus HF</OrganisationName><Ident><Id>)";
    out += receiver_;
    out +=
        R"(</Id><TypeId V="HER" DN="HER-id" S="2.16.578.1.12.4.1.1.9051"/></Ident></Organisation></Receiver>
<Patient><FamilyName>)";
    out += p.family;
    out += "</FamilyName><GivenName>";
    out += p.given;
    out += "</GivenName><Ident><Id>";
    out += p.fnr;
    out +=
        R"(</Id><TypeId V="FNR" DN="Fødselsnummer" S="2.16.578.1.12.4.1.1.8116"/></Ident></Patient></MsgInfo>
<Document><RefDoc><IssueDate V="2026-11-23T09:23:47"/><MsgType V="XML" DN="XML-instans"/><Content>
<Dialogmelding xmlns="http://www.kith.no/xmlstds/dialog/2013-01-23"><Notat>)";
    out += notat ? R"(<TemaKodet V="2" DN="Annet" S="2.16.578.1.12.4.1.1.7322"/>)"
                 : R"(<TemaKodet V="6" DN="Henvendelse om pasient" S="2.16.578.1.12.4.1.1.7322"/>)";
    out += "<Tema>Melding ";
    out += std::to_string(n);
    out += "</Tema><TekstNotatInnhold>";
    for (unsigned i = 0, k = 1 + random_() % 6; i < k; ++i) {
      out += i ? " " : "";
      out += kSentences[random_() % kSentences.size()];
    }
    out +=
        R"(</TekstNotatInnhold><RollerRelatertNotat><RoleToPatient DN="Fastlege" V="6" S="2.16.578.1.12.4.1.1.9034"/><HealthcareProfessional><FamilyName>)";
    out += s.family;
    out += "</FamilyName><GivenName>";
    out += s.given;
    out += R"(</GivenName><Ident><fk1:Id>)";
    out += s.hpr;
    out +=
        R"(</fk1:Id><fk1:TypeId V="HPR" DN="HPR-nummer" S="2.16.578.1.12.4.1.1.8116"/></Ident></HealthcareProfessional></RollerRelatertNotat></Notat></Dialogmelding>
</Content></RefDoc></Document>
)";
    if (n % 3 == 2) attachment(out);
    out += "</MsgHead>\n";
    return id;
  }

 private:
  void attachment(std::string& out) {
    static constexpr char kBase64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out +=
        R"(<Document><RefDoc><IssueDate V="2026-11-20T08:45:11"/><MsgType V="A" DN="Vedlegg"/><MimeType>text/plain</MimeType><Description>EKG-tolkning</Description><Content><Base64Container xmlns="http://www.kith.no/xmlstds/base64container">)";
    for (unsigned i = 0, k = 400 + 4 * (random_() % 500); i < k; ++i)
      out += kBase64[random_() % 64];
    out += "</Base64Container></Content></RefDoc></Document>\n";
  }

  const std::vector<Patient>& patients_;
  std::string receiver_;
  std::mt19937 random_;
  std::uint64_t prefix_ = 0;
  std::uint64_t counter_ = 0;
};

// ---- Statistics -----------------------------------------------------------------------------

struct Failures {
  std::uint64_t http_status = 0;  // not 200
  std::uint64_t not_ok = 0;       // an AppRec, but not status 1
  std::uint64_t mismatch = 0;     // OriginalMsgId is not the MsgId sent
  std::uint64_t malformed = 0;    // no AppRec in the body
  std::uint64_t unanswered = 0;   // no reply before the drain deadline
  std::uint64_t connection = 0;   // connect, read or write failed
  std::uint64_t total() const {
    return http_status + not_ok + mismatch + malformed + unanswered + connection;
  }
  void add(const Failures& o) {
    http_status += o.http_status;
    not_ok += o.not_ok;
    mismatch += o.mismatch;
    malformed += o.malformed;
    unanswered += o.unanswered;
    connection += o.connection;
  }
};

struct Stats {
  std::uint64_t sent = 0, ok = 0, ok_measured = 0, bytes_sent = 0;
  Failures failures;
  std::vector<std::int64_t> latency_ns;
  std::string first_failure;  // the first bad reply's status and a short reason, for the log
  void add(const Stats& o) {
    sent += o.sent;
    ok += o.ok;
    ok_measured += o.ok_measured;
    bytes_sent += o.bytes_sent;
    failures.add(o.failures);
    latency_ns.insert(latency_ns.end(), o.latency_ns.begin(), o.latency_ns.end());
    if (first_failure.empty()) first_failure = o.first_failure;
  }
};

// ---- One connection -------------------------------------------------------------------------

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, const Options& o, const Timeline& t,
             const std::vector<Patient>& patients, int index)
      : options_(o),
        timeline_(t),
        stream_(asio::make_strand(io)),
        timer_(stream_.get_executor()),
        factory_(patients, o, static_cast<unsigned>(index)),
        index_(index) {}

  asio::awaitable<bool> connect(const tcp::resolver::results_type& endpoints) {
    auto [ec, endpoint] = co_await stream_.async_connect(endpoints, kTuple);
    (void)endpoint;
    if (ec) {
      std::fprintf(stderr, "kith_load: connection %d: %s\n", index_, ec.message().c_str());
      ++stats_.failures.connection;
      co_return false;
    }
    stream_.socket().set_option(tcp::no_delay(true));
    co_return true;
  }

  void start() {
    asio::co_spawn(
        stream_.get_executor(), [self = shared_from_this()] { return self->run(); },
        asio::detached);
  }

  /// After the drain deadline: a request still waiting was never answered.
  void give_up() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_.cancel();
      self->timer_.cancel();
    });
  }

  bool finished() const { return done_.load(); }
  const Stats& stats() const { return stats_; }

 private:
  asio::awaitable<void> run() {
    auto self = shared_from_this();
    const bool open = options_.mode == "open";
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.connections / options_.rate));
    Clock::time_point due =
        open ? timeline_.start + interval * index_ / options_.connections : timeline_.start;
    timer_.expires_at(due);
    co_await timer_.async_wait(kTuple);
    while (due < timeline_.measure_to) {
      if (open && Clock::now() < due) {
        timer_.expires_at(due);
        co_await timer_.async_wait(kTuple);
      }
      if (!open) due = Clock::now();
      if (!co_await exchange(due)) break;
      if (open) due += interval;
    }
    done_.store(true);
  }

  // One request and its reply; false when the connection is gone.
  asio::awaitable<bool> exchange(Clock::time_point due) {
    http::request<http::string_body> request{http::verb::post, "/inbound/kith", 11};
    request.set(http::field::host, options_.host);
    request.set(http::field::content_type, "application/xml");
    const std::string msg_id = factory_.next(request.body());
    request.prepare_payload();
    ++stats_.sent;
    stats_.bytes_sent += request.body().size();
    stream_.expires_after(std::chrono::duration_cast<Clock::duration>(
        timeline_.give_up - Clock::now() + std::chrono::milliseconds(1)));
    auto [ec, written] = co_await http::async_write(stream_, request, kTuple);
    (void)written;
    http::response<http::string_body> response;
    if (!ec) {
      auto [read_ec, read] = co_await http::async_read(stream_, buffer_, response, kTuple);
      (void)read;
      ec = read_ec;
    }
    const auto now = Clock::now();
    if (ec) {
      const bool late = now >= timeline_.give_up || ec == asio::error::operation_aborted ||
                        ec == beast::error::timeout;
      ++(late ? stats_.failures.unanswered : stats_.failures.connection);
      if (!late)
        std::fprintf(stderr, "kith_load: connection %d: %s\n", index_, ec.message().c_str());
      co_return false;
    }
    check(response, msg_id, due, now);
    co_return response.keep_alive();
  }

  void fail(std::uint64_t& counter, const http::response<http::string_body>& r, const char* why) {
    ++counter;
    if (stats_.first_failure.empty()) {
      stats_.first_failure = "HTTP " + std::to_string(r.result_int()) + ": " + why;
    }
  }

  void check(const http::response<http::string_body>& r, const std::string& msg_id,
             Clock::time_point due, Clock::time_point now) {
    const std::string& body = r.body();
    const auto original = body.find("<OriginalMsgId>");
    if (r.result() != http::status::ok) return fail(stats_.failures.http_status, r, "not 200");
    if (body.find("<AppRec") == std::string::npos || original == std::string::npos) {
      return fail(stats_.failures.malformed, r, "no AppRec with OriginalMsgId");
    }
    const auto status = body.find("<Status ");
    const auto end = status == std::string::npos ? status : body.find('>', status);
    if (status == std::string::npos ||
        body.substr(status, end - status).find(" V=\"1\"") == std::string::npos) {
      return fail(stats_.failures.not_ok, r, "AppRec status is not 1");
    }
    if (body.find("<Id>" + msg_id + "</Id>", original) == std::string::npos) {
      return fail(stats_.failures.mismatch, r, "OriginalMsgId is not the MsgId sent");
    }
    ++stats_.ok;
    if (now >= timeline_.measure_from && now < timeline_.measure_to) ++stats_.ok_measured;
    if (due >= timeline_.measure_from && due < timeline_.measure_to) {
      stats_.latency_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - due).count());
    }
  }

  const Options& options_;
  const Timeline& timeline_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  MessageFactory factory_;
  int index_;
  std::atomic<bool> done_{false};
  Stats stats_;
};

// ---- The run --------------------------------------------------------------------------------

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "kith_load: %s\nusage: kith_load --port P [--host H] [--label NAME] [--mode closed|open]\n"
      "  [--connections N] [--rate MSGS_PER_S] [--warmup S] [--seconds S] [--drain S]\n"
      "  [--patients N] [--seed N] [--receiver-her ID] [--watch-pid PID]\n"
      "  kith_load --dump DIR   (writes six messages, then exits)\n",
      why.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value after " + a);
    const std::string v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = v;
    else if (a == "--label")
      o.label = v;
    else if (a == "--mode")
      o.mode = v;
    else if (a == "--connections")
      o.connections = std::stoi(v);
    else if (a == "--rate")
      o.rate = std::stod(v);
    else if (a == "--warmup")
      o.warmup = std::stod(v);
    else if (a == "--seconds")
      o.seconds = std::stod(v);
    else if (a == "--drain")
      o.drain = std::stod(v);
    else if (a == "--patients")
      o.patients = std::stoi(v);
    else if (a == "--seed")
      o.seed = static_cast<unsigned>(std::stoul(v));
    else if (a == "--receiver-her")
      o.receiver_her = v;
    else if (a == "--watch-pid")
      o.watch_pid = std::stol(v);
    else if (a == "--dump")
      o.dump_dir = v;
    else
      usage("unknown option " + a);
  }
  if (o.dump_dir.empty() && o.port.empty()) usage("--port is required");
  if (o.mode != "closed" && o.mode != "open") usage("--mode is closed or open");
  if (o.connections < 1 || o.rate <= 0 || o.seconds <= 0 || o.patients < 1) usage("bad number");
  return o;
}

double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}
unsigned long long u(std::uint64_t v) {
  return static_cast<unsigned long long>(v);
}

void print_report(const Options& o, Stats& all, const Watch& w) {
  std::sort(all.latency_ns.begin(), all.latency_ns.end());
  const auto& f = all.failures;
  const auto& l = all.latency_ns;
  const bool watched = o.watch_pid > 0;
  std::printf(
      "{\"label\":\"%s\",\"mode\":\"%s\",\"connections\":%d,\"target_rate\":%.0f,\"seconds\":%.1f,"
      "\"sent\":%llu,\"ok\":%llu,\"ok_measured\":%llu,\"msgs_per_s\":%.0f,\"avg_message_bytes\":%."
      "0f,"
      "\"latency_ms\":{\"samples\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,"
      "\"max\":%.3f},"
      "\"failures\":{\"total\":%llu,\"http_status\":%llu,\"not_ok\":%llu,\"mismatch\":%llu,"
      "\"malformed\":%llu,\"unanswered\":%llu,\"connection\":%llu},"
      "\"server\":{\"pid\":%ld,\"rss_peak_kb\":%ld,\"rss_mean_kb\":%.0f,\"hwm_kb\":%ld,\"cpu_"
      "cores\":%.2f},"
      "\"generator_cpu_cores\":%.2f}\n",
      o.label.c_str(), o.mode.c_str(), o.connections, o.mode == "open" ? o.rate : 0.0, o.seconds,
      u(all.sent), u(all.ok), u(all.ok_measured), static_cast<double>(all.ok_measured) / o.seconds,
      all.sent ? static_cast<double>(all.bytes_sent) / static_cast<double>(all.sent) : 0.0,
      l.size(), ms(quantile(l, 0.50)), ms(quantile(l, 0.90)), ms(quantile(l, 0.99)),
      ms(quantile(l, 0.999)), ms(l.empty() ? 0 : l.back()), u(f.total()), u(f.http_status),
      u(f.not_ok), u(f.mismatch), u(f.malformed), u(f.unanswered), u(f.connection), o.watch_pid,
      watched ? w.rss_peak_kb : -1L, watched && w.rss_samples ? w.rss_sum_kb / w.rss_samples : -1.0,
      watched ? w.server_to.hwm_kb : -1L,
      watched ? (w.server_to.cpu_seconds - w.server_from.cpu_seconds) / o.seconds : 0.0,
      (w.self_to.cpu_seconds - w.self_from.cpu_seconds) / o.seconds);
  std::fflush(stdout);
}

int dump(const Options& o) {
  const auto patients = make_patients(o.patients, o.seed);
  for (const auto& p : patients) {
    if (p.fnr.size() != 11 || check_digits(p.fnr.substr(0, 9)) != std::stoi(p.fnr.substr(9)))
      return 1;
  }
  std::filesystem::create_directories(o.dump_dir);
  MessageFactory factory(patients, o, 0);
  std::string text;
  for (int i = 0; i < 6; ++i) {
    const std::string id = factory.next(text);
    std::ofstream(std::filesystem::path(o.dump_dir) / (id + ".xml"), std::ios::binary) << text;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  if (!o.dump_dir.empty()) return dump(o);
  const auto patients = make_patients(o.patients, o.seed);
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(o.host, o.port);

  Timeline t;
  std::vector<std::shared_ptr<Connection>> connections;
  for (int i = 0; i < o.connections; ++i) {
    connections.push_back(std::make_shared<Connection>(io, o, t, patients, i));
  }
  int connected = 0;
  for (auto& c : connections) {
    asio::co_spawn(
        io,
        [&c, &endpoints, &connected]() -> asio::awaitable<void> {
          if (co_await c->connect(endpoints)) ++connected;
        },
        asio::detached);
  }
  io.run();
  io.restart();
  if (connected != o.connections) return 1;

  const auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  t.start = Clock::now() + std::chrono::milliseconds(50);
  t.measure_from = t.start + seconds(o.warmup);
  t.measure_to = t.measure_from + seconds(o.seconds);
  t.give_up = t.measure_to + seconds(o.drain);
  for (auto& c : connections) c->start();
  Watch watch;
  asio::co_spawn(io, watch_and_end(io, o.watch_pid, t, connections, watch), asio::detached);
  io.run();

  Stats all;
  for (auto& c : connections) all.add(c->stats());
  if (!all.first_failure.empty())
    std::fprintf(stderr, "kith_load: first failure: %s\n", all.first_failure.c_str());
  print_report(o, all, watch);
  return all.failures.total() == 0 && all.ok > 0 ? 0 : 1;
}
