#pragma once
// A SQLite VFS that hands the write-ahead log's frames to the kernel in one write per commit.
// SQLite writes every WAL frame as two small writes (a 24-byte header, then the page), so a
// commit of 10 pages is 20 pwrite calls, each a partial-page update in the page cache; measured
// here, those calls were 40 % of the journal writer's CPU. This VFS keeps contiguous WAL writes
// in a buffer and writes them out in one call before anything can depend on them: before the
// fsync that makes a commit durable (xSync), before any read, size query, truncation or file
// control on the WAL, when a write is not contiguous, and when the buffer is full. Every other
// file (the database, the shared-memory index) passes straight through.
//
// Durability is unchanged: SQLite acknowledges a commit only after xSync returned, and xSync
// writes the buffer first; a failed buffered write is reported by the next call that needs it
// (at the latest that xSync), so a commit whose frames did not reach the file fails. Crash
// safety is SQLite's: the same bytes land at the same offsets, and recovery checks every
// frame's checksum. Needs synchronous=FULL (every commit syncs the WAL), which the journal sets.
//
// Several connections (the gateway's, `helsebro replay`'s) write one WAL in turn, each while it
// holds the WAL's write lock. Frames a transaction spilled (it outgrew the page cache) and then
// rolled back are never synced: buffered past the lock, they would be written later over frames
// another connection committed at the same offsets meanwhile. So the buffer is also written out
// when the connection gives up the write lock, while it still holds it.
// Used by sqlite_journal.cpp alone.

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace helsebro::journal {

class WalBatchingVfs {
 public:
  static constexpr const char* kName = "helsebro-wal-batching";
  static constexpr std::size_t kBufferLimit = 256 * 1024;  // a larger commit goes out in pieces
  /// The most one write may carry: the unix VFS masks a write's length with 0x1ffff (128 KiB − 1)
  /// and reports a longer one as "disk full".
  static constexpr std::size_t kWriteLimit = 64 * 1024;

  /// Registers the VFS (once per process) over the default one; returns its name for
  /// sqlite3_open_v2, or nullptr when there is no default VFS to wrap.
  static const char* name() {
    static std::once_flag once;
    static bool ok = false;
    std::call_once(once, [] { ok = install(); });
    return ok ? kName : nullptr;
  }

 private:
  struct File {
    sqlite3_file base;           // must be first: SQLite sees this
    sqlite3_file* real;          // the wrapped file, stored right after this struct
    std::vector<char>* pending;  // WAL only: bytes not yet written, starting at `start`
    sqlite3_int64 start;
    File* wal;                   // a database: its connection's WAL, while that is open
    File* database;              // a WAL: its connection's database file (ours), if any
  };

  // The shared-memory lock slot SQLite's WAL write lock is (WAL_WRITE_LOCK in wal.c).
  static constexpr int kWalWriteLock = 0;

  static sqlite3_vfs& vfs() {
    static sqlite3_vfs v;
    return v;
  }
  static sqlite3_vfs*& base_vfs() {
    static sqlite3_vfs* b = nullptr;
    return b;
  }

  static bool install() {
    base_vfs() = sqlite3_vfs_find(nullptr);
    if (base_vfs() == nullptr) return false;
    sqlite3_vfs& v = vfs();
    v = *base_vfs();  // every VFS method but xOpen is the default's
    v.zName = kName;
    v.szOsFile = static_cast<int>(sizeof(File)) + base_vfs()->szOsFile;
    v.pNext = nullptr;
    v.xOpen = &open;
    return sqlite3_vfs_register(&v, 0) == SQLITE_OK;
  }

  static File* self(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return self(f)->real; }

  static int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags,
                  int* out_flags) {
    File* f = self(file);
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    f->pending = nullptr;
    f->start = 0;
    f->wal = nullptr;
    f->database = nullptr;
    const int rc = base_vfs()->xOpen(base_vfs(), name, f->real, flags, out_flags);
    if (f->real->pMethods == nullptr) {
      f->base.pMethods = nullptr;  // nothing opened: SQLite will not call xClose
      return rc;
    }
    if (flags & SQLITE_OPEN_WAL) {
      f->pending = new (std::nothrow) std::vector<char>();
      // The database file this WAL belongs to, opened by the same connection through this VFS:
      // its shm_lock() is where the write lock is given up.
      sqlite3_file* database = sqlite3_database_file_object(name);
      if (database != nullptr && database->pMethods == &methods()) {
        f->database = self(database);
        f->database->wal = f;
      }
    }
    f->base.pMethods = &methods();
    return rc;
  }

  // Writes what is buffered. Called before anything that could see the file's contents.
  static int flush(sqlite3_file* file) {
    File* f = self(file);
    if (f->pending == nullptr || f->pending->empty()) return SQLITE_OK;
    int rc = SQLITE_OK;
    for (std::size_t at = 0; at < f->pending->size() && rc == SQLITE_OK; at += kWriteLimit) {
      const std::size_t n = std::min(kWriteLimit, f->pending->size() - at);
      rc = f->real->pMethods->xWrite(f->real, f->pending->data() + at, static_cast<int>(n),
                                     f->start + static_cast<sqlite3_int64>(at));
    }
    f->pending->clear();
    return rc;
  }

  static int write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    File* f = self(file);
    std::vector<char>* buffer = f->pending;
    if (buffer == nullptr) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    const auto end = f->start + static_cast<sqlite3_int64>(buffer->size());
    if (!buffer->empty() && offset != end) {
      if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    }
    if (buffer->empty()) f->start = offset;
    const auto* bytes = static_cast<const char*>(data);
    try {
      buffer->insert(buffer->end(), bytes, bytes + amount);
    } catch (const std::bad_alloc&) {  // no exception may cross into SQLite: write it directly
      if (const int rc = flush(file); rc != SQLITE_OK) return rc;
      return f->real->pMethods->xWrite(f->real, data, amount, offset);
    }
    return buffer->size() >= kBufferLimit ? flush(file) : SQLITE_OK;
  }

  static int close(sqlite3_file* file) {
    File* f = self(file);
    int rc = flush(file);
    delete f->pending;
    f->pending = nullptr;
    if (f->database != nullptr && f->database->wal == f) f->database->wal = nullptr;
    if (f->wal != nullptr) f->wal->database = nullptr;  // the database closed first
    const int closed = f->real->pMethods->xClose(f->real);
    return rc != SQLITE_OK ? rc : closed;
  }

  // The rest: write out what is buffered where the call could depend on it, then pass through.
  static int read(sqlite3_file* file, void* data, int amount, sqlite3_int64 offset) {
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    return real(file)->pMethods->xRead(real(file), data, amount, offset);
  }
  static int truncate(sqlite3_file* file, sqlite3_int64 size) {
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    return real(file)->pMethods->xTruncate(real(file), size);
  }
  static int sync(sqlite3_file* file, int flags) {
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    return real(file)->pMethods->xSync(real(file), flags);
  }
  static int file_size(sqlite3_file* file, sqlite3_int64* size) {
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    return real(file)->pMethods->xFileSize(real(file), size);
  }
  static int file_control(sqlite3_file* file, int op, void* arg) {
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    return real(file)->pMethods->xFileControl(real(file), op, arg);
  }
  static int fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** p) {
    *p = nullptr;
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    const sqlite3_io_methods* m = real(file)->pMethods;
    return m->iVersion >= 3 ? m->xFetch(real(file), offset, amount, p) : SQLITE_OK;
  }
  static int unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
    const sqlite3_io_methods* m = real(file)->pMethods;
    return m->iVersion >= 3 ? m->xUnfetch(real(file), offset, p) : SQLITE_OK;
  }
  static int lock(sqlite3_file* file, int level) {
    return real(file)->pMethods->xLock(real(file), level);
  }
  static int unlock(sqlite3_file* file, int level) {
    return real(file)->pMethods->xUnlock(real(file), level);
  }
  static int check_reserved(sqlite3_file* file, int* out) {
    return real(file)->pMethods->xCheckReservedLock(real(file), out);
  }
  static int sector_size(sqlite3_file* file) {
    return real(file)->pMethods->xSectorSize(real(file));
  }
  static int device_characteristics(sqlite3_file* file) {
    return real(file)->pMethods->xDeviceCharacteristics(real(file));
  }
  static int shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** p) {
    const sqlite3_io_methods* m = real(file)->pMethods;
    return m->iVersion >= 2 ? m->xShmMap(real(file), region, size, extend, p) : SQLITE_IOERR_SHMMAP;
  }
  static int shm_lock(sqlite3_file* file, int offset, int n, int flags) {
    const sqlite3_io_methods* m = real(file)->pMethods;
    if (m->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
    File* wal = self(file)->wal;
    if (wal != nullptr && (flags & SQLITE_SHM_UNLOCK) && offset <= kWalWriteLock && kWalWriteLock < offset + n) {
      // Giving up the write lock: nothing of this connection's may reach the WAL after it. What
      // is left was never synced, so it is no commit's (a rolled-back transaction's spilled
      // frames); written now, under the lock, it overwrites nothing another connection wrote.
      flush(&wal->base);
    }
    return m->xShmLock(real(file), offset, n, flags);
  }
  static void shm_barrier(sqlite3_file* file) {
    const sqlite3_io_methods* m = real(file)->pMethods;
    if (m->iVersion >= 2) m->xShmBarrier(real(file));
  }
  static int shm_unmap(sqlite3_file* file, int remove) {
    const sqlite3_io_methods* m = real(file)->pMethods;
    return m->iVersion >= 2 ? m->xShmUnmap(real(file), remove) : SQLITE_OK;
  }

  static const sqlite3_io_methods& methods() {
    static const sqlite3_io_methods m = {3,
                                         &close,
                                         &read,
                                         &write,
                                         &truncate,
                                         &sync,
                                         &file_size,
                                         &lock,
                                         &unlock,
                                         &check_reserved,
                                         &file_control,
                                         &sector_size,
                                         &device_characteristics,
                                         &shm_map,
                                         &shm_lock,
                                         &shm_barrier,
                                         &shm_unmap,
                                         &fetch,
                                         &unfetch};
    return m;
  }
};

}  // namespace helsebro::journal
