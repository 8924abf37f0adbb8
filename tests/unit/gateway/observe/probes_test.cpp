#include "gateway/observe/probes.h"

#include <gtest/gtest.h>

namespace helsebro::observe {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Probes, EveryPartReportsUnderItsOwnNames) {
  Registry r;
  Probes probes(r);
  probes.listen.connection_opened("mllp");
  probes.listen.connection_opened("mllp");
  probes.listen.connection_closed("mllp");
  probes.listen.connection_refused("mllp", "too_many");
  probes.listen.frame_oversized("mllp");
  probes.listen.bytes_skipped("mllp", 12);
  probes.intake.received("mllp", "hl7v2", "ADT^A04");
  probes.intake.acknowledged("mllp", "AA", 0.003);
  probes.intake.acknowledged("mllp", "none", 0.004);  // counted, no time observed
  probes.intake.rejected("mllp", "not_hl7");
  probes.intake.duplicate("mllp");
  probes.journal.committed(3, 0.002);
  probes.journal.write_failed("commit");
  probes.journal.set_depth("translated", 7);
  probes.forward.delivered("shared-record", 1.5);
  probes.forward.attempt_failed("shared-record", "upstream_transient");
  probes.forward.dead("shared-record", "upstream_permanent");
  probes.forward.upstream_response("shared-record", 503, 0.2);

  const std::string text = r.expose();
  for (const char* line : {
           "helsebro_listen_connections{channel=\"mllp\"} 1\n",
           "helsebro_listen_connections_total{channel=\"mllp\"} 2\n",
           "helsebro_listen_connections_refused_total{channel=\"mllp\",reason=\"too_many\"} 1\n",
           "helsebro_listen_frames_oversized_total{channel=\"mllp\"} 1\n",
           "helsebro_listen_skipped_bytes_total{channel=\"mllp\"} 12\n",
           "helsebro_intake_messages_received_total{channel=\"mllp\",format=\"hl7v2\",message_type=\"ADT^A04\"} 1\n",
           "helsebro_intake_messages_acknowledged_total{channel=\"mllp\",code=\"AA\"} 1\n",
           "helsebro_intake_messages_acknowledged_total{channel=\"mllp\",code=\"none\"} 1\n",
           "helsebro_intake_ack_seconds_bucket{channel=\"mllp\",le=\"0.005\"} 1\n",
           "helsebro_intake_ack_seconds_count{channel=\"mllp\"} 1\n",
           "helsebro_intake_messages_rejected_total{channel=\"mllp\",reason=\"not_hl7\"} 1\n",
           "helsebro_intake_duplicates_total{channel=\"mllp\"} 1\n",
           "helsebro_journal_commits_total 1\n",
           "helsebro_journal_batch_operations_bucket{le=\"2\"} 0\n",
           "helsebro_journal_batch_operations_bucket{le=\"4\"} 1\n",
           "helsebro_journal_batch_operations_sum 3\n",
           "helsebro_journal_commit_seconds_count 1\n",
           "helsebro_journal_write_failures_total{reason=\"commit\"} 1\n",
           "helsebro_journal_messages{state=\"translated\"} 7\n",
           "helsebro_forward_messages_delivered_total{target=\"shared-record\"} 1\n",
           "helsebro_forward_delivery_seconds_sum{target=\"shared-record\"} 1.5\n",
           "helsebro_forward_attempts_failed_total{target=\"shared-record\",reason=\"upstream_transient\"} 1\n",
           "helsebro_forward_messages_dead_total{target=\"shared-record\",reason=\"upstream_permanent\"} 1\n",
           "helsebro_forward_upstream_responses_total{target=\"shared-record\",code=\"503\"} 1\n",
           "helsebro_forward_request_seconds_count{target=\"shared-record\"} 1\n",
       }) {
    EXPECT_TRUE(contains(text, line)) << line << "\n--- in ---\n" << text;
  }
}

// What alerts need before anything has happened: a series at zero, not none.
TEST(Probes, SeriesAlertsWatchExistAtZeroFromTheStart) {
  Registry r;
  Probes probes(r);
  const std::string text = r.expose();
  for (const char* series : {"helsebro_journal_commits_total 0", "helsebro_journal_write_failures_total{reason=\"commit\"} 0",
                             "helsebro_journal_write_failures_total{reason=\"write\"} 0",
                             "helsebro_forward_messages_delivered_total{target=\"fhir\"} 0",
                             "helsebro_forward_circuit_open{target=\"fhir\"} 0",
                             "helsebro_forward_delivery_seconds_count{target=\"fhir\"} 0"}) {
    EXPECT_TRUE(contains(text, std::string("\n") + series + "\n")) << series << "\n" << text;
  }
}

TEST(Probes, EveryFamilyHasHelpAndType) {
  Registry r;
  Probes probes(r);
  const std::string text = r.expose();
  std::size_t help = 0, type = 0;
  for (std::size_t at = 0; (at = text.find("# HELP ", at)) != std::string::npos; ++at) ++help;
  for (std::size_t at = 0; (at = text.find("# TYPE ", at)) != std::string::npos; ++at) ++type;
  EXPECT_EQ(help, type);
  EXPECT_GE(help, 20u);
}

}  // namespace
}  // namespace helsebro::observe
