#pragma once
// One sender of the MLLP load generator: its own connection and strand, its own message factory
// and statistics. Closed loop: one coroutine writes and reads in turn. Open loop: a writer on a
// fixed schedule and a reader, on the connection's strand. Used by mllp_load.cpp alone.

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../load_run.h"
#include "load_options.h"
#include "load_stats.h"
#include "messages.h"

namespace helsebro::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline Mix mix_from(const std::string& s) {
  return s == "adt" ? Mix::kAdt : s == "oru" ? Mix::kOru : Mix::kBoth;
}

// One message written and waiting for its acknowledgement.
struct InFlight {
  std::string control_id;
  Clock::time_point due;  // closed loop: when it was written; open loop: when it was scheduled
};

// The MSA-1 and MSA-2 of an acknowledgement frame; false when there is no MSA.
inline bool read_msa(std::string_view frame, std::string_view& code, std::string_view& control_id) {
  if (frame.size() < 8 || frame.substr(0, 3) != "MSH") return false;
  const char sep = frame[3];
  std::size_t at = frame.find("\rMSA");
  if (at == std::string_view::npos || at + 5 > frame.size() || frame[at + 4] != sep) return false;
  std::string_view rest = frame.substr(at + 5);
  rest = rest.substr(0, rest.find('\r'));
  const auto bar = rest.find(sep);
  code = rest.substr(0, bar);
  control_id = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
  control_id = control_id.substr(0, control_id.find(sep));
  return true;
}

class Sender : public std::enable_shared_from_this<Sender> {
 public:
  Sender(asio::io_context& io, const Options& o, const Timeline& t,
         const std::vector<Patient>& patients, int index, std::string prefix)
      : options_(o),
        timeline_(t),
        socket_(asio::make_strand(io)),
        timer_(socket_.get_executor()),
        factory_(patients, mix_from(o.mix), prefix + hex2(index),
                 o.seed * 7919u + static_cast<unsigned>(index)),
        index_(index) {}

  asio::awaitable<bool> connect(const tcp::resolver::results_type& endpoints) {
    auto [ec, endpoint] = co_await asio::async_connect(socket_, endpoints, kTuple);
    (void)endpoint;
    if (ec) {
      std::fprintf(stderr, "mllp_load: sender %d cannot connect: %s\n", index_,
                   ec.message().c_str());
      ++stats_.failures.connection;
      co_return false;
    }
    socket_.set_option(tcp::no_delay(true));
    co_return true;
  }

  void start() {
    auto self = shared_from_this();
    if (options_.mode == "closed") {
      asio::co_spawn(
          socket_.get_executor(), [self]() { return self->closed_loop(); }, asio::detached);
    } else {
      asio::co_spawn(
          socket_.get_executor(), [self]() { return self->open_writer(); }, asio::detached);
      asio::co_spawn(
          socket_.get_executor(), [self]() { return self->reader(); }, asio::detached);
    }
  }

  /// After the drain deadline: whatever is still in flight was never answered.
  void give_up() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->socket_.close(ignored);
      self->timer_.cancel();
    });
  }

  bool finished() const { return done_.load(); }
  const SenderStats& stats() const { return stats_; }

 private:
  static std::string hex2(int i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02X", i & 0xFF);
    return b;
  }

  // Appends one framed message to `out` and remembers it as in flight.
  void add_message(std::string& out, Clock::time_point due) {
    std::string id = factory_.next(message_);
    out.push_back('\x0b');
    out.append(message_);
    out.append("\x1c\r");
    in_flight_.push_back({std::move(id), due});
    ++stats_.sent;
    stats_.bytes_sent += message_.size();
  }

  // Takes the acknowledgements that have arrived; returns how many were answered.
  std::size_t take_acks() {
    std::size_t answered = 0;
    const auto now = Clock::now();
    for (;;) {
      const auto start = input_.find('\x0b');
      const auto end = input_.find("\x1c\r", start == std::string::npos ? 0 : start);
      if (start == std::string::npos || end == std::string::npos) break;
      check(std::string_view(input_).substr(start + 1, end - start - 1), now);
      input_.erase(0, end + 2);
      ++answered;
    }
    return answered;
  }

  void check(std::string_view frame, Clock::time_point now) {
    if (in_flight_.empty()) {
      ++stats_.failures.malformed;  // an acknowledgement for nothing we sent
      return;
    }
    const InFlight sent = std::move(in_flight_.front());
    in_flight_.pop_front();
    std::string_view code, control_id;
    if (!read_msa(frame, code, control_id))
      ++stats_.failures.malformed;
    else if (control_id != sent.control_id)
      ++stats_.failures.mismatch;
    else if (code != "AA" && code != "CA")
      ++stats_.failures.nak;
    else {
      ++stats_.acked;
      if (now >= timeline_.measure_from && now < timeline_.measure_to) ++stats_.acked_measured;
      if (sent.due >= timeline_.measure_from && sent.due < timeline_.measure_to) {
        stats_.latency_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent.due).count());
      }
    }
  }

  void finish() {
    stats_.failures.unanswered += in_flight_.size();
    in_flight_.clear();
    done_.store(true);
  }

  asio::awaitable<void> wait_until(Clock::time_point t) {
    timer_.expires_at(t);
    co_await timer_.async_wait(kTuple);
  }

  // Closed loop: --window messages in flight; each acknowledgement lets one more go.
  asio::awaitable<void> closed_loop() {
    auto self = shared_from_this();
    co_await wait_until(timeline_.start);
    std::string out;
    for (int i = 0; i < options_.window; ++i) add_message(out, Clock::now());
    std::vector<char> buffer(64 * 1024);
    while (!in_flight_.empty()) {
      if (!out.empty()) {
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out), kTuple);
        (void)n;
        if (ec) break;
        out.clear();
      }
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer), kTuple);
      if (ec) break;
      input_.append(buffer.data(), n);
      const std::size_t answered = take_acks();
      const auto now = Clock::now();
      if (now < timeline_.measure_to) {
        for (std::size_t i = 0; i < answered; ++i) add_message(out, now);
      }
    }
    finish();
  }

  // Open loop: this sender's share of the rate, on a fixed schedule from the common start.
  asio::awaitable<void> open_writer() {
    auto self = shared_from_this();
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.senders / options_.rate));
    auto due = timeline_.start + interval * index_ / options_.senders;
    std::string out;
    while (due < timeline_.measure_to) {
      if (Clock::now() < due) co_await wait_until(due);
      if (!socket_.is_open()) break;
      out.clear();
      // Everything already due goes now, in one write: the schedule does not wait for the server.
      for (const auto now = Clock::now(); due <= now && due < timeline_.measure_to;
           due += interval) {
        add_message(out, due);
      }
      auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out), kTuple);
      (void)n;
      if (ec) {
        ++stats_.failures.connection;
        break;
      }
    }
    writer_done_ = true;
    if (in_flight_.empty()) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);  // the reader has nothing left to wait for
    }
  }

  asio::awaitable<void> reader() {
    auto self = shared_from_this();
    std::vector<char> buffer(64 * 1024);
    while (!writer_done_ || !in_flight_.empty()) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer), kTuple);
      if (ec) break;
      input_.append(buffer.data(), n);
      take_acks();
    }
    finish();
  }

  const Options& options_;
  const Timeline& timeline_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  MessageFactory factory_;
  int index_;
  std::string message_;
  std::string input_;
  std::deque<InFlight> in_flight_;
  bool writer_done_ = false;
  std::atomic<bool> done_{false};
  SenderStats stats_;
};

}  // namespace helsebro::bench
