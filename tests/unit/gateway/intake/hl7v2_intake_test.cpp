#include "gateway/intake/hl7v2_intake.h"

#include <gtest/gtest.h>

#include "adapters/hl7v2/ack.h"
#include "gateway/app/mappings.h"

namespace helsebro::intake {
namespace {

// The repository's own mapping set: Intake is tested against what the gateway serves.
std::shared_ptr<const mapping::MappingSet> repository_mappings() {
  static auto set = app::load_mappings(std::string(HELSEBRO_SOURCE_DIR) + "/mappings").value();
  return set;
}

Hl7v2Intake make_intake() {
  return Hl7v2Intake("mllp", [] { return repository_mappings(); }, Clock([] { return EpochMillis{1'764'000'000'000}; }),
                     nullptr);
}

std::string adt(const std::string& pid3, const std::string& type = "ADT^A04") {
  return "MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500||" + type + "|CTRL1|P|2.5\r"
         "PID|1||" + pid3 + "||Nordmann^Kari||19850315|F\r"
         "PV1|1|I\r";
}

TEST(Hl7v2Intake, TranslatesAMappedMessageAndPreparesAnAA) {
  const PreparedMessage p = make_intake().prepare(adt("15038510190^^^^FNR"), "10.0.0.1");
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
}

TEST(Hl7v2Intake, RejectsInputThatIsNotHl7WithAR) {
  const PreparedMessage p = make_intake().prepare("hello", "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.ack_code, "AR");
  EXPECT_NE(p.record.reason.find("not an HL7 v2 message"), std::string::npos);
  EXPECT_EQ(p.record.payload, "hello");  // kept for inspection
  EXPECT_NE(p.ack.find("MSA|AR|"), std::string::npos);
}

TEST(Hl7v2Intake, RejectsAMessageTypeWithoutMappingWithAR) {
  const PreparedMessage p = make_intake().prepare(adt("15038510190^^^^FNR", "ZZZ^Z01"), "peer");
  EXPECT_EQ(p.ack_code, "AR");
  EXPECT_EQ(p.metric_type, "other");
  EXPECT_NE(p.record.reason.find("ZZZ^Z01"), std::string::npos);
}

TEST(Hl7v2Intake, RejectsAnInvalidFodselsnummerWithAENamingTheField) {
  const PreparedMessage p = make_intake().prepare(adt("15038510191^^^^FNR"), "peer");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.ack_code, "AE");
  EXPECT_NE(p.ack.find("ERR||PID^1^3^1^1|102^"), std::string::npos) << p.ack;
}

TEST(Hl7v2Intake, RejectsAMessageWithoutPatientIdentifierWithAE) {
  const PreparedMessage p = make_intake().prepare(adt("H998877^^^^PI"), "peer");
  EXPECT_EQ(p.ack_code, "AE");
  EXPECT_NE(p.ack.find("101^Required field missing^HL70357"), std::string::npos) << p.ack;
}

TEST(Hl7v2Intake, RejectsAMessageWithoutControlId) {
  const PreparedMessage p =
      make_intake().prepare("MSH|^~\\&|A|B|C|D|20261123||ADT^A04||P|2.5\rPID|1\r", "peer");
  EXPECT_EQ(p.ack_code, "AE");
  EXPECT_NE(p.record.reason.find("MSH-10"), std::string::npos);
}

TEST(Hl7v2Intake, AnswersAnOversizedFrameWithARNamingItsControlId) {
  const PreparedMessage p = make_intake().prepare_oversized(adt("15038510190^^^^FNR").substr(0, 90), 1024, "peer");
  EXPECT_EQ(p.ack_code, "AR");
  EXPECT_NE(p.ack.find("MSA|AR|CTRL1"), std::string::npos) << p.ack;
  EXPECT_NE(p.record.reason.find("larger than 1024 bytes"), std::string::npos);
}

TEST(Hl7v2Intake, AnswersAFailedStoreWithAENotAA) {
  auto intake = make_intake();
  const PreparedMessage p = intake.prepare(adt("15038510190^^^^FNR"), "peer");
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
  const PreparedMessage p = make_intake().prepare(latin1, "peer");
  EXPECT_EQ(p.ack_code, "AA");
  EXPECT_NE(p.record.bundle.find("Sørensen"), std::string::npos);
  EXPECT_NE(p.ack.find("|8859/1"), std::string::npos);
}

}  // namespace
}  // namespace helsebro::intake
