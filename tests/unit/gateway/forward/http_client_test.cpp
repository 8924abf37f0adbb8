#include "gateway/forward/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace helsebro::forward {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// What the server does with the n-th request it reads (0-based, over all connections): the raw
// bytes it writes back, then whether it closes the connection; or nothing, to leave it unanswered.
struct Answer {
  std::string bytes;
  bool close_after = false;
};
using Script = std::function<std::optional<Answer>(int n)>;

// An HTTP server on 127.0.0.1 that answers from a script, byte for byte, so that a test can send
// what a well-behaved server would not (interim answers) or nothing at all.
class ScriptedServer {
 public:
  explicit ScriptedServer(Script script) : script_(std::move(script)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ScriptedServer() {
    io_.stop();
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++connections_;
      asio::co_spawn(io_, session(std::move(socket)), asio::detached);
    }
  }
  // Reads one request: its head up to the blank line, then Content-Length bytes of body (the
  // client always sends one). The bytes after it stay in `data` for the next.
  asio::awaitable<void> session(tcp::socket socket) {
    constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
    std::string data;
    for (;;) {
      auto [ec, head] = co_await asio::async_read_until(socket, asio::dynamic_buffer(data), "\r\n\r\n", kTuple);
      if (ec) co_return;
      const std::size_t at = data.find("Content-Length: ");
      const std::size_t body = at == std::string::npos || at > head ? 0 : std::strtoul(data.c_str() + at + 16, nullptr, 10);
      if (data.size() < head + body) {
        auto [bec, b] = co_await asio::async_read(socket, asio::dynamic_buffer(data),
                                                  asio::transfer_exactly(head + body - data.size()), kTuple);
        (void)b;
        if (bec) co_return;
      }
      data.erase(0, head + body);
      const std::optional<Answer> answer = script_(requests_++);
      if (!answer) continue;  // unanswered: the client times out
      auto [wec, w] = co_await asio::async_write(socket, asio::buffer(answer->bytes), asio::as_tuple(asio::use_awaitable));
      (void)w;
      if (wec || answer->close_after) co_return;
    }
  }

  Script script_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
};

constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 2\r\n\r\n{}";

// Sends `count` requests one after another on one client, as a forwarding lane does.
// `unanswered`, if given, gets last_unanswered() after each request.
std::vector<Result<HttpReply>> send(unsigned short port, int count, std::chrono::milliseconds timeout,
                                    const std::string& authorization = {}, std::vector<bool>* unanswered = nullptr) {
  asio::io_context io;
  Url url;
  url.scheme = "http";
  url.host = "127.0.0.1";
  url.port = port;
  url.path = "/fhir";
  HttpClient client(io.get_executor(), url, timeout);
  auto replies = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<std::vector<Result<HttpReply>>> {
        std::vector<Result<HttpReply>> out;
        for (int i = 0; i < count; ++i) {
          HttpRequest request;
          request.target = "/fhir";
          request.body = "{}";
          request.content_type = "application/fhir+json";
          request.authorization = authorization;
          out.push_back(co_await client.request(std::move(request)));
          if (unanswered) unanswered->push_back(client.last_unanswered());
        }
        co_return out;
      },
      asio::use_future);
  io.run();
  return replies.get();
}

// 100 Continue and 103 Early Hints may come before any answer (RFC 9110, 15.2): the client reads
// past them to the final answer, and the next request gets its own answer, not this one's.
TEST(HttpClient, ReadsPastInterimAnswersToTheFinalOne) {
  ScriptedServer server([](int n) -> std::optional<Answer> {
    if (n == 0) {
      return Answer{std::string("HTTP/1.1 100 Continue\r\n\r\n") + "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
                    "HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"};
    }
    return Answer{"HTTP/1.1 201 Created\r\nContent-Type: application/fhir+json\r\nContent-Length: 7\r\n\r\n{\"b\":2}"};
  });
  const auto replies = send(server.port(), 2, 5s);
  ASSERT_EQ(replies.size(), 2u);
  ASSERT_TRUE(replies[0]) << replies[0].error().detail;
  EXPECT_EQ(replies[0]->status, 200);
  EXPECT_EQ(replies[0]->body, R"({"a":1})");
  ASSERT_TRUE(replies[1]) << replies[1].error().detail;
  EXPECT_EQ(replies[1]->status, 201);
  EXPECT_EQ(replies[1]->body, R"({"b":2})");
  EXPECT_EQ(server.connections(), 1);
}

// A header too large for a request (Beast holds 64 KiB a field) is a failed attempt, with nothing
// sent, not an exception: thrown, it left the forwarder's lane taken for good.
TEST(HttpClient, ARequestThatCannotBeBuiltIsAFailureNotAnException) {
  ScriptedServer server([](int) -> std::optional<Answer> { return Answer{kOk}; });
  const auto replies = send(server.port(), 2, 5s, "Bearer " + std::string(70000, 'A'));
  ASSERT_EQ(replies.size(), 2u);
  ASSERT_FALSE(replies[0]);
  EXPECT_NE(replies[0].error().detail.find("build the request to 127.0.0.1"), std::string::npos)
      << replies[0].error().detail;
  EXPECT_FALSE(replies[1]);
  EXPECT_EQ(server.requests(), 0);
}

// A server that keeps sending interim answers never gives a final one: a failure, not a hang.
TEST(HttpClient, EndlessInterimAnswersAreAFailure) {
  std::string interim;
  for (int i = 0; i < 20; ++i) interim += "HTTP/1.1 100 Continue\r\n\r\n";
  ScriptedServer server([interim](int) -> std::optional<Answer> { return Answer{interim + kOk}; });
  const auto replies = send(server.port(), 1, 5s);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0]);
}

// The server takes longer than the timeout on a request sent over a kept connection: it may still
// be working on it, so the client must not send it again at once on a new connection (two
// conditional creates at once can both create). The failure goes to the forwarder's retry path.
TEST(HttpClient, ARequestThatTimedOutOnAKeptConnectionIsNotSentAgainAtOnce) {
  ScriptedServer server([](int n) -> std::optional<Answer> {
    if (n == 0) return Answer{kOk};
    return std::nullopt;  // the second request, and any copy of it: no answer
  });
  std::vector<bool> unanswered;
  const auto replies = send(server.port(), 2, 300ms, {}, &unanswered);
  ASSERT_EQ(replies.size(), 2u);
  ASSERT_TRUE(replies[0]);
  EXPECT_FALSE(replies[1]);
  std::this_thread::sleep_for(100ms);  // a copy sent on a new connection would have arrived
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(server.connections(), 1);
  // The forwarder's retry waits for the server too (Backoff.WaitsAtLeastWhatItIsAskedTo).
  EXPECT_EQ(unanswered, (std::vector<bool>{false, true}));
}

// The server began an answer (part of its status line) and then closed: it had the request, so it
// is not sent again at once; the parser took none of those bytes, but they came.
TEST(HttpClient, ARequestWhoseAnswerWasCutOffIsNotSentAgainAtOnce) {
  ScriptedServer server([](int n) -> std::optional<Answer> {
    if (n == 0) return Answer{kOk};
    return Answer{"HTTP/1.1 2", true};
  });
  const auto replies = send(server.port(), 2, 5s);
  ASSERT_EQ(replies.size(), 2u);
  ASSERT_TRUE(replies[0]);
  EXPECT_FALSE(replies[1]);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(server.connections(), 1);
}

// The server closed a kept connection between two requests (an idle timeout): the next request
// finds it closed before any byte of an answer, and goes again once on a new connection.
TEST(HttpClient, ARequestOnAConnectionTheServerClosedGoesAgainOnANewOne) {
  ScriptedServer server([](int n) -> std::optional<Answer> {
    if (n == 0) return Answer{kOk, true};
    return Answer{kOk};
  });
  const auto replies = send(server.port(), 2, 5s);
  ASSERT_EQ(replies.size(), 2u);
  ASSERT_TRUE(replies[0]);
  ASSERT_TRUE(replies[1]) << replies[1].error().detail;
  EXPECT_EQ(replies[1]->status, 200);
  EXPECT_EQ(server.connections(), 2);
}

}  // namespace
}  // namespace helsebro::forward
