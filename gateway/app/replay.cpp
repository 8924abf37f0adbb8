#include "gateway/app/replay.h"

#include <algorithm>
#include <ctime>
#include <future>
#include <mutex>
#include <set>

#include "adapters/hl7v2/charset.h"
#include "adapters/kith/classifier.h"
#include "adapters/kith/schema_set.h"
#include "gateway/app/mappings.h"
#include "gateway/intake/fhir_intake.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/intake/kith_intake.h"
#include "gateway/observe/log.h"
#include "gateway/validate/fhir_validator.h"

namespace helsebro::app {

// YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ exactly: every digit where it belongs, a day the month has,
// nothing after. A date that does not exist is refused, not moved to another.
std::optional<EpochMillis> parse_utc_time(const std::string& text) {
  const bool with_time = text.size() == 20;
  if (text.size() != 10 && !with_time) return std::nullopt;
  const std::string_view shape = with_time ? "dddd-dd-ddTdd:dd:ddZ" : "dddd-dd-dd";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return std::nullopt;
  }
  auto number = [&text](std::size_t at, std::size_t length) {
    int n = 0;
    for (std::size_t i = at; i < at + length; ++i) n = n * 10 + (text[i] - '0');
    return n;
  };
  const int y = number(0, 4), mo = number(5, 2), d = number(8, 2);
  const int h = with_time ? number(11, 2) : 0, mi = with_time ? number(14, 2) : 0, s = with_time ? number(17, 2) : 0;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12) return std::nullopt;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int days = kDays[mo - 1] + (mo == 2 && leap ? 1 : 0);
  if (d < 1 || d > days || h > 23 || mi > 59 || s > 59) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<EpochMillis>(timegm(&tm)) * 1000;
}

ReplayRules replay_rules(const config::Config& config) {
  ReplayRules rules;
  rules.channels = config.all_mllp_channels();
  // HL7 v2 over HTTP and from inbound directories is read as the default MLLP channel reads it,
  // under names of its own (server.cpp, http_hl7v2_rules), without its allowed senders.
  auto as_default_mllp = [&config](const std::string& channel) {
    config::MllpConfig c = config.mllp;
    c.channel = channel;
    c.allowed_senders.clear();
    return c;
  };
  rules.channels.push_back(as_default_mllp("http-hl7v2"));
  for (const auto& directory : config.inbound_directories) {
    if (directory.format != "kith") rules.channels.push_back(as_default_mllp(directory.channel));
  }
  rules.kith = config.kith;
  struct Cache {
    std::mutex mutex;
    std::shared_ptr<const kith::SchemaSet> schemas;
  };
  rules.kith_schemas =
      [cache = std::make_shared<Cache>(),
       dir = kith_schema_dir(config)]() -> Result<std::shared_ptr<const kith::SchemaSet>> {
    std::lock_guard lock(cache->mutex);
    if (!cache->schemas) {
      auto loaded = kith::SchemaSet::load(dir);
      if (!loaded) return loaded.error();
      cache->schemas = *loaded;
    }
    return cache->schemas;
  };
  return rules;
}

namespace {

// A stored message read and translated again: what the journal is told, or why it cannot be.
struct Retranslation {
  MessageState state = MessageState::kRejected;
  std::string bundle;
  std::string ordering_key;
  std::string mapping;
  std::string reason;
  std::string skipped;  // not empty: the message was not read again, and is left as it is
  std::size_t unmapped_fields = 0;  // translated: the non-empty fields its mapping did not read
  std::size_t waived_checks = 0;    // translated: person-id checks the channel waived
};

Retranslation from_record(MessageRecord& r) {
  return {r.state,
          std::move(r.bundle),
          std::move(r.ordering_key),
          std::move(r.mapping),
          std::move(r.reason),
          {}};
}

// The intakes of one replay: each format's, built the first time a message of it comes up. They
// count nothing (no probe): a replay is not a message received.
class Readers {
 public:
  Readers(const mapping::MappingSet& set, const Clock& clock, const ReplayRules& rules)
      : set_(set), clock_(clock), rules_(rules) {}

  Retranslation again(const MessageRecord& stored) {
    if (stored.format == "hl7v2") return hl7v2(stored);
    if (stored.format == "kith") return kith(stored);
    if (stored.format == "fhir") return fhir(stored);
    Retranslation skip;
    skip.skipped = "format '" + stored.format + "' cannot be replayed";
    return skip;
  }

 private:
  intake::MappingProvider mappings() const {
    return [set = &set_] { return std::shared_ptr<const mapping::MappingSet>(set, [](auto*) {}); };
  }

  // Read as it was read on arrival: same channel rules (its allowed senders too), same charset.
  Retranslation hl7v2(const MessageRecord& stored) const {
    if (stored.reason.rfind(info(Errc::kFrameTooLarge).summary, 0) == 0) {
      Retranslation skip;  // only the frame's first bytes were kept: the message is not all there
      skip.skipped = "only the first bytes of this frame were kept (it was over the size limit)";
      return skip;
    }
    // The channel's rules whole (its allowed senders, processing ids, person-id and charset
    // options), so that a message acknowledged under them is translated under them.
    intake::ChannelRules rules;
    for (const config::MllpConfig& c : rules_.channels) {
      if (c.channel == stored.channel) rules = intake::channel_rules(c);
    }
    rules.channel = stored.channel;
    // Held messages are replayed to be translated: held again only when still no mapping takes
    // them. Received ones (to be translated after their AA) are held when their mapping has gone
    // meanwhile and the channel holds, as on arrival.
    if (stored.state == MessageState::kHeld) rules.hold_unmapped = true;
    else if (stored.state != MessageState::kReceived) rules.hold_unmapped = false;
    if (auto charset = hl7v2::charset_from_msh18(stored.charset);
        charset && !stored.charset.empty()) {
      rules.parse.forced_charset = *charset;
    }
    const intake::Hl7v2Intake intake(rules, mappings(), clock_, nullptr);
    // The journal keeps one text for the peer: its certificate's subject when it had one, else
    // its address. Given as both, a subject still matches a rule that names it.
    intake::PreparedMessage p = intake.prepare_again(stored, intake::Peer{stored.peer, stored.peer});
    Retranslation t = from_record(p.record);
    t.unmapped_fields = p.unmapped_fields;
    t.waived_checks = p.waived_checks;
    return t;
  }

  Retranslation kith(const MessageRecord& stored) {
    if (!kith_ && kith_unavailable_.empty()) make_kith();
    if (!kith_) {
      Retranslation skip;
      skip.skipped = kith_unavailable_;
      return skip;
    }
    intake::PreparedKith p = kith_->prepare_again(stored);
    Retranslation t = from_record(p.record);
    t.unmapped_fields = p.unmapped_fields;
    return t;
  }

  void make_kith() {
    if (!rules_.kith_schemas) {
      kith_unavailable_ = "KITH schemas not available to replay";
      return;
    }
    auto schemas = rules_.kith_schemas();
    if (!schemas) {
      kith_unavailable_ = "KITH schemas could not be loaded: " + schemas.error().detail;
      return;
    }
    kith::ClassifierOptions options;
    if (!rules_.kith.receiver_her_ids.empty()) {
      options.receiver_her_ids.emplace(rules_.kith.receiver_her_ids.begin(),
                                       rules_.kith.receiver_her_ids.end());
      options.answering_her_id = rules_.kith.receiver_her_ids.front();
    }
    options.limits.max_bytes = rules_.kith.max_body_bytes;
    options.refuse_test_messages = !rules_.kith.accept_test_messages;
    intake::KithRules rules;
    rules.apprec_1_0 = rules_.kith.apprec_version == "1.0";
    std::shared_ptr<const kith::SchemaIndex> index(*schemas, &(*schemas)->index());
    kith_.emplace(std::move(rules),
                  std::make_shared<const kith::Classifier>(*schemas, std::move(options)), clock_,
                  nullptr, mappings(), std::move(index));
  }

  Retranslation fhir(const MessageRecord& stored) {
    if (!fhir_) fhir_.emplace(stored.channel, validate::FhirValidator::r4(), clock_, nullptr);
    intake::PreparedFhir p = fhir_->prepare_again(stored);
    return from_record(p.record);
  }

  const mapping::MappingSet& set_;
  const Clock& clock_;
  const ReplayRules& rules_;
  std::optional<intake::KithIntake> kith_;
  std::string kith_unavailable_;
  std::optional<intake::FhirIntake> fhir_;
};

Result<void> commit(Journal& journal, std::int64_t seq, Journal::AsRead from, Retranslation& t, EpochMillis now) {
  std::promise<Result<void>> done;
  journal.retranslate(seq, from, t.state, std::move(t.bundle), std::move(t.ordering_key),
                      std::move(t.mapping), t.reason, now,
                      [&done](Result<void> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

// One stored message through the current mapping again, committed, and counted in `summary`.
Result<void> replay_one(Journal& journal, Readers& readers, const MessageRecord& stored,
                        const Clock& clock, ReplaySummary& summary) {
  Retranslation again = readers.again(stored);
  if (!again.skipped.empty()) {
    observe::log_warn("replay.skipped",
                      {{"id", stored.id}, {"format", stored.format}, {"reason", again.skipped}});
    summary.skipped.emplace_back(stored.id, std::move(again.skipped));
    return {};
  }
  if (auto committed = commit(journal, stored.seq, {stored.state, stored.revision}, again, clock.now_ms());
      !committed) {
    if (committed.error().code != Errc::kJournalSuperseded) return committed.error();
    // Delivered by the forwarder, or replayed by another process, since the replay read it: the
    // message is left as it is now, and said so.
    observe::log_warn("replay.skipped", {{"id", stored.id}, {"format", stored.format}, {"reason", "changed"}});
    summary.skipped.emplace_back(stored.id, committed.error().detail);
    return {};
  }
  observe::log_info(
      "replay.message",
      {{"id", stored.id}, {"format", stored.format}, {"state", to_string(again.state)}});
  if (again.state == MessageState::kTranslated)
    ++summary.translated;
  else if (again.state == MessageState::kHeld)
    summary.held.push_back(stored.id);
  else
    summary.rejected.emplace_back(stored.id, std::move(again.reason));
  return {};
}

}  // namespace

Result<std::vector<TranslatedAfterAck>> translate_received(Journal& journal, const mapping::MappingSet& set,
                                                           const Clock& clock, const ReplayRules& rules,
                                                           std::size_t limit) {
  MessageQuery query;
  query.state = MessageState::kReceived;
  query.limit = limit;
  auto found = journal.find(query);
  if (!found) return found.error();
  std::vector<TranslatedAfterAck> out;
  if (found->empty()) return out;
  Readers readers(set, clock, rules);
  struct Pending {
    std::mutex mutex;
    std::size_t remaining = 0;
    std::optional<Error> failed;
    std::vector<bool> changed;  // replayed meanwhile: translated by the replay, not here
    std::promise<void> all_done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = found->size();
  pending->changed.assign(found->size(), false);
  auto all_done = pending->all_done.get_future();
  const EpochMillis now = clock.now_ms();
  for (const MessageRecord& stored : *found) {
    Retranslation t = readers.again(stored);
    if (!t.skipped.empty()) {
      // Never left as received: every later message waits behind it for delivery.
      t.state = MessageState::kRejected;
      t.reason = std::move(t.skipped);
    }
    const std::size_t at = out.size();
    out.push_back({stored.id, stored.channel, t.state, stored.received_at, t.reason, t.mapping, t.unmapped_fields,
                   t.waived_checks});
    journal.retranslate(stored.seq, {MessageState::kReceived, stored.revision}, t.state, std::move(t.bundle),
                        std::move(t.ordering_key), std::move(t.mapping), std::move(t.reason), now,
                        [pending, at](Result<void> r) {
                          std::lock_guard lock(pending->mutex);
                          if (!r && r.error().code == Errc::kJournalSuperseded) pending->changed[at] = true;
                          else if (!r && !pending->failed) pending->failed = r.error();
                          if (--pending->remaining == 0) pending->all_done.set_value();
                        });
  }
  all_done.wait();
  if (pending->failed) return *pending->failed;
  std::vector<TranslatedAfterAck> translated;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!pending->changed[i]) translated.push_back(std::move(out[i]));
  }
  return translated;
}

Result<ReplaySummary> replay_messages(Journal& journal, const mapping::MappingSet& set,
                                      const MessageQuery& query, const Clock& clock,
                                      const ReplayRules& rules, std::size_t page_size, std::size_t most) {
  ReplaySummary summary;
  Readers readers(set, clock, rules);
  std::set<std::string> found_ids;  // of those asked for by id
  // Pages follow seq, not state: a replayed message keeps its seq, so each page starts after the
  // last one whatever the replay made of it, and none is read twice.
  MessageQuery page = query;
  page.limit = std::max<std::size_t>(1, page_size);
  std::size_t replayed_count = 0;
  for (;;) {
    if (most > 0) page.limit = std::min(page.limit, most - replayed_count + 1);  // one more: is there?
    // A failure after some messages were replayed: they were, so the answer says how far it got.
    auto stop = [&](const Error& e) -> Result<ReplaySummary> {
      if (replayed_count == 0) return e;
      summary.stopped_by = e.message();
      summary.more_after_seq = page.after_seq;
      return summary;
    };
    auto found = journal.find(page);
    if (!found) return stop(found.error());
    for (const MessageRecord& stored : *found) {
      if (most > 0 && replayed_count == most) {
        summary.more_after_seq = page.after_seq;
        break;
      }
      if (!query.ids.empty()) found_ids.insert(stored.id);
      if (auto replayed = replay_one(journal, readers, stored, clock, summary); !replayed)
        return stop(replayed.error());
      ++replayed_count;
      page.after_seq = stored.seq;
    }
    if (summary.more_after_seq || found->size() < page.limit) break;
  }
  for (const std::string& id : query.ids) {
    if (summary.more_after_seq) break;  // the rest may come in the next request
    if (!found_ids.count(id)) summary.not_found.push_back(id);
  }
  return summary;
}

}  // namespace helsebro::app
