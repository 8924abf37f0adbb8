#include "gateway/observe/probes.h"

namespace helsebro::observe {
namespace {
using L = std::vector<std::string>;
std::string s(std::string_view v) { return std::string(v); }
}  // namespace

ListenProbe::ListenProbe(Registry& r)
    : paused_(r.add("helsebro_listen_backpressure_pauses_total",
                    "Times a connection stopped reading because the undelivered backlog was over its limit, by channel.",
                    MetricType::kCounter, {"channel"})),
      active_(r.add("helsebro_listen_connections", "Open connections, by channel (connections).",
                    MetricType::kGauge, {"channel"})),
      opened_(r.add("helsebro_listen_connections_total", "Connections accepted, by channel.",
                    MetricType::kCounter, {"channel"})),
      refused_(r.add("helsebro_listen_connections_refused_total",
                     "Connections refused, by channel and reason.", MetricType::kCounter,
                     {"channel", "reason"})),
      oversized_(r.add("helsebro_listen_frames_oversized_total",
                       "Frames larger than the configured maximum, by channel.",
                       MetricType::kCounter, {"channel"})),
      abandoned_(r.add("helsebro_listen_frames_abandoned_total",
                       "Frames a start block cut short before their end block, kept as rejected and not "
                       "answered, by channel.",
                       MetricType::kCounter, {"channel"})),
      skipped_(r.add("helsebro_listen_skipped_bytes_total",
                     "Bytes outside any MLLP frame that were skipped, by channel (bytes).",
                     MetricType::kCounter, {"channel"})) {}

void ListenProbe::connection_opened(std::string_view channel) {
  active_.gauge({s(channel)}).add(1);
  opened_.counter({s(channel)}).inc();
}
void ListenProbe::connection_closed(std::string_view channel) { active_.gauge({s(channel)}).add(-1); }
void ListenProbe::connection_refused(std::string_view channel, std::string_view reason) {
  refused_.counter({s(channel), s(reason)}).inc();
}
void ListenProbe::paused(std::string_view channel) { paused_.counter({s(channel)}).inc(); }
void ListenProbe::frame_oversized(std::string_view channel) { oversized_.counter({s(channel)}).inc(); }
void ListenProbe::frame_abandoned(std::string_view channel) { abandoned_.counter({s(channel)}).inc(); }
void ListenProbe::bytes_skipped(std::string_view channel, std::uint64_t n) {
  skipped_.counter({s(channel)}).inc(n);
}

IntakeProbe::IntakeProbe(Registry& r)
    : held_(r.add("helsebro_intake_held_total",
                  "Messages stored as held because no mapping takes their type (channel holdUnmapped).",
                  MetricType::kCounter, {"channel", "message_type"})),
      invalid_person_id_(r.add("helsebro_intake_invalid_person_id_accepted_total",
                               "Fødselsnummer/D-nummer with wrong control digits kept (channel acceptInvalidPersonId).",
                               MetricType::kCounter, {"channel"})),
      unmapped_messages_(r.add("helsebro_mapping_messages_with_unmapped_fields_total",
                               "Translated messages with data their mapping did not read (HL7 v2 components and sub-components, KITH attributes and texts), by mapping.",
                               MetricType::kCounter, {"mapping"})),
      unmapped_fields_(r.add("helsebro_mapping_unmapped_fields_total",
                             "Non-empty HL7 v2 components and sub-components, or KITH attributes and texts, no rule read, summed over messages, by mapping (fields).",
                             MetricType::kCounter, {"mapping"})),
      received_(r.add("helsebro_intake_messages_received_total",
                      "Messages received, by channel, format and message type.", MetricType::kCounter,
                      {"channel", "format", "message_type"})),
      acknowledged_(r.add("helsebro_intake_messages_acknowledged_total",
                          "Messages answered, by channel and the code sent (AA, AE, AR, CA, CE, CR); "
                          "none: no answer (MSH-15/16 asked for none, an ACK received, a cut frame).",
                          MetricType::kCounter, {"channel", "code"})),
      rejected_(r.add("helsebro_intake_messages_rejected_total",
                      "Messages rejected as bad input, by channel and reason.", MetricType::kCounter,
                      {"channel", "reason"})),
      duplicates_(r.add("helsebro_intake_duplicates_total",
                        "Resent messages answered with their original acknowledgement, by channel.",
                        MetricType::kCounter, {"channel"})),
      control_ids_reused_(r.add("helsebro_intake_control_ids_reused_total",
                                "Messages stored although their sender had used the control id "
                                "for other content within the duplicate window, by channel.",
                                MetricType::kCounter, {"channel"})),
      ack_latency_(r.add("helsebro_intake_ack_seconds",
                         "Time from a complete frame to its acknowledgement, by channel (seconds).",
                         MetricType::kHistogram, {"channel"}, latency_buckets())) {}

void IntakeProbe::received(std::string_view channel, std::string_view format, std::string_view type) {
  received_.counter({s(channel), s(format), s(type)}).inc();
}
void IntakeProbe::acknowledged(std::string_view channel, std::string_view code, double seconds) {
  acknowledged_.counter({s(channel), s(code)}).inc();
  if (code != "none") ack_latency_.histogram({s(channel)}).observe(seconds);  // no answer, no time to it
}
void IntakeProbe::rejected(std::string_view channel, std::string_view reason) {
  rejected_.counter({s(channel), s(reason)}).inc();
}
void IntakeProbe::duplicate(std::string_view channel) { duplicates_.counter({s(channel)}).inc(); }
void IntakeProbe::control_id_reused(std::string_view channel) {
  control_ids_reused_.counter({s(channel)}).inc();
}
void IntakeProbe::held(std::string_view channel, std::string_view message_type) {
  held_.counter({s(channel), s(message_type)}).inc();
}
void IntakeProbe::invalid_person_id_accepted(std::string_view channel) {
  invalid_person_id_.counter({s(channel)}).inc();
}
void IntakeProbe::unmapped_fields(std::string_view mapping, std::size_t fields) {
  unmapped_messages_.counter({s(mapping)}).inc();
  unmapped_fields_.counter({s(mapping)}).inc(fields);
}

JournalProbe::JournalProbe(Registry& r)
    : commits_(r.add("helsebro_journal_commits_total", "Journal transactions committed.",
                     MetricType::kCounter)),
      batch_(r.add("helsebro_journal_batch_operations", "Operations per group commit (operations).",
                   MetricType::kHistogram, {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512})),
      commit_latency_(r.add("helsebro_journal_commit_seconds",
                            "Time to write and fsync one group commit (seconds).",
                            MetricType::kHistogram, {}, latency_buckets())),
      failures_(r.add("helsebro_journal_write_failures_total", "Journal writes that failed, by reason.",
                      MetricType::kCounter, {"reason"})),
      depth_(r.add("helsebro_journal_messages", "Messages in the journal, by state (messages).",
                   MetricType::kGauge, {"state"})) {
  // Every reason a write can fail for, at zero: alerts see the first failure.
  for (const char* reason : {"begin", "write", "commit"}) failures_.counter({reason});
}

void JournalProbe::committed(std::size_t operations, double seconds) {
  commits_.counter().inc();
  batch_.histogram().observe(static_cast<double>(operations));
  commit_latency_.histogram().observe(seconds);
}
void JournalProbe::write_failed(std::string_view reason) { failures_.counter({s(reason)}).inc(); }
void JournalProbe::set_depth(std::string_view state, double messages) { depth_.gauge({s(state)}).set(messages); }

ForwardProbe::ForwardProbe(Registry& r)
    : circuit_(r.add("helsebro_forward_circuit_open",
                     "1 while the target's circuit breaker holds deliveries back after repeated failures, by target.",
                     MetricType::kGauge, {"target"})),
      patient_lookups_(r.add("helsebro_patient_lookups_total",
                             "Answers to whether the shared record knows an e-message's patient "
                             "(kith.requireKnownPatient), by result and where the answer came from.",
                             MetricType::kCounter, {"result", "source"})),
      delivered_(r.add("helsebro_forward_messages_delivered_total",
                       "Messages delivered to the shared record, by target.", MetricType::kCounter,
                       {"target"})),
      failed_(r.add("helsebro_forward_attempts_failed_total",
                    "Delivery attempts that failed and will be retried, by target and reason.",
                    MetricType::kCounter, {"target", "reason"})),
      dead_(r.add("helsebro_forward_messages_dead_total",
                  "Messages given up on (dead letters), by target and reason.", MetricType::kCounter,
                  {"target", "reason"})),
      responses_(r.add("helsebro_forward_upstream_responses_total",
                       "HTTP responses from the shared record, by target and status code.",
                       MetricType::kCounter, {"target", "code"})),
      request_latency_(r.add("helsebro_forward_request_seconds",
                             "Duration of one request to the shared record, by target (seconds).",
                             MetricType::kHistogram, {"target"}, latency_buckets())),
      end_to_end_(r.add("helsebro_forward_delivery_seconds",
                        "Time from receipt to delivery, by target (seconds).", MetricType::kHistogram,
                        {"target"}, wait_buckets())) {
  // The one target, at zero from the start: "nothing delivered for 15 minutes" can then be told
  // from "no data", and the circuit reads closed until it opens.
  const std::string target(kTarget);
  delivered_.counter({target});
  circuit_.gauge({target}).set(0);
  request_latency_.histogram({target});
  end_to_end_.histogram({target});
}

void ForwardProbe::delivered(std::string_view target, double seconds_since_received) {
  delivered_.counter({s(target)}).inc();
  end_to_end_.histogram({s(target)}).observe(seconds_since_received);
}
void ForwardProbe::attempt_failed(std::string_view target, std::string_view reason) {
  failed_.counter({s(target), s(reason)}).inc();
}
void ForwardProbe::dead(std::string_view target, std::string_view reason) {
  dead_.counter({s(target), s(reason)}).inc();
}
void ForwardProbe::circuit(std::string_view target, bool open) { circuit_.gauge({s(target)}).set(open ? 1 : 0); }
void ForwardProbe::patient_lookup(std::string_view result, std::string_view source) {
  patient_lookups_.counter({s(result), s(source)}).inc();
}
void ForwardProbe::upstream_response(std::string_view target, int status, double seconds) {
  responses_.counter({s(target), std::to_string(status)}).inc();
  request_latency_.histogram({s(target)}).observe(seconds);
}

}  // namespace helsebro::observe
