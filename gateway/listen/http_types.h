#pragma once
// Plain request and response types, so handlers need neither Beast nor Asio.

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace helsebro::listen {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string path;    // target without the query
  std::string query;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string peer;                 // the client's address
  std::string certificate_subject;  // HTTPS: the verified client certificate's subject, else empty
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// RFC 9457 problem details, the body of every HTTP error Helsebro answers.
HttpResponse problem(int status, std::string title, std::string detail);

/// Handlers answer through `respond`, exactly once, from any thread.
using Respond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest&, Respond)>;

}  // namespace helsebro::listen
