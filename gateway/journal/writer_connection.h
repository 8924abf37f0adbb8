#pragma once
// The journal's SQLite connections: how they are opened, the schema, and the writer's connection
// with every statement it runs prepared once, so that an operation only binds and steps. Used by
// sqlite_journal.cpp alone. Not thread-safe: the writer connection belongs to the writer thread.

#include <sqlite3.h>

#include <array>

#include <stdexcept>
#include <string>
#include <string_view>

#include "gateway/core/journal.h"
#include "gateway/journal/sqlite_statement.h"
#include "gateway/journal/state_counts.h"
#include "gateway/journal/wal_batching_vfs.h"

namespace helsebro::journal {

inline constexpr const char* kSchema = R"sql(
-- accepted: 1 when the sender was answered with an accept (stored to be delivered, or held),
-- whatever became of the message since (a translation after the ACK may reject it); 0 when it was
-- refused; -1 when not known (stored by a version before the column, or by one running beside
-- it): then a message not rejected counts as accepted, as it did before. A resend of an accepted
-- message is a duplicate; a resend of a refused one, a new try.
-- (No comments inside the table: SQLite edits its text when a column is dropped.)
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
  peer            TEXT NOT NULL DEFAULT '',
  revision        INTEGER NOT NULL DEFAULT 0,
  queued_at       INTEGER NOT NULL DEFAULT 0,
  accepted        INTEGER NOT NULL DEFAULT -1
);
-- What the forwarder's scan of the backlog reads, in order, without touching the rows (each holds
-- its payload and Bundle; reading columns after them reads those too). It replaces the index of
-- seq alone that journals written before it have.
DROP INDEX IF EXISTS messages_pending;
CREATE INDEX IF NOT EXISTS messages_waiting
  ON messages(seq, state, id, ordering_key, next_attempt_at) WHERE state IN (1, 4);
CREATE INDEX IF NOT EXISTS messages_received ON messages(seq) WHERE state = 0;
CREATE INDEX IF NOT EXISTS messages_sender_control ON messages(sender, control_id);
-- How many messages are in each state, changed in the transaction that changes them, by whichever
-- process writes (the gateway, or `helsebro replay` beside it): a gateway that sees another
-- process's commits reads these few rows instead of counting the whole table.
CREATE TABLE IF NOT EXISTS message_counts (state INTEGER PRIMARY KEY, n INTEGER NOT NULL);
)sql";

inline Error db_error(sqlite3* db, std::string_view what) {
  std::string text(what);
  text.append(": ").append(sqlite3_errmsg(db));
  return Error{Errc::kJournalWriteFailed, std::move(text)};
}

inline void exec_or_throw(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error("journal: " + text);
  }
}

/// Opens `path` in WAL mode with synchronous=FULL: a commit returns after its fsync. WAL frames
/// reach the kernel in one write per commit (WalBatchingVfs).
inline sqlite3* open_db(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      WalBatchingVfs::name()) != SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    throw std::runtime_error("journal: cannot open " + path + ": " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  try {
    exec_or_throw(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  return db;
}

class WriterConnection {
 public:
  /// Opens the database, creates or upgrades the schema, prepares the statements. Throws
  /// std::runtime_error on failure.
  explicit WriterConnection(const std::string& path);
  ~WriterConnection();
  WriterConnection(const WriterConnection&) = delete;
  WriterConnection& operator=(const WriterConnection&) = delete;

  sqlite3* db() const { return db_; }

  /// Adds the committed operations' changes to the counts table; inside the batch's transaction.
  bool add_counts(const StateDelta& delta) {
    for (std::size_t i = 0; i < StateDelta::size(); ++i) {
      if (delta[i] == 0) continue;
      Use s(add_count_);
      s->bind(1, static_cast<std::int64_t>(i)).bind(2, delta[i]);
      if (s->step() != SQLITE_DONE) return false;
    }
    return true;
  }
  /// The counts table, by state.
  Result<std::array<std::int64_t, kMessageStateCount>> read_counts() {
    std::array<std::int64_t, kMessageStateCount> out{};
    Use s(read_counts_);
    int rc;
    while ((rc = s->step()) == SQLITE_ROW) {
      const std::int64_t state = s->int64(0);
      if (state >= 0 && state < kMessageStateCount) out[static_cast<std::size_t>(state)] = s->int64(1);
    }
    if (rc != SQLITE_DONE) return db_error(db_, "read counts");
    return out;
  }

  /// SQLite's data_version: changes when another connection (another process) commits.
  std::int64_t data_version() {
    Use s(data_version_);
    return s->step() == SQLITE_ROW ? s->int64(0) : -1;
  }

  bool begin() { return run(begin_); }
  bool commit() { return run(commit_); }
  void rollback() { run(rollback_); }
  bool savepoint() { return run(savepoint_); }
  void release() { run(release_); }
  void rollback_to_savepoint() { run(rollback_to_); }
  /// False once SQLite has rolled the transaction back by itself (it does on I/O errors).
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

  /// The operations. Each records what it did to the counts by state in changes().
  Result<std::int64_t> insert(const MessageRecord& r);
  Result<std::int64_t> insert_unique(const MessageRecord& r, EpochMillis window_start,
                                     AppendOutcome& outcome);
  Result<std::int64_t> change_state(std::int64_t seq, std::int64_t revision, MessageState state,
                                    std::string_view reason,
                                    EpochMillis now, EpochMillis next_attempt_at,
                                    bool count_attempt);
  Result<std::int64_t> retranslate(std::int64_t seq, Journal::AsRead from, MessageState state, std::string_view bundle,
                                   std::string_view ordering_key, std::string_view mapping,
                                   std::string_view reason, EpochMillis now);
  Result<std::int64_t> purge(EpochMillis delivered_before, EpochMillis rejected_before);

  StateDelta& changes() { return changes_; }

 private:
  void prepare(Statement& s, const char* sql);
  bool run(Statement& s);
  int user_version();
  Result<MessageState> current_state(std::int64_t seq);

  sqlite3* db_;
  Statement begin_, commit_, rollback_, savepoint_, release_, rollback_to_, data_version_, add_count_,
      read_counts_;
  Statement insert_, duplicate_, state_of_, set_state_, retranslate_, purge_;
  StateDelta changes_;
};

inline WriterConnection::WriterConnection(const std::string& path) : db_(open_db(path)) {
  try {
    exec_or_throw(db_, kSchema);
    // Journals written before these columns existed get them now (the error says one exists).
    for (const char* column : {"peer TEXT NOT NULL DEFAULT ''", "revision INTEGER NOT NULL DEFAULT 0",
                               "queued_at INTEGER NOT NULL DEFAULT 0", "accepted INTEGER NOT NULL DEFAULT -1"}) {
      sqlite3_exec(db_, (std::string("ALTER TABLE messages ADD COLUMN ") + column).c_str(), nullptr,
                   nullptr, nullptr);
    }
    // A journal written before the counts table existed: counted once, in one transaction (so
    // that a second process opening it at the same time does not count it twice).
    exec_or_throw(db_, "BEGIN IMMEDIATE");
    if (user_version() < 1) {
      exec_or_throw(db_,
                    "DELETE FROM message_counts; INSERT INTO message_counts (state, n) SELECT state, "
                    "COUNT(*) FROM messages GROUP BY state; PRAGMA user_version = 1;");
    }
    exec_or_throw(db_, "COMMIT");
    prepare(begin_, "BEGIN IMMEDIATE");
    prepare(data_version_, "PRAGMA data_version");
    prepare(add_count_,
            "INSERT INTO message_counts (state, n) VALUES (?1, ?2) ON CONFLICT (state) DO UPDATE SET n = n "
            "+ excluded.n");
    prepare(read_counts_, "SELECT state, n FROM message_counts");
    prepare(commit_, "COMMIT");
    prepare(rollback_, "ROLLBACK");
    prepare(savepoint_, "SAVEPOINT op");
    prepare(release_, "RELEASE op");
    prepare(rollback_to_, "ROLLBACK TO op");
    prepare(
        insert_,
        "INSERT INTO messages (id, channel, sender, control_id, message_type, format, charset, "
        "payload_sha256, payload, state, reason, mapping, bundle, ordering_key, ack, received_at, "
        "updated_at, next_attempt_at, attempts, peer, queued_at, accepted) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, 0, "
        "?19, ?16, ?20)");
    prepare(duplicate_,
            "SELECT seq, id, ack, payload_sha256 FROM messages WHERE sender = ?1 AND "
            "control_id = ?2 AND received_at >= ?3 AND (accepted = 1 OR (accepted = -1 AND state != 3)) "
            "ORDER BY seq");
    prepare(state_of_, "SELECT state FROM messages WHERE seq = ?1");
    prepare(set_state_,
            "UPDATE messages SET state = ?1, reason = ?2, updated_at = ?3, next_attempt_at = ?4, "
            "attempts = attempts + ?5 WHERE seq = ?6 AND revision = ?7");
    prepare(retranslate_,
            "UPDATE messages SET state = ?1, bundle = ?2, ordering_key = ?3, mapping = ?4, reason "
            "= ?5, updated_at = ?6, next_attempt_at = 0, attempts = 0, revision = revision + 1, "
            "queued_at = ?6 WHERE seq = ?7 AND state = ?8 AND revision = ?9");
    prepare(purge_,
            "DELETE FROM messages WHERE (state = ?1 AND updated_at < ?2) OR (state = ?3 AND "
            "updated_at < ?4) "
            "RETURNING state");
  } catch (...) {
    sqlite3_close_v2(db_);
    throw;
  }
}

inline WriterConnection::~WriterConnection() {
  for (Statement* s : {&begin_, &commit_, &rollback_, &savepoint_, &release_, &rollback_to_, &data_version_,
                       &add_count_, &read_counts_,
                       &insert_, &duplicate_, &state_of_, &set_state_, &retranslate_, &purge_}) {
    *s = Statement();
  }
  sqlite3_close_v2(db_);
}

inline int WriterConnection::user_version() {
  Statement s(db_, "PRAGMA user_version");
  return s.ok() && s.step() == SQLITE_ROW ? static_cast<int>(s.int64(0)) : 0;
}

inline void WriterConnection::prepare(Statement& s, const char* sql) {
  s = Statement(db_, sql);
  if (!s.ok())
    throw std::runtime_error(std::string("journal: cannot prepare: ") + sqlite3_errmsg(db_));
}

inline bool WriterConnection::run(Statement& s) {
  Use use(s);
  return use->step() == SQLITE_DONE;
}

inline Result<MessageState> WriterConnection::current_state(std::int64_t seq) {
  Use q(state_of_);
  q->bind(1, seq);
  const int rc = q->step();
  if (rc == SQLITE_ROW) return static_cast<MessageState>(q->int64(0));
  if (rc == SQLITE_DONE)
    return Error{Errc::kJournalWriteFailed, "no message with seq " + std::to_string(seq)};
  return db_error(db_, "read state");
}

inline Result<std::int64_t> WriterConnection::insert(const MessageRecord& r) {
  Use s(insert_);
  s->bind(1, r.id).bind(2, r.channel).bind(3, r.sender).bind(4, r.control_id);
  s->bind(5, r.message_type).bind(6, r.format).bind(7, r.charset).bind(8, r.payload_sha256);
  s->bind_blob(9, r.payload).bind(10, static_cast<std::int64_t>(r.state)).bind(11, r.reason);
  s->bind(12, r.mapping).bind_blob(13, r.bundle).bind(14, r.ordering_key).bind_blob(15, r.ack);
  s->bind(16, r.received_at).bind(17, r.received_at).bind(18, r.next_attempt_at).bind(19, r.peer);
  s->bind(20, std::int64_t{r.state == MessageState::kRejected ? 0 : 1});  // stored as refused, or not
  if (s->step() != SQLITE_DONE) return db_error(db_, "insert message");
  changes_.added(r.state);
  return sqlite3_last_insert_rowid(db_);
}

inline Result<std::int64_t> WriterConnection::insert_unique(const MessageRecord& r,
                                                            EpochMillis window_start,
                                                            AppendOutcome& outcome) {
  // A resend is the same message again: the same sender, control id and content. A message with
  // a control id already used but other content is a new message (a sender whose counter started
  // over), stored like any other: answering it with the earlier one's ACK would lose it.
  if (!r.control_id.empty()) {
    Use s(duplicate_);
    s->bind(1, r.sender).bind(2, r.control_id).bind(3, window_start);
    int rc;
    while ((rc = s->step()) == SQLITE_ROW) {
      if (s->text(3) != r.payload_sha256) {
        if (outcome.same_control_id_as.empty()) outcome.same_control_id_as = s->text(1);
        continue;
      }
      outcome.seq = s->int64(0);
      outcome.duplicate = true;
      outcome.original_id = s->text(1);
      outcome.original_ack = s->text(2);
      outcome.same_control_id_as.clear();
      return outcome.seq;
    }
    if (rc != SQLITE_DONE) return db_error(db_, "duplicate check");
  }
  auto seq = insert(r);
  if (seq) outcome.seq = *seq;
  return seq;
}

inline Result<std::int64_t> WriterConnection::change_state(std::int64_t seq, std::int64_t revision,
                                                           MessageState state, std::string_view reason,
                                                           EpochMillis now, EpochMillis next_attempt_at,
                                                           bool count_attempt) {
  auto before = current_state(seq);
  if (!before) return before.error();
  Use s(set_state_);
  s->bind(1, static_cast<std::int64_t>(state))
      .bind(2, reason)
      .bind(3, now)
      .bind(4, next_attempt_at);
  s->bind(5, std::int64_t{count_attempt ? 1 : 0}).bind(6, seq).bind(7, revision);
  if (s->step() != SQLITE_DONE) return db_error(db_, "update state");
  if (sqlite3_changes(db_) == 0) {
    return Error{Errc::kJournalSuperseded,
                 "message " + std::to_string(seq) + " was translated again after revision " +
                     std::to_string(revision)};
  }
  changes_.moved(*before, state);
  return seq;
}

inline Result<std::int64_t> WriterConnection::retranslate(
    std::int64_t seq, Journal::AsRead from, MessageState state, std::string_view bundle, std::string_view ordering_key,
    std::string_view mapping, std::string_view reason, EpochMillis now) {
  auto before = current_state(seq);
  if (!before) return before.error();
  Use s(retranslate_);
  s->bind(1, static_cast<std::int64_t>(state)).bind_blob(2, bundle).bind(3, ordering_key);
  s->bind(4, mapping).bind(5, reason).bind(6, now).bind(7, seq);
  s->bind(8, static_cast<std::int64_t>(from.state)).bind(9, from.revision);
  if (s->step() != SQLITE_DONE) return db_error(db_, "retranslate");
  if (sqlite3_changes(db_) == 0) {
    return Error{Errc::kJournalSuperseded, "message " + std::to_string(seq) + " changed since it was read (now " +
                                               std::string(to_string(*before)) + ")"};
  }
  changes_.moved(*before, state);
  return seq;
}

inline Result<std::int64_t> WriterConnection::purge(EpochMillis delivered_before,
                                                    EpochMillis rejected_before) {
  Use s(purge_);
  s->bind(1, static_cast<std::int64_t>(MessageState::kDelivered)).bind(2, delivered_before);
  s->bind(3, static_cast<std::int64_t>(MessageState::kRejected)).bind(4, rejected_before);
  std::int64_t removed = 0;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) {
    changes_.removed(static_cast<MessageState>(s->int64(0)));
    ++removed;
  }
  if (rc != SQLITE_DONE) return db_error(db_, "purge");
  return removed;
}

}  // namespace helsebro::journal
