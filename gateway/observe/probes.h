#pragma once
// Every metric Helsebro exports, declared once per part with help text and unit, and updated
// through intent-named methods. Labels come only from bounded sets (channel, format, message
// type known to a mapping or "other", outcome, reason code) — never an id.

#include <string>
#include <string_view>

#include "gateway/observe/metrics.h"

namespace helsebro::observe {

class ListenProbe {
 public:
  explicit ListenProbe(Registry& r);
  void connection_opened(std::string_view channel);
  void connection_closed(std::string_view channel);
  void connection_refused(std::string_view channel, std::string_view reason);
  void frame_oversized(std::string_view channel);
  /// A frame cut short by the next start block: stored as rejected, not answered.
  void frame_abandoned(std::string_view channel);
  void bytes_skipped(std::string_view channel, std::uint64_t n);
  /// Connections of the channel stopped reading because the backlog was over its limit.
  void paused(std::string_view channel);

 private:
  Family& paused_;
  Family& active_;
  Family& opened_;
  Family& refused_;
  Family& oversized_;
  Family& abandoned_;
  Family& skipped_;
};

class IntakeProbe {
 public:
  explicit IntakeProbe(Registry& r);
  void received(std::string_view channel, std::string_view format, std::string_view message_type);
  /// `code` "none": nothing was sent (counted; no latency observed).
  void acknowledged(std::string_view channel, std::string_view code, double seconds);
  void rejected(std::string_view channel, std::string_view reason);
  void duplicate(std::string_view channel);
  /// A message stored although its sender had used its control id for another message within
  /// the duplicate window.
  void control_id_reused(std::string_view channel);
  /// A translated message had non-empty fields that its mapping did not read.
  void unmapped_fields(std::string_view mapping, std::size_t fields);
  /// A message stored as held: no mapping takes its type yet.
  void held(std::string_view channel, std::string_view message_type);
  /// A fødselsnummer/D-nummer with wrong control digits, kept because the channel allows it.
  void invalid_person_id_accepted(std::string_view channel);

 private:
  Family& held_;
  Family& invalid_person_id_;
  Family& unmapped_messages_;
  Family& unmapped_fields_;
  Family& received_;
  Family& acknowledged_;
  Family& rejected_;
  Family& duplicates_;
  Family& control_ids_reused_;
  Family& ack_latency_;
};

class JournalProbe {
 public:
  explicit JournalProbe(Registry& r);
  void committed(std::size_t operations, double seconds);
  void write_failed(std::string_view reason);
  void set_depth(std::string_view state, double messages);

 private:
  Family& commits_;
  Family& batch_;
  Family& commit_latency_;
  Family& failures_;
  Family& depth_;
};

class ForwardProbe {
 public:
  /// The label of the one target the forwarder delivers to (the shared record's FHIR server).
  static constexpr std::string_view kTarget = "fhir";
  explicit ForwardProbe(Registry& r);
  void delivered(std::string_view target, double seconds_since_received);
  void attempt_failed(std::string_view target, std::string_view reason);
  void dead(std::string_view target, std::string_view reason);
  void upstream_response(std::string_view target, int status, double seconds);
  /// The target's circuit breaker opened (true) or closed again (false).
  void circuit(std::string_view target, bool open);
  /// Whether the record knows a patient (kith.requireKnownPatient): `result` "known", "unknown"
  /// or "unavailable"; `source` "cache", "record" (a search), "overflow" (too many waiting).
  void patient_lookup(std::string_view result, std::string_view source);

 private:
  Family& circuit_;
  Family& patient_lookups_;
  Family& delivered_;
  Family& failed_;
  Family& dead_;
  Family& responses_;
  Family& request_latency_;
  Family& end_to_end_;
};

/// The probes of one gateway process, over one registry.
struct Probes {
  explicit Probes(Registry& r) : registry(r), listen(r), intake(r), journal(r), forward(r) {}
  Registry& registry;
  ListenProbe listen;
  IntakeProbe intake;
  JournalProbe journal;
  ForwardProbe forward;
};

}  // namespace helsebro::observe
