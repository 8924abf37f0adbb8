#include "gateway/journal/sqlite_journal.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::journal {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  id              TEXT NOT NULL UNIQUE,
  channel         TEXT NOT NULL,
  sender          TEXT NOT NULL,
  control_id      TEXT NOT NULL,
  message_type    TEXT NOT NULL,
  format          TEXT NOT NULL,
  charset         TEXT NOT NULL,
  payload_sha256  TEXT NOT NULL,
  payload         BLOB NOT NULL,
  state           INTEGER NOT NULL,
  reason          TEXT NOT NULL DEFAULT '',
  mapping         TEXT NOT NULL DEFAULT '',
  bundle          BLOB,
  ordering_key    TEXT NOT NULL DEFAULT '',
  ack             BLOB,
  received_at     INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  attempts        INTEGER NOT NULL DEFAULT 0,
  peer            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS messages_pending ON messages(seq) WHERE state IN (1, 4);
CREATE INDEX IF NOT EXISTS messages_sender_control ON messages(sender, control_id);
)sql";

constexpr const char* kSummaryColumns =
    "seq, id, channel, sender, control_id, message_type, format, charset, payload_sha256, state, "
    "reason, mapping, ordering_key, received_at, updated_at, next_attempt_at, attempts, peer";

Error db_error(sqlite3* db, std::string_view what) {
  return Error{Errc::kJournalWriteFailed, std::string(what) + ": " + sqlite3_errmsg(db)};
}

void exec_or_throw(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error(std::string("journal: ") + text);
  }
}

sqlite3* open_db(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("journal: cannot open " + path + ": " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  exec_or_throw(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  return db;
}

/// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  bool ok() const { return stmt_ != nullptr; }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

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
  return r;
}

Result<std::int64_t> update_state(sqlite3* db, std::int64_t seq, MessageState state,
                                  std::string_view reason, EpochMillis now, EpochMillis next_at,
                                  bool count_attempt) {
  Statement s(db,
              "UPDATE messages SET state = ?1, reason = ?2, updated_at = ?3, next_attempt_at = ?4, "
              "attempts = attempts + ?5 WHERE seq = ?6");
  if (!s.ok()) return db_error(db, "prepare update");
  s.bind(1, static_cast<std::int64_t>(state)).bind(2, reason).bind(3, now).bind(4, next_at);
  s.bind(5, std::int64_t{count_attempt ? 1 : 0}).bind(6, seq);
  if (s.step() != SQLITE_DONE) return db_error(db, "update state");
  if (sqlite3_changes(db) != 1) return Error{Errc::kJournalWriteFailed, "no message with seq " + std::to_string(seq)};
  return seq;
}

}  // namespace

SqliteJournal::SqliteJournal(const std::string& data_dir, observe::JournalProbe* probe) : probe_(probe) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw std::runtime_error("journal: cannot create " + data_dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(data_dir) / "journal.db").string();
  writer_db_ = open_db(path);
  exec_or_throw(writer_db_, kSchema);
  // Journals written before the peer column existed get it now (the error says it exists).
  sqlite3_exec(writer_db_, "ALTER TABLE messages ADD COLUMN peer TEXT NOT NULL DEFAULT ''", nullptr,
               nullptr, nullptr);
  reader_db_ = open_db(path);
  writer_ = std::thread([this] { writer_loop(); });
}

SqliteJournal::~SqliteJournal() {
  close();
  sqlite3_close(reader_db_);
  sqlite3_close(writer_db_);
}

void SqliteJournal::close() {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  queue_cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void SqliteJournal::enqueue(Operation op) {
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      queue_cv_.notify_one();
      return;
    }
  }
  op.done(Error{Errc::kJournalWriteFailed, "the journal is closing"});
}

void SqliteJournal::writer_loop() {
  std::deque<Operation> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    commit_batch(batch);
    batch.clear();
  }
}

// One transaction for everything queued: each operation in its own savepoint so one failure
// does not undo the others; callbacks run only after COMMIT returned, i.e. after the fsync.
void SqliteJournal::commit_batch(std::deque<Operation>& batch) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<Result<std::int64_t>> results;
  results.reserve(batch.size());
  bool began = sqlite3_exec(writer_db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  for (Operation& op : batch) {
    if (!began) {
      results.emplace_back(db_error(writer_db_, "begin"));
      continue;
    }
    sqlite3_exec(writer_db_, "SAVEPOINT op", nullptr, nullptr, nullptr);
    Result<std::int64_t> r = (fault_hook_ && fault_hook_(FaultPoint::kWrite))
                                 ? Result<std::int64_t>(Error{Errc::kJournalWriteFailed, "injected write fault"})
                                 : op.apply(writer_db_);
    sqlite3_exec(writer_db_, r ? "RELEASE op" : "ROLLBACK TO op; RELEASE op", nullptr, nullptr, nullptr);
    results.push_back(std::move(r));
  }
  bool commit_failed = false;
  if (began) {
    const bool injected = fault_hook_ && fault_hook_(FaultPoint::kCommit);
    if (injected || sqlite3_exec(writer_db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      const Error e = injected ? Error{Errc::kJournalWriteFailed, "injected commit fault"}
                               : db_error(writer_db_, "commit");
      sqlite3_exec(writer_db_, "ROLLBACK", nullptr, nullptr, nullptr);
      for (auto& r : results) r = e;
      commit_failed = true;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::size_t failures = 0;
  for (const auto& r : results) failures += r ? 0 : 1;
  // Metrics before callbacks: whoever learns that a write completed then sees it counted.
  if (probe_) {
    if (began && !commit_failed) probe_->committed(batch.size(), seconds);
    if (failures > 0) probe_->write_failed(!began ? "begin" : commit_failed ? "commit" : "write");
  }
  if (failures > 0) {
    observe::log_error("journal.write_failed", {{"operations", batch.size()}, {"failed", failures}});
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

namespace {

Result<std::int64_t> insert_message(sqlite3* db, const MessageRecord& r) {
  Statement s(db,
              "INSERT INTO messages (id, channel, sender, control_id, message_type, format, "
              "charset, payload_sha256, payload, state, reason, mapping, bundle, ordering_key, "
              "ack, received_at, updated_at, next_attempt_at, attempts, peer) VALUES "
              "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, 0, ?19)");
  if (!s.ok()) return db_error(db, "prepare insert");
  s.bind(1, r.id).bind(2, r.channel).bind(3, r.sender).bind(4, r.control_id);
  s.bind(5, r.message_type).bind(6, r.format).bind(7, r.charset).bind(8, r.payload_sha256);
  s.bind_blob(9, r.payload).bind(10, static_cast<std::int64_t>(r.state)).bind(11, r.reason);
  s.bind(12, r.mapping).bind_blob(13, r.bundle).bind(14, r.ordering_key).bind_blob(15, r.ack);
  s.bind(16, r.received_at).bind(17, r.received_at).bind(18, r.next_attempt_at).bind(19, r.peer);
  if (s.step() != SQLITE_DONE) return db_error(db, "insert message");
  return sqlite3_last_insert_rowid(db);
}

}  // namespace

void SqliteJournal::append(MessageRecord record, AppendDone done) {
  auto shared = std::make_shared<MessageRecord>(std::move(record));
  enqueue({[shared](sqlite3* db) { return insert_message(db, *shared); }, std::move(done)});
}

void SqliteJournal::append_unique(MessageRecord record, EpochMillis window_start, UniqueDone done) {
  auto shared = std::make_shared<MessageRecord>(std::move(record));
  auto outcome = std::make_shared<AppendOutcome>();
  enqueue({[shared, outcome, window_start](sqlite3* db) -> Result<std::int64_t> {
             const MessageRecord& r = *shared;
             if (!r.control_id.empty()) {
               Statement s(db,
                           "SELECT seq, id, ack FROM messages WHERE sender = ?1 AND control_id = ?2 "
                           "AND received_at >= ?3 AND state != ?4 ORDER BY seq LIMIT 1");
               if (!s.ok()) return db_error(db, "prepare duplicate check");
               s.bind(1, r.sender).bind(2, r.control_id).bind(3, window_start);
               s.bind(4, static_cast<std::int64_t>(MessageState::kRejected));
               const int rc = s.step();
               if (rc == SQLITE_ROW) {
                 outcome->seq = s.int64(0);
                 outcome->duplicate = true;
                 outcome->original_id = s.text(1);
                 outcome->original_ack = s.text(2);
                 return outcome->seq;
               }
               if (rc != SQLITE_DONE) return db_error(db, "duplicate check");
             }
             auto seq = insert_message(db, r);
             if (seq) outcome->seq = *seq;
             return seq;
           },
           [outcome, done = std::move(done)](Result<std::int64_t> r) {
             if (!r) done(r.error());
             else done(*outcome);
           }});
}

void SqliteJournal::mark_delivered(std::int64_t seq, EpochMillis now, Done done) {
  enqueue({[=](sqlite3* db) { return update_state(db, seq, MessageState::kDelivered, "", now, 0, true); },
           [done = std::move(done)](Result<std::int64_t> r) { done(r ? Result<void>() : Result<void>(r.error())); }});
}

void SqliteJournal::mark_failed(std::int64_t seq, std::string reason, EpochMillis now,
                                EpochMillis next_attempt_at, Done done) {
  enqueue({[=, reason = std::move(reason)](sqlite3* db) {
             return update_state(db, seq, MessageState::kFailed, reason, now, next_attempt_at, true);
           },
           [done = std::move(done)](Result<std::int64_t> r) { done(r ? Result<void>() : Result<void>(r.error())); }});
}

void SqliteJournal::mark_dead(std::int64_t seq, std::string reason, EpochMillis now, Done done) {
  enqueue({[=, reason = std::move(reason)](sqlite3* db) {
             return update_state(db, seq, MessageState::kDead, reason, now, 0, true);
           },
           [done = std::move(done)](Result<std::int64_t> r) { done(r ? Result<void>() : Result<void>(r.error())); }});
}

void SqliteJournal::retranslate(std::int64_t seq, MessageState state, std::string bundle,
                                std::string ordering_key, std::string mapping, std::string reason,
                                EpochMillis now, Done done) {
  enqueue({[=, bundle = std::move(bundle), ordering_key = std::move(ordering_key), mapping = std::move(mapping),
            reason = std::move(reason)](sqlite3* db) -> Result<std::int64_t> {
             Statement s(db,
                         "UPDATE messages SET state = ?1, bundle = ?2, ordering_key = ?3, mapping = ?4, "
                         "reason = ?5, updated_at = ?6, next_attempt_at = 0, attempts = 0 WHERE seq = ?7");
             if (!s.ok()) return db_error(db, "prepare retranslate");
             s.bind(1, static_cast<std::int64_t>(state)).bind_blob(2, bundle).bind(3, ordering_key);
             s.bind(4, mapping).bind(5, reason).bind(6, now).bind(7, seq);
             if (s.step() != SQLITE_DONE) return db_error(db, "retranslate");
             if (sqlite3_changes(db) != 1) {
               return Error{Errc::kJournalWriteFailed, "no message with seq " + std::to_string(seq)};
             }
             return seq;
           },
           [done = std::move(done)](Result<std::int64_t> r) { done(r ? Result<void>() : Result<void>(r.error())); }});
}

void SqliteJournal::purge(EpochMillis delivered_before, EpochMillis rejected_before,
                          std::function<void(Result<std::int64_t>)> done) {
  enqueue({[=](sqlite3* db) -> Result<std::int64_t> {
             Statement s(db,
                         "DELETE FROM messages WHERE (state = ?1 AND updated_at < ?2) OR "
                         "(state = ?3 AND updated_at < ?4)");
             if (!s.ok()) return db_error(db, "prepare purge");
             s.bind(1, static_cast<std::int64_t>(MessageState::kDelivered)).bind(2, delivered_before);
             s.bind(3, static_cast<std::int64_t>(MessageState::kRejected)).bind(4, rejected_before);
             if (s.step() != SQLITE_DONE) return db_error(db, "purge");
             return static_cast<std::int64_t>(sqlite3_changes(db));
           },
           std::move(done)});
}

Result<std::vector<MessageRecord>> SqliteJournal::find(const MessageQuery& query) {
  std::lock_guard lock(reader_mutex_);
  std::string sql = std::string("SELECT ") + kSummaryColumns + ", payload, bundle, ack FROM messages WHERE 1";
  if (!query.ids.empty()) {
    sql += " AND id IN (";
    for (std::size_t i = 0; i < query.ids.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  if (query.state) sql += " AND state = " + std::to_string(static_cast<int>(*query.state));
  if (query.received_since > 0) sql += " AND received_at >= " + std::to_string(query.received_since);
  sql += " ORDER BY seq LIMIT " + std::to_string(query.limit);
  Statement s(reader_db_, sql.c_str());
  if (!s.ok()) return db_error(reader_db_, "prepare find");
  for (std::size_t i = 0; i < query.ids.size(); ++i) s.bind(static_cast<int>(i + 1), query.ids[i]);
  std::vector<MessageRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    MessageRecord r = read_summary(s);
    r.payload = s.text(18);
    r.bundle = s.text(19);
    r.ack = s.text(20);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db_error(reader_db_, "find messages");
  return out;
}

Result<std::vector<MessageRecord>> SqliteJournal::pending(std::size_t limit) {
  std::lock_guard lock(reader_mutex_);
  const std::string sql = std::string("SELECT ") + kSummaryColumns +
                          ", bundle FROM messages WHERE state IN (1, 4) ORDER BY seq LIMIT ?1";
  Statement s(reader_db_, sql.c_str());
  if (!s.ok()) return db_error(reader_db_, "prepare pending");
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<MessageRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(read_summary(s));
    out.back().bundle = s.text(18);
  }
  if (rc != SQLITE_DONE) return db_error(reader_db_, "read pending");
  return out;
}

Result<std::optional<MessageRecord>> SqliteJournal::get(const std::string& id) {
  std::lock_guard lock(reader_mutex_);
  const std::string sql = std::string("SELECT ") + kSummaryColumns +
                          ", payload, bundle, ack FROM messages WHERE id = ?1";
  Statement s(reader_db_, sql.c_str());
  if (!s.ok()) return db_error(reader_db_, "prepare get");
  s.bind(1, id);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<MessageRecord>();
  if (rc != SQLITE_ROW) return db_error(reader_db_, "read message");
  MessageRecord r = read_summary(s);
  r.payload = s.text(18);
  r.bundle = s.text(19);
  r.ack = s.text(20);
  return std::optional<MessageRecord>(std::move(r));
}

Result<std::map<MessageState, std::int64_t>> SqliteJournal::counts() {
  std::lock_guard lock(reader_mutex_);
  Statement s(reader_db_, "SELECT state, COUNT(*) FROM messages GROUP BY state");
  if (!s.ok()) return db_error(reader_db_, "prepare counts");
  std::map<MessageState, std::int64_t> out;
  for (int i = 0; i < kMessageStateCount; ++i) out[static_cast<MessageState>(i)] = 0;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out[static_cast<MessageState>(s.int64(0))] = s.int64(1);
  if (rc != SQLITE_DONE) return db_error(reader_db_, "count states");
  return out;
}

}  // namespace helsebro::journal
