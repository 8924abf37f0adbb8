#include "gateway/forward/forwarder.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "gateway/forward/http_client.h"
#include "gateway/forward/outcome.h"
#include "gateway/journal/async_journal.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::forward {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {
constexpr std::size_t kBatch = 64;
constexpr auto kIdlePoll = std::chrono::seconds(5);
}  // namespace

struct Forwarder::Impl : std::enable_shared_from_this<Forwarder::Impl> {
  asio::strand<asio::io_context::executor_type> strand;
  Journal& journal;
  config::FhirConfig config;
  observe::ForwardProbe& probe;
  Clock clock;
  Url url;
  std::string target_label;
  HttpClient client;
  asio::steady_timer wake;
  std::atomic<bool> notified{false};
  std::atomic<bool> stopping{false};
  std::mt19937_64 random{std::random_device{}()};

  Impl(asio::io_context& io, Journal& j, config::FhirConfig c, observe::ForwardProbe& p, Clock k, Url u)
      : strand(asio::make_strand(io)), journal(j), config(std::move(c)), probe(p), clock(std::move(k)),
        url(std::move(u)), target_label("fhir"),
        client(strand, url, std::chrono::milliseconds(static_cast<std::int64_t>(config.timeout_seconds * 1000))),
        wake(strand) {}

  asio::awaitable<void> sleep(std::chrono::milliseconds duration) {
    if (notified.exchange(false)) co_return;
    wake.expires_after(duration);
    co_await wake.async_wait(kTuple);
  }

  // Delivers one message; returns false when the line must wait (a transient failure).
  asio::awaitable<bool> deliver(const MessageRecord& m) {
    const auto started = std::chrono::steady_clock::now();
    auto reply = co_await client.request("POST", url.path, m.bundle, "application/fhir+json");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (reply) probe.upstream_response(target_label, reply->status, seconds);
    const Decision d = classify(reply);
    const EpochMillis now = clock.now_ms();
    switch (d.outcome) {
      case Outcome::kDelivered: {
        auto marked = co_await journal::async_mark_delivered(journal, m.seq, now, asio::use_awaitable);
        if (!marked) {
          observe::log_error("forward.mark_failed", {{"id", m.id}, {"error", marked.error().detail}});
          co_return false;
        }
        probe.delivered(target_label, static_cast<double>(now - m.received_at) / 1000.0);
        observe::log_info("forward.delivered", {{"id", m.id}, {"attempts", m.attempts + 1}});
        co_return true;
      }
      case Outcome::kDead: {
        auto marked = co_await journal::async_mark_dead(journal, m.seq, d.reason, now, asio::use_awaitable);
        if (!marked) co_return false;
        probe.dead(target_label, d.label);
        observe::log_warn("forward.dead", {{"id", m.id}, {"status", d.label}});
        co_return true;
      }
      case Outcome::kRetry: {
        const double delay = backoff_seconds(m.attempts, config.retry,
                                             std::uniform_real_distribution<double>(0, 1)(random),
                                             d.retry_after_seconds);
        const EpochMillis next = now + static_cast<EpochMillis>(delay * 1000);
        co_await journal::async_mark_failed(journal, m.seq, d.reason, now, next, asio::use_awaitable);
        probe.attempt_failed(target_label, d.label);
        observe::log_info("forward.retry", {{"id", m.id}, {"reason", d.label}, {"delay_ms", static_cast<std::int64_t>(delay * 1000)}});
        co_return false;
      }
    }
    co_return false;
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      auto pending = journal.pending(kBatch);
      if (!pending) {
        observe::log_error("forward.journal_read_failed", {{"error", pending.error().detail}});
        co_await sleep(std::chrono::seconds(1));
        continue;
      }
      if (pending->empty()) {
        co_await sleep(kIdlePoll);
        continue;
      }
      for (const MessageRecord& m : *pending) {
        if (stopping.load()) co_return;
        const EpochMillis now = clock.now_ms();
        if (m.next_attempt_at > now) {
          // The oldest message waits for its retry time; nothing may overtake it.
          wake.expires_after(std::chrono::milliseconds(m.next_attempt_at - now));
          co_await wake.async_wait(kTuple);
          break;
        }
        if (!co_await deliver(m)) break;
      }
    }
  }
};

Forwarder::Forwarder(asio::io_context& io, Journal& journal, config::FhirConfig config,
                     observe::ForwardProbe& probe, Clock clock) {
  auto url = parse_url(config.base_url);
  if (!url) throw config::ConfigError("fhir.baseUrl", "/fhir/baseUrl", url.error().detail);
  if (url->scheme == "https") {
    throw config::ConfigError("fhir.baseUrl", "/fhir/baseUrl",
                              "https targets need the TLS forwarder, which this build does not have yet");
  }
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
