#pragma once
// Replay: stored messages go through the current mapping again and back to the forwarder —
// for dead letters once the cause is fixed, held messages once a mapping takes them, or any
// message on request. Every stored format is read again the way it was read on arrival: HL7 v2
// with its channel's rules, KITH e-messages against today's XSDs and kith mappings, FHIR JSON
// against the FHIR R4 validator. Ids, receipt times and order stay, so the resource ids a mapping
// derives from the message come out as before and a replay never duplicates data in the shared
// record.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/core/journal.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::kith {
class SchemaSet;
}

namespace helsebro::app {

struct ReplaySummary {
  std::size_t translated = 0;                                 // queued for delivery again
  std::vector<std::pair<std::string, std::string>> rejected;  // id, why the mapping refused it
  std::vector<std::string> not_found;                         // ids asked for that do not exist
  std::vector<std::string> held;                              // still no mapping for their type
  std::vector<std::pair<std::string, std::string>> skipped;   // id, why it could not be read again
  /// Stopped at `most` messages with more to go: ask again with MessageQuery::after_seq set to
  /// this (the seq of the last message replayed).
  std::optional<std::int64_t> more_after_seq;
  /// The journal failed after some messages were replayed: why. What is counted above was done
  /// (and committed); more_after_seq says where to go on from.
  std::optional<std::string> stopped_by;
};

/// The KITH schemas, or why they cannot be had. Called at most once per replay, and only when
/// the replay meets an e-message.
using KithSchemaProvider = std::function<Result<std::shared_ptr<const kith::SchemaSet>>()>;

/// How messages were read on arrival, to read them the same way again.
struct ReplayRules {
  /// HL7 v2: each channel's rules (accepting invalid person ids) by channel name.
  std::vector<config::MllpConfig> channels;
  /// KITH: our HER-ids (receiver check) and the AppRec version.
  config::KithConfig kith;
  /// KITH: the schemas; unset, e-messages are skipped (named in the summary).
  KithSchemaProvider kith_schemas;
};

/// The rules of a configuration. The schemas (from kith_schema_dir(config)) are loaded the first
/// time a replay needs them and kept for later replays; a failed load is tried again next time.
/// Thread-safe.
ReplayRules replay_rules(const config::Config& config);

/// How many stored messages a replay reads from the journal at a time, payloads and all.
inline constexpr std::size_t kReplayPageSize = 200;
/// The most messages one admin request replays: it runs on one of the server's I/O threads and
/// waits for each commit, so a request for a whole journal must not hold that thread for minutes.
inline constexpr std::size_t kReplayMostPerRequest = 1000;

/// Replays every message the query matches, however many: the journal is read `page_size`
/// messages at a time in seq order (query.limit is not used), so memory stays bounded. A message
/// that comes to match only after the replay has passed its place (made dead again meanwhile) is
/// left for the next replay. Thread-safe as the journal is; waits for each re-translation to be
/// committed. A held message that still has no mapping stays held; one the mapping refuses becomes
/// rejected with the new reason.
Result<ReplaySummary> replay_messages(Journal& journal, const mapping::MappingSet& set,
                                      const MessageQuery& query, const Clock& clock,
                                      const ReplayRules& rules = {},
                                      std::size_t page_size = kReplayPageSize, std::size_t most = 0);

/// What the translation after the ACK did with one message.
struct TranslatedAfterAck {
  std::string id;
  std::string channel;
  MessageState state = MessageState::kRejected;  // translated, rejected or held
  EpochMillis received_at = 0;
  std::string reason;  // why it was rejected: Helsebro's text, which may quote the value refused
  std::string mapping;  // the mapping that translated it
  std::size_t unmapped_fields = 0;  // translated: the non-empty fields that mapping did not read
  std::size_t waived_checks = 0;    // translated: person-id checks the channel waived (counted, as before the ACK)
};

/// The translation of messages acknowledged before it (channels with translate "afterAck"): the
/// oldest `limit` messages in state received go through the current mappings, read as replay
/// reads them, and are committed together (one group commit, not one per message). One that
/// cannot be read again becomes rejected: a message left as received would hold back every later
/// delivery. Waits for the commits; on an error, what was not stored stays received and is
/// read again next time.
Result<std::vector<TranslatedAfterAck>> translate_received(Journal& journal, const mapping::MappingSet& set,
                                                           const Clock& clock, const ReplayRules& rules,
                                                           std::size_t limit);

/// "2026-11-01" or "2026-11-01T12:00:00Z" as Unix milliseconds; nullopt when malformed.
std::optional<EpochMillis> parse_utc_time(const std::string& text);

}  // namespace helsebro::app
