#include "gateway/admin/admin_api.h"

#include <openssl/crypto.h>

#include "gateway/core/ids.h"
#include "gateway/listen/http_server.h"
#include "gateway/observe/log.h"

namespace helsebro::admin {

bool authorized(const listen::HttpRequest& request, const std::string& token) {
  auto it = request.headers.find("authorization");
  if (token.empty() || it == request.headers.end()) return false;
  const std::string expected = "Bearer " + token;
  const std::string& given = it->second;
  return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

namespace {

// Wraps an admin handler: refuses without the token, and logs every call with a hash of the
// token used (never the token), the caller's address and the action.
listen::HttpHandler guarded(std::string token, std::string action, listen::HttpHandler handler) {
  return [token = std::move(token), action = std::move(action), handler = std::move(handler)](
             const listen::HttpRequest& request, listen::Respond respond) {
    if (token.empty()) {
      respond(listen::problem(403, "Forbidden", "the admin API is off: set HELSEBRO_ADMIN_TOKEN (or admin.token)"));
      return;
    }
    if (!authorized(request, token)) {
      observe::log_warn("admin.unauthorized", {{"action", action}, {"peer", request.peer}});
      listen::HttpResponse r = listen::problem(401, "Unauthorized", "a valid bearer token is required");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      respond(std::move(r));
      return;
    }
    observe::log_info("audit.admin", {{"action", action}, {"peer", request.peer},
                                      {"token_sha256", sha256_hex(token).substr(0, 12)}});
    handler(request, std::move(respond));
  };
}

}  // namespace

void route_admin(listen::HttpServer& http, std::string token, AdminActions actions) {
  http.route("POST", "/admin/mappings/reload",
             guarded(token, "mappings.reload", [actions](const listen::HttpRequest&, listen::Respond respond) {
               auto reloaded = actions.reload_mappings();
               if (!reloaded) {
                 respond(listen::problem(422, "Mappings refused",
                                         reloaded.error().detail + " (the previous mappings keep serving)"));
                 return;
               }
               listen::HttpResponse r;
               r.content_type = "application/json";
               r.body = "{\"status\":\"reloaded\",\"mappings\":" + std::to_string(*reloaded) + "}";
               respond(std::move(r));
             }));
}

}  // namespace helsebro::admin
