#include "gateway/forward/http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace helsebro::forward {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct HttpClient::Impl {
  asio::any_io_executor executor;
  Url target;
  std::chrono::milliseconds timeout;
  std::size_t max_response_bytes;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Error unreachable(const std::string& what, const beast::error_code& ec) const {
    return Error{Errc::kUpstreamUnreachable,
                 what + " " + target.host + ":" + std::to_string(target.port) + ": " + ec.message()};
  }

  asio::awaitable<Result<void>> connect() {
    tcp::resolver resolver(executor);
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(target.host, std::to_string(target.port), kTuple);
    if (resolve_ec) co_return unreachable("resolve", resolve_ec);
    stream.emplace(executor);
    stream->expires_after(timeout);
    auto [connect_ec, endpoint] = co_await stream->async_connect(endpoints, kTuple);
    (void)endpoint;
    if (connect_ec) {
      stream.reset();
      co_return unreachable("connect", connect_ec);
    }
    buffer.clear();
    co_return Result<void>();
  }

  // One exchange on the current connection. `sent` tells whether the request left.
  asio::awaitable<Result<HttpReply>> exchange(http::request<http::string_body>& req, bool& got_response) {
    stream->expires_after(timeout);
    auto [write_ec, written] = co_await http::async_write(*stream, req, kTuple);
    (void)written;
    if (write_ec) co_return unreachable("send to", write_ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_bytes);
    auto [read_ec, read] = co_await http::async_read(*stream, buffer, parser, kTuple);
    (void)read;
    if (read_ec) co_return unreachable("read from", read_ec);
    got_response = true;
    auto& res = parser.get();
    HttpReply reply;
    reply.status = static_cast<int>(res.result_int());
    reply.content_type = std::string(res[http::field::content_type]);
    reply.retry_after = std::string(res[http::field::retry_after]);
    reply.body = std::move(res.body());
    if (!res.keep_alive()) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.reset();
    }
    co_return reply;
  }
};

HttpClient::HttpClient(asio::any_io_executor executor, Url target, std::chrono::milliseconds timeout,
                       std::size_t max_response_bytes)
    : impl_(std::make_unique<Impl>(Impl{std::move(executor), std::move(target), timeout, max_response_bytes, {}, {}})) {}

HttpClient::~HttpClient() = default;

asio::awaitable<Result<HttpReply>> HttpClient::request(std::string method, std::string target,
                                                       std::string body, std::string content_type) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, impl_->target.host + ":" + std::to_string(impl_->target.port));
  req.set(http::field::user_agent, "helsebro");
  req.set(http::field::accept, "application/fhir+json");
  req.set(http::field::content_type, content_type);
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  // A kept-alive connection may have been closed by the server meanwhile: then try once more on
  // a fresh one, but only if no response arrived (the request is idempotent by design anyway).
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = impl_->stream.has_value();
    if (!reused) {
      auto connected = co_await impl_->connect();
      if (!connected) co_return connected.error();
    }
    bool got_response = false;
    auto reply = co_await impl_->exchange(req, got_response);
    if (reply) co_return reply;
    impl_->stream.reset();
    if (!reused || got_response) co_return reply;
  }
  co_return Error{Errc::kUpstreamUnreachable, "no connection to " + impl_->target.host};
}

}  // namespace helsebro::forward
