#pragma once
// The embedded journal: SQLite in WAL mode with synchronous=FULL, one writer thread that
// group-commits every operation queued while the previous commit was being fsynced, with
// statements prepared once; WAL checkpoints run on a thread of their own, off the commit path.
// Appends, which senders wait on for their ACK, go into the next commit whatever else is queued;
// state changes and translations after the ACK (Bundles of several kilobytes each) join each
// commit only up to a byte budget, so an ACK never waits for a large write it does not need.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/core/journal.h"
#include "gateway/journal/state_counts.h"

struct sqlite3;

namespace helsebro::observe {
class JournalProbe;
}

namespace helsebro::journal {

class WriterConnection;  // the writer thread's connection and prepared statements
class Checkpointer;      // WAL checkpoints on a thread of their own
class Statement;         // a prepared statement

/// Where tests can make the journal fail on purpose. kRollback: the rollback after a failed
/// commit fails too, and leaves the transaction open.
enum class FaultPoint { kWrite, kCommit, kRollback };

class SqliteJournal final : public Journal {
 public:
  /// Opens (creating if needed) `<data_dir>/journal.db`. Throws std::runtime_error on failure:
  /// a gateway that cannot open its journal must not start.
  explicit SqliteJournal(const std::string& data_dir, observe::JournalProbe* probe = nullptr);
  ~SqliteJournal() override;
  SqliteJournal(const SqliteJournal&) = delete;
  SqliteJournal& operator=(const SqliteJournal&) = delete;

  void append(MessageRecord record, AppendDone done) override;
  void append_unique(MessageRecord record, EpochMillis window_start, UniqueDone done) override;
  void mark_delivered(std::int64_t seq, std::int64_t revision, EpochMillis now, Done done) override;
  void mark_failed(std::int64_t seq, std::int64_t revision, std::string reason, EpochMillis now,
                   EpochMillis next_attempt_at, Done done) override;
  void mark_dead(std::int64_t seq, std::int64_t revision, std::string reason, EpochMillis now,
                 Done done) override;
  void retranslate(std::int64_t seq, AsRead from, MessageState state, std::string bundle,
                   std::string ordering_key, std::string mapping, std::string reason,
                   EpochMillis now, Done done) override;
  Result<std::vector<MessageRecord>> find(const MessageQuery& query) override;
  void purge(EpochMillis delivered_before, EpochMillis rejected_before,
             std::function<void(Result<std::int64_t>)> done) override;

  Result<std::vector<MessageRecord>> pending(std::size_t limit, std::int64_t after_seq = 0) override;
  Result<std::optional<MessageRecord>> waiting(std::int64_t seq) override;
  Result<std::optional<MessageRecord>> get(const std::string& id) override;
  /// From memory: counted once at open, then changed by every committed operation. Never blocks
  /// on the database, so /metrics can ask on every scrape.
  Result<std::map<MessageState, std::int64_t>> counts() override;

  /// Test hook: return true to make that point fail. Set before traffic starts.
  void set_fault_hook(std::function<bool(FaultPoint)> hook) { fault_hook_ = std::move(hook); }
  /// Called on the writer's thread when the counts by state changed: after each commit (before
  /// its operations are told), and, with `by_another_process`, once the journal noticed that
  /// another process (`helsebro replay`) changed it, within a second, and counted again. Set
  /// before traffic starts.
  void on_change(std::function<void(bool by_another_process)> hook) {
    std::lock_guard lock(change_mutex_);
    change_hook_ = std::move(hook);
  }
  /// Messages stored and not yet delivered, given up or refused (received, translated, failed):
  /// the backlog, from the counts by state. Lock-free.
  std::int64_t undelivered() const;
  /// Finishes queued writes and stops the writer thread. Idempotent.
  void close();

 private:
  struct Operation {
    std::function<Result<std::int64_t>(WriterConnection&)> apply;  // inside the batch's transaction
    std::function<void(Result<std::int64_t>)> done;  // runs after the commit (or failure)
    bool append = false;     // a sender waits on it: always in the next commit
    std::size_t bytes = 0;   // about what it writes (other operations: for the budget)
  };

  /// What other operations may add to a commit that appends wait on: about 64 pages, a fraction
  /// of a millisecond to write. At least one operation goes into every commit.
  static constexpr std::size_t kOtherBytesPerCommit = 256 * 1024;

  void enqueue(Operation op);
  void take_others(std::vector<Operation>& batch);  // under queue_mutex_
  void writer_loop();
  void commit_batch(std::vector<Operation>& batch);
  std::vector<Result<std::int64_t>> apply_all(std::vector<Operation>& batch, bool began,
                                              StateDelta& committed);
  void count_states();
  void notice_other_writers();

  // A reading connection for one call: find, pending and get come from the translator, the
  // forwarder and the admin API on their own threads, and none waits for another's read (the
  // translator runs at the lowest priority, and must hold nothing a listener's thread needs).
  // Each connection keeps the statements it has prepared, by their SQL: the forwarder reads the
  // backlog after every commit, and parsing the query each time cost more than running it.
  struct Reader;
  class ReaderLease {
   public:
    explicit ReaderLease(SqliteJournal& journal);
    ~ReaderLease();
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    /// Null when no connection could be opened; error() says why.
    sqlite3* db() const;
    const std::string& error() const { return error_; }
    /// The statement for `sql`, prepared on first use; null (with db_error) if it cannot be.
    Statement* statement(const std::string& sql);

   private:
    SqliteJournal& journal_;
    std::unique_ptr<Reader> reader_;
    std::string error_;
  };

  std::string path_;
  std::unique_ptr<WriterConnection> writer_db_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Reader>> idle_readers_;  // opened on demand, one per concurrent
                                                       // read
  observe::JournalProbe* probe_;
  std::function<bool(FaultPoint)> fault_hook_;
  std::mutex change_mutex_;  // the hook may be set while the writer's thread runs
  std::function<void(bool)> change_hook_;
  void changed(bool by_another_process) {
    std::lock_guard lock(change_mutex_);
    if (change_hook_) change_hook_(by_another_process);
  }
  std::int64_t data_version_ = 0;  // the writer's thread alone: SQLite's, as last seen
  StateCounts counts_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<Operation> appends_;
  std::deque<Operation> others_;  // in the order they came
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace helsebro::journal
