#include "gateway/listen/mllp_listener.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <vector>

#include "gateway/intake/hl7v2_intake.h"
#include "gateway/journal/async_journal.h"
#include "gateway/listen/mllp_framer.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::listen {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

std::string wrap(const std::string& payload) {
  std::string out;
  out.reserve(payload.size() + 3);
  out.push_back(MllpFramer::kStartBlock);
  out += payload;
  out.push_back(MllpFramer::kEndBlock);
  out.push_back(MllpFramer::kCarriageReturn);
  return out;
}

}  // namespace

struct MllpListener::Impl : std::enable_shared_from_this<MllpListener::Impl> {
  asio::io_context& io;
  config::MllpConfig config;
  intake::Hl7v2Intake& intake;
  Journal& journal;
  observe::Probes& probes;
  std::function<void()> on_stored;
  tcp::acceptor acceptor;
  std::atomic<std::size_t> connections{0};
  std::uint16_t bound_port = 0;

  Impl(asio::io_context& i, config::MllpConfig c, intake::Hl7v2Intake& in, Journal& j,
       observe::Probes& p, std::function<void()> s)
      : io(i), config(std::move(c)), intake(in), journal(j), probes(p), on_stored(std::move(s)),
        acceptor(i) {}

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        observe::log_warn("mllp.accept_failed", {{"error", ec.message()}});
        continue;
      }
      if (connections.load() >= config.max_connections) {
        probes.listen.connection_refused(config.channel, "max_connections");
        observe::log_warn("mllp.connection_refused", {{"reason", "max_connections"}});
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto executor = socket.get_executor();
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }

  // Stores the record, then writes the acknowledgement the outcome calls for.
  asio::awaitable<bool> store_and_acknowledge(beast::tcp_stream& stream, intake::PreparedMessage prepared,
                                              std::chrono::steady_clock::time_point started) {
    const bool translated = prepared.record.state == MessageState::kTranslated;
    const std::string id = prepared.record.id;
    auto stored = co_await journal::async_append(journal, prepared.record, asio::use_awaitable);
    std::string ack = prepared.ack;
    std::string code = prepared.ack_code;
    if (!stored) {
      ack = intake.storage_failed_ack(prepared);
      code = "AE";
      probes.intake.rejected(config.channel, info(Errc::kJournalWriteFailed).name);
      observe::log_error("mllp.journal_failed", {{"id", id}, {"error", stored.error().detail}});
    }
    stream.expires_after(millis(config.read_timeout_seconds));
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(wrap(ack)), kTuple);
    (void)n;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    probes.intake.acknowledged(config.channel, code, seconds);
    if (stored && translated && on_stored) on_stored();
    if (ec) {
      observe::log_info("mllp.ack_not_sent", {{"id", id}, {"error", ec.message()}});
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string peer = ec ? "unknown" : remote.address().to_string();
    connections.fetch_add(1);
    probes.listen.connection_opened(config.channel);
    observe::log_debug("mllp.connection_opened", {{"peer", peer}});
    beast::tcp_stream stream(std::move(socket));
    MllpFramer framer(config.max_frame_bytes);
    std::vector<char> buffer(64 * 1024);
    bool open = true;
    while (open) {
      stream.expires_after(millis(framer.in_frame() ? config.read_timeout_seconds : config.idle_timeout_seconds));
      auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(buffer), kTuple);
      if (read_ec) {
        if (read_ec == beast::error::timeout) {
          observe::log_info("mllp.timeout", {{"peer", peer}, {"in_frame", framer.in_frame()}});
        }
        break;
      }
      const auto started = std::chrono::steady_clock::now();
      framer.feed({buffer.data(), n});
      while (auto event = framer.next()) {
        if (event->kind == FrameEvent::Kind::kOversized) {
          probes.listen.frame_oversized(config.channel);
          auto prepared = intake.prepare_oversized(event->payload, config.max_frame_bytes, peer);
          co_await store_and_acknowledge(stream, std::move(prepared), started);
          open = false;  // the rest of the stream cannot be trusted to be in step
          break;
        }
        auto prepared = intake.prepare(event->payload, peer);
        if (!co_await store_and_acknowledge(stream, std::move(prepared), started)) {
          open = false;
          break;
        }
      }
      if (const auto skipped = framer.take_skipped(); skipped > 0) {
        probes.listen.bytes_skipped(config.channel, skipped);
      }
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    connections.fetch_sub(1);
    probes.listen.connection_closed(config.channel);
    observe::log_debug("mllp.connection_closed", {{"peer", peer}});
  }
};

MllpListener::MllpListener(asio::io_context& io, config::MllpConfig config, intake::Hl7v2Intake& intake,
                           Journal& journal, observe::Probes& probes, std::function<void()> on_stored)
    : impl_(std::make_shared<Impl>(io, std::move(config), intake, journal, probes, std::move(on_stored))) {}

MllpListener::~MllpListener() = default;

void MllpListener::start() {
  tcp::resolver resolver(impl_->io);
  const auto endpoints = resolver.resolve(impl_->config.host, std::to_string(impl_->config.port));
  const tcp::endpoint endpoint = *endpoints.begin();
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void MllpListener::stop() {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
}

std::uint16_t MllpListener::port() const { return impl_->bound_port; }

}  // namespace helsebro::listen
