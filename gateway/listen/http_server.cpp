#include "gateway/listen/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>

#include "gateway/listen/acceptor.h"
#include "gateway/observe/log.h"

namespace helsebro::listen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

HttpResponse problem(int status, std::string title, std::string detail) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  std::string body = "{\"type\":\"about:blank\",\"title\":";
  observe::append_json_string(body, title);
  body += ",\"status\":" + std::to_string(status) + ",\"detail\":";
  observe::append_json_string(body, detail);
  body += "}";
  r.body = std::move(body);
  return r;
}

namespace {

// Waits for a handler's answer, which may come from another thread.
template <class Token>
auto async_handle(const HttpHandler& handler, const HttpRequest& request, Token&& token) {
  return asio::async_initiate<Token, void(HttpResponse)>(
      [&handler, &request](auto completion) {
        auto executor = asio::get_associated_executor(completion);
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        handler(request, [shared, executor](HttpResponse response) {
          asio::post(executor, [shared, response = std::move(response)]() mutable {
            (*shared)(std::move(response));
          });
        });
      },
      token);
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context& io;
  config::HttpConfig config;
  tcp::acceptor acceptor;
  std::map<std::pair<std::string, std::string>, HttpHandler> routes;
  std::uint16_t bound_port = 0;

  Impl(asio::io_context& i, config::HttpConfig c) : io(i), config(std::move(c)), acceptor(i) {}

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      auto executor = socket.get_executor();
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<HttpResponse> dispatch(const HttpRequest& request) {
    auto it = routes.find({request.method, request.path});
    if (it == routes.end()) {
      bool path_known = false;
      for (const auto& [key, handler] : routes) path_known = path_known || key.second == request.path;
      if (path_known) co_return problem(405, "Method Not Allowed", request.method + " is not allowed on " + request.path);
      co_return problem(404, "Not Found", "no resource at " + request.path);
    }
    co_return co_await async_handle(it->second, request, asio::use_awaitable);
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string peer = ec ? "unknown" : remote.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(config.max_body_bytes);
      stream.expires_after(std::chrono::seconds(30));
      auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      (void)n;
      if (read_ec == http::error::end_of_stream || read_ec == beast::error::timeout ||
          read_ec == asio::error::connection_reset || read_ec == asio::error::eof) {
        break;
      }
      HttpResponse response;
      bool keep_alive = false;
      unsigned version = 11;
      if (read_ec) {
        response = read_ec == http::error::body_limit
                       ? problem(413, "Content Too Large", "the body is larger than " + std::to_string(config.max_body_bytes) + " bytes")
                       : problem(400, "Bad Request", read_ec.message());
      } else {
        auto& req = parser.get();
        keep_alive = req.keep_alive();
        version = req.version();
        HttpRequest request;
        request.method = std::string(req.method_string());
        request.target = std::string(req.target());
        const std::size_t q = request.target.find('?');
        request.path = request.target.substr(0, q);
        if (q != std::string::npos) request.query = request.target.substr(q + 1);
        for (const auto& field : req) {
          std::string name(field.name_string());
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          request.headers[name] = std::string(field.value());
        }
        request.body = std::move(req.body());
        request.peer = peer;
        response = co_await dispatch(request);
      }
      http::response<http::string_body> res{static_cast<http::status>(response.status), version};
      res.set(http::field::server, "helsebro");
      res.set(http::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) res.set(name, value);
      res.keep_alive(keep_alive);
      res.body() = std::move(response.body);
      res.prepare_payload();
      stream.expires_after(std::chrono::seconds(30));
      auto [write_ec, written] = co_await http::async_write(stream, res, kTuple);
      (void)written;
      if (write_ec || !keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
};

HttpServer::HttpServer(asio::io_context& io, config::HttpConfig config)
    : impl_(std::make_shared<Impl>(io, std::move(config))) {}

HttpServer::~HttpServer() = default;

void HttpServer::route(std::string method, std::string path, HttpHandler handler) {
  impl_->routes[{std::move(method), std::move(path)}] = std::move(handler);
}

void HttpServer::start() {
  impl_->bound_port = bind_and_listen(impl_->acceptor, impl_->config.host, impl_->config.port);
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void HttpServer::stop() {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
}

std::uint16_t HttpServer::port() const { return impl_->bound_port; }

}  // namespace helsebro::listen
