#include "gateway/journal/sqlite_journal.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

#include "gateway/core/thread_name.h"
#include "gateway/journal/checkpointer.h"
#include "gateway/journal/writer_connection.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::journal {
namespace {

constexpr const char* kSummaryColumns =
    "seq, id, channel, sender, control_id, message_type, format, charset, payload_sha256, state, "
    "reason, mapping, ordering_key, received_at, updated_at, next_attempt_at, attempts, peer, "
    "revision, queued_at";
// Columns a query selects after the summary ones start at this index.
constexpr int kAfterSummary = 20;

MessageRecord read_summary(const Statement& s) {
  MessageRecord r;
  r.seq = s.int64(0);
  r.id = s.text(1);
  r.channel = s.text(2);
  r.sender = s.text(3);
  r.control_id = s.text(4);
  r.message_type = s.text(5);
  r.format = s.text(6);
  r.charset = s.text(7);
  r.payload_sha256 = s.text(8);
  r.state = static_cast<MessageState>(s.int64(9));
  r.reason = s.text(10);
  r.mapping = s.text(11);
  r.ordering_key = s.text(12);
  r.received_at = s.int64(13);
  r.updated_at = s.int64(14);
  r.next_attempt_at = s.int64(15);
  r.attempts = static_cast<std::int32_t>(s.int64(16));
  r.peer = s.text(17);
  r.revision = s.int64(18);
  r.queued_at = s.int64(19);
  return r;
}

// Readers and the checkpointer read a few pages per call, mostly the newest, which the OS keeps
// cached anyway: a small page cache each (SQLite's default is 2 MB per connection).
sqlite3* open_small_cache(const std::string& path) {
  sqlite3* db = open_db(path);
  try {
    exec_or_throw(db, "PRAGMA cache_size=-256");
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  return db;
}

Result<void> to_void(const Result<std::int64_t>& r) {
  return r ? Result<void>() : Result<void>(r.error());
}

}  // namespace

SqliteJournal::SqliteJournal(const std::string& data_dir, observe::JournalProbe* probe)
    : probe_(probe) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw std::runtime_error("journal: cannot create " + data_dir + ": " + ec.message());
  path_ = (std::filesystem::path(data_dir) / "journal.db").string();
  writer_db_ = std::make_unique<WriterConnection>(path_);
  count_states();
  checkpointer_ = std::make_unique<Checkpointer>(open_small_cache(path_));
  checkpointer_->watch(writer_db_->db());
  writer_ = std::thread([this] {
    name_this_thread("hb-journal");
    writer_loop();
  });
}

// A reader's connection and the statements prepared on it (finalized before it is closed).
struct SqliteJournal::Reader {
  static constexpr std::size_t kMaxStatements = 32;  // find() builds a few shapes of query

  explicit Reader(sqlite3* connection) : db(connection) {}
  ~Reader() {
    statements.clear();
    sqlite3_close_v2(db);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  sqlite3* db;
  std::unordered_map<std::string, Statement> statements;
};

SqliteJournal::~SqliteJournal() { close(); }

SqliteJournal::ReaderLease::ReaderLease(SqliteJournal& journal) : journal_(journal) {
  {
    std::lock_guard lock(journal_.readers_mutex_);
    if (!journal_.idle_readers_.empty()) {
      reader_ = std::move(journal_.idle_readers_.back());
      journal_.idle_readers_.pop_back();
      return;
    }
  }
  try {
    reader_ = std::make_unique<Reader>(open_small_cache(journal_.path_));
  } catch (const std::exception& e) {
    error_ = e.what();  // db() stays null
  }
}

SqliteJournal::ReaderLease::~ReaderLease() {
  if (!reader_) return;
  std::lock_guard lock(journal_.readers_mutex_);
  journal_.idle_readers_.push_back(std::move(reader_));
}

sqlite3* SqliteJournal::ReaderLease::db() const { return reader_ ? reader_->db : nullptr; }

Statement* SqliteJournal::ReaderLease::statement(const std::string& sql) {
  auto& statements = reader_->statements;
  if (auto it = statements.find(sql); it != statements.end()) return &it->second;
  Statement s(reader_->db, sql.c_str());
  if (!s.ok()) return nullptr;
  if (statements.size() >= Reader::kMaxStatements) statements.clear();
  return &statements.emplace(sql, std::move(s)).first->second;
}

// The counts table at open (and again when another process changed the journal): from here on
// the counts follow the commits. The version is taken first: a commit of another process after
// it is seen at the next look, and counted then.
void SqliteJournal::count_states() {
  const std::int64_t version = writer_db_->data_version();
  auto counted = writer_db_->read_counts();
  if (!counted) throw std::runtime_error("journal: cannot count by state: " + counted.error().detail);
  for (std::size_t i = 0; i < counted->size(); ++i) counts_.set(static_cast<MessageState>(i), (*counted)[i]);
  data_version_ = version;
}

std::int64_t SqliteJournal::undelivered() const {
  return counts_.get(MessageState::kReceived) + counts_.get(MessageState::kTranslated) +
         counts_.get(MessageState::kFailed);
}

// Another process may write to the journal (`helsebro replay` does, while the gateway runs).
// SQLite's data_version on the writer's connection changes only then: its own commits leave it
// alone. The counts by state are read again from the counts table (a few rows, kept by every
// writer in its transactions), and whoever listens is told (the translator and the forwarder
// look at the journal again).
void SqliteJournal::notice_other_writers() {
  if (writer_db_->data_version() == data_version_) return;
  try {
    count_states();
  } catch (const std::exception& e) {
    observe::log_error("journal.recount_failed", {{"error", e.what()}});
    return;
  }
  observe::log_info("journal.changed_by_another_process", {});
  changed(true);
}

void SqliteJournal::close() {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  queue_cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  checkpointer_.reset();
  writer_db_.reset();
}

void SqliteJournal::enqueue(Operation op) {
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_) {
      // The writer waits only while both queues are empty: the first operation wakes it.
      const bool wake = appends_.empty() && others_.empty();
      if (op.append) {
        appends_.push_back(std::move(op));
      } else {
        others_.push_back(std::move(op));
      }
      if (wake) queue_cv_.notify_one();
      return;
    }
  }
  op.done(Error{Errc::kJournalWriteFailed, "the journal is closing"});
}

void SqliteJournal::take_others(std::vector<Operation>& batch) {
  std::size_t bytes = 0;
  while (!others_.empty() &&
         (bytes == 0 || bytes + others_.front().bytes <= kOtherBytesPerCommit)) {
    bytes += std::max<std::size_t>(others_.front().bytes, 1);
    batch.push_back(std::move(others_.front()));
    others_.pop_front();
  }
}

void SqliteJournal::writer_loop() {
  std::vector<Operation> batch;
  auto looked = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      // Awake at least once a second, to notice another process's changes.
      queue_cv_.wait_for(lock, std::chrono::seconds(1),
                         [this] { return stopping_ || !appends_.empty() || !others_.empty(); });
      if (appends_.empty() && others_.empty() && stopping_) return;
      batch.swap(appends_);
      take_others(batch);
    }
    if (!batch.empty()) {
      commit_batch(batch);
      batch.clear();
      checkpointer_->between_batches(writer_db_->db());
    }
    if (const auto now = std::chrono::steady_clock::now(); now - looked >= std::chrono::seconds(1)) {
      looked = now;
      notice_other_writers();
    }
  }
}

// Applies each operation in its own savepoint, so that one failure does not undo the others,
// and adds what the successful ones did to the counts by state to `committed`.
std::vector<Result<std::int64_t>> SqliteJournal::apply_all(std::vector<Operation>& batch,
                                                           bool began, StateDelta& committed) {
  WriterConnection& w = *writer_db_;
  std::vector<Result<std::int64_t>> results;
  results.reserve(batch.size());
  for (Operation& op : batch) {
    // SQLite rolls the whole transaction back by itself on some errors (disk full, I/O): nothing
    // more can join it then, and the commit fails for everyone.
    if (!began || !w.in_transaction()) {
      results.emplace_back(db_error(w.db(), began ? "transaction lost" : "begin"));
      continue;
    }
    w.changes().clear();
    w.savepoint();
    Result<std::int64_t> r =
        (fault_hook_ && fault_hook_(FaultPoint::kWrite))
            ? Result<std::int64_t>(Error{Errc::kJournalWriteFailed, "injected write fault"})
            : op.apply(w);
    if (r) {
      committed.add(w.changes());
    } else {
      w.rollback_to_savepoint();
    }
    w.release();
    results.push_back(std::move(r));
  }
  return results;
}

// One transaction for everything queued; callbacks run only after COMMIT returned, i.e. after
// the fsync. The counts by state change by what the committed operations did, before anyone is
// told.
void SqliteJournal::commit_batch(std::vector<Operation>& batch) {
  const auto started = std::chrono::steady_clock::now();
  WriterConnection& w = *writer_db_;
  StateDelta committed;
  // A transaction a failed ROLLBACK left open would refuse every BEGIN from then on.
  if (w.in_transaction()) w.rollback();
  const bool began = w.begin();
  std::vector<Result<std::int64_t>> results = apply_all(batch, began, committed);
  bool commit_failed = false;
  if (began) {
    const bool injected = fault_hook_ && fault_hook_(FaultPoint::kCommit);
    // The counts table changes in the same transaction, so it stays exact for every process.
    if (injected || !w.in_transaction() || !w.add_counts(committed) || !w.commit()) {
      const Error e = injected ? Error{Errc::kJournalWriteFailed, "injected commit fault"}
                               : db_error(w.db(), "commit");
      if (w.in_transaction() && !(fault_hook_ && fault_hook_(FaultPoint::kRollback))) w.rollback();
      for (auto& r : results) r = e;
      commit_failed = true;
    }
  }
  if (began && !commit_failed) {
    counts_.apply(committed);
    changed(false);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // A state change for a version a replay has replaced is refused on purpose, not a failure.
  std::size_t failures = 0;
  for (const auto& r : results) failures += r || r.error().code == Errc::kJournalSuperseded ? 0 : 1;
  // Metrics before callbacks: whoever learns that a write completed then sees it counted.
  if (probe_) {
    if (began && !commit_failed) probe_->committed(batch.size(), seconds);
    if (failures > 0) probe_->write_failed(!began ? "begin" : commit_failed ? "commit" : "write");
  }
  if (failures > 0) {
    observe::log_error("journal.write_failed",
                       {{"operations", batch.size()}, {"failed", failures}});
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

void SqliteJournal::append(MessageRecord record, AppendDone done) {
  auto shared = std::make_shared<MessageRecord>(std::move(record));
  enqueue({.apply = [shared](WriterConnection& w) { return w.insert(*shared); },
           .done = std::move(done),
           .append = true});
}

void SqliteJournal::append_unique(MessageRecord record, EpochMillis window_start, UniqueDone done) {
  auto shared = std::make_shared<MessageRecord>(std::move(record));
  auto outcome = std::make_shared<AppendOutcome>();
  enqueue({.apply = [shared, outcome, window_start](WriterConnection& w) {
             return w.insert_unique(*shared, window_start, *outcome);
           },
           .done = [outcome, done = std::move(done)](Result<std::int64_t> r) {
             if (!r)
               done(r.error());
             else
               done(std::move(*outcome));
           },
           .append = true});
}

void SqliteJournal::mark_delivered(std::int64_t seq, std::int64_t revision, EpochMillis now, Done done) {
  enqueue({[=](WriterConnection& w) {
             return w.change_state(seq, revision, MessageState::kDelivered, "", now, 0, true);
           },
           [done = std::move(done)](Result<std::int64_t> r) { done(to_void(r)); }});
}

void SqliteJournal::mark_failed(std::int64_t seq, std::int64_t revision, std::string reason,
                                EpochMillis now, EpochMillis next_attempt_at, Done done) {
  enqueue({[=, reason = std::move(reason)](WriterConnection& w) {
             return w.change_state(seq, revision, MessageState::kFailed, reason, now, next_attempt_at, true);
           },
           [done = std::move(done)](Result<std::int64_t> r) { done(to_void(r)); }});
}

void SqliteJournal::mark_dead(std::int64_t seq, std::int64_t revision, std::string reason, EpochMillis now,
                              Done done) {
  enqueue({[=, reason = std::move(reason)](WriterConnection& w) {
             return w.change_state(seq, revision, MessageState::kDead, reason, now, 0, true);
           },
           [done = std::move(done)](Result<std::int64_t> r) { done(to_void(r)); }});
}

void SqliteJournal::retranslate(std::int64_t seq, AsRead from, MessageState state, std::string bundle,
                                std::string ordering_key, std::string mapping, std::string reason,
                                EpochMillis now, Done done) {
  const std::size_t bytes = bundle.size();
  enqueue({.apply = [=, bundle = std::move(bundle), ordering_key = std::move(ordering_key),
                    mapping = std::move(mapping), reason = std::move(reason)](WriterConnection& w) {
             return w.retranslate(seq, from, state, bundle, ordering_key, mapping, reason, now);
           },
           .done = [done = std::move(done)](Result<std::int64_t> r) { done(to_void(r)); },
           .bytes = bytes});
}

void SqliteJournal::purge(EpochMillis delivered_before, EpochMillis rejected_before,
                          std::function<void(Result<std::int64_t>)> done) {
  // It may delete many rows: a commit of its own among the other operations.
  enqueue({.apply = [=](WriterConnection& w) { return w.purge(delivered_before, rejected_before); },
           .done = std::move(done),
           .bytes = kOtherBytesPerCommit});
}

Result<std::vector<MessageRecord>> SqliteJournal::find(const MessageQuery& query) {
  ReaderLease reader(*this);
  if (reader.db() == nullptr) return Error{Errc::kJournalWriteFailed, reader.error()};
  // Values are bound, so that each shape of query is prepared once.
  std::string sql =
      std::string("SELECT ") + kSummaryColumns + ", payload, bundle, ack FROM messages WHERE 1";
  if (!query.ids.empty()) {
    sql += " AND id IN (";
    for (std::size_t i = 0; i < query.ids.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  // The state is written into the text: only then can SQLite use the partial index of received
  // messages (the translator asks for state 0 after every commit).
  if (query.state) sql += " AND state = " + std::to_string(static_cast<int>(*query.state));
  if (query.received_since > 0) sql += " AND received_at >= ?";
  if (query.after_seq > 0) sql += " AND seq > ?";
  sql += " ORDER BY seq LIMIT ?";
  Statement* prepared = reader.statement(sql);
  if (prepared == nullptr) return db_error(reader.db(), "prepare find");
  Use s(*prepared);
  int i = 1;
  for (const std::string& id : query.ids) s->bind(i++, id);
  if (query.received_since > 0) s->bind(i++, query.received_since);
  if (query.after_seq > 0) s->bind(i++, query.after_seq);
  s->bind(i, static_cast<std::int64_t>(query.limit));
  std::vector<MessageRecord> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) {
    MessageRecord r = read_summary(*s);
    r.payload = s->text(kAfterSummary);
    r.bundle = s->text(kAfterSummary + 1);
    r.ack = s->text(kAfterSummary + 2);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db_error(reader.db(), "find messages");
  return out;
}

Result<std::vector<MessageRecord>> SqliteJournal::pending(std::size_t limit, std::int64_t after_seq) {
  ReaderLease reader(*this);
  if (reader.db() == nullptr) return Error{Errc::kJournalWriteFailed, reader.error()};
  // Nothing after the oldest message still to be translated (state 0, a channel translating
  // after the ACK): its ordering key is not known yet, and it may be the same patient's.
  static const std::string sql =
      "SELECT seq, id, ordering_key, next_attempt_at FROM messages WHERE state IN (1, 4) AND seq > ?2 AND seq < "
      "(SELECT COALESCE(MIN(seq), 9223372036854775807) FROM messages WHERE state = 0) "
      "ORDER BY seq LIMIT ?1";
  Statement* prepared = reader.statement(sql);
  if (prepared == nullptr) return db_error(reader.db(), "prepare pending");
  Use s(*prepared);
  s->bind(1, static_cast<std::int64_t>(limit));
  s->bind(2, after_seq);
  std::vector<MessageRecord> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) {
    MessageRecord& r = out.emplace_back();
    r.seq = s->int64(0);
    r.id = s->text(1);
    r.ordering_key = s->text(2);
    r.next_attempt_at = s->int64(3);
  }
  if (rc != SQLITE_DONE) return db_error(reader.db(), "read pending");
  return out;
}

namespace {

// The one message a query with the summary columns first finds, or none; `rest` reads the
// columns after them. The caller binds the query's value.
template <class Rest>
Result<std::optional<MessageRecord>> one_message(sqlite3* db, Use& s, Rest rest) {
  const int rc = s->step();
  if (rc == SQLITE_DONE) return std::optional<MessageRecord>();
  if (rc != SQLITE_ROW) return db_error(db, "read message");
  MessageRecord r = read_summary(*s);
  rest(*s, r);
  return std::optional<MessageRecord>(std::move(r));
}

}  // namespace

Result<std::optional<MessageRecord>> SqliteJournal::waiting(std::int64_t seq) {
  ReaderLease reader(*this);
  if (reader.db() == nullptr) return Error{Errc::kJournalWriteFailed, reader.error()};
  static const std::string sql = std::string("SELECT ") + kSummaryColumns +
                                 ", bundle FROM messages WHERE seq = ?1 AND state IN (1, 4)";
  Statement* prepared = reader.statement(sql);
  if (prepared == nullptr) return db_error(reader.db(), "prepare waiting");
  Use s(*prepared);
  s->bind(1, seq);
  return one_message(reader.db(), s, [](const Statement& row, MessageRecord& r) {
    r.bundle = row.text(kAfterSummary);
  });
}

Result<std::optional<MessageRecord>> SqliteJournal::get(const std::string& id) {
  ReaderLease reader(*this);
  if (reader.db() == nullptr) return Error{Errc::kJournalWriteFailed, reader.error()};
  static const std::string sql = std::string("SELECT ") + kSummaryColumns +
                                 ", payload, bundle, ack FROM messages WHERE id = ?1";
  Statement* prepared = reader.statement(sql);
  if (prepared == nullptr) return db_error(reader.db(), "prepare get");
  Use s(*prepared);
  s->bind(1, id);
  return one_message(reader.db(), s, [](const Statement& row, MessageRecord& r) {
    r.payload = row.text(kAfterSummary);
    r.bundle = row.text(kAfterSummary + 1);
    r.ack = row.text(kAfterSummary + 2);
  });
}

Result<std::map<MessageState, std::int64_t>> SqliteJournal::counts() {
  return counts_.snapshot();
}

}  // namespace helsebro::journal
