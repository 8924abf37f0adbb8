#include "gateway/forward/forwarder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "gateway/core/journal.h"
#include "gateway/listen/http_server.h"
#include "gateway/observe/metrics.h"
#include "gateway/observe/probes.h"

namespace helsebro::forward {
namespace {

using namespace std::chrono_literals;

// A journal of waiting messages, just enough for the forwarder: pending() lists them, waiting()
// reads one, the marks change its state. A message can be made to vanish between the two reads,
// as when it is delivered, made dead or replayed meanwhile. Thread-safe: the forwarder calls it on
// its strand while the test looks.
class WaitingJournal final : public Journal {
 public:
  void add(std::int64_t seq, EpochMillis received_at) {
    std::lock_guard lock(mutex_);
    MessageRecord& r = records_[seq];
    r.seq = seq;
    // Appended: g++ 12 warns falsely (-Wrestrict) on "text" + std::string.
    r.id = std::string("m").append(std::to_string(seq));
    r.ordering_key = std::string("patient/").append(std::to_string(seq));  // one lane takes them in turn
    r.state = MessageState::kTranslated;
    r.bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[]})";
    r.received_at = received_at;
  }
  // pending() still lists it; waiting() says it waits no more.
  void vanish(std::int64_t seq) {
    std::lock_guard lock(mutex_);
    gone_.insert(seq);
  }
  std::set<std::int64_t> delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }
  std::size_t failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }

  void mark_delivered(std::int64_t seq, std::int64_t, EpochMillis, Done done) override {
    {
      std::lock_guard lock(mutex_);
      records_[seq].state = MessageState::kDelivered;
      delivered_.insert(seq);
    }
    done(Result<void>());
  }
  void mark_failed(std::int64_t seq, std::int64_t, std::string, EpochMillis, EpochMillis next_attempt_at,
                   Done done) override {
    {
      std::lock_guard lock(mutex_);
      records_[seq].state = MessageState::kFailed;
      records_[seq].next_attempt_at = next_attempt_at;
      ++records_[seq].attempts;
      ++failures_;
    }
    done(Result<void>());
  }
  void mark_dead(std::int64_t seq, std::int64_t, std::string, EpochMillis, Done done) override {
    {
      std::lock_guard lock(mutex_);
      records_[seq].state = MessageState::kDead;
    }
    done(Result<void>());
  }
  Result<std::vector<MessageRecord>> pending(std::size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<MessageRecord> out;
    for (const auto& [seq, r] : records_) {
      if (out.size() == limit) break;
      if (r.state != MessageState::kTranslated && r.state != MessageState::kFailed) continue;
      MessageRecord& listed = out.emplace_back();
      listed.seq = r.seq;
      listed.id = r.id;
      listed.ordering_key = r.ordering_key;
      listed.next_attempt_at = r.next_attempt_at;
    }
    return out;
  }
  Result<std::optional<MessageRecord>> waiting(std::int64_t seq) override {
    std::lock_guard lock(mutex_);
    auto it = records_.find(seq);
    if (it == records_.end() || gone_.count(seq)) return std::optional<MessageRecord>();
    return std::optional<MessageRecord>(it->second);
  }

  // Not used by the forwarder.
  void append(MessageRecord, AppendDone done) override {
    done(Error{Errc::kJournalWriteFailed, "test"});
  }
  void append_unique(MessageRecord, EpochMillis, UniqueDone done) override {
    done(Error{Errc::kJournalWriteFailed, "test"});
  }
  void retranslate(std::int64_t, MessageState, std::string, std::string, std::string, std::string,
                   EpochMillis, Done done) override {
    done(Result<void>());
  }
  void purge(EpochMillis, EpochMillis, std::function<void(Result<std::int64_t>)> done) override {
    done(0);
  }
  Result<std::vector<MessageRecord>> find(const MessageQuery&) override {
    return std::vector<MessageRecord>{};
  }
  Result<std::optional<MessageRecord>> get(const std::string&) override {
    return std::optional<MessageRecord>();
  }
  Result<std::map<MessageState, std::int64_t>> counts() override {
    return std::map<MessageState, std::int64_t>{};
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::int64_t, MessageRecord> records_;
  std::set<std::int64_t> gone_;
  std::set<std::int64_t> delivered_;
  std::size_t failures_ = 0;
};

// Waits (in real time) until `done` holds, for at most `limit`.
template <class Condition>
bool eventually(Condition done, std::chrono::milliseconds limit = 5s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// The circuit opens after five failures in a row; once its cool-down has passed, one trial may go.
// The first message the scan comes to then is found to wait no more when it is read: no request
// is sent for it, so it must not use up the trial, or the circuit would block every later
// message until a restart.
TEST(Forwarder, AMessageThatWaitsNoMoreDoesNotUseUpTheHalfOpenCircuitsTrial) {
  WaitingJournal journal;
  observe::Registry registry;
  observe::ForwardProbe probe(registry);
  std::atomic<EpochMillis> now{1'700'000'000'000};
  for (std::int64_t seq = 1; seq <= 6; ++seq) journal.add(seq, now.load());

  boost::asio::io_context io;
  std::atomic<int> requests{0};
  listen::HttpServer target(io, config::HttpConfig{"127.0.0.1", 0, 1 << 20});
  target.route("POST", "/fhir", [&requests](const listen::HttpRequest&, listen::Respond respond) {
    listen::HttpResponse r;
    r.status = ++requests <= 5 ? 503 : 200;  // down long enough to open the circuit, then back
    r.content_type = "application/fhir+json";
    r.body = R"({"resourceType":"Bundle","type":"transaction-response","entry":[]})";
    respond(std::move(r));
  });
  target.start();

  config::FhirConfig fhir;
  fhir.base_url = "http://127.0.0.1:" + std::to_string(target.port()) + "/fhir";
  fhir.timeout_seconds = 5;
  fhir.lanes = 1;
  fhir.retry.initial_seconds = 0.1;  // the circuit's cool-down too
  fhir.retry.max_seconds = 1;
  Forwarder forwarder(io, journal, fhir, probe, Clock([&now] { return now.load(); }));
  forwarder.start();
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });

  // Five messages fail once each, and the circuit opens; time stands still, so it stays open.
  const bool opened = eventually([&] { return journal.failures() >= 5; });
  EXPECT_TRUE(opened);
  if (opened) {
    journal.vanish(1);
    now += 60'000;  // past the cool-down and every message's next attempt: half-open
    forwarder.notify();
    const std::set<std::int64_t> rest{2, 3, 4, 5, 6};
    EXPECT_TRUE(eventually([&] { return journal.delivered() == rest; }))
        << "delivered " << journal.delivered().size() << " of 5 after " << requests.load()
        << " requests";
  }

  forwarder.stop();
  target.stop();
  work.reset();
  io.stop();
  runner.join();
}

}  // namespace
}  // namespace helsebro::forward
