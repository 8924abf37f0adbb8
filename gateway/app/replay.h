#pragma once
// Replay: stored messages go through the current mapping again and back to the forwarder —
// for dead letters once the cause is fixed, or any message on request. Ids, order and
// deterministic resource ids stay, so a replay never duplicates data in the shared record.

#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/core/journal.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::app {

struct ReplaySummary {
  std::size_t translated = 0;                                   // queued for delivery again
  std::vector<std::pair<std::string, std::string>> rejected;    // id, why the mapping refused it
  std::vector<std::string> not_found;                           // ids asked for that do not exist
  std::vector<std::string> held;                                // still no mapping for their type
};

/// Thread-safe as the journal is; waits for each re-translation to be committed. `channels`
/// gives each message its channel's rules again (accepting invalid person ids); a held message
/// that still has no mapping stays held.
Result<ReplaySummary> replay_messages(Journal& journal, const mapping::MappingSet& set,
                                      const MessageQuery& query, const Clock& clock,
                                      const std::vector<config::MllpConfig>& channels = {});

/// "2026-11-01" or "2026-11-01T12:00:00Z" as Unix milliseconds; nullopt when malformed.
std::optional<EpochMillis> parse_utc_time(const std::string& text);

}  // namespace helsebro::app
