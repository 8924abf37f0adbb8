#include "gateway/app/replay.h"

#include <gtest/gtest.h>

#include <future>

#include "gateway/app/mappings.h"
#include "gateway/journal/sqlite_journal.h"
#include "unit/temp_dir.h"

namespace helsebro::app {
namespace {

TEST(ParseUtcTime, ReadsDatesAndUtcTimes) {
  EXPECT_EQ(parse_utc_time("1970-01-02"), 86'400'000);
  EXPECT_EQ(parse_utc_time("2026-11-01T12:00:00Z"), 1'793'534'400'000);
  EXPECT_FALSE(parse_utc_time("2026-11-01T12:00:00"));  // a zone is required
  EXPECT_FALSE(parse_utc_time("01.11.2026"));
  EXPECT_FALSE(parse_utc_time("2026-13-01"));
}

std::int64_t store(Journal& journal, MessageRecord record) {
  std::promise<Result<std::int64_t>> done;
  journal.append(std::move(record), [&](Result<std::int64_t> r) { done.set_value(std::move(r)); });
  return done.get_future().get().value();
}

TEST(Replay, TranslatesDeadLettersAgainWithTheCurrentMappings) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  MessageRecord dead;
  dead.id = "m-dead";
  dead.channel = "mllp";
  dead.sender = "DIPS@STOLAV";
  dead.format = "hl7v2";
  dead.charset = "UNICODE UTF-8";
  dead.payload = "MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ADT^A04|C1|P|2.5\rPID|1||15038510190^^^^FNR||Berg^Ida||20030201|F\rPV1|1|E\r";
  dead.state = MessageState::kDead;
  dead.reason = "HTTP 422: old mapping";
  dead.received_at = 1000;
  store(journal, dead);
  MessageRecord delivered = dead;
  delivered.id = "m-delivered";
  delivered.state = MessageState::kDelivered;
  store(journal, delivered);

  auto set = load_mappings(std::string(HELSEBRO_SOURCE_DIR) + "/mappings");
  ASSERT_TRUE(set);
  MessageQuery query;
  query.state = MessageState::kDead;
  auto summary = replay_messages(journal, **set, query, Clock([] { return EpochMillis{5000}; }));
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 1u);
  auto again = journal.get("m-dead");
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->state, MessageState::kTranslated);
  EXPECT_EQ((*again)->attempts, 0);
  EXPECT_EQ((*again)->reason, "");
  EXPECT_NE((*again)->bundle.find("\"gender\":\"female\""), std::string::npos);
  EXPECT_EQ((*journal.get("m-delivered"))->state, MessageState::kDelivered);  // untouched

  MessageQuery missing;
  missing.ids = {"nope"};
  auto none = replay_messages(journal, **set, missing, Clock{});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->not_found, std::vector<std::string>{"nope"});
}

TEST(Replay, HeldMessagesAreTranslatedOnceAMappingTakesThemAndStayHeldOtherwise) {
  test::TempDir dir;
  journal::SqliteJournal journal(dir.str());
  MessageRecord held;
  held.id = "m-held";
  held.channel = "mllp";
  held.sender = "DIPS@STOLAV";
  held.format = "hl7v2";
  held.charset = "UNICODE UTF-8";
  held.payload = "MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ADT^A04|C1|P|2.5\rPID|1||15038510191^^^^FNR||Berg^Ida||20030201|F\rPV1|1|E\r";
  held.state = MessageState::kHeld;
  held.received_at = 1000;
  store(journal, held);
  MessageRecord unknown = held;
  unknown.id = "m-unknown";
  unknown.payload = "MSH|^~\\&|DIPS|STOLAV|H|H|20261123||ZZZ^Z01|C2|P|2.5\rPID|1\r";
  store(journal, unknown);

  auto set = load_mappings(std::string(HELSEBRO_SOURCE_DIR) + "/mappings");
  ASSERT_TRUE(set);
  MessageQuery query;
  query.state = MessageState::kHeld;
  // The channel accepts the wrong control digits of m-held's fødselsnummer; replay honours that.
  config::MllpConfig channel;
  channel.channel = "mllp";
  channel.accept_invalid_person_id = true;
  auto summary = replay_messages(journal, **set, query, Clock([] { return EpochMillis{5000}; }), {channel});
  ASSERT_TRUE(summary) << summary.error().message();
  EXPECT_EQ(summary->translated, 1u);
  EXPECT_EQ(summary->held, std::vector<std::string>{"m-unknown"});
  EXPECT_TRUE(summary->rejected.empty());
  EXPECT_EQ((*journal.get("m-held"))->state, MessageState::kTranslated);
  EXPECT_EQ((*journal.get("m-unknown"))->state, MessageState::kHeld);
}

}  // namespace
}  // namespace helsebro::app
