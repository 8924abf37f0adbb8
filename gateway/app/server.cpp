#include "gateway/app/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/kith/classifier.h"
#include "adapters/kith/schema_set.h"
#include "gateway/admin/admin_api.h"
#include "gateway/app/mappings.h"
#include "gateway/app/mappings_watch.h"
#include "gateway/app/replay.h"
#include "gateway/app/translator.h"
#include "gateway/core/backlog.h"
#include "gateway/core/thread_name.h"
#include "gateway/forward/forwarder.h"
#include "gateway/forward/patient_lookup.h"
#include "gateway/intake/fhir_intake.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/intake/kith_intake.h"
#include "gateway/journal/sqlite_journal.h"
#include "gateway/listen/http_intake.h"
#include "gateway/listen/http_server.h"
#include "gateway/listen/inbound_directory.h"
#include "gateway/listen/inbound_exchange.h"
#include "gateway/listen/inbound_probes.h"
#include "gateway/listen/mllp_listener.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"
#include "gateway/validate/fhir_validator.h"

namespace helsebro::app {

namespace asio = boost::asio;

namespace {

// The mapping set in service; replaced whole on reload, read without locks by Intake.
class MappingHolder {
 public:
  explicit MappingHolder(std::shared_ptr<const mapping::MappingSet> set) : current_(std::move(set)) {}
  std::shared_ptr<const mapping::MappingSet> get() const { return current_.load(); }
  void set(std::shared_ptr<const mapping::MappingSet> set) { current_.store(std::move(set)); }

 private:
  std::atomic<std::shared_ptr<const mapping::MappingSet>> current_;
};

// How many mappings of each format (hl7v2, kith, fhir …) a set holds.
std::map<std::string, std::size_t> by_format(const mapping::MappingSet* set) {
  std::map<std::string, std::size_t> out;
  if (set != nullptr) {
    for (const auto& m : set->mappings()) ++out[m->format()];
  }
  return out;
}

// A reload that would drop every mapping of a format the serving set has: a folder moved,
// emptied or unmounted, or the KITH schema index broken, far more often than a wish to stop
// translating a whole format (a restart does that). The error, or nothing.
std::optional<Error> loses_a_format(const mapping::MappingSet* serving, const mapping::MappingSet& loaded) {
  const auto after = by_format(&loaded);
  for (const auto& [format, n] : by_format(serving)) {
    if (after.count(format) != 0) continue;
    return Error{Errc::kInvalidValue, "the new set has no " + format + " mappings, the serving one has " +
                                          std::to_string(n) + " (a folder moved or emptied?); to serve "
                                          "without them, restart"};
  }
  return std::nullopt;
}

// Loads the mappings again and swaps them in whole; on failure the previous set keeps serving.
Result<std::size_t> reload(MappingHolder& holder, const config::Config& config, const char* trigger) {
  // Two reloads at once (a file saved while an admin reload loads) may finish in either order:
  // a set loaded from older files never replaces one that began loading after it.
  static std::atomic<std::uint64_t> tickets{0};
  static std::mutex swapping;
  static std::uint64_t swapped = 0;  // the ticket of the set serving now
  const std::uint64_t ticket = ++tickets;
  const auto started = std::chrono::steady_clock::now();
  const auto serving = holder.get();
  // KITH mappings in service: their schemas must load again, or the reload is refused (below).
  auto loaded = load_mappings(config.mappings_dir, kith_schema_dir(config),
                              by_format(serving.get()).count("kith") != 0 ? KithSchemas::kRequired
                                                                         : KithSchemas::kOptional);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (loaded) {
    if (auto lost = loses_a_format(serving.get(), **loaded)) loaded = std::move(*lost);
  }
  if (!loaded) {
    observe::log_error("mappings.reload_refused", {{"trigger", trigger}, {"error", loaded.error().detail}});
    return loaded.error();
  }
  {
    std::lock_guard lock(swapping);
    if (ticket < swapped) {
      observe::log_info("mappings.reload_overtaken", {{"trigger", trigger}});
      return (*loaded)->mappings().size();
    }
    swapped = ticket;
    holder.set(*loaded);
  }
  observe::log_info("mappings.reloaded",
                    {{"trigger", trigger}, {"mappings", (*loaded)->mappings().size()}, {"ms", ms}});
  return (*loaded)->mappings().size();
}

void route_observability(listen::HttpServer& http, observe::Registry& registry, const Backlog& backlog) {
  http.route("GET", "/metrics", [&registry](const listen::HttpRequest&, listen::Respond respond) {
    listen::HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = registry.expose();
    respond(std::move(r));
  });
  auto ok = [](const listen::HttpRequest&, listen::Respond respond) {
    listen::HttpResponse r;
    r.content_type = "application/json";
    r.body = "{\"status\":\"ok\"}";
    respond(std::move(r));
  };
  http.route("GET", "/healthz", ok);
  // Ready to take messages: not while the backlog is over its limit, when every inbound endpoint
  // answers 503 and MLLP listeners stop reading (a load balancer should send elsewhere).
  http.route("GET", "/readyz", [&backlog](const listen::HttpRequest&, listen::Respond respond) {
    listen::HttpResponse r;
    r.content_type = "application/json";
    if (backlog.over_limit()) {
      r.status = 503;
      r.headers.emplace_back("Retry-After", "5");
      r.body = "{\"status\":\"backlog_full\",\"backlog\":" + std::to_string(backlog.count()) +
               ",\"limit\":" + std::to_string(backlog.limit()) + "}";
    } else {
      r.body = "{\"status\":\"ok\"}";
    }
    respond(std::move(r));
  });
}

#ifndef HELSEBRO_VERSION
#define HELSEBRO_VERSION "0.0.0"
#endif

// HL7 v2 over HTTP reads like the default MLLP channel (charset, ACK mode, hold and person-id
// options), under its own channel name; its allowed-sender rules are MLLP's, not HTTP's.
intake::ChannelRules http_hl7v2_rules(const config::MllpConfig& mllp) {
  intake::ChannelRules rules = intake::channel_rules(mllp);
  rules.channel = "http-hl7v2";
  rules.allowed.clear();
  return rules;
}

using KithIntakeFactory = std::function<std::shared_ptr<const intake::KithIntake>(const std::string& channel)>;

// KITH intakes, one per channel (HTTP and each inbound directory), sharing the schemas and the
// classifier. Empty when the schemas do not load: without a "kith" section that only turns KITH
// intake off; with one it stops the start.
KithIntakeFactory kith_intakes(const config::KithConfig& config, observe::Probes& probes,
                               intake::MappingProvider mappings,
                               std::shared_ptr<PatientDirectory> patients) {
  auto schemas = kith::SchemaSet::load(config.schemas_dir);
  if (!schemas) {
    auto log = config.configured ? observe::log_error : observe::log_warn;
    log("kith.schemas_unavailable", {{"dir", config.schemas_dir}, {"error", schemas.error().detail}});
    return {};
  }
  kith::ClassifierOptions options;
  if (!config.receiver_her_ids.empty()) {
    options.receiver_her_ids.emplace(config.receiver_her_ids.begin(), config.receiver_her_ids.end());
    options.answering_her_id = config.receiver_her_ids.front();
  }
  options.limits.max_bytes = config.max_body_bytes;
  options.refuse_test_messages = !config.accept_test_messages;
  auto classifier = std::make_shared<const kith::Classifier>(*schemas, std::move(options));
  std::shared_ptr<const kith::SchemaIndex> index(*schemas, &(*schemas)->index());
  return [&probes, config, classifier, index, mappings, patients](const std::string& channel) {
    intake::KithRules rules;
    rules.channel = channel;
    rules.apprec_1_0 = config.apprec_version == "1.0";
    rules.software_version = HELSEBRO_VERSION;
    rules.require_known_patient = config.require_known_patient;
    return std::make_shared<const intake::KithIntake>(std::move(rules), classifier, Clock{}, &probes.intake,
                                                      mappings, index, patients);
  };
}

// Test hook, for crash-recovery tests of the inbound directories: HELSEBRO_FAULT_INJECTION=
// "inbox.after_commit" ends the process (as a crash would) once a file's messages are durable
// and before the file is moved.
std::function<void(const std::string&)> inbox_fault_hook() {
  const char* fault = std::getenv("HELSEBRO_FAULT_INJECTION");
  if (fault == nullptr || std::string_view(fault) != "inbox.after_commit") return {};
  return [](const std::string& file) {
    observe::log_warn("fault.injected", {{"point", "inbox.after_commit"}, {"file", file}});
    std::_Exit(86);
  };
}

// One watcher per configured inbound directory, each with its own channel's intake.
std::vector<std::unique_ptr<listen::InboundDirectory>> inbound_directories(
    asio::io_context& io, const config::Config& config, const listen::HttpIntakeParts& inbound,
    const KithIntakeFactory& kith, const intake::MappingProvider& mappings, listen::InboxProbe& probe) {
  std::vector<std::unique_ptr<listen::InboundDirectory>> out;
  for (const auto& directory : config.inbound_directories) {
    listen::InboundDirectoryParts parts;
    parts.pipeline = inbound.pipeline;
    parts.backlog = inbound.backlog;
    parts.probe = &probe;
    parts.after_commit = inbox_fault_hook();
    if (directory.format == "kith") {
      parts.kith = kith(directory.channel);
    } else {
      intake::ChannelRules rules = http_hl7v2_rules(config.mllp);
      rules.channel = directory.channel;
      parts.hl7v2 = std::make_shared<const intake::Hl7v2Intake>(std::move(rules), mappings, Clock{},
                                                                 &inbound.pipeline->probes->intake);
    }
    out.push_back(std::make_unique<listen::InboundDirectory>(io, directory, std::move(parts)));
  }
  return out;
}

}  // namespace

int serve(const config::Config& config) {
  observe::LogLevel level = observe::LogLevel::kInfo;
  observe::parse_log_level(config.log_level, level);
  observe::set_log_level(level);

  auto mappings = load_mappings(config.mappings_dir, kith_schema_dir(config), KithSchemas::kOptional);
  if (!mappings) {
    observe::log_error("mappings.load_failed", {{"error", mappings.error().detail}});
    return 2;
  }
  MappingHolder holder(*mappings);
  (void)validate::FhirValidator::r4();  // built now, not on the first message

  observe::Registry registry;
  observe::Probes probes(registry);
  journal::SqliteJournal journal(config.data_dir, &probes.journal);
  registry.on_collect([&journal, &probes] {
    if (auto counts = journal.counts()) {
      for (const auto& [state, n] : *counts) probes.journal.set_depth(to_string(state), static_cast<double>(n));
    }
  });

  // The backlog is the journal's count of undelivered messages, set after every commit (below).
  Backlog backlog(config.max_backlog);
  backlog.set(journal.undelivered());
  registry.add("helsebro_forward_backlog_limit", "Undelivered messages above which listeners pause (messages).",
               observe::MetricType::kGauge)
      .gauge()
      .set(static_cast<double>(config.max_backlog));
  auto& backlog_gauge = registry.add("helsebro_forward_backlog_messages",
                                     "Stored messages waiting for delivery, as the listeners see it (messages).",
                                     observe::MetricType::kGauge);
  registry.on_collect([&backlog, &backlog_gauge] { backlog_gauge.gauge().set(static_cast<double>(backlog.count())); });

  asio::io_context io(config.threads);
  forward::Forwarder forwarder(io, journal, config.fhir, probes.forward);
  std::vector<std::unique_ptr<listen::MllpListener>> channels;
  listen::HttpServer http(io, config.http, &probes.listen);
  route_observability(http, registry, backlog);
  const intake::MappingProvider mappings_now = [&holder] { return holder.get(); };
  auto pipeline = std::make_shared<listen::InboundPipeline>();
  pipeline->journal = &journal;
  pipeline->probes = &probes;
  // Runs whatever the channels say: messages a previous configuration left received are
  // translated too, and would otherwise hold back every later delivery.
  app::Translator translator(
      journal, [&holder] { return holder.get(); }, app::replay_rules(config), registry, &probes.intake,
      // Every outcome, a refusal or a hold too, settles a message that held back each later
      // delivery (Journal::pending): the forwarder looks again now, not at its idle poll.
      [&forwarder](std::size_t) { forwarder.notify(); });
  journal.on_change([&journal, &backlog, &translator, &forwarder](bool by_another_process) {
    backlog.set(journal.undelivered());
    if (by_another_process) {  // e.g. `helsebro replay` queued messages
      translator.notify();
      forwarder.notify();
    }
  });
  // The journal's thread outlives the translator and the forwarder on every way out of here.
  struct ForgetChangeHook {
    journal::SqliteJournal& journal;
    ~ForgetChangeHook() { journal.on_change(nullptr); }
  } forget_change_hook{journal};
  const std::function<void()> on_stored = [&forwarder, &translator] {
    translator.notify();
    forwarder.notify();
  };
  pipeline->on_stored = on_stored;
  pipeline->duplicate_window_seconds = config.mllp.duplicate_window_seconds;
  listen::HttpIntakeParts inbound;
  inbound.pipeline = pipeline;
  inbound.backlog = &backlog;
  inbound.hl7v2 = std::make_shared<intake::Hl7v2Intake>(http_hl7v2_rules(config.mllp), mappings_now, Clock{},
                                                        &probes.intake);
  inbound.fhir = std::make_shared<intake::FhirIntake>("http-fhir", validate::FhirValidator::r4(), Clock{},
                                                      &probes.intake);
  std::shared_ptr<PatientDirectory> patients;
  if (config.kith.require_known_patient) {
    patients = std::make_shared<forward::FhirPatientDirectory>(io, config.fhir, config.kith.patient_lookup,
                                                               probes.forward);
  }
  const KithIntakeFactory kith = kith_intakes(config.kith, probes, mappings_now, patients);
  inbound.kith_max_body_bytes = config.kith.max_body_bytes;
  if (kith) inbound.kith = kith("http-kith");
  else if (config.kith.configured) return 2;
  else inbound.kith_unavailable = "its schemas could not be loaded";
  for (const auto& directory : config.inbound_directories) {
    if (directory.format == "kith" && !kith) {
      observe::log_error("inbox.kith_unavailable", {{"channel", directory.channel}, {"dir", config.kith.schemas_dir}});
      return 2;
    }
  }
  listen::InboxProbe inbox_probe(registry);
  listen::HttpsProbe https_probe(registry);
  std::unique_ptr<listen::HttpServer> https;
  std::vector<std::unique_ptr<listen::InboundDirectory>> directories;
  try {
    if (config.https.enabled) {
      https = std::make_unique<listen::HttpServer>(io, config.https, config.http, probes.listen,
                                                   https_probe);
    }
    directories = inbound_directories(io, config, inbound, kith, mappings_now, inbox_probe);
  } catch (const std::exception& e) {
    observe::log_error("listen.start_failed", {{"error", e.what()}});
    return 2;
  }
  std::vector<listen::HttpServer*> inbound_servers{&http};
  if (https) inbound_servers.push_back(https.get());
  listen::route_inbound(inbound_servers, std::move(inbound));
  admin::route_admin(http, config.admin_token,
                     {[&holder, &config] { return reload(holder, config, "admin"); },
                      [&holder, &journal, &forwarder, rules = app::replay_rules(config)](const MessageQuery& query) {
                        auto summary = app::replay_messages(journal, *holder.get(), query, Clock{}, rules,
                                                            app::kReplayPageSize, app::kReplayMostPerRequest);
                        forwarder.notify();
                        return summary;
                      }});
  MappingsWatch watch(io, config.mappings_dir, [&holder, &config] {
    (void)reload(holder, config, "file_change");
  });
  if (config.mappings_watch) watch.start();
  try {
    for (const auto& channel : config.all_mllp_channels()) {
      channels.push_back(std::make_unique<listen::MllpListener>(
          io, channel, [&holder] { return holder.get(); }, journal, probes, &backlog, on_stored));
      channels.back()->start();
    }
    http.start();
    if (https) https->start();
    for (auto& directory : directories) directory->start();
  } catch (const std::exception& e) {
    observe::log_error("listen.start_failed", {{"error", e.what()}});
    return 2;
  }
  forwarder.start();
  translator.start();

  // Retention: personal data is not kept longer than configured. Hourly, and once at start-up.
  asio::steady_timer retention(io);
  std::function<void()> purge = [&] {
    const EpochMillis now = Clock{}.now_ms();
    const auto days = [](double d) { return static_cast<EpochMillis>(d * 86'400'000); };
    journal.purge(now - days(config.keep_delivered_days), now - days(config.keep_rejected_days),
                  [](Result<std::int64_t> removed) {
                    if (!removed) observe::log_error("journal.purge_failed", {{"error", removed.error().detail}});
                    else if (*removed > 0) observe::log_info("journal.purged", {{"messages", *removed}});
                  });
    retention.expires_after(std::chrono::hours(1));
    retention.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) purge();
    });
  };
  purge();

  asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    observe::log_info("server.stopping", {{"signal", signal}});
    for (auto& channel : channels) channel->stop();
    watch.stop();
    retention.cancel();
    http.stop();
    if (https) https->stop();
    for (auto& directory : directories) directory->stop();
    forwarder.stop();
    translator.stop();
    io.stop();  // unacknowledged frames are simply resent by their senders
  });
  asio::signal_set hup(io, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      (void)reload(holder, config, "SIGHUP");
      wait_hup();
    });
  };
  wait_hup();

  std::string channel_ports;
  for (const auto& channel : channels) {
    channel_ports += (channel_ports.empty() ? "" : ",") + channel->channel() + ":" + std::to_string(channel->port());
  }
  // Which MSH-11 processing ids each channel takes: a test deployment fed T messages refuses
  // them all until it lists T, and this line says why at once.
  std::string processing_ids;
  for (const config::MllpConfig& c : config.all_mllp_channels()) {
    std::string ids;
    for (const std::string& id : c.processing_ids) ids += id;
    processing_ids += (processing_ids.empty() ? "" : ",") + c.channel + ":" + ids;
  }
  observe::log_info("server.listening", {{"mllp_port", static_cast<int>(channels.front()->port())},
                                         {"mllp_channels", channel_ports},
                                         {"processing_ids", processing_ids},
                                         {"http_port", static_cast<int>(http.port())},
                                         {"https_port", https ? static_cast<int>(https->port()) : 0},
                                         {"inbound_directories", static_cast<int>(directories.size())},
                                         {"fhir_base_url", config.fhir.base_url},
                                         {"data_dir", config.data_dir},
                                         {"mappings", (*mappings)->mappings().size()}});
  std::vector<std::thread> threads;
  for (int i = 1; i < config.threads; ++i) {
    threads.emplace_back([&io, i] {
      name_this_thread("hb-io-" + std::to_string(i));
      io.run();
    });
  }
  io.run();
  for (auto& t : threads) t.join();
  journal.close();
  observe::log_info("server.stopped");
  return 0;
}

}  // namespace helsebro::app
