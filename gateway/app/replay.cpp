#include "gateway/app/replay.h"

#include <ctime>
#include <future>

#include "adapters/hl7v2/charset.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/observe/log.h"

namespace helsebro::app {

std::optional<EpochMillis> parse_utc_time(const std::string& text) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &tail) == 7 && tail == 'Z') {
  } else if (text.size() == 10 && std::sscanf(text.c_str(), "%4d-%2d-%2d", &y, &mo, &d) == 3) {
    h = mi = s = 0;
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<EpochMillis>(timegm(&tm)) * 1000;
}

Result<ReplaySummary> replay_messages(Journal& journal, const mapping::MappingSet& set,
                                      const MessageQuery& query, const Clock& clock,
                                      const std::vector<config::MllpConfig>& channels) {
  auto found = journal.find(query);
  if (!found) return found.error();
  ReplaySummary summary;
  for (const std::string& id : query.ids) {
    bool present = false;
    for (const auto& r : *found) present = present || r.id == id;
    if (!present) summary.not_found.push_back(id);
  }
  for (const MessageRecord& stored : *found) {
    if (stored.format != "hl7v2") continue;
    // Read it as it was read on arrival: same channel, same charset.
    intake::ChannelRules rules;
    rules.channel = stored.channel;
    rules.hold_unmapped = stored.state == MessageState::kHeld;
    for (const config::MllpConfig& c : channels) {
      if (c.channel == stored.channel) rules.accept_invalid_person_id = c.accept_invalid_person_id;
    }
    if (auto charset = hl7v2::charset_from_msh18(stored.charset); charset && !stored.charset.empty()) {
      rules.parse.forced_charset = *charset;
    }
    const intake::Hl7v2Intake intake(rules, [&set] { return std::shared_ptr<const mapping::MappingSet>(&set, [](auto*) {}); },
                                     clock, nullptr);
    const intake::PreparedMessage again = intake.prepare(stored.payload, intake::Peer{stored.peer, {}});
    std::promise<Result<void>> done;
    journal.retranslate(stored.seq, again.record.state, again.record.bundle, again.record.ordering_key,
                        again.record.mapping, again.record.reason, clock.now_ms(),
                        [&done](Result<void> r) { done.set_value(std::move(r)); });
    auto committed = done.get_future().get();
    if (!committed) return committed.error();
    observe::log_info("replay.message", {{"id", stored.id}, {"state", to_string(again.record.state)}});
    if (again.record.state == MessageState::kTranslated) ++summary.translated;
    else if (again.record.state == MessageState::kHeld) summary.held.push_back(stored.id);
    else summary.rejected.emplace_back(stored.id, again.record.reason);
  }
  return summary;
}

}  // namespace helsebro::app
