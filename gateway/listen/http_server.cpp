#include "gateway/listen/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <chrono>
#include <map>
#include <vector>

#include "gateway/listen/acceptor.h"
#include "gateway/listen/inbound_probes.h"
#include "gateway/listen/tls_context.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::listen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// After a request whose body was not read (over the limit, malformed): how long, and how many
// bytes, the rest is read and dropped before the connection closes, so that a client still
// sending gets the answer instead of a reset.
constexpr auto kDrainTime = std::chrono::seconds(5);
constexpr std::size_t kDrainBytes = 64 << 20;

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

// Bytes a second a body must average, past the read timeout (64 KiB/s: 16 MiB in about 4 min).
constexpr std::size_t kMinimumBodyRate = 64 * 1024;

std::chrono::milliseconds timeout_of(const config::HttpConfig& c) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(c.read_timeout_seconds * 1000));
}

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

// The end of a connection, not a request to answer.
bool connection_ended(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == asio::error::connection_reset || ec == asio::error::eof ||
         ec == ssl::error::stream_truncated;
}

HttpRequest to_request(http::request<http::string_body>& req, const std::string& peer,
                       const std::string& subject) {
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
  request.certificate_subject = subject;
  return request;
}

// An answer as Beast writes it.
http::response<http::string_body> to_beast(HttpResponse response, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(response.status), version};
  res.set(http::field::server, "helsebro");
  res.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = std::move(response.body);
  res.prepare_payload();
  return res;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context& io;
  std::string listener;  // "http" or "https": log events and metric labels
  std::string host;
  std::uint16_t requested_port;
  std::size_t max_body_bytes;
  std::size_t max_connections;
  std::atomic<std::size_t> open_connections{0};
  bool accept_failing = false;  // accept_loop only: its failure is logged once until it recovers
  std::unique_ptr<ssl::context> tls;              // null: plain HTTP
  std::vector<config::SenderRuleConfig> allowed;  // HTTPS: who may call; empty: anyone
  observe::ListenProbe* listen_probe = nullptr;
  HttpsProbe* https_probe = nullptr;
  tcp::acceptor acceptor;
  std::map<std::pair<std::string, std::string>, HttpHandler> routes;
  std::map<std::pair<std::string, std::string>, std::size_t> body_limits;  // routes with their own
  std::size_t largest_route_limit = 0;
  std::uint16_t bound_port = 0;
  std::chrono::milliseconds read_timeout{30'000};  // http.readTimeoutSeconds

  Impl(asio::io_context& i, std::string name, std::string h, std::uint16_t p, std::size_t limit,
       std::size_t connections)
      : io(i),
        listener(std::move(name)),
        host(std::move(h)),
        requested_port(p),
        max_body_bytes(limit),
        max_connections(connections),
        acceptor(i) {}

  // A connection being served: counted from its accept to the end of its session.
  class Slot {
   public:
    explicit Slot(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->open_connections.fetch_add(1); }
    Slot(Slot&& other) noexcept : impl_(std::move(other.impl_)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (impl_) impl_->open_connections.fetch_sub(1);
    }

   private:
    std::shared_ptr<Impl> impl_;
  };

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // Out of file descriptors or memory: the connection waits in the kernel's queue. Trying
        // again at once would spin on the same error and starve every other connection.
        if (!accept_failing) {
          observe::log_error("http.accept_failed", {{"listener", listener}, {"error", ec.message()}});
        }
        accept_failing = true;
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(kTuple);
        continue;
      }
      if (accept_failing) observe::log_info("http.accept_recovered", {{"listener", listener}});
      accept_failing = false;
      beast::error_code nodelay_ec;  // a reply goes out whole and at once (see mllp_listener.cpp)
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      auto executor = socket.get_executor();
      if (open_connections.load() >= max_connections) {
        // Each connection may hold a body of up to max_body_bytes: their number bounds memory.
        if (listen_probe) listen_probe->connection_refused(listener, "too_many_connections");
        observe::log_warn("http.connection_refused",
                          {{"listener", listener}, {"peer", address_of(socket)}, {"reason", "too_many_connections"}});
        asio::co_spawn(executor, refuse_busy(std::move(socket)), asio::detached);
        continue;
      }
      Slot slot(self);
      if (tls)
        asio::co_spawn(executor, tls_session(std::move(socket), std::move(slot)), asio::detached);
      else
        asio::co_spawn(executor, plain_session(std::move(socket), std::move(slot)), asio::detached);
    }
  }

  // Over the connection limit. Plain HTTP: the request's header is read (not its body); health,
  // readiness and metrics are served still, so that a busy gateway is not taken for a dead one,
  // and anything else gets a 503 with Retry-After; what the client still sends is read and
  // dropped for a moment, so that the close does not reset the connection under the answer.
  // HTTPS, which would need a handshake first, is closed.
  asio::awaitable<void> refuse_busy(tcp::socket socket) {
    auto self = shared_from_this();
    beast::error_code ec;
    if (tls) {
      socket.close(ec);
      co_return;
    }
    const std::string peer = address_of(socket);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8 * 1024);
    stream.expires_after(std::chrono::seconds(2));
    auto [read_ec, read_n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
    (void)read_n;
    HttpResponse answer;
    const auto& req = parser.get();
    const std::string target(req.target());
    const bool probe = !read_ec && req.method() == http::verb::get &&
                       (target == "/healthz" || target == "/readyz" || target == "/metrics");
    if (probe) {
      HttpRequest request;
      request.method = "GET";
      request.target = request.path = target;
      request.peer = peer;
      answer = co_await dispatch(request);
    } else {
      answer = problem(503, "Service Unavailable",
                       "too many connections at once (" + std::to_string(max_connections) + "): try again shortly");
      answer.headers.emplace_back("Retry-After", "1");
    }
    auto res = to_beast(std::move(answer), 11, false);
    stream.expires_after(std::chrono::seconds(2));
    auto [write_ec, written] = co_await http::async_write(stream, res, kTuple);
    (void)written;
    if (!write_ec && !probe) co_await drain(stream, std::chrono::seconds(1));
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
  }

  template <class Socket>
  static std::string address_of(const Socket& socket) {
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    return ec ? "unknown" : remote.address().to_string();
  }

  asio::awaitable<void> plain_session(tcp::socket socket, [[maybe_unused]] Slot slot) {
    auto self = shared_from_this();
    const std::string peer = address_of(socket);
    beast::tcp_stream stream(std::move(socket));
    co_await serve(stream, peer, {});
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  asio::awaitable<void> tls_session(tcp::socket socket, [[maybe_unused]] Slot slot) {
    auto self = shared_from_this();
    const std::string peer = address_of(socket);
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
    beast::get_lowest_layer(stream).expires_after(read_timeout);
    auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
    if (handshake_ec) {
      // No certificate when one is required, or one no trusted authority signed.
      if (listen_probe) listen_probe->connection_refused(listener, "tls_handshake");
      observe::log_info("https.tls_refused", {{"peer", peer}, {"error", handshake_ec.message()}});
    } else {
      co_await serve(stream, peer, peer_certificate_subject(stream.native_handle()));
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(kTuple);
    }
    beast::get_lowest_layer(stream).close();
  }

  // Transport-level: a sender HTTPS does not allow is not one of ours, so no handler (and no
  // journal) sees it. Counted and logged once per refusal.
  std::optional<HttpResponse> refuse_sender(const std::string& subject, const std::string& peer) const {
    if (subject_allowed(allowed, subject)) return std::nullopt;
    if (https_probe) https_probe->request_refused(listener, "sender_not_allowed");
    observe::log_info("https.sender_refused", {{"peer", peer}, {"subject", subject}});
    return problem(403, "Forbidden",
                   subject.empty() ? "a client certificate is required: send with the certificate you are "
                                     "registered with"
                                   : "the client certificate " + subject + " is not an allowed sender");
  }

  asio::awaitable<HttpResponse> dispatch(const HttpRequest& request) {
    if (auto refused = refuse_sender(request.certificate_subject, request.peer)) co_return std::move(*refused);
    auto it = routes.find({request.method, request.path});
    if (it == routes.end() && request.method == "HEAD") {
      // HEAD wherever GET is (RFC 9110 §9.3.2): GET's answer, whose body serve() leaves out.
      if (auto get = routes.find({"GET", request.path}); get != routes.end()) {
        HttpRequest as_get = request;
        as_get.method = "GET";
        co_return co_await async_handle(get->second, as_get, asio::use_awaitable);
      }
    }
    if (it == routes.end()) {
      bool path_known = false;
      for (const auto& [key, handler] : routes)
        path_known = path_known || key.second == request.path;
      if (path_known) {
        std::string allow;
        for (const auto& [key, handler] : routes) {
          if (key.second == request.path) allow.append(allow.empty() ? "" : ", ").append(key.first);
          if (key.second == request.path && key.first == "GET") allow.append(", HEAD");
        }
        HttpResponse refused = problem(405, "Method Not Allowed", request.method + " is not allowed on " + request.path);
        refused.headers.emplace_back("Allow", std::move(allow));
        co_return refused;
      }
      co_return problem(404, "Not Found", "no resource at " + request.path);
    }
    co_return co_await async_handle(it->second, request, asio::use_awaitable);
  }

  // What a request's header alone refuses. Framing that two readers could read two ways (request
  // smuggling, RFC 9112 §6.1 and §6.3): Transfer-Encoding beside Content-Length, or one whose last
  // coding is not chunked. A header that must be given once, given twice (a proxy may read the
  // first, Helsebro would read the last). A sender HTTPS does not allow, before it sends a body.
  std::optional<HttpResponse> refuse_header(const http::request<http::string_body>& req,
                                            const std::string& subject, const std::string& peer) const {
    if (req.count(http::field::transfer_encoding) > 0) {
      if (req.count(http::field::content_length) > 0)
        return problem(400, "Bad Request", "Transfer-Encoding and Content-Length are both given");
      if (!req.chunked())
        return problem(400, "Bad Request", "Transfer-Encoding must end in chunked");
    }
    for (const auto field : {http::field::content_type, http::field::authorization, http::field::host,
                             http::field::expect}) {
      if (req.count(field) > 1)
        return problem(400, "Bad Request", "the header " + std::string(http::to_string(field)) + " is given twice");
    }
    if (req.count("Idempotency-Key") > 1) return problem(400, "Bad Request", "the header Idempotency-Key is given twice");
    return refuse_sender(subject, peer);
  }

  // Reads requests and answers them in order until the client closes, times out or asks to close.
  // The header comes first: a body declared over the limit is refused before it is read, and a
  // client that waits for "100 Continue" gets it.
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const std::string& peer, const std::string& subject) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      // The largest any route takes, until the header says which route (Beast checks a declared
      // length against the limit as soon as it reads the header).
      parser.body_limit(std::max(max_body_bytes, largest_route_limit));
      beast::get_lowest_layer(stream).expires_after(read_timeout);
      auto [head_ec, head_n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
      (void)head_n;
      if (connection_ended(head_ec)) break;
      // The route's own limit, now that the header names the route.
      std::size_t limit = max_body_bytes;
      if (!head_ec || head_ec == http::error::body_limit) {
        const std::string_view target = parser.get().target();
        const auto own = body_limits.find(
            {std::string(parser.get().method_string()), std::string(target.substr(0, target.find('?')))});
        if (own != body_limits.end()) limit = own->second;
      }
      beast::error_code read_ec = head_ec;
      // Refused on its header alone, before any body is read; the connection then closes.
      std::optional<HttpResponse> refused = head_ec ? std::nullopt : refuse_header(parser.get(), subject, peer);
      if (refused) read_ec = http::error::bad_version;  // any error: answered below, then closed
      if (!read_ec) {
        const auto declared = parser.content_length();
        if (declared && *declared > limit) {
          read_ec = http::error::body_limit;  // not read: answered 413 at once
        } else {
          parser.body_limit(limit);  // a chunked body is held to it as it comes
        }
      }
      if (!read_ec && !parser.is_done()) {
        if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
          http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
          auto [continue_ec, continue_n] = co_await http::async_write(stream, go_on, kTuple);
          (void)continue_n;
          if (continue_ec) break;
        }
        // The read timeout runs from the last bytes that came, not from the header: a large body on
        // a slow link arrives as long as it keeps arriving. But not for ever: the whole body gets
        // the time it takes at kMinimumBodyRate (and at least the read timeout), or a client
        // sending a byte a minute would hold its connection as long as it liked.
        const std::size_t expected = parser.content_length() ? static_cast<std::size_t>(*parser.content_length()) : limit;
        const auto body_deadline =
            std::chrono::steady_clock::now() +
            std::max<std::chrono::steady_clock::duration>(
                read_timeout, std::chrono::seconds(static_cast<std::int64_t>(expected / kMinimumBodyRate)));
        beast::error_code body_ec;
        while (!parser.is_done()) {
          beast::get_lowest_layer(stream).expires_at(
              std::min<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now() + read_timeout, body_deadline));
          auto [some_ec, some_n] = co_await http::async_read_some(stream, buffer, parser, kTuple);
          (void)some_n;
          if (some_ec) {
            body_ec = some_ec;
            break;
          }
        }
        // A timeout has closed the socket (Beast's stream does): nothing can be answered.
        if (connection_ended(body_ec)) break;
        read_ec = body_ec;
      }
      HttpResponse response;
      bool keep_alive = false;
      bool head = false;
      unsigned version = 11;
      if (refused) {
        response = std::move(*refused);
      } else if (read_ec) {
        if (read_ec == http::error::body_limit) {
          response = problem(413, "Content Too Large", "the body is larger than " + std::to_string(limit) + " bytes");
        } else if (read_ec == http::error::header_limit) {
          response = problem(431, "Request Header Fields Too Large", "the request's header is too large");
        } else {
          response = problem(400, "Bad Request", read_ec.message());
        }
      } else {
        auto& req = parser.get();
        keep_alive = req.keep_alive();
        version = req.version();
        head = req.method() == http::verb::head;
        response = co_await dispatch(to_request(req, peer, subject));
      }
      auto res = to_beast(std::move(response), version, keep_alive);
      if (head) res.body().clear();  // the header says what GET would send; the body is not sent
      beast::get_lowest_layer(stream).expires_after(read_timeout);
      auto [write_ec, written] = co_await http::async_write(stream, res, kTuple);
      (void)written;
      if (!write_ec && read_ec) co_await drain(stream);
      if (write_ec || !keep_alive) break;
    }
  }

  // Reads and drops what the client still sends, for a while, so that the close that follows
  // does not reset the connection under the answer before the client has read it.
  template <class Stream>
  asio::awaitable<void> drain(Stream& stream, std::chrono::seconds time = kDrainTime) {
    beast::get_lowest_layer(stream).expires_after(time);
    std::vector<char> scratch(64 * 1024);
    for (std::size_t dropped = 0; dropped < kDrainBytes;) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
      if (ec) break;
      dropped += n;
    }
  }
};

HttpServer::HttpServer(asio::io_context& io, config::HttpConfig config, observe::ListenProbe* listen)
    : impl_(std::make_shared<Impl>(io, "http", std::move(config.host), config.port,
                                   config.max_body_bytes, config.max_connections)) {
  impl_->listen_probe = listen;
  impl_->read_timeout = timeout_of(config);
}

HttpServer::HttpServer(asio::io_context& io, config::HttpsConfig config, const config::HttpConfig& limits,
                       observe::ListenProbe& listen, HttpsProbe& https)
    : impl_(std::make_shared<Impl>(io, "https", std::move(config.host), config.port,
                                   limits.max_body_bytes, limits.max_connections)) {
  impl_->read_timeout = timeout_of(limits);
  impl_->tls = make_server_tls_context(config.tls);
  impl_->allowed = std::move(config.allowed_senders);
  impl_->listen_probe = &listen;
  impl_->https_probe = &https;
}

HttpServer::~HttpServer() = default;

void HttpServer::route(std::string method, std::string path, HttpHandler handler, std::size_t max_body_bytes) {
  if (max_body_bytes > 0) {
    impl_->body_limits[{method, path}] = max_body_bytes;
    impl_->largest_route_limit = std::max(impl_->largest_route_limit, max_body_bytes);
  }
  impl_->routes[{std::move(method), std::move(path)}] = std::move(handler);
}

void HttpServer::start() {
  impl_->bound_port = bind_and_listen(impl_->acceptor, impl_->host, impl_->requested_port);
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void HttpServer::stop() {
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
}

std::uint16_t HttpServer::port() const {
  return impl_->bound_port;
}

}  // namespace helsebro::listen
