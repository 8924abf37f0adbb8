#include "gateway/app/replay.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "adapters/kith/classifier.h"
#include "adapters/kith/schema_set.h"
#include "gateway/app/mappings.h"
#include "gateway/intake/fhir_intake.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/intake/kith_intake.h"
#include "gateway/journal/sqlite_journal.h"
#include "gateway/validate/fhir_validator.h"
#include "tests/unit/adapters/kith/test_support.h"
#include "unit/temp_dir.h"

namespace helsebro::app {
namespace {

namespace fs = std::filesystem;
namespace kt = kith::testing;

constexpr EpochMillis kArrived = 1'764'000'000'000;
const Clock kLater([] { return kArrived + 3'600'000; });

TEST(ParseUtcTime, ReadsDatesAndUtcTimes) {
  EXPECT_EQ(parse_utc_time("1970-01-02"), 86'400'000);
  EXPECT_EQ(parse_utc_time("2026-11-01T12:00:00Z"), 1'793'534'400'000);
  EXPECT_FALSE(parse_utc_time("2026-11-01T12:00:00"));  // a zone is required
  EXPECT_FALSE(parse_utc_time("01.11.2026"));
  EXPECT_FALSE(parse_utc_time("2026-13-01"));
  // A date that does not exist is refused, not moved (2026-02-31 was read as 2026-03-03).
  EXPECT_FALSE(parse_utc_time("2026-02-31"));
  EXPECT_FALSE(parse_utc_time("2026-02-29"));
  EXPECT_EQ(parse_utc_time("2028-02-29"), parse_utc_time("2028-02-28").value() + 86'400'000);  // a leap year
  EXPECT_FALSE(parse_utc_time("2026-11-01T-5:00:00Z"));
  EXPECT_FALSE(parse_utc_time("2026-11-1x"));
  EXPECT_FALSE(parse_utc_time("2026-11-01T12:00:00Zjunk"));
  EXPECT_FALSE(parse_utc_time("2026-11-01T24:00:00Z"));
}

std::int64_t store(Journal& journal, MessageRecord record) {
  std::promise<Result<std::int64_t>> done;
  journal.append(std::move(record), [&](Result<std::int64_t> r) { done.set_value(std::move(r)); });
  return done.get_future().get().value();
}

MessageRecord stored(Journal& journal, const std::string& id) {
  auto found = journal.get(id);
  EXPECT_TRUE(found && *found) << id;
  return found && *found ? **found : MessageRecord{};
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// The repository's mappings, loaded once.
std::shared_ptr<const mapping::MappingSet> repository_mappings() {
  static const auto set = load_mappings(std::string(HELSEBRO_SOURCE_DIR) + "/mappings");
  EXPECT_TRUE(set) << (set ? "" : set.error().message());
  return set ? *set : nullptr;
}

// A copy of the repository's mappings under `dir`; its path.
fs::path copy_mappings(const test::TempDir& dir) {
  const fs::path copy = dir.path() / "mappings";
  fs::copy(fs::path(HELSEBRO_SOURCE_DIR) / "mappings", copy, fs::copy_options::recursive);
  return copy;
}

std::shared_ptr<const mapping::MappingSet> load_from(const fs::path& dir) {
  auto set = load_mappings(dir.string(), kt::kSchemaDir.string());
  EXPECT_TRUE(set) << (set ? "" : set.error().message());
  return set ? *set : nullptr;
}

// A copy of the repository's mappings with `file` (relative to mappings/) edited, loaded.
std::shared_ptr<const mapping::MappingSet> edited_mappings(
    const test::TempDir& dir, const std::string& file,
    const std::function<std::string(std::string)>& edit) {
  const fs::path copy = copy_mappings(dir);
  std::ifstream in(copy / file);
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  std::ofstream(copy / file, std::ios::trunc) << edit(text.str());
  return load_from(copy);
}

ReplayRules kith_rules() {
  ReplayRules rules;
  rules.kith.receiver_her_ids = {std::string(kt::kReceiverHer)};
  rules.kith_schemas = [] { return Result<std::shared_ptr<const kith::SchemaSet>>(kt::schemas()); };
  return rules;
}

// A journal in a directory of its own and the repository's mappings, for each test.
class ReplayStored : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(set); }

  test::TempDir dir;
  journal::SqliteJournal journal{dir.str()};
  std::shared_ptr<const mapping::MappingSet> set = repository_mappings();
};
using TranslateStored = ReplayStored;

MessageQuery by_id(const std::string& id) {
  MessageQuery query;
  query.ids = {id};
  return query;
}

MessageQuery by_state(MessageState state) {
  MessageQuery query;
  query.state = state;
  return query;
}

// --- HL7 v2 ----------------------------------------------------------------------------------

// The record with its fødselsnummer's last control digit wrong (15038510191).
MessageRecord with_wrong_control_digit(MessageRecord r) {
  const std::string valid = "15038510190";
  r.payload.replace(r.payload.find(valid), valid.size(), "15038510191");
  return r;
}

// An HL7 v2 admission the repository's mappings take, stored as a dead letter.
MessageRecord dead_admission(const std::string& id) {
  MessageRecord r;
  r.id = id;
  r.channel = "mllp";
  r.sender = "DIPS@STOLAV";
  r.format = "hl7v2";
  r.charset = "UNICODE UTF-8";
  r.payload =
      "MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ADT^A04|C1|P|2.5\rPID|1||15038510190^^^^FNR||Berg^Ida||"
      "20030201|F\rPV1|1|E\r";
  r.state = MessageState::kDead;
  r.reason = "HTTP 422: old mapping";
  r.received_at = 1000;
  return r;
}

TEST(Replay, TranslatesDeadLettersAgainWithTheCurrentMappings) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  const MessageRecord dead = dead_admission("m-dead");
  store(journal, dead);
  MessageRecord delivered = dead;
  delivered.id = "m-delivered";
  delivered.state = MessageState::kDelivered;
  store(journal, delivered);

  auto set = repository_mappings();
  ASSERT_TRUE(set);
  auto summary = replay_messages(journal, *set, by_state(MessageState::kDead),
                                 Clock([] { return EpochMillis{5000}; }));
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 1u);
  const MessageRecord again = stored(journal, "m-dead");
  EXPECT_EQ(again.state, MessageState::kTranslated);
  EXPECT_EQ(again.attempts, 0);
  EXPECT_EQ(again.reason, "");
  EXPECT_NE(again.bundle.find("\"gender\":\"female\""), std::string::npos);
  EXPECT_EQ(stored(journal, "m-delivered").state, MessageState::kDelivered);  // untouched

  auto none = replay_messages(journal, *set, by_id("nope"), Clock{});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->not_found, std::vector<std::string>{"nope"});
}

TEST(Replay, ReplaysEveryMatchingMessageAcrossPages) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  for (int i = 0; i < 7; ++i) {
    store(journal, dead_admission("m-dead-" + std::to_string(i)));
    MessageRecord delivered = dead_admission("m-delivered-" + std::to_string(i));
    delivered.state = MessageState::kDelivered;
    store(journal, delivered);
  }
  auto set = repository_mappings();
  ASSERT_TRUE(set);

  // Pages of three: 3, 3 and 1 dead letters, the delivered messages between them left out.
  auto summary = replay_messages(journal, *set, by_state(MessageState::kDead), kLater, {}, 3);
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 7u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(stored(journal, "m-dead-" + std::to_string(i)).state, MessageState::kTranslated) << i;
    EXPECT_EQ(stored(journal, "m-delivered-" + std::to_string(i)).state, MessageState::kDelivered)
        << i;
  }

  // By id, one a page: each found on its own page, and the missing one still named.
  MessageQuery some;
  some.ids = {"m-dead-6", "nope", "m-dead-0"};
  auto again = replay_messages(journal, *set, some, kLater, {}, 1);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->translated, 2u);
  EXPECT_EQ(again->not_found, std::vector<std::string>{"nope"});
}

// An admin request replays at most so many (it runs on an I/O thread); its answer says where to
// go on, and the next request, from there, replays the rest.
TEST(Replay, StopsAtTheMostAndSaysWhereToGoOn) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  for (int i = 0; i < 7; ++i) store(journal, dead_admission("m-dead-" + std::to_string(i)));
  auto set = repository_mappings();
  ASSERT_TRUE(set);

  auto first = replay_messages(journal, *set, by_state(MessageState::kDead), kLater, {}, 3, 5);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->translated, 5u);
  ASSERT_TRUE(first->more_after_seq);
  EXPECT_EQ(stored(journal, "m-dead-4").state, MessageState::kTranslated);
  EXPECT_EQ(stored(journal, "m-dead-5").state, MessageState::kDead);
  EXPECT_EQ(*first->more_after_seq, stored(journal, "m-dead-4").seq);

  MessageQuery rest = by_state(MessageState::kDead);
  rest.after_seq = *first->more_after_seq;
  auto second = replay_messages(journal, *set, rest, kLater, {}, 3, 5);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->translated, 2u);
  EXPECT_FALSE(second->more_after_seq);
  EXPECT_EQ(stored(journal, "m-dead-6").state, MessageState::kTranslated);

  // Exactly the most: nothing more to say.
  for (int i = 0; i < 5; ++i) store(journal, dead_admission("m-late-" + std::to_string(i)));
  auto exact = replay_messages(journal, *set, by_state(MessageState::kDead), kLater, {}, 3, 5);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->translated, 5u);
  EXPECT_FALSE(exact->more_after_seq);
}

// The journal fails after some messages were replayed: the answer says what was done and where
// to go on from, not only that it failed (they were queued all the same).
TEST(Replay, AJournalFailureMidwaySaysHowFarTheReplayGot) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  for (int i = 0; i < 5; ++i) store(journal, dead_admission("m-dead-" + std::to_string(i)));
  auto set = repository_mappings();
  ASSERT_TRUE(set);
  int writes = 0;
  journal.set_fault_hook([&writes](journal::FaultPoint point) {
    return point == journal::FaultPoint::kWrite && ++writes > 2;  // the third replay's write fails
  });
  auto partial = replay_messages(journal, *set, by_state(MessageState::kDead), kLater, {}, 2);
  ASSERT_TRUE(partial) << partial.error().message();
  EXPECT_EQ(partial->translated, 2u);
  ASSERT_TRUE(partial->stopped_by);
  EXPECT_NE(partial->stopped_by->find("injected write fault"), std::string::npos) << *partial->stopped_by;
  ASSERT_TRUE(partial->more_after_seq);
  EXPECT_EQ(*partial->more_after_seq, stored(journal, "m-dead-1").seq);
  EXPECT_EQ(stored(journal, "m-dead-2").state, MessageState::kDead);

  // Failing at the first: an error, as before.
  writes = -100;
  journal.set_fault_hook([](journal::FaultPoint point) { return point == journal::FaultPoint::kWrite; });
  MessageQuery rest = by_state(MessageState::kDead);
  EXPECT_FALSE(replay_messages(journal, *set, rest, kLater, {}, 2));
  journal.set_fault_hook(nullptr);
  rest.after_seq = *partial->more_after_seq;
  auto finished = replay_messages(journal, *set, rest, kLater, {}, 2);
  ASSERT_TRUE(finished) << finished.error().message();
  EXPECT_EQ(finished->translated, 3u);
  EXPECT_FALSE(finished->stopped_by);
}

TEST(Replay, HeldMessagesAreTranslatedOnceAMappingTakesThemAndStayHeldOtherwise) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  // The admission, its fødselsnummer with wrong control digits, held instead of dead.
  MessageRecord held = dead_admission("m-held");
  held = with_wrong_control_digit(held);
  held.state = MessageState::kHeld;
  held.reason.clear();
  store(journal, held);
  MessageRecord unknown = held;
  unknown.id = "m-unknown";
  unknown.payload = "MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ZZZ^Z01|C2|P|2.5\rPID|1\r";
  store(journal, unknown);

  auto set = repository_mappings();
  ASSERT_TRUE(set);
  // The channel accepts the wrong control digits of m-held's fødselsnummer; replay honours that.
  config::MllpConfig channel;
  channel.channel = "mllp";
  channel.accept_invalid_person_id = true;
  auto summary = replay_messages(journal, *set, by_state(MessageState::kHeld),
                                 Clock([] { return EpochMillis{5000}; }), ReplayRules{{channel}, {}, {}});
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 1u);
  EXPECT_EQ(summary->held, std::vector<std::string>{"m-unknown"});
  EXPECT_TRUE(summary->rejected.empty());
  EXPECT_EQ(stored(journal, "m-held").state, MessageState::kTranslated);
  EXPECT_EQ(stored(journal, "m-unknown").state, MessageState::kHeld);
}

// The ADT mapping PUTs the MessageHeader and Provenance by ids derived from the message id, and
// records the receipt time: a replay must give the very Bundle of the first translation, or the
// shared record would get a second MessageHeader and Provenance for one message.
TEST_F(ReplayStored, GivesAnHl7v2MessageTheBundleOfItsFirstTranslation) {
  intake::ChannelRules rules;
  const intake::Hl7v2Intake intake(
      rules, [this] { return set; }, Clock([] { return kArrived; }), nullptr);
  intake::PreparedMessage first = intake.prepare(
      "MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ADT^A04|C1|P|2.5\rPID|1||15038510190^^^^FNR||Berg^Ida||"
      "20030201|F\rPV1|1|E\r",
      intake::Peer{"10.0.0.1", {}});
  ASSERT_EQ(first.record.state, MessageState::kTranslated) << first.record.reason;
  ASSERT_TRUE(contains(first.record.bundle, "\"MessageHeader\"")) << first.record.bundle;
  first.record.state = MessageState::kDelivered;
  store(journal, first.record);

  for (int round = 0; round < 2; ++round) {
    auto summary = replay_messages(journal, *set, by_id(first.record.id), kLater);
    ASSERT_TRUE(summary) << summary.error().message();
    EXPECT_EQ(summary->translated, 1u);
    const MessageRecord again = stored(journal, first.record.id);
    EXPECT_EQ(again.state, MessageState::kTranslated);
    EXPECT_EQ(again.received_at, kArrived);
    EXPECT_EQ(again.bundle, first.record.bundle) << "round " << round;
    EXPECT_EQ(again.ordering_key, first.record.ordering_key);
  }
}

// A replay reads a message as its channel read it on arrival, refusals included: a sender the
// channel does not allow stays refused, and a frame over the size limit, of which only the first
// bytes were kept, is not read as if it were the whole message.
TEST_F(ReplayStored, KeepsTheChannelsRefusalsOfSendersAndOversizedFrames) {
  config::Config config;
  config.mllp.channel = "lab";
  config.mllp.allowed_senders.push_back({"", "LIS", "STOLAV"});
  MessageRecord stranger = dead_admission("m-stranger");  // from DIPS@STOLAV
  stranger.channel = "lab";
  stranger.state = MessageState::kRejected;
  stranger.reason = "sender not allowed on this channel: sender DIPS@STOLAV may not send on channel lab";
  store(journal, stranger);
  MessageRecord oversized = dead_admission("m-oversized");
  oversized.channel = "lab";
  oversized.state = MessageState::kRejected;
  oversized.reason = std::string(info(Errc::kFrameTooLarge).summary) + ": the frame is larger than 100 bytes";
  store(journal, oversized);

  auto summary = replay_messages(journal, *set, by_state(MessageState::kRejected), kLater, replay_rules(config));
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 0u);
  EXPECT_EQ(stored(journal, "m-stranger").state, MessageState::kRejected);
  EXPECT_TRUE(contains(stored(journal, "m-stranger").reason, "may not send on channel lab"));
  ASSERT_EQ(summary->skipped.size(), 1u);
  EXPECT_EQ(summary->skipped[0].first, "m-oversized");
  EXPECT_EQ(stored(journal, "m-oversized").state, MessageState::kRejected);
}

// HL7 v2 over HTTP and from inbound directories is stored under channels of its own, read with
// the default MLLP channel's options: a replay reads it with them too.
TEST_F(ReplayStored, ReadsHttpAndDirectoryHl7v2WithTheDefaultChannelsOptions) {
  config::Config config;
  config.mllp.accept_invalid_person_id = true;
  config::InboundDirectoryConfig inbox;
  inbox.channel = "lab-files";
  inbox.format = "hl7v2";
  config.inbound_directories.push_back(inbox);
  for (const char* channel : {"http-hl7v2", "lab-files"}) {
    MessageRecord dead = with_wrong_control_digit(dead_admission(std::string("m-") + channel));
    dead.channel = channel;
    store(journal, dead);
  }
  auto summary = replay_messages(journal, *set, by_state(MessageState::kDead), kLater, replay_rules(config));
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 2u);
  EXPECT_EQ(stored(journal, "m-http-hl7v2").state, MessageState::kTranslated) << stored(journal, "m-http-hl7v2").reason;
  EXPECT_EQ(stored(journal, "m-lab-files").state, MessageState::kTranslated);
}

// A person-id check the channel waives is counted when the message is translated after its ACK,
// as it is when translated before (the translator counts what this reports).
TEST_F(TranslateStored, ReportsTheChecksTheChannelWaived) {
  config::Config config;
  config.mllp.accept_invalid_person_id = true;
  config.mllp.translate_after_ack = true;
  MessageRecord received = with_wrong_control_digit(dead_admission("m-received"));
  received.state = MessageState::kReceived;
  store(journal, received);
  auto done = translate_received(journal, *set, kLater, replay_rules(config), 10);
  ASSERT_TRUE(done) << done.error().message();
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ(done->at(0).state, MessageState::kTranslated) << done->at(0).reason;
  EXPECT_EQ(done->at(0).waived_checks, 1u);
}

// A training message on a channel that takes T was acknowledged under that channel's rules: it
// is translated under them again, not refused for its processing id.
TEST_F(ReplayStored, ReadsAMessageWithTheProcessingIdsItsChannelTakes) {
  config::Config config;
  config.mllp.processing_ids = {"P", "T"};
  MessageRecord training = dead_admission("m-training");
  training.payload.replace(training.payload.find("|C1|P|"), 6, "|C1|T|");
  store(journal, training);
  auto summary = replay_messages(journal, *set, by_state(MessageState::kDead), kLater, replay_rules(config));
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 1u);
  EXPECT_EQ(stored(journal, "m-training").state, MessageState::kTranslated) << stored(journal, "m-training").reason;
}

// --- Translation after the ACK ---------------------------------------------------------------

// A channel translating after the ACK stores the message as received, with an AA; the
// translation gives it the Bundle a translation before the ACK gives, and refusals and missing
// mappings end in rejected and held, never left received.
TEST_F(TranslateStored, GivesTheBundleATranslationBeforeTheAckGives) {
  const std::string adt =
      "MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ADT^A04|C1|P|2.5\rPID|1||15038510190^^^^FNR||Berg^Ida||"
      "20030201|F\rPV1|1|E\r";
  intake::ChannelRules rules;
  const intake::Hl7v2Intake before(rules, [this] { return set; }, Clock([] { return kArrived; }), nullptr);
  rules.translate_after_ack = true;
  const intake::Hl7v2Intake after(rules, [this] { return set; }, Clock([] { return kArrived; }), nullptr);
  const intake::PreparedMessage expected = before.prepare(adt, intake::Peer{"10.0.0.1", {}});
  intake::PreparedMessage arrival = after.prepare(adt, intake::Peer{"10.0.0.1", {}});
  ASSERT_EQ(arrival.record.state, MessageState::kReceived) << arrival.record.reason;
  EXPECT_EQ(arrival.ack_code, "AA");
  EXPECT_EQ(arrival.record.bundle, "");
  EXPECT_EQ(arrival.record.mapping, expected.record.mapping);
  arrival.record.id = expected.record.id;  // the Bundle's ids derive from the message id
  store(journal, arrival.record);
  // Refused by the mapping after its AA: PID-3 has no identifier.
  intake::PreparedMessage refused = after.prepare(
      "MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ADT^A04|C2|P|2.5\rPID|1||||Berg^Ida\rPV1|1|E\r",
      intake::Peer{"10.0.0.1", {}});
  ASSERT_EQ(refused.record.state, MessageState::kReceived);
  store(journal, refused.record);

  auto done = translate_received(journal, *set, kLater, {}, 10);
  ASSERT_TRUE(done) << done.error().message();
  ASSERT_EQ(done->size(), 2u);
  EXPECT_EQ(done->at(0).state, MessageState::kTranslated);
  EXPECT_EQ(done->at(1).state, MessageState::kRejected);
  const MessageRecord translated = stored(journal, expected.record.id);
  EXPECT_EQ(translated.state, MessageState::kTranslated);
  EXPECT_EQ(translated.bundle, expected.record.bundle);
  EXPECT_EQ(translated.ordering_key, expected.record.ordering_key);
  const MessageRecord rejected = stored(journal, refused.record.id);
  EXPECT_EQ(rejected.state, MessageState::kRejected);
  EXPECT_TRUE(contains(rejected.reason, "PID-3")) << rejected.reason;
  EXPECT_EQ(rejected.ack, refused.record.ack);  // the AA the sender got stays on record

  auto again = translate_received(journal, *set, kLater, {}, 10);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(TranslateStored, RejectsAReceivedMessageOfAFormatItCannotReadRatherThanLeaveIt) {
  MessageRecord odd = arriving(kArrived, "somewhere", "10.0.0.1");
  odd.format = "csv";
  odd.payload = "a,b";
  odd.state = MessageState::kReceived;
  store(journal, odd);
  auto done = translate_received(journal, *set, kLater, {}, 10);
  ASSERT_TRUE(done) << done.error().message();
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ(stored(journal, odd.id).state, MessageState::kRejected);
  EXPECT_TRUE(contains(stored(journal, odd.id).reason, "cannot be replayed"));
}

// --- KITH e-messages -------------------------------------------------------------------------

// An e-message as KITH intake stores it, through `set` (null: no mappings, so it is held).
MessageRecord kith_arrival(std::shared_ptr<const mapping::MappingSet> set,
                           const std::string& bytes) {
  kith::ClassifierOptions options;
  options.receiver_her_ids = std::set<std::string>{std::string(kt::kReceiverHer)};
  auto schemas = kt::schemas();
  std::shared_ptr<const kith::SchemaIndex> index(schemas, &schemas->index());
  intake::MappingProvider provider;
  if (set) provider = [set] { return set; };
  const intake::KithIntake intake(intake::KithRules{},
                                  std::make_shared<const kith::Classifier>(schemas, options),
                                  Clock([] { return kArrived; }), nullptr, provider, index);
  return intake.prepare(bytes, "10.0.0.9").record;
}

TEST(Replay, TranslatesAHeldEMessageOnceAMappingTakesItAndOnlyThen) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  const MessageRecord held = kith_arrival(nullptr, kt::dialog_message());
  ASSERT_EQ(held.state, MessageState::kHeld) << held.reason;
  store(journal, held);

  // No kith mapping yet (the HL7 v2 ones only): still held.
  test::TempDir mappings_dir;
  const fs::path copy = copy_mappings(mappings_dir);
  fs::remove(copy / "kith" / "dialogmelding.json");
  auto hl7v2_only = load_from(copy);
  ASSERT_TRUE(hl7v2_only);
  auto summary =
      replay_messages(journal, *hl7v2_only, by_state(MessageState::kHeld), kLater, kith_rules());
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->held, std::vector<std::string>{held.id});
  EXPECT_EQ(summary->translated, 0u);
  EXPECT_EQ(stored(journal, held.id).state, MessageState::kHeld);

  // The Dialogmelding mapping arrives: translated and queued, under its first id and time.
  auto set = repository_mappings();
  ASSERT_TRUE(set);
  summary = replay_messages(journal, *set, by_state(MessageState::kHeld), kLater, kith_rules());
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 1u);
  EXPECT_TRUE(summary->held.empty());
  const MessageRecord translated = stored(journal, held.id);
  EXPECT_EQ(translated.state, MessageState::kTranslated);
  EXPECT_EQ(translated.mapping, "dialogmelding");
  EXPECT_EQ(translated.received_at, kArrived);
  EXPECT_TRUE(contains(translated.bundle, R"("resourceType":"Communication")"))
      << translated.bundle;
  EXPECT_TRUE(contains(translated.ordering_key, kt::kFnr));

  // A second replay gives the same Bundle, and the receipt time in it is still the arrival's.
  summary = replay_messages(journal, *set, by_id(held.id), kLater, kith_rules());
  ASSERT_TRUE(summary);
  EXPECT_EQ(stored(journal, held.id).bundle, translated.bundle);
  EXPECT_TRUE(contains(translated.bundle, R"("recorded":"2025-11-24T16:00:00.000Z")"))
      << translated.bundle;
}

// The Dialogmelding mapping PUTs its MessageHeader and Provenance by ids derived from the message
// id: a replayed e-message must give the Bundle of its first translation, or the shared record
// would get copies of them.
TEST_F(ReplayStored, GivesAnEMessageTheBundleOfItsFirstTranslation) {
  MessageRecord first = kith_arrival(set, kt::dialog_message());
  ASSERT_EQ(first.state, MessageState::kTranslated) << first.reason;
  first.state = MessageState::kDelivered;
  store(journal, first);
  auto summary = replay_messages(journal, *set, by_id(first.id), kLater, kith_rules());
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 1u);
  const MessageRecord again = stored(journal, first.id);
  EXPECT_EQ(again.state, MessageState::kTranslated);
  EXPECT_EQ(again.bundle, first.bundle);
  EXPECT_EQ(again.ordering_key, first.ordering_key);
}

// A Dialogmelding mapping that needs an element the test message does not have (MsgInfo/Ack).
std::string refuse_without_ack(std::string text) {
  const std::string from = R"("status": "completed",)";
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "the Dialogmelding mapping changed: adjust the test";
  if (at == std::string::npos) return text;
  return text.insert(
      at + from.size(),
      R"( "language": { "$path": "/mh:MsgHead/mh:MsgInfo/mh:Ack/@V", "$as": "code", )"
      R"("$required": "MsgInfo/Ack is needed, says the test" },)");
}

TEST(Replay, AnEMessageTheMappingStillRefusesStaysRejectedWithTheNewReason) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  test::TempDir mappings_dir;
  auto refusing = edited_mappings(mappings_dir, "kith/dialogmelding.json", refuse_without_ack);
  ASSERT_TRUE(refusing);
  MessageRecord rejected = kith_arrival(refusing, kt::dialog_message());
  ASSERT_EQ(rejected.state, MessageState::kRejected);
  ASSERT_EQ(rejected.reason.substr(0, 4), "X99:") << rejected.reason;
  store(journal, rejected);
  MessageRecord dead =
      kith_arrival(repository_mappings(),
                   kt::dialog_message({{kt::kMsgId, "0b7c2f4e-1a2b-4c3d-8e9f-a0b1c2d3e4f5"}}));
  ASSERT_EQ(dead.state, MessageState::kTranslated) << dead.reason;
  dead.state = MessageState::kDead;
  dead.reason = "HTTP 422: refused by the server";
  store(journal, dead);

  // Still refused: both end rejected, with today's reason.
  auto summary = replay_messages(journal, *refusing, by_id(rejected.id), kLater, kith_rules());
  ASSERT_TRUE(summary) << summary.error().message();
  summary =
      replay_messages(journal, *refusing, by_state(MessageState::kDead), kLater, kith_rules());
  ASSERT_TRUE(summary) << summary.error().message();
  ASSERT_EQ(summary->rejected.size(), 1u);
  EXPECT_EQ(summary->rejected[0].first, dead.id);
  EXPECT_TRUE(contains(summary->rejected[0].second, "X99: ")) << summary->rejected[0].second;
  EXPECT_EQ(stored(journal, dead.id).state, MessageState::kRejected);
  EXPECT_EQ(stored(journal, dead.id).reason, summary->rejected[0].second);
  EXPECT_EQ(stored(journal, rejected.id).state, MessageState::kRejected);

  // Fixed: the rejected one is translated.
  summary = replay_messages(journal, *repository_mappings(), by_state(MessageState::kRejected),
                            kLater, kith_rules());
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 2u);
  EXPECT_EQ(stored(journal, rejected.id).state, MessageState::kTranslated);
  EXPECT_EQ(stored(journal, rejected.id).reason, "");
}

TEST(Replay, AnEMessageThatFailsItsSchemaStaysRejected) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  const MessageRecord invalid = kith_arrival(
      repository_mappings(), kt::dialog_message({{"<GenDate>2024-03-01T10:15:00</GenDate>", ""}}));
  ASSERT_EQ(invalid.state, MessageState::kRejected);
  ASSERT_EQ(invalid.reason.substr(0, 4), "T02:") << invalid.reason;
  store(journal, invalid);
  auto summary =
      replay_messages(journal, *repository_mappings(), by_id(invalid.id), kLater, kith_rules());
  ASSERT_TRUE(summary) << summary.error().message();
  ASSERT_EQ(summary->rejected.size(), 1u);
  EXPECT_EQ(summary->rejected[0].second.substr(0, 4), "T02:");
  EXPECT_EQ(stored(journal, invalid.id).state, MessageState::kRejected);
}

TEST(Replay, SkipsEMessagesWhenTheKithSchemasCannotBeLoadedAndNamesThem) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  MessageRecord held = kith_arrival(nullptr, kt::dialog_message());
  store(journal, held);
  ReplayRules rules;
  rules.kith_schemas = [] {
    return Result<std::shared_ptr<const kith::SchemaSet>>(
        Error{Errc::kInvalidValue, "no index.json"});
  };
  auto summary = replay_messages(journal, *repository_mappings(), by_state(MessageState::kHeld),
                                 kLater, rules);
  ASSERT_TRUE(summary) << summary.error().message();
  ASSERT_EQ(summary->skipped.size(), 1u);
  EXPECT_EQ(summary->skipped[0].first, held.id);
  EXPECT_TRUE(contains(summary->skipped[0].second, "no index.json"));
  EXPECT_EQ(summary->translated, 0u);
  EXPECT_EQ(stored(journal, held.id).state, MessageState::kHeld);  // left as it was
}

TEST(Replay, ReplayRulesLoadTheKithSchemasOnceAndOnlyWhenNeeded) {
  config::Config config;
  config.kith.configured = true;
  config.kith.schemas_dir = kt::kSchemaDir.string();
  const ReplayRules rules = replay_rules(config);
  auto first = rules.kith_schemas();
  ASSERT_TRUE(first) << first.error().message();
  auto second = rules.kith_schemas();
  ASSERT_TRUE(second);
  EXPECT_EQ(first->get(), second->get());

  config.kith.schemas_dir = "/nonexistent/kith-schemas";
  EXPECT_FALSE(replay_rules(config).kith_schemas());
}

// --- FHIR JSON -------------------------------------------------------------------------------

MessageRecord fhir_arrival(const std::string& body) {
  const intake::FhirIntake intake("http-fhir", validate::FhirValidator::r4(),
                                  Clock([] { return kArrived; }), nullptr);
  return intake.prepare(body, "10.0.0.7").record;
}

const std::string kPatient =
    R"({"resourceType":"Patient","gender":"female","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"24079210087"}]})";

TEST(Replay, RequeuesADeadFhirMessageAfterCheckingItAgain) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  MessageRecord dead = fhir_arrival(kPatient);
  ASSERT_EQ(dead.state, MessageState::kTranslated) << dead.reason;
  const std::string bundle = dead.bundle;
  dead.state = MessageState::kDead;
  dead.reason = "HTTP 422: server refused";
  store(journal, dead);

  auto summary =
      replay_messages(journal, *repository_mappings(), by_state(MessageState::kDead), kLater);
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 1u);
  const MessageRecord again = stored(journal, dead.id);
  EXPECT_EQ(again.state, MessageState::kTranslated);
  EXPECT_EQ(again.bundle, bundle);
  EXPECT_EQ(again.ordering_key, "urn:oid:2.16.578.1.12.4.1.4.1|24079210087");
  EXPECT_EQ(again.mapping, "fhir");
  EXPECT_EQ(again.reason, "");
}

TEST(Replay, AnInvalidFhirMessageStaysRejectedWithItsReason) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  std::string banana = kPatient;
  banana.replace(banana.find("female"), 6, "banana");
  MessageRecord invalid = fhir_arrival(banana);
  ASSERT_EQ(invalid.state, MessageState::kRejected);
  store(journal, invalid);
  auto summary = replay_messages(journal, *repository_mappings(), by_id(invalid.id), kLater);
  ASSERT_TRUE(summary) << summary.error().message();
  ASSERT_EQ(summary->rejected.size(), 1u);
  EXPECT_TRUE(contains(summary->rejected[0].second, "Patient.gender"))
      << summary->rejected[0].second;
  EXPECT_EQ(stored(journal, invalid.id).state, MessageState::kRejected);
}

// --- Every format at once --------------------------------------------------------------------

TEST_F(ReplayStored, CountsEveryStoredFormatByOutcome) {
  const intake::Hl7v2Intake hl7v2(
      {}, [this] { return set; }, Clock([] { return kArrived; }), nullptr);
  std::vector<MessageRecord> dead = {
      hl7v2
          .prepare("MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ADT^A04|C1|P|2.5\rPID|1||15038510190^^^^"
                   "FNR||Berg^Ida||20030201|F\rPV1|1|E\r",
                   intake::Peer{"10.0.0.1", {}})
          .record,
      kith_arrival(set, kt::dialog_message()),
      fhir_arrival(kPatient),
  };
  MessageRecord other = dead.back();
  other.id = "m-other";
  other.format = "edifact";
  dead.push_back(other);
  for (MessageRecord& r : dead) {
    ASSERT_EQ(r.state, MessageState::kTranslated) << r.format << ": " << r.reason;
    r.state = MessageState::kDead;
    store(journal, r);
  }
  auto summary =
      replay_messages(journal, *set, by_state(MessageState::kDead), kLater, kith_rules());
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 3u);
  EXPECT_TRUE(summary->rejected.empty());
  EXPECT_TRUE(summary->held.empty());
  ASSERT_EQ(summary->skipped.size(), 1u);
  EXPECT_EQ(summary->skipped[0].first, "m-other");
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(stored(journal, dead[i].id).state, MessageState::kTranslated);
  EXPECT_EQ(stored(journal, "m-other").state, MessageState::kDead);
}

}  // namespace
}  // namespace helsebro::app
