#include "gateway/journal/sqlite_journal.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "gateway/observe/metrics.h"
#include "gateway/observe/probes.h"
#include "unit/temp_dir.h"

namespace helsebro::journal {
namespace {

using test::TempDir;

MessageRecord record(const std::string& id, MessageState state = MessageState::kTranslated) {
  MessageRecord r;
  r.id = id;
  r.channel = "mllp";
  r.sender = "AHUS";
  r.control_id = "C-" + id;
  r.message_type = "ADT^A04";
  r.format = "hl7v2";
  r.charset = "UNICODE UTF-8";
  r.payload = "MSH|^~\\&|LAB|AHUS\rPID|1||" + id + "\r";
  r.payload_sha256 = "sha-" + id;
  r.state = state;
  r.mapping = "adt-patient";
  r.bundle = "{\"resourceType\":\"Bundle\",\"id\":\"" + id + "\"}";
  r.ordering_key = "patient/" + id;
  r.ack = "MSH|^~\\&\rMSA|AA|C-" + id + "\r";
  r.received_at = 1705314600000;
  return r;
}

// Message `id` with the control id of record(control_of) and the content of record(content_of): a
// resend of that message when both name it.
MessageRecord resend_of(const std::string& id, const std::string& control_of, const std::string& content_of,
                        MessageState state = MessageState::kTranslated) {
  MessageRecord r = record(id, state);
  r.control_id = "C-" + control_of;
  r.payload_sha256 = "sha-" + content_of;
  return r;
}

Result<std::int64_t> append(Journal& j, MessageRecord r) {
  std::promise<Result<std::int64_t>> done;
  auto result = done.get_future();
  j.append(std::move(r), [&done](Result<std::int64_t> seq) { done.set_value(std::move(seq)); });
  return result.get();
}

// append_unique() with a window from the start of time, waited for.
Result<AppendOutcome> append_unique(Journal& j, MessageRecord r) {
  std::promise<Result<AppendOutcome>> done;
  j.append_unique(std::move(r), 0, [&](Result<AppendOutcome> out) { done.set_value(std::move(out)); });
  return done.get_future().get();
}

std::int64_t append_ok(Journal& j, MessageRecord r) {
  auto seq = append(j, std::move(r));
  EXPECT_TRUE(seq) << seq.error().message();
  return seq ? *seq : -1;
}

template <class Call>
Result<void> wait(Call call) {
  std::promise<Result<void>> done;
  auto result = done.get_future();
  call([&done](Result<void> r) { done.set_value(std::move(r)); });
  return result.get();
}

std::vector<std::string> pending_ids(Journal& j, std::size_t limit = 100, std::int64_t after_seq = 0) {
  auto pending = j.pending(limit, after_seq);
  EXPECT_TRUE(pending) << pending.error().message();
  std::vector<std::string> ids;
  if (pending) {
    for (const MessageRecord& r : *pending) ids.push_back(r.id);
  }
  return ids;
}

std::optional<MessageRecord> get(Journal& j, const std::string& id) {
  auto r = j.get(id);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : std::nullopt;
}

// Reads one sample, e.g. "helsebro_journal_commits_total", from the exposition text.
double sample(const observe::Registry& registry, const std::string& name) {
  std::istringstream lines(registry.expose());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  ADD_FAILURE() << "no sample " << name;
  return -1;
}

using Ids = std::vector<std::string>;

// "r7" and the like (append: g++ 12 warns about operator+ here, -Wrestrict).
std::string numbered(std::string prefix, int i) {
  prefix.append(std::to_string(i));
  return prefix;
}

// Counts by state straight from the database file, on a connection of the test's own: the model
// the journal's in-memory counts must match.
std::map<MessageState, std::int64_t> group_by_state(const std::filesystem::path& dir) {
  std::map<MessageState, std::int64_t> out;
  for (int i = 0; i < kMessageStateCount; ++i) out[static_cast<MessageState>(i)] = 0;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2((dir / "journal.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT state, COUNT(*) FROM messages GROUP BY state", -1, &s, nullptr), SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) out[static_cast<MessageState>(sqlite3_column_int(s, 0))] = sqlite3_column_int64(s, 1);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// Makes the journal's next write wait, inside its transaction, until the returned promise is set.
std::promise<void> hold_first_write(SqliteJournal& j) {
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  auto first = std::make_shared<std::atomic<bool>>(true);
  j.set_fault_hook([open, first](FaultPoint point) {
    if (point == FaultPoint::kWrite && first->exchange(false)) open.wait();
    return false;
  });
  return gate;
}

class JournalTest : public ::testing::Test {
 protected:
  TempDir dir_{"helsebro-journal"};
};

TEST_F(JournalTest, AppendAssignsIncreasingSequenceNumbers) {
  SqliteJournal j(dir_.str());
  const std::int64_t a = append_ok(j, record("a"));
  const std::int64_t b = append_ok(j, record("b"));
  const std::int64_t c = append_ok(j, record("c"));
  EXPECT_GT(a, 0);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "journal.db"));
}

TEST_F(JournalTest, GetReturnsTheWholeRecord) {
  SqliteJournal j(dir_.str());
  MessageRecord in = record("a");
  in.payload = std::string("MSH|^~\\&|\xE6\xF8\xE5\0binary", 19);  // bytes as received, NUL included
  in.reason = "";
  const std::int64_t seq = append_ok(j, in);
  const auto out = get(j, "a");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->seq, seq);
  EXPECT_EQ(out->id, "a");
  EXPECT_EQ(out->channel, "mllp");
  EXPECT_EQ(out->sender, "AHUS");
  EXPECT_EQ(out->control_id, "C-a");
  EXPECT_EQ(out->message_type, "ADT^A04");
  EXPECT_EQ(out->format, "hl7v2");
  EXPECT_EQ(out->charset, "UNICODE UTF-8");
  EXPECT_EQ(out->payload_sha256, "sha-a");
  EXPECT_EQ(out->payload, in.payload);
  EXPECT_EQ(out->payload.size(), 19u);
  EXPECT_EQ(out->state, MessageState::kTranslated);
  EXPECT_EQ(out->mapping, "adt-patient");
  EXPECT_EQ(out->bundle, in.bundle);
  EXPECT_EQ(out->ordering_key, "patient/a");
  EXPECT_EQ(out->ack, in.ack);
  EXPECT_EQ(out->received_at, 1705314600000);
  EXPECT_EQ(out->updated_at, 1705314600000);
  EXPECT_EQ(out->attempts, 0);
}

TEST_F(JournalTest, GetOfAnUnknownIdIsEmpty) {
  SqliteJournal j(dir_.str());
  EXPECT_FALSE(get(j, "nope").has_value());
}

TEST_F(JournalTest, EmptyFieldsAreStored) {
  SqliteJournal j(dir_.str());
  MessageRecord r;
  r.id = "empty";
  r.state = MessageState::kRejected;
  append_ok(j, r);
  const auto out = get(j, "empty");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->payload, "");
  EXPECT_EQ(out->bundle, "");
  EXPECT_EQ(out->state, MessageState::kRejected);
}

TEST_F(JournalTest, DuplicateIdIsRefused) {
  SqliteJournal j(dir_.str());
  append_ok(j, record("a"));
  auto again = append(j, record("a"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::kJournalWriteFailed);
}

// A resend is the same sender, control id and content. A sender whose counter started over sends
// other content under a control id it has used: that message is new and must be stored, not
// answered with the earlier message's ACK.
TEST_F(JournalTest, AControlIdUsedAgainForOtherContentIsStoredAsANewMessage) {
  SqliteJournal j(dir_.str());
  auto unique = [&j](MessageRecord r) { return append_unique(j, std::move(r)); };
  auto first = unique(record("a"));
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->duplicate);
  EXPECT_EQ(first->same_control_id_as, "");

  MessageRecord other = record("b");
  other.control_id = "C-a";  // the same control id, other content ("sha-b")
  auto second = unique(other);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->duplicate);
  EXPECT_EQ(second->same_control_id_as, "a");
  EXPECT_NE(second->seq, first->seq);
  auto stored = j.get("b");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->control_id, "C-a");

  // Resends of either are duplicates of their own original.
  auto third = unique(resend_of("c", "a", "b"));
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->duplicate);
  EXPECT_EQ(third->original_id, "b");
  EXPECT_EQ(third->seq, second->seq);
  EXPECT_EQ(third->same_control_id_as, "");

  auto fourth = unique(resend_of("d", "a", "a"));
  ASSERT_TRUE(fourth);
  EXPECT_TRUE(fourth->duplicate);
  EXPECT_EQ(fourth->original_id, "a");
  EXPECT_EQ(fourth->original_ack, record("a").ack);
  auto absent = j.get("d");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
}

// What decides a duplicate is the answer the original got, not what became of it: a message
// accepted and then rejected by a translation after the ACK is still the original of its
// resends; one refused at once is not (the sender was told to try again).
TEST_F(JournalTest, AResendOfAnAcceptedMessageIsADuplicateEvenOnceItIsRejected) {
  SqliteJournal j(dir_.str());
  auto unique = [&j](MessageRecord r) { return append_unique(j, std::move(r)); };
  auto first = unique(record("a", MessageState::kReceived));
  ASSERT_TRUE(first);
  ASSERT_TRUE(wait([&](Journal::Done done) {
    j.retranslate(first->seq, {MessageState::kReceived, 0}, MessageState::kRejected, "", "", "adt-patient", "mapping failed", 1705314600500,
                  std::move(done));
  }));
  auto second = unique(resend_of("a2", "a", "a", MessageState::kReceived));
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->original_id, "a");

  ASSERT_TRUE(append(j, record("r", MessageState::kRejected)));  // refused at once (its NAK)
  auto third = unique(resend_of("r2", "r", "r"));
  ASSERT_TRUE(third);
  EXPECT_FALSE(third->duplicate);
}

// A replay reads a message, translates it, then commits: meanwhile the forwarder may have
// delivered it, or another replay translated it. Its new translation then applies to nothing,
// or the message would be sent again, after its patient's later messages.
TEST_F(JournalTest, ARetranslationAppliesOnlyToTheMessageAsItWasRead) {
  SqliteJournal j(dir_.str());
  const std::int64_t seq = append_ok(j, record("a", MessageState::kFailed));
  ASSERT_TRUE(wait([&](auto cb) { j.mark_delivered(seq, 0, 2, cb); }));  // after the replay read it
  auto late = wait([&](auto cb) {
    j.retranslate(seq, {MessageState::kFailed, 0}, MessageState::kTranslated, "{}", "k", "m", "", 3, cb);
  });
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::kJournalSuperseded);
  EXPECT_EQ(get(j, "a")->state, MessageState::kDelivered);

  const std::int64_t dead = append_ok(j, record("d", MessageState::kDead));
  ASSERT_TRUE(wait([&](auto cb) {
    j.retranslate(dead, {MessageState::kDead, 0}, MessageState::kTranslated, "{}", "k", "m", "", 3, cb);
  }));
  // A second replay that read it dead too, before the first committed: nothing changes.
  auto second = wait([&](auto cb) {
    j.retranslate(dead, {MessageState::kDead, 0}, MessageState::kTranslated, "{}", "k", "m", "", 4, cb);
  });
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::kJournalSuperseded);
  EXPECT_EQ(get(j, "d")->revision, 1);
  EXPECT_EQ(*j.counts(), group_by_state(dir_.path())) << "the counts follow only changes made";
}

// A journal from before the column: its rejected messages count as refused, as they did then.
TEST_F(JournalTest, AJournalFromBeforeTheAcceptedColumnTakesItsRejectedMessagesAsRefused) {
  {
    SqliteJournal j(dir_.str());
    append_ok(j, record("t"));
    append_ok(j, record("r", MessageState::kRejected));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "journal.db").string().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE messages DROP COLUMN accepted; PRAGMA user_version = 1;", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  SqliteJournal again(dir_.str());
  auto unique = [&again](const std::string& id, const std::string& of) {
    return append_unique(again, resend_of(id, of, of));
  };
  auto of_t = unique("t2", "t");
  ASSERT_TRUE(of_t);
  EXPECT_TRUE(of_t->duplicate);
  auto of_r = unique("r2", "r");
  ASSERT_TRUE(of_r);
  EXPECT_FALSE(of_r->duplicate);
}

// A replay translates a message again while the forwarder may be sending its earlier version.
// The forwarder's state change then names the revision it sent, and applies to nothing newer:
// the replayed version must still be sent, and is not marked delivered or dead by the old one.
TEST_F(JournalTest, AStateChangeAppliesOnlyToTheRevisionItNames) {
  SqliteJournal j(dir_.str());
  const std::int64_t seq = append_ok(j, record("a"));
  auto before = j.waiting(seq);
  ASSERT_TRUE(before && *before);
  EXPECT_EQ((*before)->revision, 0);
  EXPECT_EQ((*before)->queued_at, record("a").received_at);

  ASSERT_TRUE(wait([&](auto cb) {
    j.retranslate(seq, {MessageState::kTranslated, 0}, MessageState::kTranslated, "{\"replayed\":true}", "k", "m", "", 1705400000000, cb);
  }));
  auto after = j.waiting(seq);
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->revision, 1);
  EXPECT_EQ((*after)->queued_at, 1705400000000) << "the retry budget's age starts again";

  std::promise<Result<void>> stale;
  j.mark_delivered(seq, 0, 1705400000100, [&](Result<void> r) { stale.set_value(std::move(r)); });
  const Result<void> refused = stale.get_future().get();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kJournalSuperseded);
  std::promise<Result<void>> stale_dead;
  j.mark_dead(seq, 0, "422 from the old version", 1705400000100,
              [&](Result<void> r) { stale_dead.set_value(std::move(r)); });
  EXPECT_FALSE(stale_dead.get_future().get());
  auto still = j.waiting(seq);
  ASSERT_TRUE(still && *still) << "still waiting to be sent";
  EXPECT_EQ((*still)->bundle, "{\"replayed\":true}");
  EXPECT_EQ((*j.counts())[MessageState::kTranslated], 1);
  EXPECT_EQ((*j.counts())[MessageState::kDelivered], 0);

  ASSERT_TRUE(wait([&](auto cb) { j.mark_delivered(seq, 1, 1705400000200, cb); }));
  EXPECT_EQ((*j.counts())[MessageState::kDelivered], 1);
}

// The backlog is the journal's own count of what waits for delivery, changed by every commit:
// nobody else adds or takes away, so a replay or a refusal cannot leave it off.
TEST_F(JournalTest, UndeliveredFollowsEveryCommitAndTheHookSeesIt) {
  SqliteJournal j(dir_.str());
  std::atomic<int> calls{0};
  std::atomic<std::int64_t> seen{-1};
  j.on_change([&](bool by_another_process) {
    EXPECT_FALSE(by_another_process);
    seen = j.undelivered();
    ++calls;
  });
  const std::int64_t a = append_ok(j, record("a"));
  EXPECT_EQ(seen.load(), 1) << "set before the append's caller is told";
  append_ok(j, record("r", MessageState::kRejected));
  append_ok(j, record("q", MessageState::kReceived));
  EXPECT_EQ(j.undelivered(), 2);
  ASSERT_TRUE(wait([&](auto cb) { j.mark_failed(a, 0, "x", 1, 2, cb); }));
  EXPECT_EQ(j.undelivered(), 2);
  ASSERT_TRUE(wait([&](auto cb) { j.mark_delivered(a, 0, 3, cb); }));
  EXPECT_EQ(j.undelivered(), 1);
  EXPECT_EQ(seen.load(), 1);
  EXPECT_GE(calls.load(), 5);
  j.on_change(nullptr);
}

// `helsebro replay` writes to the journal from another process while the gateway runs. The
// gateway's counts (and its backlog) come from its own commits, so it must notice the other
// writer: it counts again and says so, within about a second.
TEST_F(JournalTest, ChangesByAnotherConnectionAreNoticedAndCountedAgain) {
  SqliteJournal gateway(dir_.str());
  append_ok(gateway, record("a"));
  std::promise<void> noticed;
  std::atomic<bool> once{false};
  gateway.on_change([&](bool by_another_process) {
    if (by_another_process && !once.exchange(true)) noticed.set_value();
  });
  {
    SqliteJournal other(dir_.str());  // as the replay command opens it
    append_ok(other, record("b"));
    append_ok(other, record("c", MessageState::kDead));
  }
  ASSERT_EQ(noticed.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ((*gateway.counts())[MessageState::kTranslated], 2);
  EXPECT_EQ((*gateway.counts())[MessageState::kDead], 1);
  EXPECT_EQ(gateway.undelivered(), 2);
  gateway.on_change(nullptr);
}

TEST_F(JournalTest, PendingListsTranslatedAndFailedInArrivalOrder) {
  SqliteJournal j(dir_.str());
  append_ok(j, record("t1", MessageState::kTranslated));
  append_ok(j, record("x1", MessageState::kRejected));
  const std::int64_t f1 = append_ok(j, record("f1", MessageState::kFailed));
  const std::int64_t t2 = append_ok(j, record("t2", MessageState::kTranslated));
  append_ok(j, record("d1", MessageState::kDelivered));
  append_ok(j, record("dead", MessageState::kDead));
  append_ok(j, record("r1", MessageState::kReceived));
  EXPECT_EQ(pending_ids(j), (Ids{"t1", "f1", "t2"}));
  EXPECT_EQ(pending_ids(j, 2), (Ids{"t1", "f1"}));
  // The next window starts after the last seq of the one before.
  EXPECT_EQ(pending_ids(j, 2, f1), (Ids{"t2"}));
  EXPECT_EQ(pending_ids(j, 2, t2), (Ids{}));

  auto pending = j.pending(10);
  ASSERT_TRUE(pending);
  const MessageRecord& first = pending->front();
  EXPECT_EQ(first.bundle, "");   // what choosing needs: the forwarder reads the Bundle it sends …
  EXPECT_EQ(first.payload, "");  // … and never the payload
  EXPECT_EQ(first.attempts, 0);
  auto full = j.waiting(first.seq);
  ASSERT_TRUE(full);
  ASSERT_TRUE(full->has_value());
  EXPECT_EQ((*full)->bundle, record("t1").bundle);
  EXPECT_EQ((*full)->id, "t1");
  EXPECT_EQ((*full)->received_at, record("t1").received_at);
  EXPECT_EQ((*full)->payload, "");
  // A message that waits no more is not to be sent.
  const auto delivered = get(j, "d1");
  ASSERT_TRUE(delivered);
  auto none = j.waiting(delivered->seq);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto unknown = j.waiting(1'000'000);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());
  EXPECT_EQ(first.ordering_key, "patient/t1");
  EXPECT_LT(pending->at(0).seq, pending->at(1).seq);
  EXPECT_LT(pending->at(1).seq, pending->at(2).seq);
}

// A message still to be translated (translate after the ACK) may be any patient's: nothing
// received after it is delivered before it is translated.
TEST_F(JournalTest, PendingStopsAtTheOldestMessageStillToBeTranslated) {
  SqliteJournal j(dir_.str());
  append_ok(j, record("t1", MessageState::kTranslated));
  const std::int64_t r1 = append_ok(j, record("r1", MessageState::kReceived));
  append_ok(j, record("t2", MessageState::kTranslated));
  const std::int64_t r2 = append_ok(j, record("r2", MessageState::kReceived));
  append_ok(j, record("t3", MessageState::kTranslated));
  EXPECT_EQ(pending_ids(j), (Ids{"t1"}));
  ASSERT_TRUE(wait([&](auto cb) { j.retranslate(r1, {MessageState::kReceived, 0}, MessageState::kTranslated, "{}", "k", "m", "", 1, cb); }));
  EXPECT_EQ(pending_ids(j), (Ids{"t1", "r1", "t2"}));
  ASSERT_TRUE(wait([&](auto cb) { j.retranslate(r2, {MessageState::kReceived, 0}, MessageState::kRejected, "", "", "m", "bad", 1, cb); }));
  EXPECT_EQ(pending_ids(j), (Ids{"t1", "r1", "t2", "t3"}));
}

TEST_F(JournalTest, MarkDeliveredRemovesFromPending) {
  SqliteJournal j(dir_.str());
  const std::int64_t a = append_ok(j, record("a"));
  append_ok(j, record("b"));
  auto done = wait([&](auto cb) { j.mark_delivered(a, 0, 1705314601000, cb); });
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_EQ(pending_ids(j), (Ids{"b"}));
  const auto out = get(j, "a");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->state, MessageState::kDelivered);
  EXPECT_EQ(out->updated_at, 1705314601000);
  EXPECT_EQ(out->attempts, 1);
}

TEST_F(JournalTest, MarkFailedCountsAttemptsAndSchedulesTheRetry) {
  SqliteJournal j(dir_.str());
  const std::int64_t a = append_ok(j, record("a"));
  ASSERT_TRUE(wait([&](auto cb) { j.mark_failed(a, 0, "upstream_transient", 1000, 2000, cb); }));
  ASSERT_TRUE(wait([&](auto cb) { j.mark_failed(a, 0, "upstream_unreachable", 3000, 7000, cb); }));
  const auto out = get(j, "a");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->state, MessageState::kFailed);
  EXPECT_EQ(out->attempts, 2);
  EXPECT_EQ(out->reason, "upstream_unreachable");
  EXPECT_EQ(out->updated_at, 3000);
  EXPECT_EQ(out->next_attempt_at, 7000);
  // A failed message is still waiting for delivery.
  auto pending = j.pending(10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().next_attempt_at, 7000);
  auto full = j.waiting(a);
  ASSERT_TRUE(full);
  ASSERT_TRUE(full->has_value());
  EXPECT_EQ((*full)->attempts, 2);  // the retry budget counts them
}

TEST_F(JournalTest, MarkDeadEndsDelivery) {
  SqliteJournal j(dir_.str());
  const std::int64_t a = append_ok(j, record("a"));
  ASSERT_TRUE(wait([&](auto cb) { j.mark_dead(a, 0, "upstream_permanent", 5000, cb); }));
  EXPECT_TRUE(pending_ids(j).empty());
  const auto out = get(j, "a");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->state, MessageState::kDead);
  EXPECT_EQ(out->reason, "upstream_permanent");
}

TEST_F(JournalTest, MarkingAnUnknownSequenceNumberFails) {
  SqliteJournal j(dir_.str());
  auto done = wait([&](auto cb) { j.mark_delivered(4242, 0, 1, cb); });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, Errc::kJournalWriteFailed);
}

TEST_F(JournalTest, CountsMessagesByState) {
  SqliteJournal j(dir_.str());
  auto empty = j.counts();
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->size(), static_cast<std::size_t>(kMessageStateCount));  // every state, zero included
  for (const auto& [state, n] : *empty) EXPECT_EQ(n, 0) << to_string(state);

  append_ok(j, record("t1"));
  append_ok(j, record("t2"));
  append_ok(j, record("x1", MessageState::kRejected));
  const std::int64_t f = append_ok(j, record("f1"));
  ASSERT_TRUE(wait([&](auto cb) { j.mark_failed(f, 0, "x", 1, 2, cb); }));
  auto counts = j.counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->at(MessageState::kTranslated), 2);
  EXPECT_EQ(counts->at(MessageState::kRejected), 1);
  EXPECT_EQ(counts->at(MessageState::kFailed), 1);
  EXPECT_EQ(counts->at(MessageState::kDelivered), 0);
  EXPECT_EQ(counts->at(MessageState::kReceived), 0);
}

TEST_F(JournalTest, CountsKeptInMemoryMatchAFreshGroupByAfterEveryKindOfChange) {
  std::atomic<bool> fail_write{false}, fail_commit{false};
  {
    SqliteJournal j(dir_.str());
    j.set_fault_hook([&](FaultPoint point) {
      return (point == FaultPoint::kWrite && fail_write) || (point == FaultPoint::kCommit && fail_commit);
    });
    std::vector<std::int64_t> seqs;
    for (int i = 0; i < 8; ++i) seqs.push_back(append_ok(j, record("t" + std::to_string(i))));
    append_ok(j, record("r1", MessageState::kRejected));
    append_ok(j, record("h1", MessageState::kHeld));
    append_ok(j, record("d0", MessageState::kDelivered));
    // A duplicate stores nothing; a new control id is stored.
    std::promise<Result<AppendOutcome>> dup;
    j.append_unique(record("t0"), 0, [&](Result<AppendOutcome> r) { dup.set_value(std::move(r)); });
    ASSERT_TRUE(dup.get_future().get()->duplicate);
    MessageRecord fresh = record("u1");
    std::promise<Result<AppendOutcome>> unique;
    j.append_unique(fresh, 0, [&](Result<AppendOutcome> r) { unique.set_value(std::move(r)); });
    ASSERT_FALSE(unique.get_future().get()->duplicate);

    ASSERT_TRUE(wait([&](auto cb) { j.mark_delivered(seqs[0], 0, 1, cb); }));
    ASSERT_TRUE(wait([&](auto cb) { j.mark_failed(seqs[1], 0, "x", 1, 2, cb); }));
    ASSERT_TRUE(wait([&](auto cb) { j.mark_failed(seqs[1], 0, "x", 2, 3, cb); }));  // failed → failed
    ASSERT_TRUE(wait([&](auto cb) { j.mark_dead(seqs[2], 0, "gave up", 1, cb); }));
    ASSERT_TRUE(wait([&](auto cb) {
      j.retranslate(seqs[2], {MessageState::kDead, 0}, MessageState::kTranslated, "{}", "k", "m", "", 1, cb);  // dead → translated
    }));
    ASSERT_TRUE(wait([&](auto cb) { j.retranslate(seqs[3], {MessageState::kTranslated, 0}, MessageState::kRejected, "", "", "m", "bad", 1, cb); }));
    // Changes that fail change nothing: an unknown message, a failed write, a failed commit.
    ASSERT_FALSE(wait([&](auto cb) { j.mark_delivered(987654, 0, 1, cb); }));
    fail_write = true;
    ASSERT_FALSE(wait([&](auto cb) { j.mark_delivered(seqs[4], 0, 1, cb); }));
    fail_write = false;
    fail_commit = true;
    ASSERT_FALSE(wait([&](auto cb) { j.mark_dead(seqs[5], 0, "x", 1, cb); }));
    ASSERT_FALSE(append(j, record("lost")));
    fail_commit = false;
    std::promise<Result<std::int64_t>> purged;
    j.purge(1'800'000'000'000, 0, [&](Result<std::int64_t> n) { purged.set_value(std::move(n)); });
    auto removed = purged.get_future().get();
    ASSERT_TRUE(removed);
    EXPECT_EQ(*removed, 2);  // d0, and t0 (delivered above)

    const auto expected = group_by_state(dir_.path());
    EXPECT_EQ(expected.at(MessageState::kTranslated), 6);  // t2 (again), t4–t7, u1
    EXPECT_EQ(expected.at(MessageState::kDelivered), 0);   // both purged
    EXPECT_EQ(*j.counts(), expected);
  }
  // Opened again, the journal starts from the database's own counts.
  SqliteJournal again(dir_.str());
  EXPECT_EQ(*again.counts(), group_by_state(dir_.path()));
}

// A journal written before the counts table existed is counted once when it is opened, and the
// table then follows every commit.
TEST_F(JournalTest, AJournalFromBeforeTheCountsTableIsCountedAtOpen) {
  {
    SqliteJournal j(dir_.str());
    append_ok(j, record("a"));
    append_ok(j, record("b"));
    append_ok(j, record("r", MessageState::kRejected));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "journal.db").string().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE message_counts; PRAGMA user_version = 0;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  SqliteJournal again(dir_.str());
  EXPECT_EQ(*again.counts(), group_by_state(dir_.path()));
  EXPECT_EQ(again.undelivered(), 2);
  append_ok(again, record("c"));
  SqliteJournal third(dir_.str());  // reads the table, which the last commit changed
  EXPECT_EQ(third.undelivered(), 3);
}

TEST_F(JournalTest, CommitFaultFailsTheAppendAndStoresNothing) {
  observe::Registry registry;
  observe::JournalProbe probe(registry);
  SqliteJournal j(dir_.str(), &probe);
  std::atomic<bool> fail_commit{true};
  j.set_fault_hook([&fail_commit](FaultPoint point) { return point == FaultPoint::kCommit && fail_commit; });

  auto seq = append(j, record("lost"));
  ASSERT_FALSE(seq);
  EXPECT_EQ(seq.error().code, Errc::kJournalWriteFailed);
  EXPECT_FALSE(get(j, "lost").has_value());
  auto counts = j.counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->at(MessageState::kTranslated), 0);
  EXPECT_EQ(sample(registry, "helsebro_journal_write_failures_total{reason=\"commit\"}"), 1);

  // The journal keeps working once the fault is gone; only that commit is counted.
  fail_commit = false;
  EXPECT_GT(append_ok(j, record("kept")), 0);
  EXPECT_TRUE(get(j, "kept").has_value());
  EXPECT_EQ(sample(registry, "helsebro_journal_commits_total"), 1);
}

// A commit fails, and the rollback after it too, leaving the transaction open: the next batch
// rolls it back before it begins, instead of failing to begin for good.
TEST_F(JournalTest, ATransactionAFailedRollbackLeftOpenDoesNotBlockTheNextBatch) {
  SqliteJournal j(dir_.str());
  std::atomic<bool> failing{true};
  j.set_fault_hook([&failing](FaultPoint point) {
    return failing && (point == FaultPoint::kCommit || point == FaultPoint::kRollback);
  });
  ASSERT_FALSE(append(j, record("lost")));
  failing = false;
  EXPECT_GT(append_ok(j, record("kept")), 0);
  EXPECT_FALSE(get(j, "lost").has_value());
  EXPECT_TRUE(get(j, "kept").has_value());
}

TEST_F(JournalTest, WriteFaultFailsOnlyThatOperation) {
  SqliteJournal j(dir_.str());
  std::atomic<int> writes{0};
  // The second write fails; the others commit.
  j.set_fault_hook([&writes](FaultPoint point) { return point == FaultPoint::kWrite && ++writes == 2; });
  EXPECT_GT(append_ok(j, record("a")), 0);
  auto b = append(j, record("b"));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, Errc::kJournalWriteFailed);
  EXPECT_GT(append_ok(j, record("c")), 0);
  EXPECT_EQ(pending_ids(j), (Ids{"a", "c"}));
}

TEST_F(JournalTest, MessagesSurviveAReopen) {
  std::int64_t last = 0;
  {
    SqliteJournal j(dir_.str());
    append_ok(j, record("a"));
    last = append_ok(j, record("b"));
    ASSERT_TRUE(wait([&](auto cb) { j.mark_failed(last, 0, "x", 10, 20, cb); }));
  }
  SqliteJournal reopened(dir_.str());
  EXPECT_EQ(pending_ids(reopened), (Ids{"a", "b"}));
  const auto b = get(reopened, "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->payload, record("b").payload);
  EXPECT_EQ(b->attempts, 1);
  // Sequence numbers continue after the stored ones.
  EXPECT_GT(append_ok(reopened, record("c")), last);
}

TEST_F(JournalTest, LargeMessagesAreStoredWholeAcrossWritesAndCheckpoints) {
  // 24 messages of 1.5 MB: one commit's WAL frames go out in several writes, and the WAL passes
  // the size at which checkpoints start on their own thread.
  std::vector<std::string> payloads;
  for (int i = 0; i < 24; ++i) {
    std::string p(1'500'000, '\0');
    for (std::size_t k = 0; k < p.size(); ++k) p[k] = static_cast<char>((k * 131 + static_cast<std::size_t>(i) * 7) % 251);
    payloads.push_back(std::move(p));
  }
  {
    SqliteJournal j(dir_.str());
    for (int i = 0; i < 24; ++i) {
      MessageRecord r = record("big" + std::to_string(i));
      r.payload = payloads[static_cast<std::size_t>(i)];
      append_ok(j, std::move(r));
    }
    // The background checkpoint copies the WAL into the database file while the journal is open.
    const auto db = dir_.path() / "journal.db";
    for (int tries = 0; tries < 200 && std::filesystem::file_size(db) < 16'000'000; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_GE(std::filesystem::file_size(db), 16'000'000u);
    for (int i = 0; i < 24; ++i) EXPECT_EQ(get(j, "big" + std::to_string(i))->payload, payloads[static_cast<std::size_t>(i)]);
  }
  SqliteJournal reopened(dir_.str());
  for (int i = 0; i < 24; ++i) {
    const auto r = get(reopened, "big" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->payload, payloads[static_cast<std::size_t>(i)]) << i;
  }
  EXPECT_EQ(reopened.counts()->at(MessageState::kTranslated), 24);
}

TEST_F(JournalTest, AJournalWithTheOldIndexOfPendingMessagesGetsTheNewOne) {
  {
    SqliteJournal j(dir_.str());
    append_ok(j, record("t1"));
  }
  const std::string path = (dir_.path() / "journal.db").string();
  auto indexes = [&path] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    std::set<std::string> names;
    sqlite3_exec(
        db, "SELECT name FROM sqlite_master WHERE type = 'index'",
        [](void* out, int, char** values, char**) {
          static_cast<std::set<std::string>*>(out)->insert(values[0]);
          return 0;
        },
        &names, nullptr);
    return std::pair(db, names);
  };
  // As a journal of an earlier version has it.
  auto [db, before] = indexes();
  ASSERT_TRUE(before.count("messages_waiting"));
  ASSERT_EQ(sqlite3_exec(db, "DROP INDEX messages_waiting; CREATE INDEX messages_pending ON messages(seq) WHERE state IN (1, 4);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  {
    SqliteJournal j(dir_.str());
    EXPECT_EQ(pending_ids(j), (Ids{"t1"}));
  }
  auto [db2, after] = indexes();
  sqlite3_close(db2);
  EXPECT_TRUE(after.count("messages_waiting"));
  EXPECT_FALSE(after.count("messages_pending"));
}

TEST_F(JournalTest, TheWalStartsOverAfterAFewMegabytes) {
  // 24 MB in 120 commits of 200 KB: checkpoints run every MiB of WAL, and the WAL starts over
  // from its beginning past 4 MiB, so its file stays far below what was written (it stops
  // growing where it started over; 16 MiB checkpoints let it pass 16 MB).
  // The checkpoints run on a thread of their own: each commit leaves it a moment, as traffic
  // would, so that a busy machine (the other tests running beside this one) cannot starve it for
  // the whole run. The bound is half of what was written: the WAL started over at least once.
  const std::string payload(200'000, 'x');
  SqliteJournal j(dir_.str());
  for (int i = 0; i < 120; ++i) {
    MessageRecord r = record(std::string("m").append(std::to_string(i)));
    r.payload = payload;
    append_ok(j, std::move(r));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const auto wal = dir_.path() / "journal.db-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  EXPECT_LT(std::filesystem::file_size(wal), 12'000'000u);
  EXPECT_EQ(get(j, "m119")->payload, payload);
}

TEST_F(JournalTest, CloseFinishesQueuedWritesAndRefusesNewOnes) {
  SqliteJournal j(dir_.str());
  std::promise<Result<std::int64_t>> queued;
  auto queued_result = queued.get_future();
  j.append(record("a"), [&queued](Result<std::int64_t> seq) { queued.set_value(std::move(seq)); });
  j.close();
  ASSERT_EQ(queued_result.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(queued_result.get());
  auto late = append(j, record("b"));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::kJournalWriteFailed);
  j.close();  // idempotent
  EXPECT_TRUE(get(j, "a").has_value());
}

TEST_F(JournalTest, OpeningAnUnusableDirectoryThrows) {
  const auto file = dir_.write("not-a-dir", "x");
  EXPECT_THROW(SqliteJournal((file / "sub").string()), std::runtime_error);
}

TEST_F(JournalTest, ConcurrentAppendsAreAllStoredAndGroupCommitted) {
  observe::Registry registry;
  observe::JournalProbe probe(registry);
  SqliteJournal j(dir_.str(), &probe);

  // Hold the writer inside its first transaction until every append is queued, so the rest
  // must be committed together: the batching is then certain, not a matter of timing.
  std::promise<void> gate = hold_first_write(j);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  constexpr int kTotal = kThreads * kPerThread;
  std::mutex mutex;
  std::vector<std::int64_t> seqs;
  std::atomic<int> failures{0};
  std::atomic<int> remaining{kTotal};
  std::promise<void> all_done;

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "t";
        id.append(std::to_string(t)).append("-").append(std::to_string(i));  // append: g++ 12 -Wrestrict
        j.append(record(id), [&](Result<std::int64_t> seq) {
          if (seq) {
            std::lock_guard lock(mutex);
            seqs.push_back(*seq);
          } else {
            ++failures;
          }
          if (--remaining == 0) all_done.set_value();
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  gate.set_value();
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);

  EXPECT_EQ(failures, 0);
  EXPECT_EQ(std::set<std::int64_t>(seqs.begin(), seqs.end()).size(), static_cast<std::size_t>(kTotal));
  auto counts = j.counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->at(MessageState::kTranslated), kTotal);
  EXPECT_EQ(pending_ids(j, 1000).size(), static_cast<std::size_t>(kTotal));
  // Each thread's messages keep their order.
  auto pending = j.pending(1000);
  ASSERT_TRUE(pending);
  std::map<std::string, int> next;
  for (const MessageRecord& r : *pending) {
    const std::string thread = r.id.substr(0, r.id.find('-'));
    const int i = std::stoi(r.id.substr(r.id.find('-') + 1));
    EXPECT_EQ(i, next[thread]++) << r.id;
  }

  const double commits = sample(registry, "helsebro_journal_commits_total");
  EXPECT_GE(commits, 1);
  EXPECT_LE(commits, 2);
  EXPECT_EQ(sample(registry, "helsebro_journal_batch_operations_count"), commits);
  EXPECT_EQ(sample(registry, "helsebro_journal_batch_operations_sum"), kTotal);
}

// An append, which a sender waits on for its ACK, goes into the next commit even when many large
// translations were queued before it; those join commits only up to a byte budget.
TEST_F(JournalTest, AppendsGoAheadOfLargeTranslationsQueuedBeforeThem) {
  SqliteJournal j(dir_.str());
  constexpr int kTranslations = 40;
  std::vector<std::int64_t> seqs;
  for (int i = 0; i < kTranslations; ++i) seqs.push_back(append_ok(j, record(numbered("r", i), MessageState::kReceived)));

  // Hold the writer inside a transaction until everything below is queued.
  std::promise<void> gate = hold_first_write(j);
  std::mutex mutex;
  std::vector<std::string> finished;  // in the order the writer reported them
  std::promise<void> all_done;
  std::atomic<int> remaining{kTranslations + 2};
  auto done = [&](std::string what) {
    return [&, what](auto result) {
      EXPECT_TRUE(result) << what;
      {
        std::lock_guard lock(mutex);
        finished.push_back(what);
      }
      if (--remaining == 0) all_done.set_value();
    };
  };
  j.append(record("held"), done("held"));
  const std::string bundle(100 * 1024, 'x');
  for (int i = 0; i < kTranslations; ++i) {
    j.retranslate(seqs[i], {MessageState::kReceived, 0}, MessageState::kTranslated, bundle, "k", "m", "", 2, done(numbered("t", i)));
  }
  j.append(record("urgent"), done("urgent"));
  gate.set_value();
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);

  const auto at = std::find(finished.begin(), finished.end(), "urgent") - finished.begin();
  EXPECT_LE(at, 4) << "the append waited for " << at - 1 << " translations";
  // The translations themselves kept their order.
  std::vector<std::string> translations;
  for (const std::string& f : finished) {
    if (f[0] == 't') translations.push_back(f);
  }
  for (int i = 0; i < kTranslations; ++i) EXPECT_EQ(translations[i], numbered("t", i));
  auto stored = get(j, "r39");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->bundle.size(), bundle.size());
  EXPECT_EQ(stored->state, MessageState::kTranslated);
}

// find, pending and get from several threads at once, while the writer commits: each read gets
// a connection of its own for the call.
TEST_F(JournalTest, ReadsFromManyThreadsWhileWriting) {
  SqliteJournal j(dir_.str());
  for (int i = 0; i < 20; ++i) append_ok(j, record(numbered("a", i)));
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; writing; ++i) append_ok(j, record(numbered("w", i)));
  });
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        auto pending = j.pending(10);
        auto found = j.find(MessageQuery{{"a3", "a7"}, std::nullopt, 0, 10});
        auto one = j.get("a11");
        if (!pending || pending->size() != 10 || (*pending)[0].id != "a0") ++wrong;
        if (!found || found->size() != 2) ++wrong;
        if (!one || !*one || (*one)->payload != record("a11").payload) ++wrong;
      }
    });
  }
  for (auto& r : readers) r.join();
  writing = false;
  writer.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Each shape of query is prepared once per reading connection and reused with new values: the
// second and later answers must be those of the values bound now, not of the first use.
TEST_F(JournalTest, FindAnswersEachCallsOwnValuesWhenItsQueryIsReused) {
  SqliteJournal j(dir_.str());
  for (int i = 0; i < 6; ++i) {
    MessageRecord r = record(numbered("m", i), i % 2 ? MessageState::kDead : MessageState::kTranslated);
    r.received_at = 1000 + i;
    append_ok(j, std::move(r));
  }
  const auto ids = [&j](const MessageQuery& q) {
    Ids out;
    auto found = j.find(q);
    EXPECT_TRUE(found) << found.error().message();
    if (found) {
      for (const MessageRecord& r : *found) out.push_back(r.id);
    }
    return out;
  };
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(ids({{"m1", "m4"}, std::nullopt, 0, 10}), (Ids{"m1", "m4"}));
    EXPECT_EQ(ids({{"m2", "m5"}, std::nullopt, 0, 10}), (Ids{"m2", "m5"}));
    EXPECT_EQ(ids({{"m3"}, std::nullopt, 0, 10}), (Ids{"m3"}));
    EXPECT_EQ(ids({{}, MessageState::kDead, 0, 10}), (Ids{"m1", "m3", "m5"}));
    EXPECT_EQ(ids({{}, MessageState::kTranslated, 0, 10}), (Ids{"m0", "m2", "m4"}));
    EXPECT_EQ(ids({{}, MessageState::kDead, 1003, 10}), (Ids{"m3", "m5"}));
    EXPECT_EQ(ids({{}, std::nullopt, 1002, 2}), (Ids{"m2", "m3"}));
    EXPECT_EQ(ids({{}, std::nullopt, 0, 1}), (Ids{"m0"}));
    EXPECT_EQ(ids({{"m0", "m1", "m2"}, MessageState::kDead, 0, 10}), (Ids{"m1"}));
    // Page by page: m0 has seq 1, m5 seq 6.
    EXPECT_EQ(ids({{}, MessageState::kDead, 0, 10, 2}), (Ids{"m3", "m5"}));
    EXPECT_EQ(ids({{}, std::nullopt, 0, 2, 2}), (Ids{"m2", "m3"}));
    EXPECT_EQ(ids({{}, std::nullopt, 1002, 2, 4}), (Ids{"m4", "m5"}));
    EXPECT_EQ(ids({{}, std::nullopt, 0, 10, 6}), (Ids{}));
  }
  EXPECT_EQ(get(j, "m4")->id, "m4");
  EXPECT_EQ(get(j, "m5")->id, "m5");
  EXPECT_FALSE(get(j, "m9"));
}

TEST_F(JournalTest, PurgeRemovesOldDeliveredAndRejectedButKeepsDeadAndWaiting) {
  SqliteJournal journal_(dir_.str());
  MessageRecord delivered = record("old-delivered", MessageState::kDelivered);
  MessageRecord rejected = record("old-rejected", MessageState::kRejected);
  MessageRecord dead = record("old-dead", MessageState::kDead);
  MessageRecord waiting = record("old-waiting", MessageState::kTranslated);
  MessageRecord recent = record("recent-delivered", MessageState::kDelivered);
  recent.received_at = 2'000'000'000'000;  // updated_at starts as received_at
  for (auto* r : {&delivered, &rejected, &dead, &waiting, &recent}) append_ok(journal_, *r);
  std::promise<Result<std::int64_t>> done;
  journal_.purge(1'800'000'000'000, 1'800'000'000'000, [&](Result<std::int64_t> n) { done.set_value(std::move(n)); });
  auto removed = done.get_future().get();
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 2);
  EXPECT_FALSE(*journal_.get("old-delivered"));
  EXPECT_FALSE(*journal_.get("old-rejected"));
  EXPECT_TRUE(*journal_.get("old-dead"));
  EXPECT_TRUE(*journal_.get("old-waiting"));
  EXPECT_TRUE(*journal_.get("recent-delivered"));
}

}  // namespace
}  // namespace helsebro::journal
