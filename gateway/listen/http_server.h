#pragma once
// The HTTP listener (metrics, health, admin, inbound messages: see http_intake.h): one coroutine per
// connection, keep-alive, a body limit and timeouts on every read.

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/config/config.h"
#include "gateway/listen/http_types.h"

namespace boost::asio {
class io_context;
}

namespace helsebro::listen {

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, config::HttpConfig config);
  ~HttpServer();

  /// Registers a handler for an exact path and method. Call before start().
  void route(std::string method, std::string path, HttpHandler handler);
  /// Binds and starts accepting. Throws std::system_error when the port cannot be bound.
  void start();
  void stop();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace helsebro::listen
