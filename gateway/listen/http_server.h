#pragma once
// The HTTP listener (metrics, health, admin, inbound messages: see http_intake.h), and the same
// server over TLS for the inbound endpoints (config "https"): one coroutine per connection,
// keep-alive, a body limit and timeouts on every read. Beast and Asio stay in http_server.cpp,
// where the session is one template over the plain and the TLS stream.

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/config/config.h"
#include "gateway/listen/http_types.h"

namespace boost::asio {
class io_context;
}
namespace helsebro::observe {
class ListenProbe;
}

namespace helsebro::listen {

class HttpsProbe;

class HttpServer {
 public:
  /// Plain HTTP; connections refused over the limit count in `listen` when given.
  HttpServer(boost::asio::io_context& io, config::HttpConfig config, observe::ListenProbe* listen = nullptr);
  /// HTTPS with `config.tls` (optionally mutual TLS), and the body and connection limits of
  /// `limits` (the http section's). Failed
  /// handshakes count in `listen` (helsebro_listen_connections_refused_total{channel="https"}).
  /// With `config.allowed_senders`, a request whose client certificate subject matches none is
  /// answered 403 with problem JSON before any handler sees it, and counted in `https`. Throws
  /// std::system_error when the certificate, key or CA file cannot be loaded. The probes must
  /// outlive the server.
  HttpServer(boost::asio::io_context& io, config::HttpsConfig config, const config::HttpConfig& limits,
             observe::ListenProbe& listen, HttpsProbe& https);
  ~HttpServer();

  /// Registers a handler for an exact path and method. Call before start(). `max_body_bytes`: the
  /// largest body this route takes, when not the server's (0).
  void route(std::string method, std::string path, HttpHandler handler, std::size_t max_body_bytes = 0);
  /// Binds and starts accepting. Throws std::system_error when the port cannot be bound.
  void start();
  void stop();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace helsebro::listen
