// mllp_floor: the least a durable MLLP acknowledgement costs on this machine, as a reference for
// the MLLP benchmark (tools/bench/mllp/run --floor). One thread and epoll (two threads with
// --writer-thread): the frames that have arrived are stored in one commit, and their ACKs are
// written once that commit is durable. Nothing else: no parsing beyond MSH-10, no message ids, no
// indexes, no duplicate check, no translation, no metrics. Not a server: it trusts its peers.
//
//   mllp_floor --store sqlite|file --dir DIR [--gather MICROS | --writer-thread]
//
//   sqlite  what the gateway's journal is made of at its cheapest: WAL, synchronous=FULL, the
//           journal's WalBatchingVfs (one write per commit), locking_mode=EXCLUSIVE (no shared
//           memory; the gateway cannot use it, its readers and checkpointer are other
//           connections), one table of payloads, SQLite's own checkpoints.
//   file    no database: one log file written full of zeros first (so that appends rewrite
//           blocks the file system already has), each batch one pwrite and one fdatasync; it
//           wraps at the end.
//
//   --gather  before a commit, wait up to MICROS for every open connection to have a frame in it.
//             A sender that waits for its ACK sends again a moment after the commit that released
//             it; without waiting the senders fall into groups that take turns, each commit holding
//             one group. The floor knows every peer is such a sender, which a gateway cannot know.
//   --writer-thread  the gateway's arrangement instead of one thread: the reading thread hands
//             frames to a writer thread, which commits whatever has queued and hands the ACKs
//             back through an eventfd. While a commit runs, the reading thread goes on reading.
//
// Prints {"port": P} once listening on 127.0.0.1 and serves until killed.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/journal/wal_batching_vfs.h"
#include "gateway/listen/mllp_framer.h"
#include "floor_common.h"

namespace {

using helsebro::bench::append_ack;
using helsebro::bench::control_id;

constexpr std::size_t kMaxFrameBytes = 1 << 20;

// Where a batch of frames is made durable.
class Store {
 public:
  virtual ~Store() = default;
  virtual void add(std::string_view control_id, std::string_view payload) = 0;
  /// Returns once everything added since the last commit is on disk.
  virtual void commit() = 0;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& dir) {
    const std::string path = dir + "/floor.db";
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        helsebro::journal::WalBatchingVfs::name()) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path);
    }
    exec("PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    exec("CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, control_id TEXT, payload BLOB)");
    if (sqlite3_prepare_v2(db_, "INSERT INTO messages (control_id, payload) VALUES (?1, ?2)", -1, &insert_,
                           nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
  }
  ~SqliteStore() override {
    sqlite3_finalize(insert_);
    sqlite3_close_v2(db_);
  }

  void add(std::string_view control_id, std::string_view payload) override {
    if (!open_) exec("BEGIN");
    open_ = true;
    sqlite3_bind_text(insert_, 1, control_id.data(), static_cast<int>(control_id.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert_, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    if (sqlite3_step(insert_) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    sqlite3_reset(insert_);
  }
  void commit() override {
    if (open_) exec("COMMIT");
    open_ = false;
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  bool open_ = false;
};

class FileStore final : public Store {
 public:
  static constexpr off_t kSize = 256 << 20;

  explicit FileStore(const std::string& dir) {
    const std::string path = dir + "/floor.log";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path);
    const std::vector<char> zeros(1 << 20, 0);
    for (off_t at = 0; at < kSize; at += static_cast<off_t>(zeros.size())) {
      if (::write(fd_, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size())) {
        throw std::runtime_error("cannot fill " + path);
      }
    }
    if (::fsync(fd_) != 0) throw std::runtime_error("cannot fsync " + path);
  }
  ~FileStore() override { ::close(fd_); }

  void add(std::string_view, std::string_view payload) override { batch_.append(payload); }
  void commit() override {
    if (batch_.empty()) return;
    if (at_ + static_cast<off_t>(batch_.size()) > kSize) at_ = 0;
    if (::pwrite(fd_, batch_.data(), batch_.size(), at_) != static_cast<ssize_t>(batch_.size()) ||
        ::fdatasync(fd_) != 0) {
      throw std::runtime_error("log write failed");
    }
    at_ += static_cast<off_t>(batch_.size());
    batch_.clear();
  }

 private:
  int fd_ = -1;
  off_t at_ = 0;
  std::string batch_;
};

struct Connection {
  helsebro::listen::MllpFramer framer{kMaxFrameBytes};  // the gateway's own
  std::string out;  // ACKs waiting for the commit
};

int listen_on_loopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  std::printf("{\"port\": %d}\n", ntohs(address.sin_port));
  std::fflush(stdout);
  return fd;
}

// Reads what one connection's socket has and gives each whole frame to `take`. False when the
// peer closed (or sent a frame past the limit, which a floor does not answer).
template <class Take>
bool read_frames(int fd, Connection& c, std::vector<char>& chunk, Take&& take) {
  const ssize_t got = ::read(fd, chunk.data(), chunk.size());
  if (got <= 0) return false;
  c.framer.feed({chunk.data(), static_cast<std::size_t>(got)});
  while (auto frame = c.framer.next()) {
    if (frame->kind != helsebro::listen::FrameEvent::Kind::kFrame) return false;  // trusts its peers
    take(std::move(frame->payload));
  }
  return true;
}

// Has `poll` report when `fd` can be read.
void watch(int poll, int fd) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = fd;
  ::epoll_ctl(poll, EPOLL_CTL_ADD, fd, &event);
}

int accept_peer(int listener, int poll) {
  const int peer = ::accept(listener, nullptr, nullptr);
  const int one = 1;
  ::setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  watch(poll, peer);
  return peer;
}

void write_acks(std::unordered_map<int, Connection>& connections) {
  for (auto& [fd, c] : connections) {
    if (c.out.empty()) continue;
    if (::write(fd, c.out.data(), c.out.size()) != static_cast<ssize_t>(c.out.size())) {
      std::fprintf(stderr, "mllp_floor: a short write; the peer will count missing ACKs\n");
    }
    c.out.clear();
  }
}

// --writer-thread: commits on a thread of its own, as the gateway's journal does.
class Writer {
 public:
  struct Frame {
    int fd;
    std::string payload;
  };

  Writer(Store& store, int done_fd) : store_(store), done_fd_(done_fd) {
    std::thread([this] { run(); }).detach();  // a floor serves until it is killed
  }

  void add(Frame frame) {
    std::lock_guard lock(mutex_);
    queued_.push_back(std::move(frame));
    if (queued_.size() == 1) wake_.notify_one();
  }
  /// The frames whose commit is durable, for their ACKs.
  std::vector<Frame> take_done() {
    std::lock_guard lock(mutex_);
    return std::exchange(done_, {});
  }

 private:
  void run() {
    try {
      commit_forever();
    } catch (const std::exception& e) {  // not main's: this thread's own
      std::fprintf(stderr, "mllp_floor: %s\n", e.what());
      std::exit(1);
    }
  }

  void commit_forever() {
    std::vector<Frame> batch;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return !queued_.empty(); });
        batch.swap(queued_);
      }
      for (const Frame& f : batch) store_.add(control_id(f.payload), f.payload);
      store_.commit();
      {
        std::lock_guard lock(mutex_);
        for (Frame& f : batch) done_.push_back(std::move(f));
      }
      batch.clear();
      const std::uint64_t one = 1;
      if (::write(done_fd_, &one, sizeof one) != sizeof one) std::fprintf(stderr, "mllp_floor: eventfd\n");
    }
  }

  Store& store_;
  int done_fd_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Frame> queued_;
  std::vector<Frame> done_;
};

void serve_with_writer(Store& store) {
  const int listener = listen_on_loopback();
  const int poll = ::epoll_create1(0);
  const int done_fd = ::eventfd(0, EFD_NONBLOCK);
  watch(poll, listener);
  watch(poll, done_fd);
  Writer writer(store, done_fd);
  std::unordered_map<int, Connection> connections;
  std::array<epoll_event, 64> ready{};
  std::vector<char> chunk(64 * 1024);
  for (;;) {
    const int n = ::epoll_wait(poll, ready.data(), static_cast<int>(ready.size()), -1);
    for (int i = 0; i < n; ++i) {
      const int fd = ready[i].data.fd;
      if (fd == listener) {
        connections[accept_peer(listener, poll)];
      } else if (fd == done_fd) {
        std::uint64_t count = 0;
        if (::read(done_fd, &count, sizeof count) != sizeof count) continue;
        for (const Writer::Frame& f : writer.take_done()) {
          if (auto c = connections.find(f.fd); c != connections.end()) append_ack(c->second.out, control_id(f.payload));
        }
        write_acks(connections);
      } else {
        const bool open = read_frames(fd, connections[fd], chunk,
                                      [&](std::string payload) { writer.add({fd, std::move(payload)}); });
        if (!open) {
          ::close(fd);
          connections.erase(fd);
        }
      }
    }
  }
}

void serve(Store& store, std::chrono::microseconds gather) {
  const int listener = listen_on_loopback();
  const int poll = ::epoll_create1(0);
  watch(poll, listener);
  std::unordered_map<int, Connection> connections;
  std::array<epoll_event, 64> ready{};
  std::vector<char> chunk(64 * 1024);
  for (;;) {
    int n = ::epoll_wait(poll, ready.data(), static_cast<int>(ready.size()), -1);
    const auto deadline = std::chrono::steady_clock::now() + gather;
    for (;;) {
      for (int i = 0; i < n; ++i) {
        const int fd = ready[i].data.fd;
        if (fd == listener) {
          connections[accept_peer(listener, poll)];
        } else {
          Connection& c = connections[fd];
          const bool open = read_frames(fd, c, chunk, [&](std::string payload) {
            const std::string_view id = control_id(payload);
            store.add(id, payload);
            append_ack(c.out, id);
          });
          if (!open) {
            ::close(fd);
            connections.erase(fd);
          }
        }
      }
      std::size_t waiting = 0;  // connections whose frames are in this commit
      for (const auto& [fd, c] : connections) waiting += !c.out.empty();
      const auto left = deadline - std::chrono::steady_clock::now();
      if (waiting == connections.size() || left <= std::chrono::nanoseconds{0}) break;
      const timespec timeout{0, std::chrono::duration_cast<std::chrono::nanoseconds>(left).count()};
      n = ::epoll_pwait2(poll, ready.data(), static_cast<int>(ready.size()), &timeout, nullptr);
      if (n <= 0) break;
    }
    store.commit();  // durable before any ACK of this wake-up leaves
    write_acks(connections);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_kind;
  std::string dir;
  long gather_micros = 0;
  bool writer_thread = false;
  bool usage = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view option = argv[i];
    const bool has_value = i + 1 < argc;
    if (option == "--writer-thread") writer_thread = true;
    else if (option == "--store" && has_value) store_kind = argv[++i];
    else if (option == "--dir" && has_value) dir = argv[++i];
    else if (option == "--gather" && has_value) gather_micros = std::atol(argv[++i]);
    else usage = true;
  }
  if (usage || (store_kind != "sqlite" && store_kind != "file") || dir.empty() || gather_micros < 0 ||
      gather_micros >= 1000000 || (writer_thread && gather_micros > 0)) {
    std::fprintf(stderr,
                 "usage: mllp_floor --store sqlite|file --dir DIR [--gather MICROS below 1000000 | --writer-thread]\n");
    return 2;
  }
  auto serve_with = [&](Store& store) {
    if (writer_thread) serve_with_writer(store);
    else serve(store, std::chrono::microseconds(gather_micros));
  };
  try {
    if (store_kind == "sqlite") {
      SqliteStore store(dir);
      serve_with(store);
    } else {
      FileStore store(dir);
      serve_with(store);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mllp_floor: %s\n", e.what());
    return 1;
  }
}
