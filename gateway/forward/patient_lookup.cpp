#include "gateway/forward/patient_lookup.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <unordered_map>

#include "gateway/forward/http_client.h"
#include "gateway/forward/oauth_client.h"
#include "gateway/forward/patient_search.h"
#include "gateway/forward/presence_cache.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::forward {

namespace asio = boost::asio;

namespace {
using AuthType = config::FhirAuthConfig::Type;
constexpr const char* kTarget = "patient_lookup";  // the upstream metrics' target label

EpochMillis millis(double seconds) { return static_cast<EpochMillis>(seconds * 1000); }
}  // namespace

struct FhirPatientDirectory::Impl : std::enable_shared_from_this<FhirPatientDirectory::Impl> {
  using Done = std::function<void(PatientPresence)>;

  // One set of identifiers being looked up, and everyone waiting for its answer.
  struct Lookup {
    std::vector<PatientIdentifier> ids;
    std::vector<Done> waiting;
  };

  asio::strand<asio::io_context::executor_type> strand;
  config::PatientLookupConfig config;
  observe::ForwardProbe& probe;
  Url url;
  std::shared_ptr<asio::ssl::context> tls;
  std::unique_ptr<OAuthClient> oauth;
  std::vector<std::unique_ptr<HttpClient>> clients;
  std::vector<HttpClient*> idle;
  PresenceCache cache;
  std::unordered_map<std::string, Lookup> lookups;  // by presence_key; all on the strand
  std::deque<std::string> queue;                    // keys waiting for an idle client

  Impl(asio::io_context& io, const config::FhirConfig& fhir, const config::PatientLookupConfig& c,
       observe::ForwardProbe& p, Clock clock, Url u)
      : strand(asio::make_strand(io)),
        config(c),
        probe(p),
        url(std::move(u)),
        cache(millis(c.cache_seconds), millis(c.unknown_cache_seconds), c.max_cached, clock) {
    const auto timeout = std::chrono::milliseconds(millis(config.timeout_seconds));
    tls = fhir_tls_context(url, fhir);
    if (fhir.auth.type != AuthType::kNone) oauth = std::make_unique<OAuthClient>(strand, fhir.auth, tls, timeout, clock);
    for (int i = 0; i < std::max(1, config.connections); ++i) {
      clients.push_back(std::make_unique<HttpClient>(strand, url, timeout, tls, 4 << 20));
      idle.push_back(clients.back().get());
    }
  }

  void find(std::vector<PatientIdentifier> ids, Done done) {
    std::string key = presence_key(ids);
    if (auto cached = cache.get(key)) {
      probe.patient_lookup(label(*cached), "cache");
      return done(*cached);
    }
    if (auto it = lookups.find(key); it != lookups.end()) {
      it->second.waiting.push_back(std::move(done));  // the same patient, already being asked
      return;
    }
    if (idle.empty() && queue.size() >= config.max_waiting) {
      probe.patient_lookup(label(PatientPresence::kUnavailable), "overflow");
      return done(PatientPresence::kUnavailable);
    }
    Lookup& lookup = lookups[key];
    lookup.ids = std::move(ids);
    lookup.waiting.push_back(std::move(done));
    queue.push_back(std::move(key));
    start_next();
  }

  void start_next() {
    while (!idle.empty() && !queue.empty()) {
      HttpClient* client = idle.back();
      idle.pop_back();
      std::string key = std::move(queue.front());
      queue.pop_front();
      asio::co_spawn(strand, search(client, std::move(key)), asio::detached);
    }
  }

  asio::awaitable<void> search(HttpClient* client, std::string key) {
    auto self = shared_from_this();
    const std::vector<PatientIdentifier> ids = lookups[key].ids;
    const PatientPresence presence = co_await ask(*client, ids);
    cache.put(key, presence);
    auto node = lookups.extract(key);
    idle.push_back(client);
    start_next();
    for (auto& done : node.mapped().waiting) {
      probe.patient_lookup(label(presence), "record");
      done(presence);
    }
  }

  // One search, with a bearer token when fhir.auth is set; a 401 gets one new token and one
  // more try, as deliveries do.
  asio::awaitable<PatientPresence> ask(HttpClient& client, const std::vector<PatientIdentifier>& ids) {
    const std::string body = patient_search_body(ids);
    for (int round = 0;; ++round) {
      HttpRequest request{"POST", search_target(), body, "application/x-www-form-urlencoded",
                          "application/fhir+json", {}};
      std::string token;
      if (oauth) {
        auto fetched = co_await oauth->token();
        if (!fetched) co_return unavailable(fetched.error().detail);
        token = std::move(*fetched);
        request.authorization = "Bearer " + token;
      }
      const auto started = std::chrono::steady_clock::now();
      auto reply = co_await client.request(std::move(request));
      if (!reply) co_return unavailable(reply.error().detail);
      probe.upstream_response(
          kTarget, reply->status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (oauth && reply->status == 401 && round == 0) {
        oauth->invalidate(token);
        continue;
      }
      auto presence = read_patient_search(reply->status, reply->body);
      if (!presence) co_return unavailable(presence.error().detail);
      co_return *presence;
    }
  }

  std::string search_target() const {
    std::string target = url.path;
    if (target.empty() || target.back() != '/') target.push_back('/');
    return target.append("Patient/_search");
  }

  PatientPresence unavailable(const std::string& why) const {
    observe::log_warn("patient_lookup.unavailable", {{"host", url.host}, {"error", why}});
    return PatientPresence::kUnavailable;
  }
};

FhirPatientDirectory::FhirPatientDirectory(asio::io_context& io, const config::FhirConfig& fhir,
                                           const config::PatientLookupConfig& lookup,
                                           observe::ForwardProbe& probe, Clock clock) {
  auto url = parse_url(fhir.base_url);
  if (!url) throw config::ConfigError("fhir.baseUrl", "/fhir/baseUrl", url.error().detail);
  impl_ = std::make_shared<Impl>(io, fhir, lookup, probe, std::move(clock), std::move(*url));
}

FhirPatientDirectory::~FhirPatientDirectory() = default;

void FhirPatientDirectory::find(std::vector<PatientIdentifier> ids,
                                std::function<void(PatientPresence)> done) {
  asio::post(impl_->strand, [impl = impl_, ids = std::move(ids), done = std::move(done)]() mutable {
    impl->find(std::move(ids), std::move(done));
  });
}

}  // namespace helsebro::forward
