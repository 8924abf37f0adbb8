#pragma once
// An HTTP/1.1 client with one keep-alive connection to one target. Used by one coroutine at a
// time (one forwarding lane); not thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "gateway/core/result.h"
#include "gateway/forward/url.h"

namespace helsebro::forward {

struct HttpReply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // the Retry-After header, if any
};

class HttpClient {
 public:
  HttpClient(boost::asio::any_io_executor executor, Url target, std::chrono::milliseconds timeout,
             std::size_t max_response_bytes = 64 << 20);
  ~HttpClient();

  /// Sends one request. Transport failures (connect, reset, timeout) come back as
  /// Errc::kUpstreamUnreachable; any HTTP status is a successful reply.
  boost::asio::awaitable<Result<HttpReply>> request(std::string method, std::string target,
                                                    std::string body, std::string content_type);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace helsebro::forward
