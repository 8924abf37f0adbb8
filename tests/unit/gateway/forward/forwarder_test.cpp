#include "gateway/forward/forwarder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

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
  // Its Bundle names the message ("id": "m<seq>"), so the target can tell them apart.
  void add(std::int64_t seq, EpochMillis received_at, std::string key = {}) {
    std::lock_guard lock(mutex_);
    MessageRecord& r = records_[seq];
    r.seq = seq;
    // Appended: g++ 12 warns falsely (-Wrestrict) on "text" + std::string.
    r.id = std::string("m").append(std::to_string(seq));
    // By default a key of its own: one lane takes them in turn.
    r.ordering_key = key.empty() ? std::string("patient/").append(std::to_string(seq)) : std::move(key);
    r.state = MessageState::kTranslated;
    r.bundle = std::string(R"({"resourceType":"Bundle","type":"transaction","id":")").append(r.id).append(R"(","entry":[]})");
    r.received_at = received_at;
  }
  // A replay between the scan's two reads: the next pending() still lists the message under its
  // old key, and waiting() already gives the new one.
  void rekey_between_reads(std::int64_t seq, std::string key) {
    std::lock_guard lock(mutex_);
    stale_key_[seq] = records_[seq].ordering_key;
    records_[seq].ordering_key = std::move(key);
  }
  // The next `n` marks throw, as nothing in the journal should, but anything may (memory).
  void throw_on_marks(int n) {
    std::lock_guard lock(mutex_);
    throwing_marks_ = n;
  }
  // The next `n` marks fail as a full disk would.
  void fail_marks(int n) {
    std::lock_guard lock(mutex_);
    failing_marks_ = n;
  }
  std::vector<std::int64_t> delivery_order() const {
    std::lock_guard lock(mutex_);
    return order_;
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
      if (throwing_marks_ > 0) {
        --throwing_marks_;
        throw std::runtime_error("out of memory, say");
      }
      if (failing_marks_ > 0) {
        --failing_marks_;
        done(Error{Errc::kJournalWriteFailed, "database or disk is full"});
        return;
      }
      records_[seq].state = MessageState::kDelivered;
      delivered_.insert(seq);
      order_.push_back(seq);
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
  Result<std::vector<MessageRecord>> pending(std::size_t limit, std::int64_t after_seq) override {
    std::lock_guard lock(mutex_);
    std::vector<MessageRecord> out;
    for (auto it = records_.upper_bound(after_seq); it != records_.end(); ++it) {
      const MessageRecord& r = it->second;
      if (out.size() == limit) break;
      if (r.state != MessageState::kTranslated && r.state != MessageState::kFailed) continue;
      MessageRecord& listed = out.emplace_back();
      listed.seq = r.seq;
      listed.id = r.id;
      listed.ordering_key = r.ordering_key;
      if (auto stale = stale_key_.find(r.seq); stale != stale_key_.end()) {
        listed.ordering_key = stale->second;  // once
        stale_key_.erase(stale);
      }
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
  void retranslate(std::int64_t, AsRead, MessageState, std::string, std::string, std::string, std::string,
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
  std::vector<std::int64_t> order_;
  std::map<std::int64_t, std::string> stale_key_;
  int failing_marks_ = 0;
  int throwing_marks_ = 0;
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

// A target on 127.0.0.1 that answers each Bundle as `answer` says (by its "id"), counting them,
// and a forwarder of `lanes` lanes with a clock the test sets, all on a thread of their own.
class ForwarderRig {
 public:
  using Answer = std::function<int(const std::string& bundle)>;
  // A failed message waits `retry_seconds` (time stands still unless the test moves it on); the
  // circuit's cool-down starts at as long.
  ForwarderRig(WaitingJournal& journal, int lanes, Answer answer, double retry_seconds = 60,
               double max_retry_seconds = 60)
      : probe_(registry_), target_(io_, config::HttpConfig{"127.0.0.1", 0, 1 << 20}) {
    target_.route("POST", "/fhir", [this, answer](const listen::HttpRequest& req, listen::Respond respond) {
      ++requests;
      listen::HttpResponse r;
      r.status = answer(req.body);
      r.content_type = "application/fhir+json";
      r.body = R"({"resourceType":"Bundle","type":"transaction-response","entry":[]})";
      respond(std::move(r));
    });
    target_.start();
    config::FhirConfig fhir;
    fhir.base_url = "http://127.0.0.1:" + std::to_string(target_.port()) + "/fhir";
    fhir.timeout_seconds = 5;
    fhir.lanes = lanes;
    fhir.retry.initial_seconds = retry_seconds;
    fhir.retry.max_seconds = max_retry_seconds;
    forwarder_.emplace(io_, journal, fhir, probe_, Clock([this] { return now.load(); }));
    forwarder_->start();
    runner_ = std::thread([this] { io_.run(); });
  }
  ~ForwarderRig() {
    forwarder_->stop();
    target_.stop();
    work_.reset();
    io_.stop();
    runner_.join();
  }
  void notify() { forwarder_->notify(); }

  static constexpr EpochMillis kStart = 1'700'000'000'000;
  std::atomic<EpochMillis> now{kStart};
  std::atomic<int> requests{0};

 private:
  boost::asio::io_context io_;
  observe::Registry registry_;
  observe::ForwardProbe probe_;
  listen::HttpServer target_;
  std::optional<Forwarder> forwarder_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::thread runner_;
};

// The circuit opens after five failures in a row; once its cool-down has passed, one trial may go.
// The first message the scan comes to then is found to wait no more when it is read: no request
// is sent for it, so it must not use up the trial, or the circuit would block every later
// message until a restart.
TEST(Forwarder, AMessageThatWaitsNoMoreDoesNotUseUpTheHalfOpenCircuitsTrial) {
  WaitingJournal journal;
  for (std::int64_t seq = 1; seq <= 6; ++seq) journal.add(seq, ForwarderRig::kStart);
  std::atomic<int> answered{0};
  // Down long enough to open the circuit, then back; the first retry and cool-down 0.1 s.
  ForwarderRig rig(journal, 1, [&answered](const std::string&) { return ++answered <= 5 ? 503 : 200; }, 0.1, 1);

  // Five messages fail once each, and the circuit opens; time stands still, so it stays open.
  const bool opened = eventually([&] { return journal.failures() >= 5; });
  EXPECT_TRUE(opened);
  if (opened) {
    journal.vanish(1);
    rig.now += 60'000;  // past the cool-down and every message's next attempt: half-open
    rig.notify();
    const std::set<std::int64_t> rest{2, 3, 4, 5, 6};
    EXPECT_TRUE(eventually([&] { return journal.delivered() == rest; }))
        << "delivered " << journal.delivered().size() << " of 5 after " << rig.requests.load()
        << " requests";
  }
}

// One patient's oldest message waits for a retry, with more messages behind it than a scan reads
// at a time: the scan must read on past them to another patient's, not wait for the first.
TEST(Forwarder, AStuckKeyWithMoreThanAWindowOfMessagesHoldsBackOnlyItself) {
  WaitingJournal journal;
  constexpr std::int64_t kStuck = 700;  // more than the 512 a scan reads at a time
  for (std::int64_t seq = 1; seq <= kStuck; ++seq) journal.add(seq, ForwarderRig::kStart, "patient/stuck");
  journal.add(kStuck + 1, ForwarderRig::kStart, "patient/other");
  ForwarderRig rig(journal, 2, [](const std::string& bundle) {
    return bundle.find(R"("id":"m1")") != std::string::npos ? 503 : 200;
  });
  EXPECT_TRUE(eventually([&] { return journal.delivered().count(kStuck + 1) == 1; }))
      << "the other patient's message waits behind the stuck one's " << kStuck << " messages";
  EXPECT_TRUE(journal.delivered().count(1) == 0 && journal.delivered().count(2) == 0)
      << "the stuck patient's messages keep their order";
  EXPECT_GE(journal.failures(), 1u);
}

// Many patients' oldest messages wait for a retry, with more of their messages behind them than
// one deep scan reads (64 windows of 512): a later patient's message must still go, on a later
// deep scan that reads on where the last one stopped, while the held-back ones keep their order.
TEST(Forwarder, MoreHeldBackMessagesThanADeepScanReadsHoldBackOnlyTheirOwnKeys) {
  WaitingJournal journal;
  constexpr std::int64_t kStuck = 40'000;
  constexpr int kStuckKeys = 3;
  for (std::int64_t seq = 1; seq <= kStuck; ++seq)
    journal.add(seq, ForwarderRig::kStart, "patient/stuck" + std::to_string(seq % kStuckKeys));
  journal.add(kStuck + 1, ForwarderRig::kStart, "patient/other");
  journal.add(kStuck + 2, ForwarderRig::kStart, "patient/stuck0");
  ForwarderRig rig(journal, 4, [](const std::string& bundle) {
    for (const char* oldest : {R"("id":"m1")", R"("id":"m2")", R"("id":"m3")"})
      if (bundle.find(oldest) != std::string::npos) return 503;
    return 200;
  });
  EXPECT_TRUE(eventually([&] { return journal.delivered().count(kStuck + 1) == 1; }, 10s))
      << "the other patient's message waits behind " << kStuck << " held-back messages";
  EXPECT_EQ(journal.delivered().size(), journal.delivered().count(kStuck + 1))
      << "a held-back patient's later message went before its oldest";
  EXPECT_GE(journal.failures(), 3u);
}

// The target took the message, but the journal could not record it (a full disk): the message
// still waits, and goes again, but not at once and not in a loop while the journal fails.
TEST(Forwarder, AMessageWhoseDeliveryTheJournalCouldNotRecordWaitsBeforeItGoesAgain) {
  WaitingJournal journal;
  journal.add(1, ForwarderRig::kStart);
  journal.fail_marks(1);
  ForwarderRig rig(journal, 1, [](const std::string&) { return 200; });
  ASSERT_TRUE(eventually([&] { return rig.requests.load() >= 1; }));
  std::this_thread::sleep_for(300ms);  // time stands still: the hold does not pass
  EXPECT_EQ(rig.requests.load(), 1) << "sent again at once";
  EXPECT_TRUE(journal.delivered().empty());
  rig.now += 2'000;  // past the first hold (1 s)
  rig.notify();
  EXPECT_TRUE(eventually([&] { return journal.delivered().count(1) == 1; }));
  EXPECT_EQ(rig.requests.load(), 2);
}

// A journal that throws when asked to record the outcome (out of memory) is a journal that could
// not record it: the message waits, then goes again. Thrown on, the exception ended the process.
TEST(Forwarder, AJournalThatThrowsIsAJournalThatFailed) {
  WaitingJournal journal;
  journal.add(1, ForwarderRig::kStart);
  journal.throw_on_marks(1);
  ForwarderRig rig(journal, 1, [](const std::string&) { return 200; });
  ASSERT_TRUE(eventually([&] { return rig.requests.load() >= 1; }));
  rig.now += 2'000;  // past the first hold (1 s)
  rig.notify();
  EXPECT_TRUE(eventually([&] { return journal.delivered().count(1) == 1; }));
  EXPECT_EQ(rig.requests.load(), 2);
}

// A replay gives message 1 the key of message 2 while a scan is between its two reads: 1 is now
// that key's oldest, and 2 must not go first.
TEST(Forwarder, AMessageReplayedIntoAnotherKeyMidScanKeepsItsPlaceInThatKey) {
  WaitingJournal journal;
  journal.add(1, ForwarderRig::kStart, "patient/a");
  journal.add(2, ForwarderRig::kStart, "patient/b");
  journal.rekey_between_reads(1, "patient/b");
  ForwarderRig rig(journal, 2, [](const std::string&) { return 200; });
  ASSERT_TRUE(eventually([&] {
    rig.notify();  // the next scan at once, not after the idle poll
    return journal.delivered().size() == 2;
  }));
  EXPECT_EQ(journal.delivery_order(), (std::vector<std::int64_t>{1, 2}));
}

}  // namespace
}  // namespace helsebro::forward
