#include "adapters/kith/apprec_writer.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "adapters/kith/classifier.h"
#include "tests/unit/adapters/kith/test_support.h"

namespace helsebro::kith {
namespace {

using testing::dialog_message;

constexpr EpochMillis kNow = 1709288100000;  // 2024-03-01T10:15:00Z

// The header of the test message, as the classifier reads it.
MessageHeader test_header() {
  const Classifier classifier(testing::schemas(), {});
  const Classification c = classifier.classify(dialog_message());
  EXPECT_TRUE(c.accepted()) << (c.rejection ? c.rejection->text : "");
  return c.message ? c.message->header() : MessageHeader{};
}

AppRecRequest request(AppRecVersion version, AppRecStatus status,
                      std::vector<AppRecError> errors = {}) {
  AppRecRequest r = answer_to(test_header());
  r.version = version;
  r.status = status;
  r.errors = std::move(errors);
  r.id = "0b8f3c1e-5d2a-4e6f-8a9b-1c2d3e4f5a6b";
  r.now = kNow;
  r.software_version = "0.1.0";
  return r;
}

// Every receipt written must validate against the AppRec schema of its version.
void expect_valid(const std::string& xml) {
  auto doc = read_xml(xml);
  ASSERT_TRUE(doc) << doc.error().detail;
  const auto violation = testing::schemas()->validate(*doc);
  EXPECT_FALSE(violation) << violation->path << ": " << violation->detail << "\n" << xml;
}

pugi::xml_document parse(const std::string& xml) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(xml.c_str()));
  return doc;
}

std::string version_name(AppRecVersion v) {
  return v == AppRecVersion::kV1_0 ? "1.0" : "1.1";
}

class KithAppRecVersions : public ::testing::TestWithParam<AppRecVersion> {};

TEST_P(KithAppRecVersions, StatusOkValidates) {
  auto xml = write_apprec(request(GetParam(), AppRecStatus::kOk));
  ASSERT_TRUE(xml) << xml.error().message();
  expect_valid(*xml);
  const auto doc = parse(*xml);
  const pugi::xml_node root = doc.child("AppRec");
  EXPECT_STREQ(root.child("Status").attribute("V").value(), "1");
  EXPECT_STREQ(root.child("Status").attribute("DN").value(), "OK");
  EXPECT_FALSE(root.child("Error"));
}

TEST_P(KithAppRecVersions, EveryErrorCodeValidatesWithStatusRejected) {
  for (int i = 0; i < static_cast<int>(AppRecCode::kCount); ++i) {
    const auto code = static_cast<AppRecCode>(i);
    auto xml = write_apprec(request(GetParam(), AppRecStatus::kRejected,
                                    {{code, "Feil i /MsgHead/MsgInfo/MsgId: æøå <&> \"sitat\""}}));
    ASSERT_TRUE(xml) << xml.error().message();
    SCOPED_TRACE(std::string(info(code).code) + " AppRec " + version_name(GetParam()));
    expect_valid(*xml);
    const auto doc = parse(*xml);
    const pugi::xml_node error = doc.child("AppRec").child("Error");
    EXPECT_EQ(error.attribute("V").value(), info(code).code);
    EXPECT_STREQ(error.attribute("S").value(), "2.16.578.1.12.4.1.1.8221");
    EXPECT_EQ(error.attribute("DN").value(), info(code).display);
    EXPECT_STREQ(error.attribute("OT").value(), "Feil i /MsgHead/MsgInfo/MsgId: æøå <&> \"sitat\"");
    EXPECT_STREQ(doc.child("AppRec").child("Status").attribute("DN").value(), "Avvist");
  }
}

TEST_P(KithAppRecVersions, StatusOkWithErrorInPartValidates) {
  auto xml = write_apprec(request(GetParam(), AppRecStatus::kOkErrorInPart,
                                  {{AppRecCode::kX99, "Vedlegg 2 kunne ikke leses"},
                                   {AppRecCode::kE35, "Pasienten er ikke registrert"}}));
  ASSERT_TRUE(xml);
  expect_valid(*xml);
  const auto doc = parse(*xml);
  EXPECT_STREQ(doc.child("AppRec").child("Status").attribute("V").value(), "3");
  EXPECT_EQ(std::distance(doc.child("AppRec").children("Error").begin(),
                          doc.child("AppRec").children("Error").end()),
            2);
}

TEST_P(KithAppRecVersions, UsesTheNamespaceAndMigVersionOfTheVersion) {
  auto xml = write_apprec(request(GetParam(), AppRecStatus::kOk));
  ASSERT_TRUE(xml);
  const auto doc = parse(*xml);
  const bool v10 = GetParam() == AppRecVersion::kV1_0;
  EXPECT_STREQ(doc.child("AppRec").attribute("xmlns").value(),
               v10 ? "http://www.kith.no/xmlstds/apprec/2004-11-21"
                   : "http://www.kith.no/xmlstds/apprec/2012-02-15");
  EXPECT_STREQ(doc.child("AppRec").child_value("MIGversion"),
               v10 ? "1.0 2004-11-21" : "v1.1 2012-02-15");
}

INSTANTIATE_TEST_SUITE_P(BothVersions, KithAppRecVersions,
                         ::testing::Values(AppRecVersion::kV1_0, AppRecVersion::kV1_1),
                         [](const auto& info) {
                           return info.param == AppRecVersion::kV1_0 ? "V1_0" : "V1_1";
                         });

TEST(KithAppRecWriter, SwapsSenderAndReceiver) {
  auto xml = write_apprec(request(AppRecVersion::kV1_1, AppRecStatus::kOk));
  ASSERT_TRUE(xml);
  const auto doc = parse(*xml);
  const pugi::xml_node sender = doc.child("AppRec").child("Sender").child("HCP").child("Inst");
  EXPECT_STREQ(sender.child_value("Name"), "Elvedal kommune");
  EXPECT_STREQ(sender.child_value("Id"), "111222");
  EXPECT_STREQ(sender.child("TypeId").attribute("V").value(), "HER");
  EXPECT_STREQ(sender.child("Dept").child_value("Name"), "Hjemmetjenesten");
  EXPECT_STREQ(sender.child("Dept").child_value("Id"), "333444");
  EXPECT_STREQ(sender.child("AdditionalId").child_value("Id"), "987654321");
  EXPECT_STREQ(sender.child("AdditionalId").child("Type").attribute("V").value(), "ENH");
  const pugi::xml_node receiver = doc.child("AppRec").child("Receiver").child("HCP").child("Inst");
  EXPECT_STREQ(receiver.child_value("Name"), "Fjordtun legesenter");
  EXPECT_STREQ(receiver.child_value("Id"), "1234567");
  EXPECT_STREQ(receiver.child("HCPerson").child_value("Name"), "Kari Lege");
  EXPECT_STREQ(receiver.child("HCPerson").child("TypeId").attribute("V").value(), "HPR");
}

TEST(KithAppRecWriter, EchoesTheOriginalMessage) {
  auto xml = write_apprec(request(AppRecVersion::kV1_1, AppRecStatus::kOk));
  ASSERT_TRUE(xml);
  const auto doc = parse(*xml);
  const pugi::xml_node root = doc.child("AppRec");
  const pugi::xml_node original = root.child("OriginalMsgId");
  EXPECT_STREQ(original.child("MsgType").attribute("V").value(), "DIALOG_NOTAT");
  EXPECT_STREQ(original.child("MsgType").attribute("DN").value(), "Notat");
  EXPECT_STREQ(original.child_value("IssueDate"), "2024-03-01T10:15:00");
  EXPECT_EQ(original.child_value("Id"), testing::kMsgId);
  EXPECT_STREQ(root.child_value("Id"), "0b8f3c1e-5d2a-4e6f-8a9b-1c2d3e4f5a6b");
  EXPECT_STREQ(root.child_value("GenDate"), "2024-03-01T10:15:00Z");
  EXPECT_STREQ(root.child("MsgType").attribute("V").value(), "APPREC");
  EXPECT_STREQ(root.child_value("SoftwareName"), "Helsebro");
}

TEST(KithAppRecWriter, KeepsOriginalIssueDateValid) {
  AppRecRequest r =
      request(AppRecVersion::kV1_1, AppRecStatus::kRejected, {{AppRecCode::kT02, "x"}});
  r.original_issue_date = "2024-02-29";
  auto xml = write_apprec(r);
  ASSERT_TRUE(xml);
  expect_valid(*xml);
  EXPECT_STREQ(parse(*xml).child("AppRec").child("OriginalMsgId").child_value("IssueDate"),
               "2024-02-29T00:00:00");
  r.original_issue_date = "i går";
  xml = write_apprec(r);
  ASSERT_TRUE(xml);
  expect_valid(*xml);
  EXPECT_STREQ(parse(*xml).child("AppRec").child("OriginalMsgId").child_value("IssueDate"),
               "2024-03-01T10:15:00Z");
  r.original_issue_date = "2024-02-29T08:00:00.123+01:00";
  xml = write_apprec(r);
  ASSERT_TRUE(xml);
  EXPECT_STREQ(parse(*xml).child("AppRec").child("OriginalMsgId").child_value("IssueDate"),
               "2024-02-29T08:00:00.123+01:00");
  // The shape of a time, but no time that exists (xs:dateTime refuses them): the receipt's own.
  for (const char* impossible : {"2026-13-45T25:61:61", "2026-02-30", "2025-02-29T08:00:00", "0000-01-01",
                                 "2026-01-01T24:00:00", "2026-01-01T08:00:60", "2026-01-01T08:00:00+15:00",
                                 "2026-01-01T08:00:00+01:60"}) {
    r.original_issue_date = impossible;
    xml = write_apprec(r);
    ASSERT_TRUE(xml);
    expect_valid(*xml);
    EXPECT_STREQ(parse(*xml).child("AppRec").child("OriginalMsgId").child_value("IssueDate"), "2024-03-01T10:15:00Z")
        << impossible;
  }
}

TEST(KithAppRecWriter, AnswersAPersonAndAnUnreadableSenderValidly) {
  AppRecRequest r =
      request(AppRecVersion::kV1_0, AppRecStatus::kRejected, {{AppRecCode::kT02, "x"}});
  r.receiver = Party{};
  r.receiver.person = true;
  r.receiver.name = "Per Spesialist";
  r.receiver.ids.push_back(Ident{"1112223", Coded{"HER", "", "HER-id"}});
  r.sender = Party{};
  auto xml = write_apprec(r);
  ASSERT_TRUE(xml);
  expect_valid(*xml);
  const auto doc = parse(*xml);
  EXPECT_STREQ(doc.child("AppRec").child("Receiver").child("HCP").child("HCProf").child_value("Id"),
               "1112223");
  EXPECT_TRUE(doc.child("AppRec").child("Sender").child("HCP").child("Inst"));
}

TEST(KithAppRecWriter, RefusesStatusesThatContradictTheErrors) {
  EXPECT_FALSE(
      write_apprec(request(AppRecVersion::kV1_1, AppRecStatus::kOk, {{AppRecCode::kX99, "x"}})));
  EXPECT_FALSE(write_apprec(request(AppRecVersion::kV1_1, AppRecStatus::kRejected)));
  EXPECT_FALSE(write_apprec(request(AppRecVersion::kV1_1, AppRecStatus::kOkErrorInPart)));
}

TEST(KithAppRecWriter, FormatsTimesInUtc) {
  EXPECT_EQ(format_date_time(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_date_time(kNow + 999), "2024-03-01T10:15:00Z");
}

}  // namespace
}  // namespace helsebro::kith
