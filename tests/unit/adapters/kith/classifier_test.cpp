#include "adapters/kith/classifier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/kith/apprec_writer.h"
#include "tests/unit/adapters/kith/test_support.h"

namespace helsebro::kith {
namespace {

using testing::dialog_message;

class KithClassifier : public ::testing::Test {
 protected:
  Classification classify(std::string_view bytes) const {
    ClassifierOptions options;
    options.receiver_her_ids = std::set<std::string>{std::string(testing::kReceiverHer), "999"};
    return Classifier(testing::schemas(), options).classify(bytes);
  }
  // The AppRec code a message gets; "" when accepted.
  std::string code_of(std::string_view bytes) const {
    const Classification c = classify(bytes);
    return c.rejection ? std::string(info(c.rejection->code).code) : "";
  }
};

TEST_F(KithClassifier, AcceptsAValidMessageForUs) {
  const Classification c = classify(dialog_message());
  ASSERT_TRUE(c.accepted()) << c.rejection->text;
  EXPECT_EQ(c.message->header().msg_id, testing::kMsgId);
  EXPECT_EQ(c.message->charset(), "UTF-8");
  EXPECT_EQ(c.receiver_index, 0u);
}

// An epikrise sent to the GP with a copy to us: a receipt refusing it comes from us, the copy's
// receiver, also when it is refused before the receivers are checked (E10 here).
TEST_F(KithClassifier, ARefusedCopyIsAnsweredAsItsReceiver) {
  std::ifstream in(std::filesystem::path(HELSEBRO_SOURCE_DIR) / "mappings" / "kith" / "examples" /
                   "epikrise-1-2-hjertesvikt-bjornstad.xml");
  std::stringstream text;
  text << in.rdbuf();
  std::string epikrise = text.str();
  const std::string id = "<MsgId>3f6d2a10-1c2b-4e8f-9a41-7b5e0c9d2f11</MsgId>";
  ASSERT_NE(epikrise.find(id), std::string::npos);
  epikrise.replace(epikrise.find(id), id.size(), "<MsgId>12345</MsgId>");
  ClassifierOptions options;
  options.receiver_her_ids = std::set<std::string>{"8800020"};  // the CopyDest's
  const Classification c = Classifier(testing::schemas(), options).classify(epikrise);
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kE10);
  ASSERT_TRUE(c.message);
  ASSERT_GT(c.message->header().receivers.size(), c.receiver_index);
  EXPECT_EQ(c.message->header().receivers[c.receiver_index].ids_of_type("HER").front(), "8800020");
}

// A message marked for testing (Message/Status TEST, code list 8323) is refused where the
// channel says so (kith.acceptTestMessages false), as a production channel refuses MSH-11 T.
TEST_F(KithClassifier, RefusesATestMessageWhereTheChannelTakesNone) {
  std::ifstream in(std::filesystem::path(HELSEBRO_SOURCE_DIR) / "mappings" / "kith" / "examples" /
                   "henvisning-1-0-kansellering-bo.xml");
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_NE(text.str().find(R"(<Status V="TEST")"), std::string::npos);
  ClassifierOptions options;
  EXPECT_TRUE(Classifier(testing::schemas(), options).classify(text.str()).accepted());
  options.refuse_test_messages = true;
  const Classification c = Classifier(testing::schemas(), options).classify(text.str());
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kX99);
  EXPECT_NE(c.rejection->text.find("testmelding"), std::string::npos) << c.rejection->text;
  EXPECT_TRUE(c.rejection->answerable);
  // An ordinary message passes the same check.
  std::ifstream other(std::filesystem::path(HELSEBRO_SOURCE_DIR) / "mappings" / "kith" / "examples" /
                      "henvisning-1-1-ny-loevaas.xml");
  std::stringstream ordinary;
  ordinary << other.rdbuf();
  EXPECT_TRUE(Classifier(testing::schemas(), options).classify(ordinary.str()).accepted());
}

TEST_F(KithClassifier, AcceptsAMessageForOneOfOurDepartments) {
  ClassifierOptions options;
  options.receiver_her_ids = std::set<std::string>{std::string(testing::kDepartmentHer)};
  EXPECT_TRUE(Classifier(testing::schemas(), options).classify(dialog_message()).accepted());
}

TEST_F(KithClassifier, AcceptsAnyReceiverWhenNoneAreConfigured) {
  EXPECT_TRUE(Classifier(testing::schemas(), {})
                  .classify(dialog_message(
                      {{"<Id>111222</Id>", "<Id>555</Id>"}, {"<Id>333444</Id>", "<Id>556</Id>"}}))
                  .accepted());
}

TEST_F(KithClassifier, TruncatedInputIsT01WithoutAnAnswerableSender) {
  const std::string full = dialog_message();
  const Classification c = classify(std::string_view(full).substr(0, full.size() / 2));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT01);
  EXPECT_FALSE(c.rejection->answerable);
  EXPECT_GT(c.rejection->line, 0u);
  EXPECT_NE(c.rejection->text.find("ikke velformet XML (linje "), std::string::npos)
      << c.rejection->text;
  EXPECT_EQ(c.message, nullptr);
}

TEST_F(KithClassifier, TextIsT01) {
  EXPECT_EQ(code_of("MSH|^~\\&|LAB|"), "T01");
}

TEST_F(KithClassifier, DoctypeWithEntityIsT99) {
  const Classification c = classify(
      "<?xml version=\"1.0\"?><!DOCTYPE MsgHead [<!ENTITY x \"y\">]>"
      "<MsgHead xmlns=\"http://www.kith.no/xmlstds/msghead/2006-05-24\">&x;</MsgHead>");
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT99);
  EXPECT_NE(c.rejection->text.find("DOCTYPE"), std::string::npos);
  EXPECT_FALSE(c.rejection->answerable);
}

TEST_F(KithClassifier, OversizedInputIsT99) {
  ClassifierOptions options;
  options.limits.max_bytes = 100;
  const Classification c = Classifier(testing::schemas(), options).classify(dialog_message());
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT99);
}

TEST_F(KithClassifier, UnknownRootNamespaceIsT10WithoutAnAnswerableSender) {
  const Classification c = classify(
      dialog_message({{R"(<MsgHead xmlns="http://www.kith.no/xmlstds/msghead/2006-05-24">)",
                       R"(<MsgHead xmlns="http://www.kith.no/xmlstds/msghead/2099-01-01">)"}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT10);
  EXPECT_FALSE(c.rejection->answerable);
  EXPECT_NE(c.rejection->text.find(
                "'MsgHead' i navnerommet 'http://www.kith.no/xmlstds/msghead/2099-01-01'"),
            std::string::npos)
      << c.rejection->text;
}

TEST_F(KithClassifier, UnknownPayloadNamespaceIsT10ToAnAnswerableSender) {
  const Classification c =
      classify(dialog_message({{"http://www.kith.no/xmlstds/dialog/2013-01-23",
                                "http://www.kith.no/xmlstds/dialog/2015-05-04"}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT10);
  EXPECT_TRUE(c.rejection->answerable);
  EXPECT_NE(c.rejection->text.find("/MsgHead/Document/RefDoc/Content/Dialogmelding"),
            std::string::npos);
  ASSERT_NE(c.message, nullptr);
  EXPECT_EQ(c.message->header().sender->name, "Fjordtun legesenter");
}

TEST_F(KithClassifier, PayloadOnlyMessageAsRootIsT10) {
  EXPECT_EQ(code_of(R"(<Dialogmelding xmlns="http://www.kith.no/xmlstds/dialog/2013-01-23"/>)"),
            "T10");
}

TEST_F(KithClassifier, MsgHeadWithoutAMessagePayloadIsT10) {
  const std::string only_attachment = dialog_message();
  const std::size_t from = only_attachment.find("<Dialogmelding");
  const std::size_t to =
      only_attachment.find("</Dialogmelding>") + std::string_view("</Dialogmelding>").size();
  std::string attachment = only_attachment;
  attachment.replace(
      from, to - from,
      R"(<Base64Container xmlns="http://www.kith.no/xmlstds/base64container">QUJD</Base64Container>)");
  const Classification c = classify(attachment);
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT10);
  EXPECT_NE(c.rejection->text.find("ikke noe innhold"), std::string::npos) << c.rejection->text;
}

TEST_F(KithClassifier, SchemaInvalidIsT02NamingTheElement) {
  const Classification c =
      classify(dialog_message({{"<GenDate>2024-03-01T10:15:00</GenDate>", "<GenDate/>"}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT02);
  EXPECT_EQ(c.rejection->text,
            "XML validerer ikke mot skjemaet: /MsgHead/MsgInfo/GenDate (linje 6): ugyldig verdi");
  EXPECT_TRUE(c.rejection->answerable);
  EXPECT_EQ(c.rejection->line, 6u);
}

TEST_F(KithClassifier, SchemaInvalidWithoutSenderIsNotAnswerable) {
  const std::string text = dialog_message();
  const std::size_t from = text.find("<Sender>");
  const std::size_t to = text.find("</Sender>") + std::string_view("</Sender>").size();
  std::string no_sender = text;
  no_sender.erase(from, to - from);
  const Classification c = classify(no_sender);
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT02);
  EXPECT_FALSE(c.rejection->answerable);
}

TEST_F(KithClassifier, MsgIdThatIsNotAUuidIsE10) {
  const Classification c = classify(dialog_message({{testing::kMsgId, "MSG-2024-0001"}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kE10);
  EXPECT_EQ(c.rejection->text, "Meldingsidentifikatoren i /MsgHead/MsgInfo/MsgId er ikke en UUID");
  EXPECT_TRUE(c.rejection->answerable);
  EXPECT_EQ(code_of(dialog_message({{testing::kMsgId, ""}})), "E10");
}

TEST_F(KithClassifier, ReceiverNotOursIsE21) {
  const Classification c = classify(
      dialog_message({{"<Id>111222</Id>", "<Id>555</Id>"}, {"<Id>333444</Id>", "<Id>556</Id>"}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kE21);
  EXPECT_EQ(
      c.rejection->text,
      "Mottakeren i /MsgHead/MsgInfo/Receiver/Organisation har ingen HER-id som tas imot her");
}

TEST_F(KithClassifier, ReceiverWithoutHerIdIsE21) {
  const Classification c = classify(dialog_message({{R"(<Id>111222</Id>
          <TypeId V="HER")",
                                                     R"(<Id>111222</Id>
          <TypeId V="ENH")"},
                                                    {R"(<Id>333444</Id>
            <TypeId V="HER")",
                                                     R"(<Id>333444</Id>
            <TypeId V="ENH")"}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kE21);
  EXPECT_NE(c.rejection->text.find("mangler HER-id"), std::string::npos) << c.rejection->text;
}

TEST_F(KithClassifier, MissingPatientIdentifierIsE30) {
  const Classification c = classify(dialog_message({{R"(<Ident>
        <Id>15038512363</Id>
        <TypeId V="FNR" S="2.16.578.1.12.4.1.1.8116" DN="Fødselsnummer"/>
      </Ident>)",
                                                     ""}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kE30);
  EXPECT_EQ(c.rejection->text,
            "Pasienten mangler fødselsnummer eller annen identifikator i "
            "/MsgHead/MsgInfo/Patient/Ident/Id");
}

TEST_F(KithClassifier, DialogmeldingWithoutPatientIsAccepted) {
  const std::string text = dialog_message();
  const std::size_t from = text.find("<Patient>");
  const std::size_t to = text.find("</Patient>") + std::string_view("</Patient>").size();
  std::string no_patient = text;
  no_patient.erase(from, to - from);
  EXPECT_EQ(code_of(no_patient), "");
}

TEST_F(KithClassifier, WrongFodselsnummerIsE31) {
  const Classification c = classify(dialog_message({{testing::kFnr, "15038512364"}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kE31);
  EXPECT_EQ(
      c.rejection->text,
      "Fødselsnummeret i /MsgHead/MsgInfo/Patient/Ident/Id har feil format eller kontrollsiffer");
  EXPECT_EQ(c.rejection->text.find("15038512364"),
            std::string::npos);  // no identifiers in the receipt text
}

TEST_F(KithClassifier, DNummerTypedAsFodselsnummerIsE31AndAsDNummerAccepted) {
  EXPECT_EQ(code_of(dialog_message({{testing::kFnr, testing::kDnr}})), "E31");
  EXPECT_EQ(code_of(dialog_message({{testing::kFnr, testing::kDnr}, {R"(V="FNR")", R"(V="DNR")"}})),
            "");
}

// TypeId/@V is an xs:token: " FNR " is FNR to the schema, so its number is checked as one.
TEST_F(KithClassifier, AnIdTypeWithSpacesAroundItIsCheckedAsThatType) {
  EXPECT_EQ(code_of(dialog_message({{testing::kFnr, "15038512364"}, {R"(V="FNR")", R"(V=" FNR ")"}})), "E31");
  EXPECT_EQ(code_of(dialog_message({{R"(V="FNR")", R"(V=" FNR ")"}})), "");
}

TEST_F(KithClassifier, HNummerIsAcceptedWithoutControlDigits) {
  EXPECT_EQ(code_of(dialog_message({{testing::kFnr, "12345"}, {R"(V="FNR")", R"(V="HNR")"}})), "");
}

TEST_F(KithClassifier, ChecksRunInTheStandardsOrder) {
  // Schema-invalid and a bad MsgId and a bad FNR: the schema is checked first.
  EXPECT_EQ(code_of(dialog_message({{"<GenDate>2024-03-01T10:15:00</GenDate>", "<GenDate/>"},
                                    {testing::kMsgId, "x"},
                                    {testing::kFnr, "1"}})),
            "T02");
  EXPECT_EQ(
      code_of(dialog_message(
          {{testing::kMsgId, "x"}, {"<Id>111222</Id>", "<Id>555</Id>"}, {testing::kFnr, "1"}})),
      "E10");
  EXPECT_EQ(code_of(dialog_message({{"<Id>111222</Id>", "<Id>555</Id>"},
                                    {"<Id>333444</Id>", "<Id>556</Id>"},
                                    {testing::kFnr, "1"}})),
            "E21");
}

TEST_F(KithClassifier, ReadsLatin1ByItsDeclaration) {
  std::string latin1 = dialog_message({{"encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\""},
                                       {"Første notat", "F\xF8rste notat"},
                                       {"Fødselsnummer",
                                        "F\xF8"
                                        "dselsnummer"}});
  const Classification c = classify(latin1);
  ASSERT_TRUE(c.accepted()) << c.rejection->text;
  EXPECT_EQ(c.message->charset(), "ISO-8859-1");
  EXPECT_EQ(c.message->header().patient.ids.at(0).id, testing::kFnr);
}

// The XML declaration says how the bytes are read, whatever the HTTP charset said: Latin-1 bytes
// under a UTF-8 declaration are refused as not well-formed, never read as other letters.
TEST_F(KithClassifier, BytesThatAreNotWhatTheDeclarationNamesAreRefused) {
  const Classification c = classify(dialog_message({{"Første notat", "F\xF8rste notat"}}));
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT01) << c.rejection->text;
}

// A receipt wrapped in a MsgHead (MsgInfo/Type APPREC) is a receipt: accepted when valid, never
// answered when not. It was answered with a rejection (T10), which invites a receipt for the
// receipt.
TEST_F(KithClassifier, AnAppRecInAMsgHeadIsAReceipt) {
  const Classification message = classify(dialog_message());
  ASSERT_TRUE(message.accepted());
  AppRecRequest answer = answer_to(message.message->header());
  answer.id = "0192f3a4-5b6c-7d8e-9f01-23456789abcd";
  answer.now = 1'705'314'600'000;
  auto apprec = write_apprec(answer);
  ASSERT_TRUE(apprec) << apprec.error().detail;
  std::string content = *apprec;
  content.erase(0, content.find("<AppRec"));  // no XML declaration inside the MsgHead
  const std::string dialog = dialog_message();
  const std::size_t from = dialog.find("<Dialogmelding");
  const std::size_t to = dialog.find("</Dialogmelding>") + std::string_view("</Dialogmelding>").size();
  std::string wrapped = dialog.substr(0, from) + content + dialog.substr(to);
  const std::size_t type = wrapped.find("<Type V=\"DIALOG_NOTAT\"");
  ASSERT_NE(type, std::string::npos);
  wrapped.replace(type, std::string_view("<Type V=\"DIALOG_NOTAT\"").size(), "<Type V=\"APPREC\"");

  const Classification receipt = classify(wrapped);
  ASSERT_TRUE(receipt.accepted()) << receipt.rejection->text;
  EXPECT_TRUE(receipt.message->header().receipt);

  const std::size_t status = wrapped.find("<Status ");
  ASSERT_NE(status, std::string::npos);
  wrapped.replace(status, std::string_view("<Status ").size(), "<Unknown ");  // not in its schema
  const Classification invalid = classify(wrapped);
  ASSERT_TRUE(invalid.rejection);
  EXPECT_FALSE(invalid.rejection->answerable);
}

TEST_F(KithClassifier, AnAppRecIsNeverAnswered) {
  const Classification c = classify(R"(<AppRec xmlns="http://www.kith.no/xmlstds/apprec/2012-02-15">
      <MsgType V="APPREC"/><MIGversion>v1.1 2012-02-15</MIGversion><GenDate>bad</GenDate><Id>x</Id>
      <Sender><HCP><Inst><Name>A</Name></Inst></HCP></Sender><Receiver><HCP><Inst><Name>B</Name></Inst></HCP></Receiver>
      <Status V="1"/><OriginalMsgId><MsgType V="X"/><IssueDate>2024-01-01T00:00:00</IssueDate><Id>y</Id></OriginalMsgId>
      </AppRec>)");
  ASSERT_TRUE(c.rejection);
  EXPECT_EQ(c.rejection->code, AppRecCode::kT02);
  EXPECT_FALSE(c.rejection->answerable);
}

}  // namespace
}  // namespace helsebro::kith
