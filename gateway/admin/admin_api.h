#pragma once
// The admin API on the HTTP listener, under /admin/. Every call needs the configured bearer
// token; without one configured the API is off and answers 403. Calls are logged (who, what).

#include <functional>
#include <string>

#include "gateway/app/replay.h"
#include "gateway/core/result.h"
#include "gateway/listen/http_types.h"

namespace helsebro::listen {
class HttpServer;
}

namespace helsebro::admin {

struct AdminActions {
  /// Reloads the mappings; the number of mappings now serving, or why the files were refused.
  std::function<Result<std::size_t>()> reload_mappings;
  /// Translates the messages again with the current mappings and queues them for delivery.
  std::function<Result<app::ReplaySummary>(const MessageQuery&)> replay;
};

/// Registers the admin routes. `token` empty: the API is off.
void route_admin(listen::HttpServer& http, std::string token, AdminActions actions);

/// True when the request carries "Authorization: Bearer <token>" (the scheme in any case, the
/// token compared in constant time).
bool authorized(const listen::HttpRequest& request, const std::string& token);

}  // namespace helsebro::admin
