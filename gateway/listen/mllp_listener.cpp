#include "gateway/listen/mllp_listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <chrono>
#include <deque>
#include <optional>
#include <vector>

#include "gateway/core/backlog.h"
#include "gateway/core/journal.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/listen/mllp_framer.h"
#include "gateway/listen/acceptor.h"
#include "gateway/listen/tls_context.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::listen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

void append_frame(std::string& out, const std::string& payload) {
  out.push_back(MllpFramer::kStartBlock);
  out += payload;
  out.push_back(MllpFramer::kEndBlock);
  out.push_back(MllpFramer::kCarriageReturn);
}

// What the journal keeps of a prepared message: a copy of the record with the Bundle moved, not
// copied (afterwards the session needs only the id, state and payload, to answer).
MessageRecord for_journal(MessageRecord& r) {
  std::string bundle = std::move(r.bundle);
  MessageRecord copy = r;
  copy.bundle = std::move(bundle);
  return copy;
}

// The journal's answer for one message, delivered on the session's strand.
struct StoreSlot {
  std::optional<Result<AppendOutcome>> result;
};

enum class Waiting { kNothing, kData, kClosed };

// What waits on a socket that is not being read: nothing, bytes, or the peer's end of stream
// (or an error: the connection is gone all the same). Takes nothing from it. A sender that wrote
// a message and then gave up has closed its end behind bytes not read yet: TCP says so
// (CLOSE_WAIT) where a peek would only see the bytes. Its message was never acknowledged.
Waiting waiting_input(int fd) {
  tcp_info info{};
  socklen_t size = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) == 0 && info.tcpi_state == TCP_CLOSE_WAIT)
    return Waiting::kClosed;
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return Waiting::kData;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return Waiting::kNothing;
  return Waiting::kClosed;
}

}  // namespace

struct MllpListener::Impl : std::enable_shared_from_this<MllpListener::Impl> {
  asio::io_context& io;
  config::MllpConfig config;
  intake::Hl7v2Intake intake;
  Journal& journal;
  observe::Probes& probes;
  const Backlog* backlog;
  std::function<void()> on_stored;
  tcp::acceptor acceptor;
  std::unique_ptr<ssl::context> tls;
  std::atomic<std::size_t> connections{0};
  std::uint16_t bound_port = 0;

  Impl(asio::io_context& i, config::MllpConfig c, intake::MappingProvider mappings, Journal& j,
       observe::Probes& p, const Backlog* b, std::function<void()> s)
      : io(i), config(std::move(c)), intake(intake::channel_rules(config), std::move(mappings), Clock{}, &p.intake),
        journal(j), probes(p), backlog(b), on_stored(std::move(s)), acceptor(i) {
    if (config.tls.enabled) tls = make_server_tls_context(config.tls);
  }

  asio::awaitable<void> accept_loop() {
    asio::steady_timer pause(acceptor.get_executor());
    bool failing = false;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // Out of file descriptors or memory: the connection waits in the kernel's queue. Trying
        // again at once would spin on the same error, fill the log and starve the sessions.
        probes.listen.connection_refused(config.channel, "accept_failed");
        if (!failing) observe::log_error("mllp.accept_failed", {{"channel", config.channel}, {"error", ec.message()}});
        failing = true;
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(kTuple);
        continue;
      }
      if (failing) observe::log_info("mllp.accept_recovered", {{"channel", config.channel}});
      failing = false;
      if (connections.load() >= config.max_connections) {
        probes.listen.connection_refused(config.channel, "max_connections");
        observe::log_warn("mllp.connection_refused", {{"channel", config.channel}, {"reason", "max_connections"}});
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      // Each ACK goes out as soon as its commit is done. With Nagle's algorithm an ACK written
      // while the previous one is not yet acknowledged by the sender's TCP would wait for that
      // (delayed) acknowledgement: milliseconds whenever a sender has two messages in flight.
      beast::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    intake::Peer peer{ec ? "unknown" : remote.address().to_string(), {}};
    connections.fetch_add(1);
    probes.listen.connection_opened(config.channel);
    observe::log_debug("mllp.connection_opened", {{"channel", config.channel}, {"peer", peer.address}});
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
      beast::get_lowest_layer(stream).expires_after(millis(config.read_timeout_seconds));
      auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
      if (handshake_ec) {
        probes.listen.connection_refused(config.channel, "tls_handshake");
        observe::log_info("mllp.tls_refused", {{"channel", config.channel}, {"peer", peer.address},
                                               {"error", handshake_ec.message()}});
      } else {
        peer.certificate_subject = peer_certificate_subject(stream.native_handle());
        co_await serve(stream, peer);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(kTuple);
      }
      beast::get_lowest_layer(stream).close();
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream, peer);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream.close();
    }
    connections.fetch_sub(1);
    probes.listen.connection_closed(config.channel);
    observe::log_debug("mllp.connection_closed", {{"channel", config.channel}, {"peer", peer.address}});
  }

  // Reads frames and answers them in order. Frames that arrive together (pipelined) are stored
  // together: their journal writes share a group commit, and their ACKs go out in one write.
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const intake::Peer& peer) {
    auto& lowest = beast::get_lowest_layer(stream);
    MllpFramer framer(config.max_frame_bytes);
    std::vector<char> buffer(64 * 1024);
    auto signal = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                       asio::steady_timer::time_point::max());
    bool open = true;
    asio::steady_timer pause(co_await asio::this_coro::executor);
    // A started frame must end within the read timeout, however slowly its bytes trickle in: a
    // deadline per frame, not per read, or a sender writing a byte a second would hold its
    // connection (and, with others, every connection the listener takes) for ever.
    std::optional<std::chrono::steady_clock::time_point> frame_deadline;
    auto last_read = std::chrono::steady_clock::now();
    while (open) {
      if (backlog != nullptr && backlog->over_limit()) {
        // Back-pressure: read nothing until the forwarder catches up; the sender's writes block.
        probes.listen.paused(config.channel);
        bool gone = false;
        while (!gone && backlog->over_limit()) {
          pause.expires_after(std::chrono::milliseconds(20));
          co_await pause.async_wait(kTuple);
          // Still noticed meanwhile: a sender that closed its end (its slot is freed), and an idle
          // one past the idle timeout. One that has sent and waits is never timed out for our delay.
          const Waiting waiting = waiting_input(lowest.socket().native_handle());
          if (waiting == Waiting::kClosed) gone = true;
          if (waiting == Waiting::kNothing && !framer.in_frame() &&
              std::chrono::steady_clock::now() - last_read > millis(config.idle_timeout_seconds)) {
            observe::log_info("mllp.timeout", {{"channel", config.channel}, {"in_frame", false}});
            gone = true;
          }
        }
        if (gone) break;
        if (frame_deadline) frame_deadline = std::chrono::steady_clock::now() + millis(config.read_timeout_seconds);
      }
      if (framer.in_frame()) {
        if (!frame_deadline) frame_deadline = std::chrono::steady_clock::now() + millis(config.read_timeout_seconds);
        lowest.expires_at(*frame_deadline);
      } else {
        frame_deadline.reset();
        lowest.expires_after(millis(config.idle_timeout_seconds));
      }
      auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(buffer), kTuple);
      if (read_ec) {
        if (read_ec == beast::error::timeout) {
          observe::log_info("mllp.timeout", {{"channel", config.channel}, {"in_frame", framer.in_frame()}});
        }
        break;
      }
      const auto started = std::chrono::steady_clock::now();
      last_read = started;
      framer.feed({buffer.data(), n});
      std::vector<intake::PreparedFrame> frames;
      bool frame_ended = false;
      while (auto event = framer.next()) {
        frame_ended = true;
        if (event->kind == FrameEvent::Kind::kOversized) {
          probes.listen.frame_oversized(config.channel);
          intake::PreparedFrame frame;
          frame.messages.push_back(intake.prepare_oversized(event->payload, config.max_frame_bytes, peer));
          frames.push_back(std::move(frame));
          open = false;  // the rest of the stream cannot be trusted to be in step
          break;
        }
        if (event->kind == FrameEvent::Kind::kAbandoned) {
          probes.listen.frame_abandoned(config.channel);
          intake::PreparedFrame frame;
          frame.messages.push_back(intake.prepare_abandoned(event->payload, peer));
          observe::log_warn("mllp.frame_abandoned",
                            {{"channel", config.channel}, {"id", frame.messages.back().record.id},
                             {"bytes", static_cast<std::int64_t>(event->payload.size())}});
          frames.push_back(std::move(frame));
          continue;
        }
        frames.push_back(intake.prepare_frame(event->payload, peer));
      }
      // The frame still open now started in this read: its time starts now.
      if (frame_ended) frame_deadline.reset();
      if (const auto skipped = framer.take_skipped(); skipped > 0) probes.listen.bytes_skipped(config.channel, skipped);
      if (frames.empty()) continue;
      const std::string replies = co_await store_all(frames, signal, started);
      if (replies.empty()) continue;
      lowest.expires_after(millis(config.read_timeout_seconds));
      auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(replies), kTuple);
      (void)written;
      if (write_ec) {
        observe::log_info("mllp.ack_not_sent", {{"channel", config.channel}, {"error", write_ec.message()}});
        break;
      }
    }
  }

  // Stores every message of the frames, then builds their acknowledgements in order.
  asio::awaitable<std::string> store_all(std::vector<intake::PreparedFrame>& frames,
                                         std::shared_ptr<asio::steady_timer> signal,
                                         std::chrono::steady_clock::time_point started) {
    auto executor = co_await asio::this_coro::executor;
    std::deque<std::shared_ptr<StoreSlot>> slots;
    const EpochMillis window = static_cast<EpochMillis>(config.duplicate_window_seconds * 1000);
    for (auto& frame : frames) {
      for (auto& m : frame.messages) {
        auto slot = std::make_shared<StoreSlot>();
        slots.push_back(slot);
        auto done = [slot, signal, executor](Result<AppendOutcome> r) {
          asio::post(executor, [slot, signal, r = std::move(r)]() mutable {
            slot->result = std::move(r);
            signal->cancel();
          });
        };
        if (window > 0 && accepted(m.record.state)) {
          journal.append_unique(for_journal(m.record), m.record.received_at - window, done);
        } else {
          journal.append(for_journal(m.record), [done](Result<std::int64_t> seq) {
            if (seq) done(AppendOutcome::stored(*seq));
            else done(seq.error());
          });
        }
      }
    }
    std::string replies;
    std::size_t stored = 0;
    for (auto& frame : frames) {
      std::vector<std::string> acks;
      for (auto& m : frame.messages) {
        auto slot = slots.front();
        slots.pop_front();
        while (!slot->result) co_await signal->async_wait(kTuple);
        acks.push_back(answer(m, *slot->result, stored));
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      for (std::size_t i = 0; i < frame.messages.size(); ++i)  // "none": the sender asked for no answer
        probes.intake.acknowledged(config.channel, acks[i].empty() ? "none" : frame.messages[i].ack_code, seconds);
      if (frame.batch) {
        append_frame(replies, intake.batch_ack(frame, acks));
      } else if (!acks.front().empty()) {
        append_frame(replies, acks.front());
      }
    }
    if (stored > 0 && on_stored) on_stored();
    co_return replies;
  }

  // The acknowledgement one message gets, now that the journal has answered; "" for none.
  std::string answer(intake::PreparedMessage& m, const Result<AppendOutcome>& stored, std::size_t& translated) {
    if (!stored) {
      probes.intake.rejected(config.channel, info(Errc::kJournalWriteFailed).name);
      observe::log_error("mllp.journal_failed", {{"id", m.record.id}, {"error", stored.error().detail}});
      if (!m.answerable) return {};  // a cut frame: no answer, whatever became of its store
      m.ack_code = m.mode == intake::AckMode::kEnhanced ? "CE" : "AE";
      return intake.storage_failed_ack(m);
    }
    if (stored->duplicate) {
      probes.intake.duplicate(config.channel);
      observe::log_info("mllp.duplicate", {{"id", m.record.id}, {"original", stored->original_id}});
      return m.send_ack ? stored->original_ack : std::string();  // NE: no answer, as the first time
    }
    if (!stored->same_control_id_as.empty()) {
      probes.intake.control_id_reused(config.channel);
      observe::log_warn("mllp.control_id_reused",
                        {{"id", m.record.id}, {"earlier", stored->same_control_id_as}});
    }
    if (awaits_delivery(m.record.state)) ++translated;
    return m.send_ack ? m.ack : std::string();
  }
};

MllpListener::MllpListener(asio::io_context& io, config::MllpConfig config, intake::MappingProvider mappings,
                           Journal& journal, observe::Probes& probes, const Backlog* backlog,
                           std::function<void()> on_stored)
    : impl_(std::make_shared<Impl>(io, std::move(config), std::move(mappings), journal, probes, backlog,
                                   std::move(on_stored))) {}

MllpListener::~MllpListener() = default;

void MllpListener::start() {
  impl_->bound_port = bind_and_listen(impl_->acceptor, impl_->config.host, impl_->config.port);
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void MllpListener::stop() {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
}

std::uint16_t MllpListener::port() const { return impl_->bound_port; }
const std::string& MllpListener::channel() const { return impl_->config.channel; }

}  // namespace helsebro::listen
