#include "gateway/core/files.h"
#include "gateway/core/json_tape.h"
#include "gateway/validate/fhir_validator.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace helsebro::validate {
namespace {

namespace fs = std::filesystem;

const fs::path kMappings = fs::path(HELSEBRO_SOURCE_DIR) / "mappings";

// The whole file; "" when it cannot be read (the assertions then say what is missing).
std::string read(const fs::path& p) { return read_file(p).value_or(""); }

const FhirValidator& validator() {
  return FhirValidator::r4();
}

// A transaction Bundle holding `resource` (JSON text) as its only entry.
std::string bundle_of(const std::string& resource,
                      const std::string& request = R"({"method":"POST","url":"Patient"})") {
  return R"({"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":)"
         R"("urn:uuid:a1818331-b070-5aba-afa2-b72bd32c8e98","resource":)" +
         resource + R"(,"request":)" + request + "}]}";
}

std::vector<ValidationIssue> check(const std::string& resource) {
  rapidjson::Document doc;
  doc.Parse(resource.c_str());
  if (doc.HasParseError()) throw std::invalid_argument("test resource is not JSON: " + resource);
  return validator().check(doc);
}

// "path: reason" per issue, for readable failures.
std::string describe(const std::vector<ValidationIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += i.path + ": " + i.reason + "\n";
  return out;
}

bool has_issue(const std::vector<ValidationIssue>& issues, const std::string& path,
               const std::string& reason_part) {
  return std::any_of(issues.begin(), issues.end(), [&](const ValidationIssue& i) {
    return i.path == path && i.reason.find(reason_part) != std::string::npos;
  });
}

std::vector<fs::path> example_bundles() {
  std::vector<fs::path> out;
  for (const auto& format : fs::directory_iterator(kMappings)) {
    const fs::path dir = format.path() / "examples";
    if (!fs::is_directory(dir)) continue;
    for (const auto& file : fs::directory_iterator(dir)) {
      const std::string name = file.path().filename().string();
      if (name.size() > 12 && name.substr(name.size() - 12) == ".bundle.json") {
        out.push_back(file.path());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FhirValidator, EveryExampleBundleValidatesClean) {
  const auto bundles = example_bundles();
  ASSERT_FALSE(bundles.empty());
  for (const fs::path& p : bundles) {
    auto result = validator().validate_bundle(read(p));
    EXPECT_TRUE(result) << p.filename() << ": " << result.error().detail;
  }
}

TEST(FhirValidator, RefusesGenderOutsideTheRequiredValueSet) {
  auto result =
      validator().validate_bundle(bundle_of(R"({"resourceType":"Patient","gender":"banana"})"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::kMappingFailed);
  EXPECT_EQ(result.error().detail,
            "FHIR validation: Bundle.entry[0].resource.gender: code 'banana' is not in required "
            "value set http://hl7.org/fhir/ValueSet/administrative-gender");
}

TEST(FhirValidator, RefusesImpossibleBirthDate) {
  const auto issues = check(R"({"resourceType":"Patient","birthDate":"2020-13-45"})");
  ASSERT_EQ(issues.size(), 1u) << describe(issues);
  EXPECT_EQ(issues[0].path, "Patient.birthDate");
  EXPECT_EQ(issues[0].reason, "not a valid date");
}

// A second resourceType would name another type to a reader that takes the last member: the
// resource validated would not be the resource stored.
TEST(FhirValidator, RefusesAResourceTypeGivenTwice) {
  const auto issues = check(R"({"resourceType":"Patient","gender":"male","resourceType":"Basic"})");
  ASSERT_EQ(issues.size(), 1u) << describe(issues);
  EXPECT_EQ(issues[0].path, "Patient.resourceType");
  EXPECT_EQ(issues[0].reason, "given twice");
}

// An HL7 v2 \X00\ or \X07\ decodes to a control character: no FHIR string holds one (but tab,
// line feed and carriage return, which text may hold).
TEST(FhirValidator, RefusesControlCharactersInStrings) {
  const auto issues = check(R"({"resourceType":"Patient","name":[{"family":"Berg","given":["A\u0000B","C\u0007"]}]})");
  ASSERT_EQ(issues.size(), 2u) << describe(issues);
  EXPECT_EQ(issues[0].path, "Patient.name[0].given[0]");
  EXPECT_EQ(issues[0].reason, "holds the control character U+0000");
  EXPECT_EQ(issues[1].reason, "holds the control character U+0007");
  EXPECT_TRUE(check(R"({"resourceType":"Patient","name":[{"text":"a\tb\r\nc"}]})").empty());
}

TEST(FhirValidator, AcceptsPartialDatesAndZonedDateTimes) {
  const auto issues = check(R"({"resourceType":"Patient","birthDate":"1985-03",
      "deceasedDateTime":"2026-11-23T10:10:00+01:00"})");
  EXPECT_TRUE(issues.empty()) << describe(issues);
}

TEST(FhirValidator, RefusesEncounterWithoutStatusAndClass) {
  const auto issues = check(R"({"resourceType":"Encounter","id":"e1"})");
  EXPECT_TRUE(has_issue(issues, "Encounter.status", "missing: required")) << describe(issues);
  EXPECT_TRUE(has_issue(issues, "Encounter.class", "missing: required")) << describe(issues);
  EXPECT_EQ(issues.size(), 2u) << describe(issues);
}

TEST(FhirValidator, RefusesUnknownElement) {
  const auto issues = check(R"({"resourceType":"Patient","foo":"bar"})");
  ASSERT_EQ(issues.size(), 1u) << describe(issues);
  EXPECT_EQ(issues[0].path, "Patient.foo");
  EXPECT_EQ(issues[0].reason, "unknown element");
}

TEST(FhirValidator, RefusesStringWhereBooleanBelongs) {
  const auto issues = check(R"({"resourceType":"Patient","active":"true"})");
  ASSERT_EQ(issues.size(), 1u) << describe(issues);
  EXPECT_EQ(issues[0].path, "Patient.active");
  EXPECT_EQ(issues[0].reason, "expected a boolean, found a string");
}

TEST(FhirValidator, RefusesArrayForSingleValuedElement) {
  const auto issues =
      check(R"({"resourceType":"Patient","birthDate":["1985-03-15","1985-03-16"]})");
  ASSERT_EQ(issues.size(), 1u) << describe(issues);
  EXPECT_EQ(issues[0].path, "Patient.birthDate");
  EXPECT_EQ(issues[0].reason, "expected a single value, found an array (max 1)");
}

TEST(FhirValidator, RefusesSingleValueForRepeatingElement) {
  const auto issues = check(R"({"resourceType":"Patient","name":{"family":"Nordmann"}})");
  EXPECT_TRUE(has_issue(issues, "Patient.name", "expected an array")) << describe(issues);
}

TEST(FhirValidator, ResolvesChoiceTypes) {
  const std::string base = R"({"resourceType":"Observation","status":"final",
      "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},)";
  const auto ok = check(base + R"("valueQuantity":{"value":72,"unit":"/min"}})");
  EXPECT_TRUE(ok.empty()) << describe(ok);

  const auto foo = check(base + R"("valueFoo":{"value":72}})");
  ASSERT_EQ(foo.size(), 1u) << describe(foo);
  EXPECT_EQ(foo[0].path, "Observation.valueFoo");
  EXPECT_EQ(foo[0].reason, "unknown element");

  const auto two = check(base + R"("valueString":"x","valueBoolean":true})");
  EXPECT_TRUE(has_issue(two, "Observation.valueBoolean", "only one type of value[x]"))
      << describe(two);
}

TEST(FhirValidator, RefusesBundleEntryWithoutRequest) {
  auto result = validator().validate_bundle(
      R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":)"
      R"({"resourceType":"Patient","gender":"male"}}]})");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().detail,
            "FHIR validation: Bundle.entry[0].request: missing: a transaction entry needs "
            "request.method and request.url");
}

TEST(FhirValidator, RefusesRequestWithoutUrlAndNonTransactionBundles) {
  auto no_url = validator().validate_bundle(
      bundle_of(R"({"resourceType":"Patient"})", R"({"method":"POST"})"));
  ASSERT_FALSE(no_url);
  EXPECT_NE(no_url.error().detail.find("Bundle.entry[0].request.url: missing: required"),
            std::string::npos)
      << no_url.error().detail;

  auto batch = validator().validate_bundle(R"({"resourceType":"Bundle","type":"batch"})");
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().detail,
            "FHIR validation: Bundle.type: must be 'transaction', found 'batch'");
}

TEST(FhirValidator, NamesAtMostFiveIssuesInTheError) {
  auto result = validator().validate_bundle(
      bundle_of(R"({"resourceType":"Patient","a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7})"));
  ASSERT_FALSE(result);
  const std::string& d = result.error().detail;
  EXPECT_EQ(std::count(d.begin(), d.end(), ';'), 4) << d;
  EXPECT_NE(d.find("resource.e: unknown element"), std::string::npos) << d;
  EXPECT_EQ(d.find("resource.f:"), std::string::npos) << d;
}

TEST(FhirValidator, RefusesUnknownResourceTypeAndText) {
  auto unknown = validator().validate_bundle(bundle_of(R"({"resourceType":"Pasient"})"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().detail,
            "FHIR validation: Bundle.entry[0].resource.resourceType: unknown resource type "
            "'Pasient'");
  auto garbage = validator().validate_bundle("{\"resourceType\":");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().detail.rfind("FHIR validation: Bundle: not JSON", 0), 0u);
}

TEST(FhirValidator, ChecksCodingsOfTheValueSetsOwnSystemOnly) {
  // Condition.clinicalStatus: CodeableConcept, required binding to condition-clinical.
  const std::string head = R"({"resourceType":"Condition","subject":{"reference":"Patient/p1"},
      "clinicalStatus":{"coding":[{"system":"http://snomed.info/sct","code":"55561003"},)";
  const auto ok =
      check(head + R"({"system":"http://terminology.hl7.org/CodeSystem/condition-clinical",
      "code":"active"}]}})");
  EXPECT_TRUE(ok.empty()) << describe(ok);
  const auto wrong =
      check(head + R"({"system":"http://terminology.hl7.org/CodeSystem/condition-clinical",
      "code":"aktiv"}]}})");
  ASSERT_EQ(wrong.size(), 1u) << describe(wrong);
  EXPECT_EQ(wrong[0].path, "Condition.clinicalStatus.coding[1].code");
  EXPECT_EQ(
      wrong[0].reason,
      "code 'aktiv' is not in required value set http://hl7.org/fhir/ValueSet/condition-clinical");
}

TEST(FhirValidator, RecursesIntoBackboneDatatypesAndContainedResources) {
  const auto issues = check(R"({"resourceType":"Patient",
      "contact":[{"gender":"x","name":{"use":"nickname","given":[1]}}],
      "contained":[{"resourceType":"Organization","active":"yes"}],
      "identifier":[{"period":{"start":"yesterday"}}]})");
  EXPECT_TRUE(has_issue(issues, "Patient.contact[0].gender", "code 'x'")) << describe(issues);
  EXPECT_TRUE(has_issue(issues, "Patient.contact[0].name.given[0]", "expected a string"))
      << describe(issues);
  EXPECT_TRUE(has_issue(issues, "Patient.contained[0].active", "expected a boolean"))
      << describe(issues);
  EXPECT_TRUE(has_issue(issues, "Patient.identifier[0].period.start", "not a valid dateTime"))
      << describe(issues);
  EXPECT_EQ(issues.size(), 4u) << describe(issues);
}

TEST(FhirValidator, FollowsContentReferencesIntoRecursiveElements) {
  const auto issues = check(R"({"resourceType":"Questionnaire","status":"active",
      "item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"strin"}]}]})");
  ASSERT_EQ(issues.size(), 1u) << describe(issues);
  EXPECT_EQ(issues[0].path, "Questionnaire.item[0].item[0].type");
}

TEST(FhirValidator, AcceptsPrimitiveExtensionsAndRefusesStrayNulls) {
  const auto ok = check(R"({"resourceType":"Patient","birthDate":"1985-03-15",
      "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime",
      "valueDateTime":"1985-03-15T10:10:00+01:00"}]},
      "name":[{"given":["Kåre",null],"_given":[null,{"extension":[{"url":"http://x.no/e",
      "valueString":"Ø"}]}]}]})");
  EXPECT_TRUE(ok.empty()) << describe(ok);
  const auto stray = check(R"({"resourceType":"Patient","name":[{"given":["Kåre",null]}]})");
  EXPECT_TRUE(has_issue(stray, "Patient.name[0].given[1]", "null")) << describe(stray);
}

TEST(FhirValidator, ChecksIntegerRangesAndFormats) {
  const auto issues = check(R"({"resourceType":"Patient","multipleBirthInteger":1.5,
      "id":"has space","telecom":[{"rank":0,"system":"phone","value":"+47 22 00 00 00"}],
      "photo":[{"data":"not base64!"}]})");
  EXPECT_TRUE(has_issue(issues, "Patient.multipleBirthInteger", "not a valid integer"))
      << describe(issues);
  EXPECT_TRUE(has_issue(issues, "Patient.id", "not a valid id")) << describe(issues);
  EXPECT_TRUE(has_issue(issues, "Patient.telecom[0].rank", "not a valid positiveInt"))
      << describe(issues);
  EXPECT_TRUE(has_issue(issues, "Patient.photo[0].data", "not a valid base64Binary"))
      << describe(issues);
  EXPECT_EQ(issues.size(), 4u) << describe(issues);
}

TEST(FhirValidator, BoundsDeeplyNestedInput) {
  std::string nested = R"({"url":"http://x.no/e","valueString":"v"})";
  for (int i = 0; i < 300; ++i) nested = R"({"url":"http://x.no/e","extension":[)" + nested + "]}";
  const auto issues = check(R"({"resourceType":"Patient","extension":[)" + nested + "]}");
  ASSERT_EQ(issues.size(), 1u) << describe(issues);
  EXPECT_EQ(issues[0].reason, "nested too deeply");

  const std::string brackets = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(validator().validate_bundle(brackets));
  EXPECT_FALSE(validator().validate_bundle(std::string("{\"resourceType\":\"Bundle\"}\0x", 27)));
}

TEST(FhirValidator, KeysAtAPlaceOnceHoldingAnotherKeyAreLookedUpAgain) {
  // The validator remembers slots by where a key's text is (the mappings' keys stay put); a place
  // reused for another text must not give the old key's slot.
  char key[] = "gender";
  auto check_key = [&] {
    rapidjson::Document doc;
    doc.SetObject();
    doc.AddMember("resourceType", "Patient", doc.GetAllocator());
    rapidjson::Value name(rapidjson::StringRef(key));
    rapidjson::Value value("female");
    doc.AddMember(name, value, doc.GetAllocator());
    return validator().check(doc);
  };
  EXPECT_TRUE(check_key().empty());
  key[3] = 'D';  // "genDer", same place and length
  const auto issues = check_key();
  ASSERT_EQ(issues.size(), 1u) << describe(issues);
  EXPECT_EQ(issues[0].path, "Patient.genDer");
  EXPECT_EQ(issues[0].reason, "unknown element");
  key[3] = 'd';
  EXPECT_TRUE(check_key().empty());
}

TEST(FhirValidator, KeepsMedplumAdditionsOut) {
  const auto issues = check(R"({"resourceType":"Patient","meta":{"project":"p1"}})");
  EXPECT_TRUE(has_issue(issues, "Patient.meta.project", "unknown element")) << describe(issues);
}

TEST(FhirValidator, ListsTheRequiredValueSetsItCannotCheck) {
  const auto unchecked = validator().unchecked_value_sets();
  EXPECT_NE(std::find(unchecked.begin(), unchecked.end(), "http://hl7.org/fhir/ValueSet/mimetypes"),
            unchecked.end());
  EXPECT_LT(unchecked.size(), 10u);
}

TEST(FhirValidator, RefusesMalformedTable) {
  EXPECT_THROW(FhirValidator("{}"), std::invalid_argument);
  EXPECT_THROW(FhirValidator("not json"), std::invalid_argument);
}

// Not a timed assertion: prints the cost of one 20-resource Bundle for the report.
TEST(FhirValidator, MeasuresTwentyResourceBundle) {
  rapidjson::Document example;
  example.Parse(read(kMappings / "hl7v2/examples/adt-a04-nordmann.bundle.json").c_str());
  ASSERT_FALSE(example.HasParseError());
  rapidjson::Document bundle;
  bundle.CopyFrom(example, bundle.GetAllocator());
  rapidjson::Value& entries = bundle["entry"];
  while (entries.Size() < 20) {
    rapidjson::Value copy(example["entry"][entries.Size() % 2], bundle.GetAllocator());
    entries.PushBack(copy, bundle.GetAllocator());
  }
  ASSERT_TRUE(validator().check(bundle).empty());

  constexpr int kRounds = 20000;
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  std::size_t issues = 0;
  for (int i = 0; i < kRounds; ++i) issues += validator().check(bundle).size();
  const double check_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kRounds;
  EXPECT_EQ(issues, 0u);

  rapidjson::StringBuffer text;
  rapidjson::Writer<rapidjson::StringBuffer> writer(text);
  bundle.Accept(writer);
  const std::string json(text.GetString(), text.GetSize());
  start = Clock::now();
  for (int i = 0; i < kRounds; ++i) ASSERT_TRUE(validator().validate_bundle(json));
  const double full_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kRounds;
  std::cout << "[ measure  ] 20-resource Bundle (" << json.size() << " bytes): check() " << check_us
            << " us, validate_bundle() incl. parse " << full_us << " us\n";
  RecordProperty("check_us", std::to_string(check_us));
  RecordProperty("validate_bundle_us", std::to_string(full_us));
}

TEST(FhirValidator, ReadsNumbersKeptAsTextOfAnInMemoryBundle) {
  // A Bundle on a tape, as the mapping engine builds it; "#" before a string's text here makes it
  // a number kept as the sender wrote it (JsonToken::Kind::kNumber).
  struct Built {
    rapidjson::Document doc;
    JsonTape tape;
  };
  auto bundle_with = [](const std::string& value_member) {
    std::string text =
        R"({"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1",)"
        R"("resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},)" +
        value_member + R"(},"request":{"method":"POST","url":"Observation"}}]})";
    auto built = std::make_unique<Built>();
    built->doc.Parse(text.c_str());
    append_rapidjson(built->doc, built->tape);
    for (std::size_t i = 0; i < built->tape.size(); ++i) {
      JsonToken& t = built->tape[i];
      if (t.kind == JsonToken::Kind::kString && t.size > 1 && t.text[0] == '#') {
        t.kind = JsonToken::Kind::kNumber;
        ++t.text;
        --t.size;
      }
    }
    return built;
  };
  auto good = bundle_with(R"("valueQuantity":{"value":"#1.50"})");
  EXPECT_TRUE(FhirValidator::r4().validate_bundle(good->tape));
  auto text = bundle_with(R"("valueQuantity":{"value":"1.50"})");
  auto refused = FhirValidator::r4().validate_bundle(text->tape);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find("valueQuantity.value: expected a number, found a string"), std::string::npos)
      << refused.error().detail;
  auto leading_zero = bundle_with(R"("valueQuantity":{"value":"#05.1"})");
  auto not_json = FhirValidator::r4().validate_bundle(leading_zero->tape);
  ASSERT_FALSE(not_json);
  EXPECT_NE(not_json.error().detail.find("not a valid JSON number"), std::string::npos) << not_json.error().detail;
  auto blank = bundle_with(R"("valueString":"  ")");
  auto whitespace = FhirValidator::r4().validate_bundle(blank->tape);
  ASSERT_FALSE(whitespace);
  EXPECT_NE(whitespace.error().detail.find("valueString: is empty or only whitespace"), std::string::npos)
      << whitespace.error().detail;
  auto fraction = bundle_with(R"("valueInteger":"#1.5")");
  auto not_integer = FhirValidator::r4().validate_bundle(fraction->tape);
  ASSERT_FALSE(not_integer);
  EXPECT_NE(not_integer.error().detail.find("a 32-bit integer"), std::string::npos) << not_integer.error().detail;
  auto number_as_string = bundle_with(R"("valueString":"#1.5")");
  auto not_string = FhirValidator::r4().validate_bundle(number_as_string->tape);
  ASSERT_FALSE(not_string);
  EXPECT_NE(not_string.error().detail.find("valueString: expected a string, found a number"), std::string::npos)
      << not_string.error().detail;
}

}  // namespace
}  // namespace helsebro::validate
