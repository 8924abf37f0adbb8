#pragma once
// The embedded journal: SQLite in WAL mode with synchronous=FULL, one writer thread that
// group-commits every operation queued while the previous commit was being fsynced, with
// statements prepared once; WAL checkpoints run on a thread of their own, off the commit path.

#include <condition_variable>
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

/// Where tests can make the journal fail on purpose.
enum class FaultPoint { kWrite, kCommit };

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
  void mark_delivered(std::int64_t seq, EpochMillis now, Done done) override;
  void mark_failed(std::int64_t seq, std::string reason, EpochMillis now,
                   EpochMillis next_attempt_at, Done done) override;
  void mark_dead(std::int64_t seq, std::string reason, EpochMillis now, Done done) override;
  void retranslate(std::int64_t seq, MessageState state, std::string bundle,
                   std::string ordering_key, std::string mapping, std::string reason,
                   EpochMillis now, Done done) override;
  Result<std::vector<MessageRecord>> find(const MessageQuery& query) override;
  void purge(EpochMillis delivered_before, EpochMillis rejected_before,
             std::function<void(Result<std::int64_t>)> done) override;

  Result<std::vector<MessageRecord>> pending(std::size_t limit) override;
  Result<std::optional<MessageRecord>> get(const std::string& id) override;
  /// From memory: counted once at open, then changed by every committed operation. Never blocks
  /// on the database, so /metrics can ask on every scrape.
  Result<std::map<MessageState, std::int64_t>> counts() override;

  /// Test hook: return true to make that point fail. Set before traffic starts.
  void set_fault_hook(std::function<bool(FaultPoint)> hook) { fault_hook_ = std::move(hook); }
  /// Finishes queued writes and stops the writer thread. Idempotent.
  void close();

 private:
  struct Operation {
    std::function<Result<std::int64_t>(WriterConnection&)> apply;  // inside the batch's transaction
    std::function<void(Result<std::int64_t>)> done;  // runs after the commit (or failure)
  };

  void enqueue(Operation op);
  void writer_loop();
  void commit_batch(std::vector<Operation>& batch);
  std::vector<Result<std::int64_t>> apply_all(std::vector<Operation>& batch, bool began,
                                              StateDelta& committed);
  void count_states();

  std::unique_ptr<WriterConnection> writer_db_;
  std::unique_ptr<Checkpointer> checkpointer_;
  sqlite3* reader_db_ = nullptr;
  std::mutex reader_mutex_;
  observe::JournalProbe* probe_;
  std::function<bool(FaultPoint)> fault_hook_;
  StateCounts counts_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<Operation> queue_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace helsebro::journal
