#include "gateway/journal/wal_batching_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "unit/temp_dir.h"

namespace helsebro::journal {
namespace {

// A connection through the VFS, as the journal opens one.
class Connection {
 public:
  explicit Connection(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              WalBatchingVfs::name()),
              SQLITE_OK);
    run("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  }
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int run(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }
  std::string text(const char* sql) {
    sqlite3_stmt* s = nullptr;
    std::string out = "(error)";
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

constexpr const char* kForty =
    "INSERT INTO t SELECT value + 100, randomblob(3000) FROM (WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL "
    "SELECT value + 1 FROM s WHERE value < 40) SELECT value FROM s)";
constexpr const char* kTwenty =
    "INSERT INTO t SELECT value + 1000, randomblob(3000) FROM (WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL "
    "SELECT value + 1 FROM s WHERE value < 20) SELECT value FROM s)";

// Connection A's transaction outgrows its page cache, spills frames into the WAL (buffered, never
// synced) and is rolled back. B then commits frames at the same offsets. Written out when A next
// read the WAL, A's stale frames overwrote B's commit, and the database was lost ("file is not a
// database"). They are now written while A still holds the write lock, before B can write.
TEST(WalBatchingVfs, ARolledBackSpillNeverOverwritesAnotherConnectionsCommit) {
  test::TempDir dir("helsebro-wal-vfs");
  const std::string path = (dir.path() / "j.db").string();
  Connection a(path);
  Connection b(path);
  ASSERT_EQ(a.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t VALUES (1, zeroblob(100));"),
            SQLITE_OK);
  // Committed pages in the database file, the WAL starting over: the rollback reads nothing back.
  ASSERT_EQ(a.run("PRAGMA cache_size=5; PRAGMA wal_checkpoint(TRUNCATE);"), SQLITE_OK);
  ASSERT_EQ(a.run("BEGIN IMMEDIATE"), SQLITE_OK);
  ASSERT_EQ(a.run(kForty), SQLITE_OK);
  ASSERT_EQ(a.run("ROLLBACK"), SQLITE_OK);
  ASSERT_EQ(b.run(kTwenty), SQLITE_OK);
  EXPECT_EQ(b.text("SELECT count(*) FROM t"), "21");
  EXPECT_EQ(a.text("SELECT count(*) FROM t"), "21");
  EXPECT_EQ(b.text("PRAGMA integrity_check"), "ok");
  Connection c(path);
  EXPECT_EQ(c.text("SELECT count(*) FROM t"), "21") << "B's commit survives";
  EXPECT_EQ(c.text("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace helsebro::journal
