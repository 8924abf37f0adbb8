#include "gateway/intake/hl7v2_intake.h"

#include <gtest/gtest.h>

#include "adapters/hl7v2/ack.h"
#include "gateway/app/mappings.h"
#include "gateway/observe/metrics.h"
#include "gateway/observe/probes.h"

namespace helsebro::intake {
namespace {

// The repository's own mapping set: Intake is tested against what the gateway serves.
std::shared_ptr<const mapping::MappingSet> repository_mappings() {
  static auto set = app::load_mappings(std::string(HELSEBRO_SOURCE_DIR) + "/mappings").value();
  return set;
}

Hl7v2Intake make_intake(ChannelRules rules = {}) {
  return Hl7v2Intake(std::move(rules), [] { return repository_mappings(); },
                     Clock([] { return EpochMillis{1'764'000'000'000}; }), nullptr);
}

const Peer kPeer{"10.0.0.1", {}};

std::string adt(const std::string& pid3, const std::string& type = "ADT^A04") {
  return "MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500||" + type + "|CTRL1|P|2.5\r"
         "PID|1||" + pid3 + "||Nordmann^Kari||19850315|F\r"
         "PV1|1|I\r";
}

TEST(Hl7v2Intake, TranslatesAMappedMessageAndPreparesAnAA) {
  const PreparedMessage p = make_intake().prepare(adt("15038510190^^^^FNR"), kPeer);
  EXPECT_EQ(p.record.state, MessageState::kTranslated);
  EXPECT_EQ(p.ack_code, "AA");
  EXPECT_EQ(p.record.message_type, "ADT^A04");
  EXPECT_EQ(p.record.control_id, "CTRL1");
  EXPECT_EQ(p.record.sender, "DIPS@STOLAV");
  EXPECT_EQ(p.record.mapping, "adt-patient-encounter");
  EXPECT_EQ(p.record.ordering_key, "urn:oid:2.16.578.1.12.4.1.4.1|15038510190");
  EXPECT_NE(p.record.bundle.find("\"type\":\"transaction\""), std::string::npos);
  EXPECT_EQ(p.record.received_at, 1'764'000'000'000);
  auto ack = hl7v2::read_ack(p.ack);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->code, "AA");
  EXPECT_EQ(ack->control_id, "CTRL1");
  // No MSH-18 declared, ASCII bytes: the ACK declares none either.
  EXPECT_EQ(p.ack.substr(0, p.ack.find('\r')).find("ASCII"), std::string::npos) << p.ack;
  EXPECT_EQ(p.ack.substr(0, p.ack.find('\r')).back(), '5') << p.ack;  // ends at MSH-12, 2.5
}

// A training (T) or debugging (D) message must not reach the production record: AR, ERR 202.
TEST(Hl7v2Intake, RefusesAProcessingIdTheChannelDoesNotTakeWithAR) {
  std::string training = adt("15038510190^^^^FNR");
  training.replace(training.find("|CTRL1|P|"), 9, "|CTRL1|T|");
  const PreparedMessage p = make_intake().prepare(training, kPeer);
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.ack_code, "AR");
  EXPECT_NE(p.record.reason.find("processing id T is not taken on channel mllp (it takes P)"), std::string::npos)
      << p.record.reason;
  EXPECT_NE(p.ack.find("ERR||MSH^1^11|202^Unsupported processing id^HL70357|E|"), std::string::npos) << p.ack;

  ChannelRules test_channel;
  test_channel.processing_ids = {"T", "D"};
  EXPECT_EQ(make_intake(test_channel).prepare(training, kPeer).ack_code, "AA");
  // "P^T": processing id P, mode T (current processing); and a message without MSH-11.
  std::string with_mode = adt("15038510190^^^^FNR");
  with_mode.replace(with_mode.find("|CTRL1|P|"), 9, "|CTRL1|P^T|");
  EXPECT_EQ(make_intake().prepare(with_mode, kPeer).ack_code, "AA");
  std::string without = adt("15038510190^^^^FNR");
  without.replace(without.find("|CTRL1|P|"), 9, "|CTRL1||");
  EXPECT_EQ(make_intake().prepare(without, kPeer).ack_code, "AA");
}

TEST(Hl7v2Intake, RejectsInputThatIsNotHl7WithAR) {
  const PreparedMessage p = make_intake().prepare("hello", kPeer);
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.ack_code, "AR");
  EXPECT_NE(p.record.reason.find("not an HL7 v2 message"), std::string::npos);
  EXPECT_EQ(p.record.payload, "hello");  // kept for inspection
  EXPECT_NE(p.ack.find("MSA|AR|"), std::string::npos);
}

TEST(Hl7v2Intake, RejectsAMessageTypeWithoutMappingWithAR) {
  const PreparedMessage p = make_intake().prepare(adt("15038510190^^^^FNR", "ZZZ^Z01"), kPeer);
  EXPECT_EQ(p.ack_code, "AR");
  EXPECT_EQ(p.metric_type, "other");
  EXPECT_NE(p.record.reason.find("ZZZ^Z01"), std::string::npos);
}

TEST(Hl7v2Intake, RejectsAnInvalidFodselsnummerWithAENamingTheField) {
  const PreparedMessage p = make_intake().prepare(adt("15038510191^^^^FNR"), kPeer);
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.ack_code, "AE");
  EXPECT_NE(p.ack.find("ERR||PID^1^3^1^1|102^"), std::string::npos) << p.ack;
}

TEST(Hl7v2Intake, HoldsAnUnmappedTypeWhenTheChannelSaysSo) {
  ChannelRules rules;
  rules.hold_unmapped = true;
  const PreparedMessage p = make_intake(rules).prepare(adt("15038510190^^^^FNR", "ZZZ^Z01"), kPeer);
  EXPECT_EQ(p.record.state, MessageState::kHeld);
  EXPECT_EQ(p.ack_code, "AA");  // stored for a mapping to come: the sender need not resend
  EXPECT_TRUE(p.record.bundle.empty());
  EXPECT_NE(p.record.reason.find("no mapping takes ZZZ^Z01"), std::string::npos);
  EXPECT_FALSE(p.record.payload.empty());
  // Mapped types are translated as usual on such a channel.
  EXPECT_EQ(make_intake(rules).prepare(adt("15038510190^^^^FNR"), kPeer).record.state, MessageState::kTranslated);
}

// MSH-9 is the sender's text: as a metric label it would make a series of its own for every
// text a sender writes. A held type, which no mapping knows, is counted as "other".
TEST(Hl7v2Intake, CountsHeldMessagesWithoutTheSendersTypeAsALabel) {
  observe::Registry registry;
  observe::IntakeProbe probe(registry);
  ChannelRules rules;
  rules.channel = "lab";
  rules.hold_unmapped = true;
  Hl7v2Intake intake(rules, [] { return repository_mappings(); }, Clock([] { return EpochMillis{1}; }), &probe);
  for (const char* type : {"ZZZ^Z01", "ZZZ^Z02", "QQQ^Q99"}) {
    EXPECT_EQ(intake.prepare(adt("15038510190^^^^FNR", type), kPeer).record.state, MessageState::kHeld);
  }
  const std::string exposed = registry.expose();
  EXPECT_EQ(exposed.find("Z01"), std::string::npos) << exposed;
  EXPECT_NE(exposed.find(R"(helsebro_intake_held_total{channel="lab",message_type="other"} 3)"), std::string::npos)
      << exposed;
}

TEST(Hl7v2Intake, AcceptsAnInvalidFodselsnummerWhenTheChannelSaysSo) {
  ChannelRules rules;
  rules.accept_invalid_person_id = true;
  const PreparedMessage p = make_intake(rules).prepare(adt("15038510191^^^^FNR"), kPeer);
  EXPECT_EQ(p.record.state, MessageState::kTranslated);
  EXPECT_EQ(p.ack_code, "AA");
  EXPECT_NE(p.record.bundle.find("15038510191"), std::string::npos);  // kept as sent
  // Not waived: something that is not 11 digits is no fødselsnummer at all.
  EXPECT_EQ(make_intake(rules).prepare(adt("1503851019^^^^FNR"), kPeer).ack_code, "AE");
}

TEST(Hl7v2Intake, RejectsAMessageWithoutPatientIdentifierWithAE) {
  const PreparedMessage p = make_intake().prepare(adt("H998877^^^^PI"), kPeer);
  EXPECT_EQ(p.ack_code, "AE");
  EXPECT_NE(p.ack.find("101^Required field missing^HL70357"), std::string::npos) << p.ack;
}

TEST(Hl7v2Intake, RejectsAMessageWithoutControlId) {
  const PreparedMessage p =
      make_intake().prepare("MSH|^~\\&|A|B|C|D|20261123||ADT^A04||P|2.5\rPID|1\r", kPeer);
  EXPECT_EQ(p.ack_code, "AE");
  EXPECT_NE(p.record.reason.find("MSH-10"), std::string::npos);
}

TEST(Hl7v2Intake, AnswersAnOversizedFrameWithARNamingItsControlId) {
  const PreparedMessage p = make_intake().prepare_oversized(adt("15038510190^^^^FNR").substr(0, 90), 1024, kPeer);
  EXPECT_EQ(p.ack_code, "AR");
  EXPECT_NE(p.ack.find("MSA|AR|CTRL1"), std::string::npos) << p.ack;
  EXPECT_NE(p.record.reason.find("larger than 1024 bytes"), std::string::npos);
}

TEST(Hl7v2Intake, AnswersAFailedStoreWithAENotAA) {
  auto intake = make_intake();
  const PreparedMessage p = intake.prepare(adt("15038510190^^^^FNR"), kPeer);
  const std::string nak = intake.storage_failed_ack(p);
  auto ack = hl7v2::read_ack(nak);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->code, "AE");
  EXPECT_EQ(ack->control_id, "CTRL1");
  EXPECT_NE(nak.find("207^Application internal error"), std::string::npos);
}

TEST(Hl7v2Intake, AnswersInTheMessagesOwnCharset) {
  const std::string latin1 =
      "MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123||ADT^A04|CTRL2|P|2.5||||||8859/1\r"
      "PID|1||15038510190^^^^FNR||S\xF8rensen^\xC5se\rPV1|1|I\r";
  const PreparedMessage p = make_intake().prepare(latin1, kPeer);
  EXPECT_EQ(p.ack_code, "AA");
  EXPECT_NE(p.record.bundle.find("Sørensen"), std::string::npos);
  EXPECT_NE(p.ack.find("|8859/1"), std::string::npos);
}

std::string adt_with(const std::string& msh_tail, const std::string& control = "CTRL1") {
  return "MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500||ADT^A04|" + control + "|P|2.5" + msh_tail + "\r"
         "PID|1||15038510190^^^^FNR||Nordmann^Kari||19850315|F\rPV1|1|I\r";
}

TEST(Hl7v2Intake, AnswersEnhancedModeWithCommitAcknowledgements) {
  const PreparedMessage p = make_intake().prepare(adt_with("|||AL|NE"), kPeer);
  EXPECT_EQ(p.mode, AckMode::kEnhanced);
  EXPECT_EQ(p.ack_code, "CA");
  EXPECT_TRUE(p.send_ack);
  EXPECT_NE(p.ack.find("MSA|CA|CTRL1"), std::string::npos) << p.ack;
}

TEST(Hl7v2Intake, EnhancedModeSendsNoAcknowledgementWhenAskedForNone) {
  EXPECT_FALSE(make_intake().prepare(adt_with("|||NE|NE"), kPeer).send_ack);
  // ER: only errors are acknowledged; SU: only successes.
  EXPECT_FALSE(make_intake().prepare(adt_with("|||ER|NE"), kPeer).send_ack);
  EXPECT_TRUE(make_intake().prepare(adt_with("|||SU|NE"), kPeer).send_ack);
  const PreparedMessage refused = make_intake().prepare(
      "MSH|^~\\&|DIPS|STOLAV|H|H|2026||ZZZ^Z01|C9|P|2.5|||ER|NE\rPID|1\r", kPeer);
  EXPECT_EQ(refused.ack_code, "CR");
  EXPECT_TRUE(refused.send_ack);
}

// MSH-15 NE with MSH-16 AL or ER: no accept acknowledgement, but the sender asked for the
// application's, which Helsebro knows when it answers: AA/AE/AR, never silence on an error.
TEST(Hl7v2Intake, EnhancedModeAnswersWithTheApplicationAckWhenOnlyThatIsAskedFor) {
  const std::string bad_fnr = "15038510191^^^^FNR";
  auto with_pid = [](std::string message, const std::string& pid3) {
    message.replace(message.find("15038510190^^^^FNR"), 18, pid3);
    return message;
  };
  for (const char* tail : {"|||NE|AL", "|||NE|ER"}) {
    const PreparedMessage refused = make_intake().prepare(with_pid(adt_with(tail), bad_fnr), kPeer);
    EXPECT_EQ(refused.record.state, MessageState::kRejected) << tail;
    EXPECT_TRUE(refused.send_ack) << tail;
    EXPECT_EQ(refused.ack_code, "AE") << tail;
    EXPECT_NE(refused.ack.find("MSA|AE|CTRL1"), std::string::npos) << refused.ack;
  }
  const PreparedMessage accepted = make_intake().prepare(adt_with("|||NE|AL"), kPeer);
  EXPECT_TRUE(accepted.send_ack);
  EXPECT_EQ(accepted.ack_code, "AA");
  EXPECT_FALSE(make_intake().prepare(adt_with("|||NE|ER"), kPeer).send_ack);  // ER: only on error
  EXPECT_TRUE(make_intake().prepare(adt_with("|||NE|SU"), kPeer).send_ack);
  // The accept acknowledgement, when asked for, is the answer as before.
  EXPECT_EQ(make_intake().prepare(with_pid(adt_with("|||AL|AL"), bad_fnr), kPeer).ack_code, "CE");
  // On a channel that translates after the ACK, a sender asking for the application's answer and
  // no accept acknowledgement gets it all the same: its message is translated before the answer.
  ChannelRules after;
  after.translate_after_ack = true;
  const PreparedMessage late = make_intake(after).prepare(adt_with("|||NE|AL"), kPeer);
  EXPECT_EQ(late.record.state, MessageState::kTranslated);
  EXPECT_TRUE(late.send_ack);
  EXPECT_EQ(late.ack_code, "AA");
  const PreparedMessage late_refused = make_intake(after).prepare(with_pid(adt_with("|||NE|ER"), bad_fnr), kPeer);
  EXPECT_TRUE(late_refused.send_ack);
  EXPECT_EQ(late_refused.ack_code, "AE");
  // Asked for the accept acknowledgement: answered at once, translated afterwards, as before.
  EXPECT_EQ(make_intake(after).prepare(adt_with("|||AL|AL"), kPeer).record.state, MessageState::kReceived);
}

// MSH-15 spelt other than table 0155 has it ("al", "AL ") is the value meant; one the table does
// not have is answered as AL: a sender that gets no answer at all waits for it for ever.
TEST(Hl7v2Intake, AnAcknowledgementTypeTheTableDoesNotHaveIsAnsweredAsAL) {
  for (const char* tail : {"|||XX|NE", "|||al|NE", "|||AL |NE", "|||?|"}) {
    const PreparedMessage p = make_intake().prepare(adt_with(tail), kPeer);
    EXPECT_TRUE(p.send_ack) << tail;
    EXPECT_EQ(p.ack_code, "CA") << tail;
  }
  EXPECT_FALSE(make_intake().prepare(adt_with("|||ne|ne"), kPeer).send_ack);
  EXPECT_FALSE(make_intake().prepare(adt_with("||| NE|NE"), kPeer).send_ack);
}

// An acknowledgement sent to the listener is kept, and never acknowledged: two systems answering
// each other's answers would not stop.
TEST(Hl7v2Intake, AnAcknowledgementIsKeptAndNotAnswered) {
  const PreparedMessage p = make_intake().prepare(
      "MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500||ACK^A04^ACK|ACK1|P|2.5\rMSA|AA|X1\r", kPeer);
  EXPECT_EQ(p.record.state, MessageState::kHeld);
  EXPECT_FALSE(p.send_ack);
  EXPECT_FALSE(p.answerable);
  EXPECT_EQ(p.record.control_id, "ACK1");
}

TEST(Hl7v2Intake, AFailedStoreIsAnsweredOnlyAsTheSenderAsked) {
  Hl7v2Intake intake = make_intake();
  EXPECT_EQ(intake.storage_failed_ack(intake.prepare(adt_with("|||NE|NE"), kPeer)), "");
  EXPECT_NE(intake.storage_failed_ack(intake.prepare(adt_with("|||NE|ER"), kPeer)).find("MSA|AE|CTRL1"),
            std::string::npos);
  EXPECT_NE(intake.storage_failed_ack(intake.prepare(adt_with("|||ER|NE"), kPeer)).find("MSA|CE|CTRL1"),
            std::string::npos);
  EXPECT_NE(intake.storage_failed_ack(intake.prepare(adt_with(""), kPeer)).find("MSA|AE|CTRL1"), std::string::npos);
}

TEST(Hl7v2Intake, RefusesSendersTheChannelDoesNotAllow) {
  ChannelRules rules;
  rules.allowed = {{"", "", "AHUS"}, {"/CN=lab.stolav.no", "", ""}};
  const PreparedMessage refused = make_intake(rules).prepare(adt("15038510190^^^^FNR"), kPeer);
  EXPECT_EQ(refused.ack_code, "AR");
  EXPECT_NE(refused.record.reason.find("may not send on channel"), std::string::npos);
  const PreparedMessage by_certificate =
      make_intake(rules).prepare(adt("15038510190^^^^FNR"), Peer{"10.0.0.1", "/CN=lab.stolav.no"});
  EXPECT_EQ(by_certificate.ack_code, "AA");
  EXPECT_EQ(by_certificate.record.peer, "/CN=lab.stolav.no");
}

TEST(Hl7v2Intake, ChannelCharsetOverridesAWrongMsh18) {
  const std::string wrong = "MSH|^~\\&|DIPS|STOLAV|H|H|2026||ADT^A04|C1|P|2.5||||||UNICODE UTF-8\r"
                            "PID|1||15038510190^^^^FNR||S\xF8rensen\rPV1|1|I\r";
  EXPECT_EQ(make_intake().prepare(wrong, kPeer).ack_code, "AE");
  ChannelRules rules;
  rules.parse.fallback_charset = hl7v2::Charset::kLatin1;
  const PreparedMessage rescued = make_intake(rules).prepare(wrong, kPeer);
  EXPECT_EQ(rescued.ack_code, "AA");
  EXPECT_NE(rescued.record.bundle.find("Sørensen"), std::string::npos);
  // The ACK is written in the set the message was read in, and its MSH-18 says so: not the
  // UTF-8 the message wrongly declared.
  EXPECT_NE(rescued.ack.find("|8859/1\r"), std::string::npos) << rescued.ack;
  EXPECT_EQ(rescued.ack.find("UNICODE UTF-8"), std::string::npos) << rescued.ack;
}

TEST(Hl7v2Intake, SplitsABatchIntoMessagesAndAnswersWithABatchAck) {
  const std::string batch = "BHS|^~\\&|DIPS|STOLAV|||20261123||||B1\r" + adt_with("", "M1") +
                            adt_with("", "M2") + "BTS|2\r";
  auto intake = make_intake();
  const PreparedFrame frame = intake.prepare_frame(batch, kPeer);
  ASSERT_TRUE(frame.batch);
  ASSERT_EQ(frame.messages.size(), 2u);
  EXPECT_EQ(frame.messages[0].record.control_id, "M1");
  EXPECT_EQ(frame.messages[1].record.control_id, "M2");
  EXPECT_EQ(frame.batch_control_id, "B1");
  const std::string ack = intake.batch_ack(frame, {frame.messages[0].ack, frame.messages[1].ack});
  // From the batch's receiver (ours when it named none) back to its sender, at an HL7 time,
  // naming the batch answered in BHS-12.
  EXPECT_EQ(ack.rfind("BHS|^~\\&|HELSEBRO|HELSEBRO|DIPS|STOLAV|20251124160000+0000|||||B1\r", 0), 0u) << ack;
  EXPECT_NE(ack.find("MSA|AA|M1"), std::string::npos);
  EXPECT_NE(ack.find("MSA|AA|M2"), std::string::npos);
  EXPECT_NE(ack.find("BTS|2\r"), std::string::npos);
}

// A frame cut short by a start block: kept as rejected, never answered (its resend would share
// its control id), not even when its store fails.
TEST(Hl7v2Intake, ACutFrameIsKeptButNeverAnswered) {
  auto intake = make_intake();
  const PreparedMessage p = intake.prepare_abandoned(adt("15038510190^^^^FNR").substr(0, 60), kPeer);
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_NE(p.record.reason.find("cut short"), std::string::npos) << p.record.reason;
  EXPECT_FALSE(p.send_ack);
  EXPECT_FALSE(p.answerable);
  EXPECT_EQ(p.ack_code, "none");
}

// A batch may hold no message: answered as an empty batch, nothing stored.
TEST(Hl7v2Intake, AnswersAnEmptyBatchWithAnEmptyBatch) {
  auto intake = make_intake();
  const PreparedFrame frame = intake.prepare_frame("BHS|^~\\&|DIPS|STOLAV|||20261123||||B0\rBTS|0\r", kPeer);
  ASSERT_TRUE(frame.batch);
  EXPECT_TRUE(frame.messages.empty());
  const std::string ack = intake.batch_ack(frame, {});
  EXPECT_EQ(ack.rfind("BHS|^~\\&|HELSEBRO|HELSEBRO|DIPS|STOLAV|", 0), 0u) << ack;
  EXPECT_EQ(ack.substr(ack.size() - 6), "BTS|0\r") << ack;
  // A batch whose BTS counts a message it does not hold is still refused.
  const PreparedFrame wrong = intake.prepare_frame("BHS|^~\\&|DIPS|STOLAV\rBTS|1\r", kPeer);
  ASSERT_EQ(wrong.messages.size(), 1u);
  EXPECT_EQ(wrong.messages[0].ack_code, "AE");
}

// A file of one batch, with its own delimiters: answered as a file, every segment in them.
TEST(Hl7v2Intake, AnswersAFileBatchAsAFileInItsOwnDelimiters) {
  const std::string message = "MSH*^~\\&*DIPS*STOLAV*HELSEBRO*HMN*20261123101500**ADT^A04*M1*P*2.5\r"
                              "PID*1**15038510190^^^^FNR**Nordmann^Kari**19850315*F\rPV1*1*I\r";
  const std::string file = "FHS*^~\\&*DIPS*STOLAV*HELSEBRO*HMN*20261123****F1\r"
                           "BHS*^~\\&*DIPS*STOLAV*HELSEBRO*HMN*20261123****B1\r" + message + "BTS*1\rFTS*1\r";
  auto intake = make_intake();
  const PreparedFrame frame = intake.prepare_frame(file, kPeer);
  ASSERT_TRUE(frame.batch);
  ASSERT_EQ(frame.messages.size(), 1u);
  const std::string ack = intake.batch_ack(frame, {frame.messages[0].ack});
  EXPECT_EQ(ack.rfind("FHS*^~\\&*HELSEBRO*HMN*DIPS*STOLAV*20251124160000+0000*****F1\r"
                      "BHS*^~\\&*HELSEBRO*HMN*DIPS*STOLAV*20251124160000+0000*****B1\rMSH*",
                      0),
            0u)
      << ack;
  EXPECT_NE(ack.find("MSA*AA*M1"), std::string::npos) << ack;
  EXPECT_EQ(ack.substr(ack.size() - 12), "BTS*1\rFTS*1\r") << ack;
}

// A file of two batches: each is answered by a batch of its own, naming it in BHS-12 and holding
// its own messages' acknowledgements; FTS counts the batches. Only the last was answered before.
TEST(Hl7v2Intake, AnswersEachBatchOfAFile) {
  const std::string file = "FHS|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123||||F1\r"
                           "BHS|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123||||BATCHA\r" +
                           adt_with("", "A1") + "BTS|1\r"
                           "BHS|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123||||BATCHB\r" +
                           adt_with("", "B1") + adt_with("", "B2") + "BTS|2\rFTS|2\r";
  auto intake = make_intake();
  const PreparedFrame frame = intake.prepare_frame(file, kPeer);
  ASSERT_TRUE(frame.batch);
  ASSERT_EQ(frame.messages.size(), 3u);
  std::vector<std::string> acks;
  for (const auto& m : frame.messages) acks.push_back(m.ack);
  const std::string ack = intake.batch_ack(frame, acks);
  const auto a = ack.find("|BATCHA\r");
  const auto b = ack.find("|BATCHB\r");
  ASSERT_NE(a, std::string::npos) << ack;
  ASSERT_NE(b, std::string::npos) << ack;
  for (const char* part : {"MSA|AA|A1", "MSA|AA|B1", "MSA|AA|B2", "BTS|1\r", "BTS|2\r"})
    ASSERT_NE(ack.find(part), std::string::npos) << part << " in " << ack;
  EXPECT_LT(a, ack.find("MSA|AA|A1")) << ack;
  EXPECT_LT(ack.find("MSA|AA|A1"), ack.find("BTS|1\r")) << ack;
  EXPECT_LT(ack.find("BTS|1\r"), b) << ack;
  EXPECT_LT(b, ack.find("MSA|AA|B1")) << ack;
  EXPECT_LT(ack.find("MSA|AA|B2"), ack.find("BTS|2\r")) << ack;
  EXPECT_EQ(ack.substr(ack.size() - 12), "BTS|2\rFTS|2\r") << ack;
}

// Two messages and a BTS that counts three, without BHS: the frame is no batch and no message.
// Refused whole with the reason, not taken as its first message with the second lost in it.
TEST(Hl7v2Intake, RefusesMessagesThatDoNotAddUpToABatch) {
  auto intake = make_intake();
  for (const std::string& frame : {adt_with("", "M1") + adt_with("", "M2") + "BTS|3\r",
                                   adt_with("", "M1") + "BTS|1\rPID|1||15038510190^^^^FNR\r"}) {
    const PreparedFrame prepared = intake.prepare_frame(frame, kPeer);
    EXPECT_FALSE(prepared.batch);
    ASSERT_EQ(prepared.messages.size(), 1u);
    const PreparedMessage& m = prepared.messages[0];
    EXPECT_EQ(m.record.state, MessageState::kRejected);
    EXPECT_NE(m.ack_code, "AA");
    EXPECT_NE(m.ack.find("ERR|"), std::string::npos);
    EXPECT_EQ(m.record.payload, frame) << "kept whole for inspection";
  }
  EXPECT_NE(intake.prepare_frame(adt_with("", "M1") + adt_with("", "M2") + "BTS|3\r", kPeer)
                .messages[0]
                .record.reason.find("BTS-1 counts 3 messages, the batch holds 2"),
            std::string::npos);
}

TEST(Hl7v2Intake, ReadsASingleMessageFrameAsOne) {
  const PreparedFrame frame = make_intake().prepare_frame(adt("15038510190^^^^FNR"), kPeer);
  EXPECT_FALSE(frame.batch);
  ASSERT_EQ(frame.messages.size(), 1u);
  EXPECT_EQ(frame.messages[0].ack_code, "AA");
}

}  // namespace
}  // namespace helsebro::intake
