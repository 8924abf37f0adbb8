#include "adapters/kith/message_header.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "adapters/kith/e_message.h"
#include "tests/unit/adapters/kith/test_support.h"

namespace helsebro::kith {
namespace {

using testing::dialog_message;

MessageHeader header_of(std::string_view text) {
  MessageHeader header;
  auto parsed = read_xml(text);
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
  if (!parsed) return header;
  const SchemaIndex& index = testing::schemas()->index();
  read_shape(*parsed, index, header);
  auto doc = load_document(text, *parsed, index.prefixes());
  EXPECT_NE(doc, nullptr);
  if (doc) read_facts(*doc, header);
  return header;
}

TEST(KithMessageHeader, ReadsMsgHead) {
  const MessageHeader h = header_of(dialog_message());
  EXPECT_EQ(h.envelope, Envelope::kMsgHead);
  EXPECT_EQ(h.root_ns, kMsgHeadNamespace);
  EXPECT_EQ(h.root_element, "MsgHead");
  EXPECT_EQ(h.type.v, "DIALOG_NOTAT");
  EXPECT_EQ(h.type.dn, "Notat");
  EXPECT_EQ(h.mig_version, "v1.2 2006-05-24");
  EXPECT_EQ(h.gen_date, "2024-03-01T10:15:00");
  EXPECT_EQ(h.msg_id, testing::kMsgId);
  ASSERT_EQ(h.payloads.size(), 1u);
  EXPECT_EQ(h.payloads[0].ns, "http://www.kith.no/xmlstds/dialog/2013-01-23");
  EXPECT_EQ(h.payloads[0].element, "Dialogmelding");
  EXPECT_EQ(h.payloads[0].path, "/MsgHead/Document/RefDoc/Content/Dialogmelding");
}

TEST(KithMessageHeader, ReadsSenderWithItsHealthProfessional) {
  const MessageHeader h = header_of(dialog_message());
  ASSERT_TRUE(h.sender);
  EXPECT_EQ(h.sender->name, "Fjordtun legesenter");
  ASSERT_EQ(h.sender->ids.size(), 1u);
  EXPECT_EQ(h.sender->ids[0].id, testing::kSenderHer);
  EXPECT_EQ(h.sender->ids[0].type.v, "HER");
  EXPECT_EQ(h.sender->ids[0].type.s, "2.16.578.1.12.4.1.1.9051");
  ASSERT_EQ(h.sender->persons.size(), 1u);
  EXPECT_TRUE(h.sender->persons[0].person);
  EXPECT_EQ(h.sender->persons[0].name, "Kari Lege");
  EXPECT_EQ(h.sender->persons[0].ids[0].type.v, "HPR");
}

TEST(KithMessageHeader, ReadsReceiverWithNestedDepartment) {
  const MessageHeader h = header_of(dialog_message());
  ASSERT_EQ(h.receivers.size(), 1u);
  const Party& r = h.receivers[0];
  EXPECT_EQ(r.name, "Elvedal kommune");
  EXPECT_EQ(r.ids.size(), 2u);
  ASSERT_EQ(r.units.size(), 1u);
  EXPECT_EQ(r.units[0].name, "Hjemmetjenesten");
  EXPECT_EQ(r.ids_of_type("HER"), (std::vector<std::string>{"111222", "333444"}));
  EXPECT_EQ(r.ids_of_type("ENH"), (std::vector<std::string>{"987654321"}));
  EXPECT_EQ(h.receiver_path, "/MsgHead/MsgInfo/Receiver/Organisation");
}

TEST(KithMessageHeader, ReadsThePatientsIdentifiers) {
  const MessageHeader h = header_of(dialog_message());
  EXPECT_TRUE(h.patient.present);
  ASSERT_EQ(h.patient.ids.size(), 1u);
  EXPECT_EQ(h.patient.ids[0].id, testing::kFnr);
  EXPECT_EQ(h.patient.ids[0].type.v, "FNR");
  EXPECT_EQ(h.patient.path, "/MsgHead/MsgInfo/Patient");
}

TEST(KithMessageHeader, ReadsWhateverPrefixesTheSenderChose) {
  const MessageHeader h =
      header_of(R"(<mh:MsgHead xmlns:mh="http://www.kith.no/xmlstds/msghead/2006-05-24">
      <mh:MsgInfo><mh:Type V="DIALOG_SVAR"/><mh:MsgId> 6f1c2a3e-8d4b-4c1f-9a2e-0b5d7c8e9f10
      </mh:MsgId></mh:MsgInfo>
      <mh:Document><mh:RefDoc><mh:Content><d:Dialogmelding xmlns:d="http://www.kith.no/xmlstds/dialog/2006-10-11"/>
      </mh:Content></mh:RefDoc></mh:Document></mh:MsgHead>)");
  EXPECT_EQ(h.envelope, Envelope::kMsgHead);
  EXPECT_EQ(h.type.v, "DIALOG_SVAR");
  EXPECT_EQ(h.msg_id, testing::kMsgId);  // whitespace around it is trimmed
  ASSERT_EQ(h.payloads.size(), 1u);
  EXPECT_EQ(h.payloads[0].ns, "http://www.kith.no/xmlstds/dialog/2006-10-11");
  EXPECT_FALSE(h.sender);
  EXPECT_FALSE(h.patient.present);
}

TEST(KithMessageHeader, NumbersPayloadsOfSeveralDocuments) {
  const std::string two =
      dialog_message({{"</Document>", R"(</Document><Document><RefDoc><MsgType V="A"/><Content>
          <Base64Container xmlns="http://www.kith.no/xmlstds/base64container">QUJD</Base64Container>
          </Content></RefDoc></Document>)"}});
  const MessageHeader h = header_of(two);
  ASSERT_EQ(h.payloads.size(), 2u);
  EXPECT_EQ(h.payloads[0].path, "/MsgHead/Document[1]/RefDoc/Content/Dialogmelding");
  EXPECT_EQ(h.payloads[1].path, "/MsgHead/Document[2]/RefDoc/Content/Base64Container");
  EXPECT_EQ(h.payloads[1].ns, "http://www.kith.no/xmlstds/base64container");
}

// A lab report goes from the lab (ServProvider) to the one who asked (Requester) and its copies.
constexpr std::string_view kLabReport = R"(<?xml version="1.0" encoding="UTF-8"?>
<Message xmlns="http://www.kith.no/xmlstds/labsvar/2012-02-15">
  <Type V="SVAR_LAB" DN="Svarrapport-Laboratoriemedisin"/>
  <MIGversion>v1.4 2012-02-15</MIGversion>
  <GenDate V="2024-03-01T11:52:24"/>
  <MsgId>e630b55b-d063-4bfa-8db4-e4b0a22d2451</MsgId>
  <ServReport>
    <Patient><Name>Nordmann, Ola</Name><OffId>55038512357</OffId><TypeOffId V="DNR" DN="D-nummer"/></Patient>
    <ServProvider><HCP><Inst><Name>Elvedal sykehus</Name><Id>59</Id><TypeId V="HER" DN="HER-id"/>
      <Dept><Name>Mikrobiologi</Name><Id>91126</Id><TypeId V="HER" DN="HER-id"/></Dept></Inst></HCP></ServProvider>
    <Requester><HCP><Inst><Name>Fjordtun legesenter</Name><Id>1234567</Id><TypeId V="HER" DN="HER-id"/>
      <HCPerson><Name>Kari Lege</Name><Id>7654321</Id><TypeId V="HPR" DN="HPR-nummer"/></HCPerson></Inst></HCP></Requester>
    <CopyDest><HCP><HCProf><Name>Per Spesialist</Name><Id>1112223</Id><TypeId V="HER" DN="HER-id"/></HCProf></HCP></CopyDest>
  </ServReport>
</Message>
)";

TEST(KithMessageHeader, ReadsAStandaloneReport) {
  const MessageHeader h = header_of(kLabReport);
  EXPECT_EQ(h.envelope, Envelope::kStandalone);
  EXPECT_EQ(h.type.v, "SVAR_LAB");
  EXPECT_EQ(h.gen_date, "2024-03-01T11:52:24");
  EXPECT_EQ(h.msg_id, "e630b55b-d063-4bfa-8db4-e4b0a22d2451");
  EXPECT_EQ(h.msg_id_path, "/Message/MsgId");
  ASSERT_TRUE(h.sender);
  EXPECT_EQ(h.sender->name, "Elvedal sykehus");
  EXPECT_EQ(h.sender->units.at(0).name, "Mikrobiologi");
  ASSERT_EQ(h.receivers.size(), 2u);
  EXPECT_EQ(h.receivers[0].name, "Fjordtun legesenter");
  EXPECT_EQ(h.receivers[0].persons.at(0).name, "Kari Lege");
  EXPECT_TRUE(h.receivers[1].person);
  EXPECT_EQ(h.receivers[1].ids_of_type("HER"), (std::vector<std::string>{"1112223"}));
  EXPECT_EQ(h.receiver_path, "/Message/ServReport/Requester/HCP");
  ASSERT_EQ(h.patient.ids.size(), 1u);
  EXPECT_EQ(h.patient.ids[0].id, testing::kDnr);
  EXPECT_EQ(h.patient.ids[0].type.v, "DNR");
  EXPECT_EQ(h.patient.path, "/Message/ServReport/Patient");
}

TEST(KithMessageHeader, ReadsARequestTheOtherWayRound) {
  std::string request(kLabReport);
  for (auto [from, to] :
       {std::pair{"ServReport>", "ServReq>"}, std::pair{"labsvar", "rekvisisjon"}}) {
    for (std::size_t at; (at = request.find(from)) != std::string::npos;)
      request.replace(at, std::string_view(from).size(), to);
  }
  const MessageHeader h = header_of(request);
  ASSERT_TRUE(h.sender);
  EXPECT_EQ(h.sender->name, "Fjordtun legesenter");
  EXPECT_EQ(h.receivers.at(0).name, "Elvedal sykehus");
  EXPECT_EQ(h.receiver_path, "/Message/ServReq/ServProvider/HCP");
}

TEST(KithMessageHeader, ReadsAnAppRec) {
  const MessageHeader h = header_of(R"(<AppRec xmlns="http://www.kith.no/xmlstds/apprec/2012-02-15">
      <MsgType V="APPREC"/><MIGversion>v1.1 2012-02-15</MIGversion><GenDate>2024-03-01T10:00:00</GenDate>
      <Id>C829A5F9-5BBF-4376-A37F-ADE4B399916C</Id>
      <Sender><HCP><Inst><Name>A</Name><Id>1</Id><TypeId V="HER"/></Inst></HCP></Sender>
      <Receiver><HCP><Inst><Name>B</Name><Id>2</Id><TypeId V="HER"/></Inst></HCP></Receiver>
      <Status V="1"/><OriginalMsgId><MsgType V="X"/><IssueDate>2024-03-01T09:00:00</IssueDate><Id>x</Id></OriginalMsgId>
      </AppRec>)");
  EXPECT_EQ(h.envelope, Envelope::kAppRec);
  EXPECT_EQ(h.msg_id, "C829A5F9-5BBF-4376-A37F-ADE4B399916C");
  EXPECT_EQ(h.sender->name, "A");
  EXPECT_EQ(h.receivers.at(0).name, "B");
}

TEST(KithMessageHeader, LeavesUnknownDocumentsAlone) {
  const MessageHeader h =
      header_of(R"(<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"/>)");
  EXPECT_EQ(h.envelope, Envelope::kOther);
  EXPECT_EQ(h.root_ns, "http://schemas.xmlsoap.org/soap/envelope/");
  EXPECT_EQ(h.root_element, "Envelope");
  EXPECT_FALSE(h.sender);
}

}  // namespace
}  // namespace helsebro::kith
