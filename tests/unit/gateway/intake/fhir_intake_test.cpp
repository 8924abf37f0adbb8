#include "gateway/intake/fhir_intake.h"

#include <gtest/gtest.h>

#include "gateway/validate/fhir_validator.h"

namespace helsebro::intake {
namespace {

constexpr EpochMillis kNow = 1'764'000'000'000;
constexpr std::string_view kFnrSystem = "urn:oid:2.16.578.1.12.4.1.4.1";

FhirIntake make_intake() {
  return FhirIntake("http-fhir", validate::FhirValidator::r4(), Clock([] { return kNow; }), nullptr);
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

const std::string kPatient =
    R"({"resourceType":"Patient","gender":"female","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"15038510190"}]})";

TEST(FhirIntake, WrapsASingleResourceIntoATransactionWithOnePost) {
  const PreparedFhir p = make_intake().prepare(kPatient, "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kTranslated);
  EXPECT_EQ(p.http_status, 202);
  EXPECT_EQ(p.record.format, "fhir");
  EXPECT_EQ(p.record.message_type, "Patient");
  EXPECT_EQ(p.record.received_at, kNow);
  EXPECT_TRUE(contains(p.record.bundle, R"("resourceType":"Bundle","type":"transaction")")) << p.record.bundle;
  EXPECT_TRUE(contains(p.record.bundle, R"("request":{"method":"POST","url":"Patient"})")) << p.record.bundle;
  EXPECT_TRUE(validate::FhirValidator::r4().validate_bundle(p.record.bundle));
  EXPECT_EQ(p.record.ordering_key, std::string(kFnrSystem) + "|15038510190");
  EXPECT_TRUE(contains(p.body, p.record.id));
}

TEST(FhirIntake, KeepsATransactionBundleAsSent) {
  const std::string bundle =
      R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation",)"
      R"("status":"final","code":{"text":"puls"},"subject":{"reference":"Patient/abc"}},)"
      R"("request":{"method":"POST","url":"Observation"}}]})";
  const PreparedFhir p = make_intake().prepare(bundle, "10.0.0.1");
  ASSERT_EQ(p.record.state, MessageState::kTranslated) << p.body;
  EXPECT_EQ(p.record.message_type, "Bundle");
  EXPECT_EQ(p.record.ordering_key, "Patient/abc");
}

TEST(FhirIntake, RejectsAnInvalidResourceWith422NamingThePath) {
  const PreparedFhir p = make_intake().prepare(R"({"resourceType":"Patient","gender":"banana"})", "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.http_status, 422);
  EXPECT_EQ(p.content_type, "application/problem+json");
  EXPECT_TRUE(contains(p.body, R"("expression":["Patient.gender"])")) << p.body;
  EXPECT_TRUE(contains(p.record.reason, "Patient.gender")) << p.record.reason;
  EXPECT_EQ(p.metric_type, "other");
}

TEST(FhirIntake, RejectsABatchBundle) {
  const PreparedFhir p = make_intake().prepare(R"({"resourceType":"Bundle","type":"batch"})", "10.0.0.1");
  EXPECT_EQ(p.http_status, 422);
  EXPECT_TRUE(contains(p.body, "Bundle.type")) << p.body;
}

TEST(FhirIntake, RejectsNonJsonWith400) {
  const PreparedFhir p = make_intake().prepare("<Patient/>", "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.http_status, 400);
}

// "Åse" in Latin-1: JSON is UTF-8, and the record would store a garbled name.
TEST(FhirIntake, RejectsBytesThatAreNotUtf8With400NamingTheByte) {
  const std::string latin1 = R"({"resourceType":"Patient","name":[{"given":[")" + std::string("\xC5se") + R"("]}]})";
  const PreparedFhir p = make_intake().prepare(latin1, "10.0.0.1");
  EXPECT_EQ(p.record.state, MessageState::kRejected);
  EXPECT_EQ(p.http_status, 400);
  EXPECT_TRUE(contains(p.body, "Invalid encoding")) << p.body;
  EXPECT_TRUE(contains(p.body, "at byte 45")) << p.body;  // the first byte of "\xC5se"
  EXPECT_FALSE(contains(p.body, "\xC5se")) << "the answer does not quote the value";
  const std::string utf8 = R"({"resourceType":"Patient","name":[{"given":["Åse"]}]})";
  EXPECT_EQ(make_intake().prepare(utf8, "10.0.0.1").http_status, 202);
}

TEST(FhirIntake, RejectsJsonWithoutResourceType) {
  EXPECT_EQ(make_intake().prepare(R"({"gender":"female"})", "10.0.0.1").http_status, 422);
  EXPECT_EQ(make_intake().prepare("[]", "10.0.0.1").http_status, 422);
}

TEST(FhirIntake, OrderingKeyFromAConditionalPatientReference) {
  EXPECT_EQ(patient_ordering_key(
                R"({"entry":[{"resource":{"resourceType":"Encounter","subject":{"reference":"Patient?identifier=s|v"}}}]})"),
            "s|v");
  EXPECT_EQ(patient_ordering_key(R"({"entry":[{"resource":{"resourceType":"Organization"}}]})"), "");
}

}  // namespace
}  // namespace helsebro::intake
