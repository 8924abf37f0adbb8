// mllp_floor_asio: the floor of the MLLP benchmark (floor.cpp) behind the gateway's own
// arrangement (tools/bench/mllp/run --floor, label floor-asio). What the gateway's listener costs
// before it does anything of its own: Asio with two I/O threads, a strand and a coroutine per
// connection, each frame handed to a writer thread that group-commits it to SQLite (WAL,
// synchronous=FULL, the journal's WalBatchingVfs; normal locking, as the gateway must use), the
// completion posted back to the connection's strand, the ACKs written once every frame of the
// read is durable. No parsing beyond MSH-10, no ids, no indexes, no duplicate check, no
// translation, no metrics. Not a server: it trusts its peers.
//
//   mllp_floor_asio --dir DIR
//
// Prints {"port": P} once listening on 127.0.0.1 and serves until killed.

#include <sqlite3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/journal/wal_batching_vfs.h"
#include "gateway/listen/mllp_framer.h"
#include "floor_common.h"

namespace {

using helsebro::bench::append_ack;
using helsebro::bench::control_id;

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using helsebro::listen::MllpFramer;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr int kIoThreads = 2;  // the gateway's default `threads`

// Commits whatever has queued, on a thread of its own, then runs each frame's completion.
class Writer {
 public:
  struct Frame {
    std::string payload;
    std::function<void()> durable;
  };

  explicit Writer(const std::string& dir) {
    const std::string path = dir + "/floor.db";
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        helsebro::journal::WalBatchingVfs::name()) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path);
    }
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
    exec("CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, control_id TEXT, payload BLOB)");
    if (sqlite3_prepare_v2(db_, "INSERT INTO messages (control_id, payload) VALUES (?1, ?2)", -1, &insert_,
                           nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
    std::thread([this] { run(); }).detach();  // a floor serves until it is killed
  }

  void add(Frame frame) {
    std::lock_guard lock(mutex_);
    queued_.push_back(std::move(frame));
    if (queued_.size() == 1) wake_.notify_one();
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
  }

  void run() {
    std::vector<Frame> batch;
    try {
      for (;;) {
        {
          std::unique_lock lock(mutex_);
          wake_.wait(lock, [this] { return !queued_.empty(); });
          batch.swap(queued_);
        }
        exec("BEGIN");
        for (const Frame& f : batch) {
          const std::string_view id = control_id(f.payload);
          sqlite3_bind_text(insert_, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
          sqlite3_bind_blob(insert_, 2, f.payload.data(), static_cast<int>(f.payload.size()), SQLITE_STATIC);
          if (sqlite3_step(insert_) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
          sqlite3_reset(insert_);
        }
        exec("COMMIT");
        for (Frame& f : batch) f.durable();
        batch.clear();
      }
    } catch (const std::exception& e) {  // this thread's own: nothing above it would catch
      std::fprintf(stderr, "mllp_floor_asio: %s\n", e.what());
      std::exit(1);
    }
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Frame> queued_;
};

asio::awaitable<void> session(tcp::socket socket, Writer& writer) {
  MllpFramer framer(1 << 20);
  std::vector<char> buffer(64 * 1024);
  auto executor = co_await asio::this_coro::executor;
  // Signalled (cancelled) on the strand when the last frame of a read is durable.
  auto signal = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
  for (;;) {
    auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(buffer), kTuple);
    if (read_ec) co_return;
    framer.feed({buffer.data(), n});
    std::string acks;
    auto left = std::make_shared<std::size_t>(0);
    while (auto event = framer.next()) {
      if (event->kind != helsebro::listen::FrameEvent::Kind::kFrame) co_return;  // trusts its peers
      append_ack(acks, control_id(event->payload));
      ++*left;
      writer.add({std::move(event->payload), [left, signal, executor] {
                    asio::post(executor, [left, signal] {
                      if (--*left == 0) signal->cancel();
                    });
                  }});
    }
    while (*left > 0) co_await signal->async_wait(kTuple);
    if (acks.empty()) continue;
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(acks), kTuple);
    (void)written;
    if (write_ec) co_return;
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::io_context& io, Writer& writer) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
    if (ec) co_return;
    socket.set_option(tcp::no_delay(true));
    auto executor = socket.get_executor();
    asio::co_spawn(executor, session(std::move(socket), writer), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::string_view(argv[1]) != "--dir") {
    std::fprintf(stderr, "usage: mllp_floor_asio --dir DIR\n");
    return 2;
  }
  try {
    Writer writer(argv[2]);
    asio::io_context io(kIoThreads);
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::printf("{\"port\": %d}\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    asio::co_spawn(io, accept_loop(acceptor, io, writer), asio::detached);
    std::vector<std::thread> threads;
    for (int i = 1; i < kIoThreads; ++i) threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mllp_floor_asio: %s\n", e.what());
    return 1;
  }
}
