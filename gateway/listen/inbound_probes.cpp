#include "gateway/listen/inbound_probes.h"

#include <string>

#include "gateway/observe/metrics.h"

namespace helsebro::listen {
namespace {
std::string s(std::string_view v) {
  return std::string(v);
}
}  // namespace

using observe::MetricType;

InboxProbe::InboxProbe(observe::Registry& r)
    : taken_(r.add("helsebro_listen_files_taken_total",
                   "Files taken from an inbound directory, by channel.", MetricType::kCounter,
                   {"channel"})),
      processed_(
          r.add("helsebro_listen_files_processed_total",
                "Files moved to processed/ with their reply, their messages accepted, by channel.",
                MetricType::kCounter, {"channel"})),
      error_(r.add("helsebro_listen_files_error_total",
                   "Files moved to error/ with their reply, by channel and reason (rejected, "
                   "too_big, unreadable).",
                   MetricType::kCounter, {"channel", "reason"})),
      recovered_(r.add("helsebro_listen_files_recovered_total",
                       "Files found stored but not moved (the gateway stopped in between), moved "
                       "without storing "
                       "them again, by channel.",
                       MetricType::kCounter, {"channel"})),
      deferred_(r.add("helsebro_listen_files_deferred_total",
                      "Files left in their inbound directory for the next poll after a failure, by "
                      "channel and reason.",
                      MetricType::kCounter, {"channel", "reason"})) {}

void InboxProbe::file_taken(std::string_view channel) {
  taken_.counter({s(channel)}).inc();
}
void InboxProbe::file_processed(std::string_view channel) {
  processed_.counter({s(channel)}).inc();
}
void InboxProbe::file_error(std::string_view channel, std::string_view reason) {
  error_.counter({s(channel), s(reason)}).inc();
}
void InboxProbe::file_recovered(std::string_view channel) {
  recovered_.counter({s(channel)}).inc();
}
void InboxProbe::file_deferred(std::string_view channel, std::string_view reason) {
  deferred_.counter({s(channel), s(reason)}).inc();
}

HttpsProbe::HttpsProbe(observe::Registry& r)
    : refused_(r.add("helsebro_listen_requests_refused_total",
                     "HTTP requests answered before any handler saw them, by listener and reason.",
                     MetricType::kCounter, {"listener", "reason"})) {}

void HttpsProbe::request_refused(std::string_view listener, std::string_view reason) {
  refused_.counter({s(listener), s(reason)}).inc();
}

}  // namespace helsebro::listen
