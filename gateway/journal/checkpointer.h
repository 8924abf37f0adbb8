#pragma once
// Moves the journal's WAL checkpoints off the commit path. SQLite's automatic checkpoint runs
// inside the COMMIT that crosses its threshold: that commit, and every acknowledgement waiting on
// it, pays for copying megabytes into the database file and for one more fsync. Here the copying
// runs on a thread and connection of its own (a PASSIVE checkpoint, which never blocks the
// writer), and the writer only finishes the few frames committed meanwhile, between two batches,
// so that the WAL file can start over from its beginning. Used by sqlite_journal.cpp alone.
//
// Checkpoints are small and frequent: one for each MiB the WAL grows. A checkpoint ends with an
// fsync of the database file, which writes back every page it copied; on one disk, the commits'
// own fsyncs wait behind it. With 16 MiB per checkpoint that wait reached 5-15 ms, the p99 of an
// ACK at 5,000 messages/s (8.5 ms); with 1 MiB the p99 is 2.7 ms, for about 8 % of the rate a
// saturated closed loop reaches (docs/BENCHMARKS.md). The writer lets the WAL start over only
// past 4 MiB, because finishing a checkpoint costs the writer an fsync of its own between two
// batches.
//
// Durability is SQLite's: a checkpoint copies only committed frames, fsyncs the WAL before and
// the database after (synchronous=FULL), and never touches what a commit has promised.

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/core/thread_name.h"

namespace helsebro::journal {

class Checkpointer {
 public:
  /// WAL frames (pages) written since the last background checkpoint began after which the next
  /// one starts: 256 × 4 KiB = 1 MiB.
  static constexpr int kStartFrames = 256;
  /// WAL frames after which the writer finishes a checkpoint the thread has made, so that the
  /// WAL starts over from its beginning: 4 MiB.
  static constexpr int kRestartFrames = 1024;
  /// WAL frames after which the writer stops and checkpoints itself: the background thread has
  /// fallen far behind (a slow disk), and the WAL must not grow without bound (256 MiB).
  static constexpr int kWriterFrames = 65536;

  /// `db` is a connection of the checkpointer's own (it closes it). Starts the thread.
  explicit Checkpointer(sqlite3* db) : db_(db), thread_([this] {
    name_this_thread("hb-checkpoint");
    run();
  }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close_v2(db_);
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  /// Installs the hook on the writer's connection, which replaces SQLite's automatic checkpoint.
  void watch(sqlite3* writer) { sqlite3_wal_hook(writer, &Checkpointer::after_commit, this); }

  /// The writer, between batches: past kRestartFrames, finishes a checkpoint the thread has done
  /// most of; past kWriterFrames, does all of it. Cheap when there is nothing to do.
  void between_batches(sqlite3* writer) {
    const int frames = wal_frames_.load(std::memory_order_relaxed);
    if (frames < kRestartFrames) return;
    if (!caught_up_.exchange(false) && frames < kWriterFrames) return;
    int log = 0, done = 0;
    sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  }

 private:
  // SQLite calls this on the writer's thread after each commit, with the WAL's length in frames.
  static int after_commit(void* self, sqlite3*, const char*, int frames) {
    auto* c = static_cast<Checkpointer*>(self);
    c->wal_frames_.store(frames, std::memory_order_relaxed);
    if (frames < c->started_at_) c->started_at_ = 0;  // the WAL started over
    if (frames - c->started_at_ >= kStartFrames && !c->busy_.exchange(true)) {
      c->started_at_ = frames;
      {
        std::lock_guard lock(c->mutex_);
        c->requested_ = true;
      }
      c->cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void run() {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || requested_; });
        if (stopping_) return;
        requested_ = false;
      }
      int log = 0, done = 0;
      const int rc =
          sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      // The writer finishes the frames committed while this one ran; then the WAL starts over.
      if (rc == SQLITE_OK) caught_up_.store(true);
      busy_.store(false);
    }
  }

  sqlite3* db_;
  std::atomic<int> wal_frames_{0};
  int started_at_ = 0;                  // the WAL's length when the last checkpoint was asked for
                                        // (the writer's thread alone reads and writes it)
  std::atomic<bool> busy_{false};       // a background checkpoint is asked for or running
  std::atomic<bool> caught_up_{false};  // one finished: the writer may complete it
  std::mutex mutex_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace helsebro::journal
