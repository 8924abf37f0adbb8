#include "gateway/intake/kith_intake.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/kith/classifier.h"
#include "adapters/kith/schema_set.h"
#include "adapters/kith/xml_reader.h"
#include "gateway/app/mappings.h"
#include "gateway/intake/kith_message.h"
#include "adapters/kith/message_header.h"
#include "adapters/kith/schema_index.h"
#include "tests/unit/adapters/kith/test_support.h"
#include "unit/temp_dir.h"

namespace helsebro::intake {
namespace {

namespace kt = kith::testing;

constexpr EpochMillis kNow = 1'764'000'000'000;

KithIntake make_intake(bool apprec_1_0 = false) {
  kith::ClassifierOptions options;
  options.receiver_her_ids = std::set<std::string>{std::string(kt::kReceiverHer)};
  options.answering_her_id = std::string(kt::kReceiverHer);
  KithRules rules;
  rules.apprec_1_0 = apprec_1_0;
  rules.software_version = "9.9.9";
  return KithIntake(rules, std::make_shared<const kith::Classifier>(kt::schemas(), options),
                    Clock([] { return kNow; }), nullptr);
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(KithIntake, HoldsAValidMessageAndAnswersAppRecOk) {
  const PreparedKith p = make_intake().prepare(kt::dialog_message(), "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kHeld);
  EXPECT_EQ(p.record.format, "kith");
  EXPECT_EQ(p.record.channel, "http-kith");
  EXPECT_EQ(p.record.control_id, kt::kMsgId);
  EXPECT_EQ(p.record.sender, "HER:" + std::string(kt::kSenderHer));
  EXPECT_EQ(p.record.message_type, "DIALOG_NOTAT");
  EXPECT_EQ(p.record.received_at, kNow);
  EXPECT_EQ(p.http_status, 200);
  EXPECT_EQ(p.outcome, "apprec_ok");
  EXPECT_EQ(p.metric_type, "Dialogmelding");
  EXPECT_TRUE(p.duplicate_checked);
  EXPECT_TRUE(contains(p.body, "http://www.kith.no/xmlstds/apprec/2012-02-15")) << p.body;
  EXPECT_TRUE(contains(p.body, R"(<Status V="1")")) << p.body;
  EXPECT_TRUE(contains(p.body, std::string("<Id>").append(kt::kMsgId).append("</Id>"))) << p.body;
  EXPECT_EQ(p.record.ack, p.body);  // a resend is answered with the same receipt
}

TEST(KithIntake, WritesAppRec10WhenConfigured) {
  const PreparedKith p = make_intake(true).prepare(kt::dialog_message(), "10.0.0.1");
  EXPECT_TRUE(contains(p.body, "http://www.kith.no/xmlstds/apprec/2004-11-21")) << p.body;
}

TEST(KithIntake, RejectsAWrongFodselsnummerWithAppRecE31) {
  const PreparedKith p =
      make_intake().prepare(kt::dialog_message({{kt::kFnr, "15038512364"}}), "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.record.reason.substr(0, 4), "E31:");
  EXPECT_EQ(p.http_status, 200);
  EXPECT_EQ(p.outcome, "apprec_rejected");
  EXPECT_TRUE(p.duplicate_checked);  // a resend of an accepted original gets the original's answer
  EXPECT_TRUE(contains(p.body, R"(<Status V="2")")) << p.body;
  EXPECT_TRUE(contains(p.body, R"(V="E31")")) << p.body;
}

TEST(KithIntake, RejectsAnotherReceiverWithAppRecE21) {
  const PreparedKith p = make_intake().prepare(
      kt::dialog_message({{"<Id>111222</Id>", "<Id>555</Id>"}, {"<Id>333444</Id>", "<Id>556</Id>"}}), "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_TRUE(contains(p.body, R"(V="E21")")) << p.body;
  // The receipt comes from us, not in the name of the receiver the message named.
  const auto from = p.body.find("<Sender>");
  const auto to = p.body.find("</Sender>");
  ASSERT_TRUE(from != std::string::npos && to != std::string::npos) << p.body;
  const std::string sender = p.body.substr(from, to - from);
  EXPECT_TRUE(contains(sender, "<Id>" + std::string(kt::kReceiverHer) + "</Id>")) << sender;
  EXPECT_TRUE(contains(sender, R"(<TypeId V="HER")")) << sender;
  EXPECT_FALSE(contains(sender, "<Id>555</Id>")) << sender;
  auto doc = kith::read_xml(p.body);
  ASSERT_TRUE(doc) << doc.error().detail;
  EXPECT_FALSE(kt::schemas()->validate(*doc)) << p.body;
}

TEST(KithIntake, AnswersUnreadableInputWithProblemJson) {
  const std::string full = kt::dialog_message();
  const PreparedKith p = make_intake().prepare(std::string_view(full).substr(0, full.size() / 2), "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.http_status, 400);
  EXPECT_EQ(p.content_type, "application/problem+json");
  EXPECT_EQ(p.outcome, "problem");
  EXPECT_TRUE(contains(p.body, R"("apprecCode":"T01")")) << p.body;
  EXPECT_EQ(p.record.sender, "10.0.0.1");
  EXPECT_EQ(p.record.payload.size(), full.size() / 2);  // kept as received, for inspection
}

TEST(KithIntake, ProblemJsonNeverQuotesTheMessage) {
  const PreparedKith p = make_intake().prepare("<MsgHead><Patient>15038512363</Patient", "10.0.0.1");
  EXPECT_EQ(p.http_status, 400);
  EXPECT_FALSE(contains(p.body, kt::kFnr)) << p.body;
}

std::shared_ptr<const mapping::MappingSet> repository_mappings() {
  static auto set = app::load_mappings(std::string(HELSEBRO_SOURCE_DIR) + "/mappings").value();
  return set;
}

// With the repository's mappings, an accepted Dialogmelding is translated, not held.
KithIntake make_mapping_intake() {
  static auto set = repository_mappings();
  auto schemas = kt::schemas();
  std::shared_ptr<const kith::SchemaIndex> index(schemas, &schemas->index());
  return KithIntake(KithRules{}, std::make_shared<const kith::Classifier>(schemas, kith::ClassifierOptions{}),
                    Clock([] { return kNow; }), nullptr, [] { return set; }, index);
}

TEST(KithIntake, TranslatesAMessageAMappingTakes) {
  const PreparedKith p = make_mapping_intake().prepare(kt::dialog_message(), "10.0.0.1");
  ASSERT_EQ(p.record.state, MessageState::kTranslated) << p.record.reason;
  EXPECT_EQ(p.record.mapping, "dialogmelding");
  EXPECT_TRUE(contains(p.record.bundle, R"("resourceType":"Communication")")) << p.record.bundle;
  EXPECT_TRUE(contains(p.record.ordering_key, kt::kFnr)) << p.record.ordering_key;
  EXPECT_EQ(p.outcome, "apprec_ok");
  EXPECT_TRUE(p.duplicate_checked);
}

// Epikrise, Henvisning and Svarrapport all have the root <Message>: the metric's message type
// label names them as the schema index does, or every one would be counted as "Message".
TEST(KithIntake, CountsStandaloneMessagesUnderTheirOwnNames) {
  for (const auto& [file, name] : {std::pair{"epikrise-1-2-hjertesvikt-bjornstad.xml", "Epikrise"},
                                   std::pair{"henvisning-1-1-ny-loevaas.xml", "Henvisning"}}) {
    std::ifstream in(std::filesystem::path(HELSEBRO_SOURCE_DIR) / "mappings" / "kith" / "examples" / file);
    std::stringstream text;
    text << in.rdbuf();
    ASSERT_FALSE(text.str().empty()) << file;
    const PreparedKith p = make_mapping_intake().prepare(text.str(), "10.0.0.1");
    EXPECT_EQ(p.metric_type, name) << file << ": " << p.record.reason;
  }
}

// The schemas type TypeId/@V (and every V, U and S) as tokens: " FNR " is valid and is "FNR". The
// mappings' predicates compare @V with "FNR", so the value read must be the token, or the
// patient's fødselsnummer would be silently left out.
TEST(KithIntake, ACodeWithSpaceAroundItIsTheCodeTheSchemaSays) {
  const std::string message = kt::dialog_message(
      {{R"(<TypeId V="FNR" S="2.16.578.1.12.4.1.1.8116")", "<TypeId V=\"\t FNR \" S=\" 2.16.578.1.12.4.1.1.8116\""}});
  ASSERT_NE(message, kt::dialog_message());
  const PreparedKith p = make_mapping_intake().prepare(message, "10.0.0.1");
  ASSERT_EQ(p.record.state, MessageState::kTranslated) << p.record.reason;
  EXPECT_EQ(p.record.ordering_key, std::string("urn:oid:2.16.578.1.12.4.1.4.1|") + std::string(kt::kFnr));
  EXPECT_TRUE(contains(p.record.bundle, std::string(R"("value":")") + std::string(kt::kFnr) + "\"")) << p.record.bundle;
}

// With several identifiers the national one decides who the patient is, in whatever order they
// come: an H-nummer listed first made the message a new patient of its own, the fødselsnummer
// left unread.
TEST(KithIntake, TheFodselsnummerDecidesThePatientBeforeAnHNummerListedFirst) {
  const std::string fnr_ident = std::string("<Ident>\n        <Id>") + std::string(kt::kFnr) + "</Id>";
  const std::string message = kt::dialog_message(
      {{fnr_ident, "<Ident><Id>H123456</Id><TypeId V=\"HNR\" S=\"2.16.578.1.12.4.1.1.8116\" DN=\"H-nummer\"/></Ident>\n"
                   "      " + fnr_ident}});
  const PreparedKith p = make_mapping_intake().prepare(message, "10.0.0.1");
  ASSERT_EQ(p.record.state, MessageState::kTranslated) << p.record.reason;
  EXPECT_EQ(p.record.ordering_key, std::string("urn:oid:2.16.578.1.12.4.1.4.1|") + std::string(kt::kFnr));
  EXPECT_FALSE(contains(p.record.bundle, "H123456")) << "the H-nummer is not who the patient is";
}

// A blank fødselsnummer is no fødselsnummer: the H-nummer beside it decides, instead of a Patient
// without any identifier.
TEST(KithIntake, ABlankFodselsnummerLeavesTheDecisionToTheNextIdentifier) {
  const std::string fnr_ident = std::string("<Ident>\n        <Id>") + std::string(kt::kFnr) + "</Id>";
  const std::string message = kt::dialog_message(
      {{fnr_ident, "<Ident><Id>H123456</Id><TypeId V=\"HNR\" S=\"2.16.578.1.12.4.1.1.8116\" DN=\"H-nummer\"/></Ident>\n"
                   "      <Ident>\n        <Id> </Id>"}});
  const PreparedKith p = make_mapping_intake().prepare(message, "10.0.0.1");
  ASSERT_EQ(p.record.state, MessageState::kTranslated) << p.record.reason;
  EXPECT_NE(p.record.ordering_key.find("h-nummer"), std::string::npos) << p.record.ordering_key;
  EXPECT_NE(p.record.ordering_key.find("H123456"), std::string::npos) << p.record.ordering_key;
}

// MsgInfo/Type says Henvisning (whose mapping takes version 1.1), the content is a Dialogmelding
// 1.1: the henvisning mapping would make a ServiceRequest of next to nothing and answer OK.
TEST(KithIntake, RefusesContentThatIsNotTheMessageItsTypeNamesWithAppRecT99) {
  const PreparedKith p = make_mapping_intake().prepare(
      kt::dialog_message({{R"(<Type V="DIALOG_NOTAT" DN="Notat"/>)", R"(<Type V="HENVISNING" DN="Henvisning"/>)"}}),
      "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.record.mapping, "henvisning");
  EXPECT_TRUE(p.record.bundle.empty());
  EXPECT_EQ(p.record.reason.substr(0, 4), "T99:") << p.record.reason;
  EXPECT_TRUE(contains(p.record.reason, "Dialogmelding 1.1")) << p.record.reason;
  EXPECT_TRUE(contains(p.record.reason, "Henvisning")) << p.record.reason;
  EXPECT_EQ(p.outcome, "apprec_rejected");
  EXPECT_TRUE(contains(p.body, R"(<Status V="2")")) << p.body;
  EXPECT_TRUE(contains(p.body, R"(V="T99")")) << p.body;
}

TEST(KithPayloadMismatch, AttachmentsAreNotMessagesButTheNamedMessageMustBeThere) {
  const mapping::Mapping* dialog = repository_mappings()->find("kith", "DIALOG_NOTAT");
  ASSERT_NE(dialog, nullptr);
  const kith::SchemaIndex& index = kt::schemas()->index();
  const kith::Payload dialogmelding{"http://www.kith.no/xmlstds/dialog/2013-01-23", "Dialogmelding", "/MsgHead/Document[1]"};
  const kith::Payload attachment{"http://www.kith.no/xmlstds/base64container", "Base64Container", "/MsgHead/Document[2]"};
  const kith::Payload henvisning{"http://www.kith.no/xmlstds/henvisning/2012-02-15", "Henvisning", "/MsgHead/Document[2]"};
  kith::MessageHeader h;
  h.envelope = kith::Envelope::kMsgHead;
  h.payloads = {dialogmelding, attachment};
  EXPECT_EQ(kith_payload_mismatch(h, index, *dialog), "");
  h.payloads = {attachment};
  EXPECT_EQ(kith_payload_mismatch(h, index, *dialog),
            "meldingen mangler innholdet MsgInfo/Type skal ha: Dialogmelding");
  h.payloads = {dialogmelding, henvisning};
  EXPECT_EQ(kith_payload_mismatch(h, index, *dialog),
            "innholdet passer ikke med MsgInfo/Type: Henvisning 1.1, men meldingstypen skal ha Dialogmelding");
  // A standalone message: its root is the content.
  const mapping::Mapping* epikrise = repository_mappings()->find("kith", "EPIKRISE");
  ASSERT_NE(epikrise, nullptr);
  kith::MessageHeader standalone;
  standalone.envelope = kith::Envelope::kStandalone;
  standalone.root_ns = "http://www.kith.no/xmlstds/epikrise/2012-02-15";
  EXPECT_EQ(kith_payload_mismatch(standalone, index, *epikrise), "");
  standalone.root_ns = "http://www.kith.no/xmlstds/labsvar/2012-02-15";
  EXPECT_EQ(kith_payload_mismatch(standalone, index, *epikrise),
            "innholdet passer ikke med MsgInfo/Type: Svarrapport 1.4, men meldingstypen skal ha Epikrise");
}

// The load error of the repository's mappings with dialogmelding.json's payloads line replaced.
std::string load_error_with_payloads(const std::string& replacement) {
  const test::TempDir dir("helsebro-payloads");
  const std::filesystem::path copy = dir.path() / "mappings";
  std::filesystem::copy(std::filesystem::path(HELSEBRO_SOURCE_DIR) / "mappings", copy,
                        std::filesystem::copy_options::recursive);
  const std::filesystem::path file = copy / "kith" / "dialogmelding.json";
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  std::string edited = text.str();
  const std::string line = R"("versions": ["1.0", "1.1"],
    "payloads": ["Dialogmelding"])";
  const std::size_t at = edited.find(line);
  if (at == std::string::npos) return "the file no longer has the line this test edits";
  edited.replace(at, line.size(), replacement);
  std::ofstream(file, std::ios::trunc) << edited;
  auto set = app::load_mappings(copy.string(), kt::kSchemaDir.string());
  return set ? "" : set.error().detail;
}

TEST(KithPayloadMismatch, AKithMappingMustNameKnownPayloads) {
  EXPECT_EQ(load_error_with_payloads(R"("versions": ["1.0", "1.1"], "payloads": ["Dialogmelding"])"), "");
  EXPECT_TRUE(contains(load_error_with_payloads(R"("versions": ["1.0", "1.1"])"), "\"payloads\" names the message"));
  EXPECT_TRUE(contains(load_error_with_payloads(R"("versions": ["1.0", "1.1"], "payloads": ["Dialogmeling"])"),
                       "dialogmelding.json:15:"))
      << load_error_with_payloads(R"("versions": ["1.0", "1.1"], "payloads": ["Dialogmeling"])");
  EXPECT_TRUE(contains(load_error_with_payloads(R"("versions": ["1.0", "1.1"], "payloads": ["Dialogmeling"])"),
                       "unknown payload \"Dialogmeling\""));
}

// A directory that answers at once, and remembers what it was asked.
class FixedDirectory final : public PatientDirectory {
 public:
  explicit FixedDirectory(PatientPresence answer) : answer_(answer) {}
  void find(std::vector<PatientIdentifier> ids, std::function<void(PatientPresence)> done) override {
    asked.push_back(std::move(ids));
    done(answer_);
  }
  std::vector<std::vector<PatientIdentifier>> asked;

 private:
  PatientPresence answer_;
};

KithIntake make_checking_intake(std::shared_ptr<PatientDirectory> patients, bool require = true) {
  kith::ClassifierOptions options;
  options.receiver_her_ids = std::set<std::string>{std::string(kt::kReceiverHer)};
  KithRules rules;
  rules.require_known_patient = require;
  return KithIntake(rules, std::make_shared<const kith::Classifier>(kt::schemas(), options),
                    Clock([] { return kNow; }), nullptr, {}, {}, std::move(patients));
}

TEST(KithIntakePatientCheck, AsksForThePatientByFodselsnummerBeforeAnswering) {
  auto directory = std::make_shared<FixedDirectory>(PatientPresence::kKnown);
  const KithIntake intake = make_checking_intake(directory);
  PreparedKith p = intake.prepare(kt::dialog_message(), "10.0.0.1");
  ASSERT_TRUE(p.patient_check);
  ASSERT_EQ(p.patient_check->ids.size(), 1u);
  EXPECT_EQ(p.patient_check->ids[0].system, "urn:oid:2.16.578.1.12.4.1.4.1");
  EXPECT_EQ(p.patient_check->ids[0].value, kt::kFnr);
  intake.settle_patient(p, PatientPresence::kKnown);
  EXPECT_FALSE(p.patient_check);
  EXPECT_EQ(p.record.state, MessageState::kHeld);
  EXPECT_TRUE(contains(p.body, R"(<Status V="1")")) << p.body;
  EXPECT_TRUE(p.duplicate_checked);
}

TEST(KithIntakePatientCheck, AnswersAnUnknownPatientWithE35) {
  const KithIntake intake = make_checking_intake(std::make_shared<FixedDirectory>(PatientPresence::kUnknown));
  PreparedKith p = intake.prepare(kt::dialog_message(), "10.0.0.1");
  ASSERT_TRUE(p.patient_check);
  intake.settle_patient(p, PatientPresence::kUnknown);
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.record.reason, "E35: Pasienten finnes ikke i mottakersystemet (/MsgHead/MsgInfo/Patient)");
  EXPECT_EQ(p.http_status, 200);
  EXPECT_EQ(p.outcome, "apprec_rejected");
  EXPECT_TRUE(p.duplicate_checked);  // the first copy may have been accepted before the lookup failed
  EXPECT_EQ(p.record.ack, p.body);
  EXPECT_TRUE(contains(p.body, R"(<Status V="2")")) << p.body;
  EXPECT_TRUE(contains(p.body, R"(V="E35")")) << p.body;
  EXPECT_TRUE(contains(p.body, std::string("<Id>").append(kt::kMsgId).append("</Id>"))) << p.body;
  EXPECT_FALSE(contains(p.body, kt::kFnr)) << p.body;  // the text names the element, not the number
  auto doc = kith::read_xml(p.body);
  ASSERT_TRUE(doc) << doc.error().detail;
  const auto violation = kt::schemas()->validate(*doc);
  EXPECT_FALSE(violation) << violation->path << ": " << violation->detail << "\n" << p.body;
}

TEST(KithIntakePatientCheck, AcceptsWhenTheRecordCannotAnswer) {
  const KithIntake intake = make_checking_intake(std::make_shared<FixedDirectory>(PatientPresence::kUnavailable));
  PreparedKith p = intake.prepare(kt::dialog_message(), "10.0.0.1");
  const std::string ok = p.body;
  intake.settle_patient(p, PatientPresence::kUnavailable);
  EXPECT_EQ(p.record.state, MessageState::kHeld);
  EXPECT_EQ(p.body, ok);
  EXPECT_FALSE(p.patient_check);
}

TEST(KithIntakePatientCheck, LooksUpADNummerAndLeavesOtherIdentifiersOut) {
  const KithIntake intake = make_checking_intake(std::make_shared<FixedDirectory>(PatientPresence::kKnown));
  const PreparedKith p = intake.prepare(
      kt::dialog_message({{kt::kFnr, kt::kDnr}, {R"(<TypeId V="FNR" S="2.16.578.1.12.4.1.1.8116" DN="Fødselsnummer"/>)",
                                                 R"(<TypeId V="DNR" S="2.16.578.1.12.4.1.1.8116" DN="D-nummer"/>)"}}),
      "10.0.0.1");
  ASSERT_TRUE(p.patient_check) << p.record.reason;
  ASSERT_EQ(p.patient_check->ids.size(), 1u);
  EXPECT_EQ(p.patient_check->ids[0].system, "urn:oid:2.16.578.1.12.4.1.4.2");
  EXPECT_EQ(p.patient_check->ids[0].value, kt::kDnr);
}

TEST(KithIntakePatientCheck, ChecksNothingWhenNotRequiredRejectedOrReplayed) {
  auto directory = std::make_shared<FixedDirectory>(PatientPresence::kUnknown);
  EXPECT_FALSE(make_checking_intake(directory, false).prepare(kt::dialog_message(), "10.0.0.1").patient_check);
  const KithIntake intake = make_checking_intake(directory);
  // Already refused (E31): the receipt says so without asking the record.
  EXPECT_FALSE(intake.prepare(kt::dialog_message({{kt::kFnr, "15038512364"}}), "10.0.0.1").patient_check);
  // A replay re-translates what the sender has had its answer for.
  PreparedKith first = intake.prepare(kt::dialog_message(), "10.0.0.1");
  intake.settle_patient(first, PatientPresence::kKnown);
  EXPECT_FALSE(intake.prepare_again(first.record).patient_check);
}

}  // namespace
}  // namespace helsebro::intake
