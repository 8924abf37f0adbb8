#include "gateway/forward/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <optional>
#include <stdexcept>

namespace helsebro::forward {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

const char* label(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::kNone:
      return "none";
    case TransportFailure::kResolve:
    case TransportFailure::kConnect:
    case TransportFailure::kSend:
    case TransportFailure::kReceive:
      return "unreachable";
    case TransportFailure::kTls:
      return "tls";
    case TransportFailure::kRequest:
      return "request";
  }
  return "unreachable";
}

std::shared_ptr<ssl::context> fhir_tls_context(const Url& url, const config::FhirConfig& fhir) {
  const bool token_https = fhir.auth.type != config::FhirAuthConfig::Type::kNone &&
                           fhir.auth.token_url.rfind("https://", 0) == 0;
  if (url.scheme != "https" && !token_https) return nullptr;
  return make_tls_client_context(fhir.tls);
}

std::shared_ptr<ssl::context> make_tls_client_context(const config::FhirTlsConfig& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer);
  auto refuse = [](const char* pointer, const std::string& file,
                   const boost::system::error_code& ec) {
    return config::ConfigError("configuration", pointer,
                               "cannot use " + file + ": " + ec.message());
  };
  boost::system::error_code ec;
  if (tls.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) throw refuse("/fhir/tls", "the system's certificate authorities", ec);
  } else if (ctx->load_verify_file(tls.ca_file, ec); ec) {
    throw refuse("/fhir/tls/caFile", tls.ca_file, ec);
  }
  if (!tls.cert_file.empty()) {
    if (ctx->use_certificate_chain_file(tls.cert_file, ec); ec)
      throw refuse("/fhir/tls/certFile", tls.cert_file, ec);
    if (ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec); ec) {
      throw refuse("/fhir/tls/keyFile", tls.key_file, ec);
    }
  }
  return ctx;
}

struct HttpClient::Impl {
  asio::any_io_executor executor;
  Url target;
  std::chrono::milliseconds timeout;
  std::shared_ptr<ssl::context> tls;
  std::size_t max_response_bytes;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  TransportFailure failure = TransportFailure::kNone;
  bool unanswered = false;  // the last request may be with the server, unanswered
  std::string verify_problem;  // why the last handshake refused the server's certificate

  bool connected() const { return plain || secure; }
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  void close() {
    if (connected()) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    plain.reset();
    secure.reset();
  }

  Error fail(TransportFailure where, const char* what, const std::string& why) {
    failure = where;
    return Error{Errc::kUpstreamUnreachable, std::string(what) + " " + target.host + ":" +
                                                 std::to_string(target.port) + ": " + why};
  }

  // OpenSSL has checked one certificate of the chain (`preverified`); we add the host name check
  // at the end, and remember why a certificate was refused so the error says it plainly.
  bool verify(bool preverified, ssl::verify_context& ctx,
              const ssl::host_name_verification& host_check) {
    X509_STORE_CTX* store = ctx.native_handle();
    if (!preverified) {
      if (verify_problem.empty())
        verify_problem = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
      return false;
    }
    if (!host_check(preverified, ctx)) {
      verify_problem = "the certificate is not for " + target.host;
      X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
      return false;
    }
    return true;
  }

  asio::awaitable<Result<void>> handshake() {
    SSL* native = secure->native_handle();
    boost::system::error_code not_address;
    (void)asio::ip::make_address(target.host, not_address);
    if (not_address) SSL_set_tlsext_host_name(native, target.host.c_str());  // SNI takes names only
    verify_problem.clear();
    secure->set_verify_mode(ssl::verify_peer);
    secure->set_verify_callback([this, check = ssl::host_name_verification(target.host)](
                                    bool preverified, ssl::verify_context& ctx) {
      return verify(preverified, ctx, check);
    });
    lowest().expires_after(timeout);
    auto [ec] = co_await secure->async_handshake(ssl::stream_base::client, kTuple);
    if (ec) {
      const std::string why =
          verify_problem.empty() ? ec.message() : "certificate verify failed: " + verify_problem;
      close();
      co_return fail(TransportFailure::kTls, "TLS handshake with", why);
    }
    co_return Result<void>();
  }

  asio::awaitable<Result<void>> connect() {
    tcp::resolver resolver(executor);
    auto [resolve_ec, endpoints] =
        co_await resolver.async_resolve(target.host, std::to_string(target.port), kTuple);
    if (resolve_ec) co_return fail(TransportFailure::kResolve, "resolve", resolve_ec.message());
    beast::tcp_stream& stream = target.scheme == "https"
                                    ? beast::get_lowest_layer(secure.emplace(executor, *tls))
                                    : plain.emplace(executor);
    stream.expires_after(timeout);
    auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kTuple);
    (void)endpoint;
    if (connect_ec) {
      close();
      co_return fail(TransportFailure::kConnect, "connect", connect_ec.message());
    }
    beast::error_code nodelay_ec;  // a request's header and body are written back to back
    stream.socket().set_option(tcp::no_delay(true), nodelay_ec);
    buffer.clear();
    if (secure) co_return co_await handshake();
    co_return Result<void>();
  }

  // One exchange on the current connection. `resendable` comes back true when it failed as a
  // connection the server closed while it was kept fails: refused at once (a reset, or the end of
  // the stream before any byte of an answer), not timed out and not cut off in an answer. Only
  // then can the request go again at once on a new connection: after a timeout the server may
  // still be working on it, and two conditional creates at once may both create.
  template <class Stream>
  asio::awaitable<Result<HttpReply>> exchange(Stream& stream, http::request<http::string_body>& req,
                                              bool& resendable) {
    resendable = false;
    lowest().expires_after(timeout);
    auto [write_ec, written] = co_await http::async_write(stream, req, kTuple);
    (void)written;
    if (write_ec) {
      resendable = write_ec != beast::error::timeout;
      unanswered = !resendable;
      co_return fail(TransportFailure::kSend, "send to", write_ec.message());
    }
    // Interim answers (100 Continue, 103 Early Hints) come before the final one, each a whole
    // message of its own: read past them, or the final answer would be read as the next
    // request's. A few at most; 101 (switching protocols) is final, and wrong here.
    constexpr int kMaxInterim = 8;
    std::optional<http::response_parser<http::string_body>> parser;
    for (int interim = 0;; ++interim) {
      parser.emplace();
      parser->body_limit(max_response_bytes);
      const bool leftover = buffer.size() != 0;  // bytes no answer of ours explains (closed below)
      auto [read_ec, read] = co_await http::async_read(stream, buffer, *parser, kTuple);
      (void)read;  // what the parser took, which is nothing until a whole header is there
      if (read_ec) {
        // Not a byte of an answer: neither in the buffer (a partial header stays there) nor
        // parsed.
        resendable = interim == 0 && !leftover && buffer.size() == 0 && !parser->got_some() &&
                     read_ec != beast::error::timeout;
        unanswered = !resendable;
        co_return fail(TransportFailure::kReceive, "read from", read_ec.message());
      }
      const unsigned status = parser->get().result_int();
      if (status < 100 || status >= 200 || status == 101) break;
      if (interim + 1 == kMaxInterim) {
        close();
        co_return fail(TransportFailure::kReceive, "read from", "more than " + std::to_string(kMaxInterim) + " interim answers");
      }
    }
    auto& res = parser->get();
    // Bytes after the answer belong to no request of ours: the connection is out of step, and is
    // not kept.
    const bool out_of_step = buffer.size() != 0;
    HttpReply reply;
    reply.status = static_cast<int>(res.result_int());
    reply.content_type = std::string(res[http::field::content_type]);
    reply.retry_after = std::string(res[http::field::retry_after]);
    reply.body = std::move(res.body());
    if (!res.keep_alive() || out_of_step) close();
    co_return reply;
  }

  asio::awaitable<Result<HttpReply>> exchange(http::request<http::string_body>& req, bool& resendable) {
    if (secure) co_return co_await exchange(*secure, req, resendable);
    co_return co_await exchange(*plain, req, resendable);
  }
};

HttpClient::HttpClient(asio::any_io_executor executor, Url target,
                       std::chrono::milliseconds timeout, std::shared_ptr<ssl::context> tls,
                       std::size_t max_response_bytes) {
  if (target.scheme == "https" && !tls)
    throw std::invalid_argument("an https target needs a TLS context");
  impl_ = std::make_unique<Impl>(Impl{std::move(executor),
                                      std::move(target),
                                      timeout,
                                      std::move(tls),
                                      max_response_bytes,
                                      {},
                                      {},
                                      {},
                                      {},
                                      {},
                                      {}});
}

HttpClient::~HttpClient() = default;

TransportFailure HttpClient::last_failure() const {
  return impl_->failure;
}

bool HttpClient::last_unanswered() const { return impl_->unanswered; }

const Url& HttpClient::target() const {
  return impl_->target;
}

asio::awaitable<Result<HttpReply>> HttpClient::request(HttpRequest request) {
  const Url& to = impl_->target;
  http::request<http::string_body> req;
  impl_->failure = TransportFailure::kNone;
  impl_->unanswered = false;
  try {  // Beast throws on a field it cannot hold (64 KiB): an error, not the end of the caller
    req = {http::string_to_verb(request.method), request.target, 11};
    std::string host = to.host.find(':') == std::string::npos ? to.host : "[" + to.host + "]";
    host.append(1, ':').append(std::to_string(to.port));
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "helsebro");
    req.set(http::field::accept, request.accept);
    if (!request.content_type.empty()) req.set(http::field::content_type, request.content_type);
    if (!request.authorization.empty()) req.set(http::field::authorization, request.authorization);
    req.keep_alive(true);
    req.body() = std::move(request.body);
    req.prepare_payload();
  } catch (const std::exception& e) {
    co_return impl_->fail(TransportFailure::kRequest, "build the request to", e.what());
  }
  // A kept-alive connection may have been closed by the server meanwhile: then try once more on
  // a fresh one, but only when the exchange failed as such a connection fails (exchange()).
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = impl_->connected();
    if (!reused) {
      auto connected = co_await impl_->connect();
      if (!connected) co_return connected.error();
    }
    bool resendable = false;
    auto reply = co_await impl_->exchange(req, resendable);
    if (reply) co_return reply;
    impl_->close();
    if (!reused || !resendable) co_return reply;
  }
  co_return impl_->fail(TransportFailure::kConnect, "no connection to", "gave up");
}

}  // namespace helsebro::forward
