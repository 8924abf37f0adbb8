#include "gateway/forward/forwarder.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cmath>
#include <random>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "gateway/forward/circuit_breaker.h"
#include "gateway/forward/http_client.h"
#include "gateway/forward/oauth_client.h"
#include "gateway/forward/outcome.h"
#include "gateway/journal/async_journal.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::forward {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {
using AuthType = helsebro::config::FhirAuthConfig::Type;
constexpr std::size_t kBatch = 512;  // messages a scan reads at a time
// Reading on past the first window costs a read of the index per window, on the strand the
// listeners' connections share: at most this many windows a scan, and not more often than this.
constexpr int kMaxWindows = 64;
constexpr auto kDeepScanEvery = std::chrono::milliseconds(200);
constexpr auto kIdlePoll = std::chrono::seconds(5);
// A message whose delivery the journal could not record waits this long, doubled each time the
// journal fails again (at most kMaxHold), instead of going out again at once.
constexpr EpochMillis kFirstHoldMs = 1'000;
constexpr EpochMillis kMaxHoldMs = 60'000;

// The lane a message waits in: its ordering key, or its own when it has none.
std::string lane_key(const MessageRecord& m) {
  return m.ordering_key.empty() ? "#" + std::to_string(m.seq) : m.ordering_key;
}
constexpr int kBreakerThreshold = 5;  // transient failures in a row that open the circuit
}  // namespace

struct Forwarder::Impl : std::enable_shared_from_this<Forwarder::Impl> {
  asio::strand<asio::io_context::executor_type> strand;
  Journal& journal;
  config::FhirConfig config;
  observe::ForwardProbe& probe;
  Clock clock;
  Url url;
  std::string target_label;
  std::shared_ptr<asio::ssl::context> tls;         // for https targets; null when none is https
  std::unique_ptr<OAuthClient> oauth;              // bearer tokens; null without fhir.auth
  std::vector<std::unique_ptr<HttpClient>> lanes;  // one kept-alive connection each
  std::vector<bool> lane_busy;
  std::set<std::string> keys_in_flight;            // all on the strand: no locks
  std::set<std::int64_t> seqs_in_flight;
  // Messages whose last outcome the journal did not take: seq → (not before, how long it held).
  std::map<std::int64_t, std::pair<EpochMillis, EpochMillis>> held;
  std::chrono::steady_clock::time_point last_deep_scan{};
  // Where the last deep scan stopped when the backlog was longer than it reads (kMaxWindows
  // windows), and the keys it had passed by then: the next deep scan goes on from there, so that
  // every waiting message is looked at within a few deep scans, however many messages of
  // held-back keys lie ahead of it. The keys only ever hold messages back: a key passed whose
  // older messages have gone since waits for the next sweep from the start. A message that comes
  // to wait behind the sweep's place keeps its old seq only when replayed (dead, rejected or held
  // before), and those never held their key's later messages back: it goes when the sweep starts
  // over, as the documented replay order has it.
  struct Sweep {
    std::int64_t after = 0;
    std::set<std::string> passed;
  } sweep;
  CircuitBreaker breaker;
  asio::steady_timer wake;
  std::atomic<bool> notified{false};
  std::atomic<bool> stopping{false};
  std::mt19937_64 random{std::random_device{}()};

  Impl(asio::io_context& io, Journal& j, config::FhirConfig c, observe::ForwardProbe& p, Clock k, Url u)
      : strand(asio::make_strand(io)), journal(j), config(std::move(c)), probe(p), clock(std::move(k)),
        url(std::move(u)), target_label(observe::ForwardProbe::kTarget),
        breaker(kBreakerThreshold, static_cast<EpochMillis>(std::max(0.1, config.retry.initial_seconds) * 1000),
                static_cast<EpochMillis>(std::max(0.1, config.retry.max_seconds) * 1000)),
        wake(strand) {
    const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(config.timeout_seconds * 1000));
    tls = fhir_tls_context(url, config);
    if (config.auth.type != AuthType::kNone) oauth = std::make_unique<OAuthClient>(strand, config.auth, tls, timeout, clock);
    for (int i = 0; i < std::max(1, config.lanes); ++i) {
      lanes.push_back(std::make_unique<HttpClient>(strand, url, timeout, tls));
    }
    lane_busy.assign(lanes.size(), false);
  }

  // One request to the shared record, with a bearer token when fhir.auth is set. A 401 means the
  // token is no longer good: one new token and one retry; a second 401 goes to the normal
  // retry path with backoff, so a server that keeps refusing never sees a tight loop.
  asio::awaitable<Decision> post_bundle(std::size_t lane, const MessageRecord& m) {
    HttpClient& client = *lanes[lane];
    for (int round = 0;; ++round) {
      HttpRequest request{"POST", url.path, m.bundle, "application/fhir+json", "application/fhir+json", {}};
      std::string token;
      if (oauth) {
        // The token endpoint asked for time (Retry-After): token() fails without asking it.
        const bool asked_to_wait = oauth->wait_seconds().has_value();
        auto fetched = co_await oauth->token();
        if (!fetched) {
          Decision d = classify(fetched.error(), {"token", true});
          d.retry_after_seconds = oauth->wait_seconds();  // the token endpoint's, if it asked
          d.nothing_sent = asked_to_wait;  // a token request that failed counts, as a warning of
                                           // what the target's requests would meet
          co_return d;
        }
        token = std::move(*fetched);
        request.authorization = "Bearer " + token;
      }
      const auto started = std::chrono::steady_clock::now();
      auto reply = co_await client.request(std::move(request));
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (reply) probe.upstream_response(target_label, reply->status, seconds);
      if (!reply && client.last_failure() == TransportFailure::kTls) {
        observe::log_warn("forward.tls_failed", {{"host", url.host}, {"error", reply.error().detail}});
      }
      if (oauth && reply && reply->status == 401 && round == 0) {
        observe::log_info("forward.token_refused", {{"host", url.host}, {"id", m.id}});
        oauth->invalidate(token);
        continue;
      }
      // The reply's time, to read a Retry-After given as a date.
      Decision d = classify(reply, {label(client.last_failure()), oauth != nullptr, clock.now_ms()});
      d.nothing_sent = !reply && client.last_failure() == TransportFailure::kRequest;
      d.maybe_in_progress = client.last_unanswered();
      co_return d;
    }
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds duration) {
    if (notified.exchange(false)) co_return;
    wake.expires_after(duration);
    co_await wake.async_wait(kTuple);
  }

  // Gives up on a message whose retries have used the configured budget. Its age counts from
  // when it last became due for delivery: a replay of an old dead letter gets a budget of its own.
  bool budget_spent(const MessageRecord& m, EpochMillis now) const {
    const bool attempts = config.retry.max_attempts > 0 && m.attempts + 1 >= config.retry.max_attempts;
    const EpochMillis since = std::max(m.queued_at, m.received_at);
    const bool age = config.retry.max_age_seconds > 0 &&
                     now - since > static_cast<EpochMillis>(config.retry.max_age_seconds * 1000);
    return attempts || age;
  }

  // False when the journal did not take a state change. Refused because a replay translated the
  // message again while it was being sent: the new version waits for the next scan, and nothing
  // is counted. Failed (the disk full, the database busy): the message still waits as it did, and
  // is held back for a while, lest it go out again at once for as long as the journal fails.
  bool marked(const Result<void>& r, const MessageRecord& m, EpochMillis not_before = 0) {
    if (r) {
      held.erase(m.seq);
      return true;
    }
    if (r.error().code == Errc::kJournalSuperseded) {
      observe::log_info("forward.superseded", {{"id", m.id}, {"revision", m.revision}});
      held.erase(m.seq);
    } else {
      const auto last = held.find(m.seq);
      const EpochMillis hold = last == held.end() ? kFirstHoldMs : std::min(kMaxHoldMs, 2 * last->second.second);
      // Never sooner than the retry it failed to record was due (`not_before`).
      held[m.seq] = {std::max(clock.now_ms() + hold, not_before), hold};
      observe::log_error("forward.mark_failed",
                         {{"id", m.id}, {"error", r.error().detail}, {"hold_ms", static_cast<std::int64_t>(hold)}});
    }
    return false;
  }

  // `told`: set once the circuit breaker knows how the attempt went.
  asio::awaitable<void> deliver(std::size_t lane, const MessageRecord& m, CircuitBreaker::Grant grant, bool& told) {
    Decision d = co_await post_bundle(lane, m);
    told = true;
    const EpochMillis now = clock.now_ms();
    const bool was_open = breaker.state(now) != CircuitBreaker::State::kClosed;
    if (d.nothing_sent) breaker.unused(grant);
    else if (d.outcome == Outcome::kRetry) breaker.failure(now, grant);
    else breaker.success(grant);
    const bool is_open = breaker.state(now) != CircuitBreaker::State::kClosed;
    if (was_open != is_open) {
      probe.circuit(target_label, is_open);
      observe::log_warn(is_open ? "forward.circuit_open" : "forward.circuit_closed", {{"target", target_label}});
    }
    if (d.outcome == Outcome::kRetry && budget_spent(m, now)) {
      d.outcome = Outcome::kDead;
      d.reason = "gave up after " + std::to_string(m.attempts + 1) + " attempts: " + d.reason;
      d.label = "retry_budget";
    }
    switch (d.outcome) {
      case Outcome::kDelivered: {
        auto done = co_await journal::async_mark_delivered(journal, m.seq, m.revision, now, asio::use_awaitable);
        if (!marked(done, m)) co_return;
        probe.delivered(target_label, static_cast<double>(now - m.received_at) / 1000.0);
        observe::log_info("forward.delivered", {{"id", m.id}, {"attempts", m.attempts + 1}});
        co_return;
      }
      case Outcome::kDead: {
        auto done = co_await journal::async_mark_dead(journal, m.seq, m.revision, d.reason, now, asio::use_awaitable);
        if (!marked(done, m)) co_return;
        probe.dead(target_label, d.label);
        observe::log_warn("forward.dead", {{"id", m.id}, {"status", d.label}});
        co_return;
      }
      case Outcome::kRetry: {
        // A request the server may still be working on (it timed out, or its answer was cut off)
        // is not sent again before fhir.timeoutSeconds: a copy sent sooner could be worked on
        // beside it. Rounded up, so that a wait the token endpoint asked for is over by then.
        const double delay = backoff_seconds(m.attempts, config.retry,
                                             std::uniform_real_distribution<double>(0, 1)(random),
                                             d.retry_after_seconds, d.maybe_in_progress ? config.timeout_seconds : 0.0);
        const EpochMillis next = now + static_cast<EpochMillis>(std::ceil(delay * 1000));
        auto done = co_await journal::async_mark_failed(journal, m.seq, m.revision, d.reason, now, next,
                                                        asio::use_awaitable);
        if (!marked(done, m, next)) co_return;
        probe.attempt_failed(target_label, d.label);
        observe::log_info("forward.retry", {{"id", m.id}, {"reason", d.label}, {"delay_ms", static_cast<std::int64_t>(delay * 1000)}});
        co_return;
      }
    }
  }

  // One lane's turn: deliver, then free the lane and the message's key, and wake the dispatcher.
  asio::awaitable<void> lane_turn(std::size_t lane, MessageRecord m, std::string key, CircuitBreaker::Grant grant) {
    auto self = shared_from_this();
    bool told = false;
    try {
      co_await deliver(lane, m, grant, told);
    } catch (const std::exception& e) {
      // Whatever threw (memory), the lane and the key are freed below, a half-open circuit's
      // trial is given back, and the message keeps the state it had and waits a while before a
      // later scan takes it again.
      observe::log_error("forward.lane_failed", {{"id", m.id}, {"error", e.what()}});
      if (!told) breaker.unused(grant);
      held[m.seq] = {clock.now_ms() + kFirstHoldMs, kFirstHoldMs};
    }
    lane_busy[lane] = false;
    keys_in_flight.erase(key);
    seqs_in_flight.erase(m.seq);
    notified.store(true);
    wake.cancel();
  }

  enum class Scan { kMore, kStop, kReadFailed };

  // Sends what it may of one window of the backlog: the oldest message of each key not yet
  // passed, when it is due and a lane is free. kMore: the window is done and a lane is still
  // free; kStop: no lane is free, or the circuit lets nothing through.
  Scan dispatch(std::vector<MessageRecord>& pending, EpochMillis now, std::set<std::string>& passed,
                EpochMillis& next_retry) {
    for (MessageRecord& m : pending) {
      std::string key = lane_key(m);
      if (!passed.insert(key).second) continue;  // an older message of this key goes first
      if (keys_in_flight.count(key) || seqs_in_flight.count(m.seq)) continue;
      if (m.next_attempt_at > now) {
        next_retry = std::min(next_retry, m.next_attempt_at);
        continue;
      }
      if (const auto h = held.find(m.seq); h != held.end() && h->second.first > now) {
        next_retry = std::min(next_retry, h->second.first);
        continue;
      }
      const auto free = std::find(lane_busy.begin(), lane_busy.end(), false);
      if (free == lane_busy.end()) {
        passed.erase(key);  // not looked at after all: a sweep that resumes here must see it
        return Scan::kStop;
      }
      // Only a look: a half-open circuit's one trial is taken below, once a request really
      // goes. Taken before the read, a message that then is not sent would keep it, and the
      // circuit would block every delivery until a restart.
      if (breaker.blocks(now)) {  // the target is failing: wait for the cool-down, then one trial
        next_retry = std::min(next_retry, std::max(now + 1, breaker.open_until()));
        passed.erase(key);
        return Scan::kStop;
      }
      // The scan read the index; the message itself is read once it is about to be sent.
      auto full = journal.waiting(m.seq);
      if (!full) {
        observe::log_error("forward.journal_read_failed", {{"error", full.error().detail}});
        return Scan::kReadFailed;
      }
      if (!*full) continue;  // it waits no more (delivered, dead or replayed meanwhile)
      if ((*full)->ordering_key != m.ordering_key) {
        // A replay gave it another key: it is that key's oldest now, so none of that key's
        // later messages in this scan may go before it. The next scan sees it as it is.
        passed.insert(lane_key(**full));
        continue;
      }
      // Granted, as blocks() said just now; when half-open, this request is the trial.
      const CircuitBreaker::Grant grant = breaker.allow(now);
      if (grant == CircuitBreaker::Grant::kNone) {
        passed.erase(key);
        return Scan::kStop;
      }
      m = std::move(**full);
      const auto lane = static_cast<std::size_t>(free - lane_busy.begin());
      lane_busy[lane] = true;
      keys_in_flight.insert(key);
      seqs_in_flight.insert(m.seq);
      asio::co_spawn(strand, lane_turn(lane, std::move(m), std::move(key), grant), asio::detached);
    }
    return Scan::kMore;
  }

  // Messages with one ordering key go one at a time, oldest first; different keys go in parallel
  // on the free lanes. A key whose oldest message waits for a retry holds back only that key.
  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      // Nothing can be sent now (every lane busy, the target's circuit open, or its one trial
      // still out): wait, instead of reading the backlog, Bundles and all, on every wake-up. A
      // finished lane, the cool-down's end or stop() wakes the loop.
      const EpochMillis at = clock.now_ms();
      const bool lane_free = std::find(lane_busy.begin(), lane_busy.end(), false) != lane_busy.end();
      const bool open = breaker.state(at) == CircuitBreaker::State::kOpen;
      if (!lane_free || breaker.blocks(at)) {
        const EpochMillis until =
            open ? breaker.open_until() : at + std::chrono::duration_cast<std::chrono::milliseconds>(kIdlePoll).count();
        co_await sleep(std::chrono::milliseconds(std::max<EpochMillis>(1, until - at)));
        continue;
      }
      // The token endpoint asked for time (Retry-After): no message can go before then, and none
      // is taken only to fail at once.
      if (const auto wait = oauth ? oauth->wait_seconds() : std::nullopt) {
        co_await sleep(std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*wait * 1000))));
        continue;
      }
      const EpochMillis now = clock.now_ms();
      EpochMillis next_retry = now + std::chrono::duration_cast<std::chrono::milliseconds>(kIdlePoll).count();
      for (auto it = held.begin(); it != held.end();) {  // long past: delivered, replayed or purged since
        it = it->second.first + kMaxHoldMs < now ? held.erase(it) : std::next(it);
      }
      // The backlog in arrival order, a window at a time: a key whose oldest message waits (for a
      // retry, or behind a lane) passes over all its later ones, however many, so the scan goes
      // on to the next window while a lane is free and the window held nothing to send.
      std::set<std::string> passed;  // keys whose oldest pending message has been looked at
      Scan scan = Scan::kMore;
      const auto started = std::chrono::steady_clock::now();
      std::int64_t after = 0;
      for (int window = 0; scan == Scan::kMore; ++window) {
        if (window == 1) {
          if (started - last_deep_scan < kDeepScanEvery) {
            // More may wait behind the first window: the next deep scan reads on.
            next_retry = std::min(next_retry, now + kDeepScanEvery.count());
            break;
          }
          last_deep_scan = started;
          // Taken out whole: every way out below saves it again or starts over, so a scan that
          // ends otherwise (a failed read) cannot leave a sweep whose keys have gone.
          if (Sweep resumed = std::exchange(sweep, Sweep{}); resumed.after > after) {  // go on from there
            passed.merge(resumed.passed);
            after = resumed.after;
          }
        }
        if (window == kMaxWindows) {  // enough for one scan on the listeners' strand
          sweep = Sweep{after, std::move(passed)};
          next_retry = std::min(next_retry, now + kDeepScanEvery.count());
          break;
        }
        auto pending = journal.pending(kBatch, after);
        if (!pending) {
          observe::log_error("forward.journal_read_failed", {{"error", pending.error().detail}});
          scan = Scan::kReadFailed;
          break;
        }
        scan = dispatch(*pending, now, passed, next_retry);
        if (window > 0 && scan == Scan::kStop) {
          // This window again next time: the keys of its messages not yet looked at are not
          // among those passed.
          sweep = Sweep{after, std::move(passed)};
          break;
        }
        if (pending->size() < kBatch) {  // the end of the backlog: the next sweep starts over
          if (window > 0) sweep = Sweep{};
          break;
        }
        after = pending->back().seq;
      }
      if (scan == Scan::kReadFailed) {
        co_await sleep(std::chrono::seconds(1));
        continue;
      }
      co_await sleep(std::chrono::milliseconds(std::max<EpochMillis>(1, next_retry - now)));
    }
  }
};

Forwarder::Forwarder(asio::io_context& io, Journal& journal, config::FhirConfig config,
                     observe::ForwardProbe& probe, Clock clock) {
  auto url = parse_url(config.base_url);
  if (!url) throw config::ConfigError("fhir.baseUrl", "/fhir/baseUrl", url.error().detail);
  impl_ = std::make_shared<Impl>(io, journal, std::move(config), probe, std::move(clock), std::move(*url));
}

Forwarder::~Forwarder() = default;

void Forwarder::start() { asio::co_spawn(impl_->strand, impl_->run(), asio::detached); }

void Forwarder::notify() {
  impl_->notified.store(true);
  asio::post(impl_->strand, [impl = impl_] { impl->wake.cancel(); });
}

void Forwarder::stop() {
  impl_->stopping.store(true);
  asio::post(impl_->strand, [impl = impl_] { impl->wake.cancel(); });
}

}  // namespace helsebro::forward
