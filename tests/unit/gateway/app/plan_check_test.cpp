#include "gateway/app/plan_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "adapters/hl7v2/path.h"
#include "gateway/app/lint_command.h"
#include "gateway/app/mappings.h"
#include "gateway/validate/fhir_validator.h"
#include "unit/temp_dir.h"

namespace helsebro::app {
namespace {

// Every construct that writes members, with one misspelt element in each, and lists where FHIR
// takes one value, the reverse, a list inside a list, an object without a required element and a
// member written twice, beside correct ones that only look unusual: a choice type's key, a
// primitive's "_status" twin, the body's own resourceType (which the engine replaces).
constexpr const char* kMapping = R"({"mapping": "m",
  "accepts": {"format": "hl7v2", "messages": ["ORU^R01"]},
  "resources": [
    {"name": "obs", "resourceType": "Observation", "forEach": "OBX",
     "resource": {
       "resourceType": "ignored",
       "status": "final",
       "_status": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},
       "code": {"codng": [{"system": "http://loinc.org", "code": "1-8"}]},
       "valueQuantity": {"value": {"$path": "@-5", "$as": "decimal"}, "unitt": {"$path": "@-6.1"}},
       "interpretation": [{"$each": "@-8", "$do": {"txt": {"$path": "@.2"}}}],
       "effectiveDateTime": {"$if": {"path": "@-14", "exists": true},
                             "$then": {"$path": "@-14", "$as": "dateTime"}},
       "referenceRange": [{"$if": {"path": "@-7", "exists": true},
                           "$then": {"text": {"$path": "@-7"}},
                           "$else": {"txet": "none"}}],
       "performer": [{"$each": "@-16", "$use": "XCN"}],
       "note": [{"$each": "@-17", "$use": "XCN"}],
       "category": {"coding": [{"system": "http://example.org", "code": "lab"}]},
       "subject": [{"reference": "Patient/1"}],
       "basedOn": {"$first": "@-21", "$do": {"display": {"$path": "@.1"}}},
       "identifier": [{"$each": "@-21", "$do": {"value": {"$path": "@.1"}}}],
       "hasMember": [{"$if": {"path": "@-4", "exists": true}, "$then": [{"reference": "Observation/1"}]}],
       "status": {"$path": "@-11"}
     }},
    {"name": "other", "resourceType": "Observasjon", "resource": {"status": "final"}}
  ]})";

// Used as a Reference (Observation.performer) and as an Annotation (Observation.note): Reference
// has "display", Annotation has not.
constexpr const char* kXcn = R"({"datatype": "XCN", "template": {"display": {"$path": "@.2"}}})";

class PlanCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("mappings/hl7v2/m.json", kMapping);
    dir_.write("mappings/hl7v2/datatypes/XCN.json", kXcn);
  }
  std::string mappings() const { return (dir_.path() / "mappings").string(); }

  test::TempDir dir_;
};

TEST_F(PlanCheckTest, NamesEveryMemberFhirHasNoElementFor) {
  const hl7v2::PathDialect hl7v2;
  auto set = mapping::MappingSet::load(mappings(), {{"hl7v2", &hl7v2}});
  ASSERT_TRUE(set) << set.error().message();
  const auto problems = plan_problems(**set, validate::FhirValidator::r4().table());
  std::ostringstream all;
  for (const auto& p : problems) all << p << "\n";
  ASSERT_EQ(problems.size(), 12U) << all.str();
  // Each with its place in the file (the line and column of the member's value) and its path.
  auto has = [&](const std::string& where, const std::string& what) {
    return std::any_of(problems.begin(), problems.end(), [&](const std::string& p) {
      return p.find(where) != std::string::npos && p.find(what) != std::string::npos;
    });
  };
  EXPECT_TRUE(has("m.json:9:", "CodeableConcept has no element 'codng' (Observation.code.codng)")) << all.str();
  EXPECT_TRUE(has("m.json:10:", "Quantity has no element 'unitt' (Observation.valueQuantity.unitt)")) << all.str();
  EXPECT_TRUE(has("m.json:11:", "CodeableConcept has no element 'txt' (Observation.interpretation.txt)"))
      << all.str();
  EXPECT_TRUE(has("m.json:16:", "Observation.referenceRange has no element 'txet' (Observation.referenceRange.txet)"))
      << all.str();
  EXPECT_TRUE(has("XCN.json:1:", "Annotation has no element 'display' (Observation.note.display)")) << all.str();
  EXPECT_TRUE(has("XCN.json:1:", "Annotation.text is required (min 1) and this object has no member for it"))
      << all.str();
  EXPECT_TRUE(has("m.json", "resource 'other': Observasjon is not a resource type of FHIR R4")) << all.str();
  EXPECT_TRUE(has("m.json:19:", "one value where FHIR takes a list: write it inside [ ] (Observation.category)"))
      << all.str();
  EXPECT_TRUE(has("m.json:20:", "a list where FHIR takes one value (Observation.subject)")) << all.str();
  EXPECT_TRUE(has("m.json:21:", "one value where FHIR takes a list: write it inside [ ] (Observation.basedOn)"))
      << all.str();
  EXPECT_TRUE(has("m.json:23:", "a list inside a list (Observation.hasMember)")) << all.str();
  EXPECT_TRUE(has("m.json:24:", "'status' is written twice in this object (Observation.status)")) << all.str();
  EXPECT_FALSE(has("", "_status")) << all.str();
  EXPECT_FALSE(has("", "resourceType")) << all.str();
  EXPECT_FALSE(has("", "performer")) << all.str();
  EXPECT_FALSE(has("", "identifier")) << all.str();
}

// Texts the plan holds are judged as the validator would judge them where they go: constants,
// the codes a table gives, a default, and the system and code of a Coding of a required value set.
TEST(PlanCheck, NamesTheTextsOfThePlanFhirWouldRefuse) {
  test::TempDir dir;
  dir.write("terminology/t-status.json", R"({"table": "t-status", "entries": [
    {"from": "F", "code": "final"}, {"from": "D", "code": "done"}, {"from": "X", "code": ""}]})");
  dir.write("terminology/t-clinical.json", R"({"table": "t-clinical",
    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
    "entries": [{"from": "A", "code": "active"}, {"from": "R", "code": "resolvd"}]})");
  dir.write("hl7v2/m.json", R"({"mapping": "m",
  "accepts": {"format": "hl7v2", "messages": ["ORU^R01"]},
  "resources": [
    {"name": "a", "resourceType": "Observation", "forEach": "OBX",
     "resource": {"status": "finall", "issued": "yesterday", "code": {"text": "x"}}},
    {"name": "b", "resourceType": "Observation", "forEach": "OBX",
     "resource": {"status": {"$path": "@-11", "$table": "t-status"}, "code": {"text": "x"}}},
    {"name": "c", "resourceType": "Observation", "forEach": "OBX",
     "resource": {"status": {"$path": "@-11", "$default": "unknwn"}, "code": {"text": "x"}}},
    {"name": "d", "resourceType": "Observation", "forEach": "OBX",
     "resource": {"status": {"$path": "@-11", "$default": "unknown"},
                  "code": {"coding": [{"system": "http://loinc.org", "code": "any code"}]}}},
    {"name": "e", "resourceType": "AllergyIntolerance", "forEach": "AL1",
     "resource": {"clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "aktiv"}]}, "patient": {"reference": "Patient/1"}}},
    {"name": "f", "resourceType": "AllergyIntolerance", "forEach": "AL1",
     "resource": {"clinicalStatus": {"coding": [{"system": {"$path": "@-2", "$table": "t-clinical", "$tableField": "system"},
                                                  "code": {"$path": "@-2", "$table": "t-clinical"}}]},
                  "patient": {"reference": "Patient/1"}}}
  ]})");
  const hl7v2::PathDialect hl7v2;
  auto set = mapping::MappingSet::load(dir.str(), {{"hl7v2", &hl7v2}});
  ASSERT_TRUE(set) << set.error().message();
  const auto problems = plan_problems(**set, validate::FhirValidator::r4().table());
  std::ostringstream all;
  for (const auto& p : problems) all << p << "\n";
  const std::string required = " is not in required value set http://hl7.org/fhir/ValueSet/observation-status";
  const std::string file = (dir.path() / "hl7v2" / "m.json").string();
  const std::string clinical = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
  const std::string clinical_set = "http://hl7.org/fhir/ValueSet/allergyintolerance-clinical";
  EXPECT_EQ(all.str(),
            file + ":5:29: code 'finall'" + required + " (Observation.status)\n" +
            file + ":5:49: 'yesterday' is not a valid instant (Observation.issued)\n" +
            file + ":7:29: code 'done'" + required + " (table t-status gives it for 'D') (Observation.status)\n" +
            file + ":9:29: code 'unknwn'" + required + " (the default) (Observation.status)\n" +
            file + ":14:137: code 'aktiv' of " + clinical + " is not in required value set " + clinical_set +
            " (AllergyIntolerance.clinicalStatus.coding)\n" +
            file + ":17:59: code 'resolvd' of " + clinical + " is not in required value set " + clinical_set +
            " (table t-clinical gives it for 'R') (AllergyIntolerance.clinicalStatus.coding)\n");
}

TEST_F(PlanCheckTest, TheSetIsRefusedAndLintListsEachProblemOnItsLine) {
  auto set = load_mappings(mappings());
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().detail.find("Quantity has no element 'unitt'"), std::string::npos) << set.error().detail;

  std::ostringstream out, err;
  EXPECT_EQ(lint_mappings(mappings(), out, err), 1) << out.str() << err.str();
  EXPECT_NE(out.str().find("\n12 problem(s) in "), std::string::npos) << out.str();
}

// A value of the wrong JSON type fails every message it is in: refused when the set loads.
TEST(PlanCheck, NamesValuesOfTheWrongJsonType) {
  test::TempDir dir("helsebro-plan");
  dir.write("mappings/hl7v2/m.json", R"({"mapping": "m",
  "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
  "resources": [
    {"name": "p", "resourceType": "Patient", "resource": {
      "active": "false",
      "multipleBirthInteger": {"$path": "PID-25"},
      "deceasedBoolean": {"$path": "PID-30", "$as": "boolean"},
      "birthDate": {"$path": "PID-7", "$as": "date"},
      "gender": 1,
      "generalPractitioner": [{"$ref": "e"}],
      "managingOrganization": {"reference": {"$ref": "e"}},
      "name": [{"family": "{{$messageId}}", "text": {"$path": "PID-5.1", "$as": "integer"}}]
    }},
    {"name": "e", "resourceType": "Encounter", "resource": {
      "status": "finished", "class": {"code": "IMP"},
      "subject": {"$ref": "p"}, "length": {"value": {"$path": "PV1-2", "$as": "decimal"}}
    }}
  ]})");
  auto set = load_mappings((dir.path() / "mappings").string());
  ASSERT_FALSE(set);
  const std::string& detail = set.error().detail;
  const std::string file = (dir.path() / "mappings" / "hl7v2" / "m.json").string();
  EXPECT_EQ(detail,
            file + ":5:17: a text where FHIR has a boolean (a JSON true/false; \"$as\": \"boolean\" makes one) (Patient.active)\n" +
            file + ":6:31: a text where FHIR has an integer (a JSON number; \"$as\": \"integer\" makes one) (Patient.multipleBirthInteger)\n" +
            file + ":9:17: a number where FHIR has a code (a JSON text) (Patient.gender)\n" +
            file + ":10:31: a text where FHIR has a Reference (an object: {\"reference\": …}) (Patient.generalPractitioner)\n" +
            file + ":12:53: a number where FHIR has a string (a JSON text) (Patient.name.text)\n" +
            file + ":16:18: a text where FHIR has a Reference (an object: {\"reference\": …}) (Encounter.subject)");
}

// A resource type misspelt in a shared part: once, at its place in the part.
TEST(PlanCheck, AWrongResourceTypeInASharedPartIsNamedThereOnce) {
  test::TempDir dir("helsebro-plan");
  dir.write("mappings/hl7v2/shared/org.json", R"({"part": "org",
  "resources": [{"name": "o", "resourceType": "Organisation", "resource": {"name": "x"}}]})");
  for (const char* m : {"a", "b"}) {
    dir.write(std::string("mappings/hl7v2/") + m + ".json",
              std::string(R"({"mapping": ")") + m + R"(", "include": ["org"],
  "accepts": {"format": "hl7v2", "messages": ["ADT^A0)" + (m[0] == 'a' ? "1" : "2") + R"("]}})");
  }
  auto set = load_mappings((dir.path() / "mappings").string());
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().detail, (dir.path() / "mappings" / "hl7v2" / "shared" / "org.json").string() +
                                    ":2:47: resource 'o': Organisation is not a resource type of FHIR R4");
}

// What the engine takes, lint takes: comments. What it refuses, lint names once.
TEST(Lint, TakesCommentsAndNamesAByteOrderMarkOnce) {
  test::TempDir dir("helsebro-lint");
  dir.write("mappings/hl7v2/m.json", R"({"mapping": "m", // one line of comment
    "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    /* and a block */
    "resources": [{"name": "p", "resourceType": "Patient", "resource": {"gender": "female"}}]})");
  const std::string mappings = (dir.path() / "mappings").string();
  std::ostringstream out, err;
  EXPECT_EQ(lint_mappings(mappings, out, err), 0) << out.str() << err.str();
  EXPECT_NE(out.str().find("no problems"), std::string::npos) << out.str();

  dir.write("mappings/hl7v2/m.json", "\xEF\xBB\xBF{}");
  std::ostringstream bom_out, bom_err;
  EXPECT_EQ(lint_mappings(mappings, bom_out, bom_err), 1);
  EXPECT_NE(bom_out.str().find("m.json:1:1: the file starts with a byte-order mark"), std::string::npos) << bom_out.str();
  EXPECT_NE(bom_out.str().find("\n1 problem(s) in "), std::string::npos) << bom_out.str();
}

// A folder lint cannot list is a problem it names, not a folder without files.
TEST(Lint, NamesAFolderItCannotList) {
  test::TempDir dir("helsebro-lint");
  dir.write("mappings/hl7v2/m.json", R"({"mapping": "m",
    "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "resources": [{"name": "p", "resourceType": "Patient", "resource": {"gender": "female"}}]})");
  const auto shared = dir.path() / "mappings" / "hl7v2" / "shared";
  std::filesystem::create_symlink("shared", shared);  // a link to itself
  std::ostringstream out, err;
  EXPECT_EQ(lint_mappings((dir.path() / "mappings").string(), out, err), 1) << out.str() << err.str();
  EXPECT_NE(out.str().find("hl7v2/shared: cannot be listed"), std::string::npos) << out.str();
  std::filesystem::create_symlink("loop", dir.path() / "mappings" / "loop");
  std::ostringstream loop_out, loop_err;
  EXPECT_EQ(lint_mappings((dir.path() / "mappings").string(), loop_out, loop_err), 1);
  EXPECT_NE(loop_out.str().find("mappings/loop: cannot be read"), std::string::npos) << loop_out.str();
}

// Mappings away from the repository, their KITH schemas named as kith.schemasDir names them.
TEST(Lint, UsesTheKithSchemasItIsGiven) {
  test::TempDir dir("helsebro-lint");
  const auto copy = dir.path() / "deploy" / "maps";
  std::filesystem::create_directories(copy.parent_path());
  std::filesystem::copy(std::filesystem::path(HELSEBRO_SOURCE_DIR) / "mappings", copy,
                        std::filesystem::copy_options::recursive);
  std::ostringstream out, err;
  EXPECT_EQ(lint_mappings(copy.string(), (std::filesystem::path(HELSEBRO_SOURCE_DIR) / "schemas" / "kith").string(),
                          out, err),
            0)
      << out.str() << err.str();
  std::ostringstream beside_out, beside_err;
  EXPECT_EQ(lint_mappings(copy.string(), beside_out, beside_err), 1);  // none beside the copy
  EXPECT_NE(beside_out.str().find("need the schema index"), std::string::npos) << beside_out.str();
}

TEST(PlanCheck, TheRepositorysMappingsHaveNoProblems) {
  auto set = load_mappings((std::filesystem::path(HELSEBRO_SOURCE_DIR) / "mappings").string());
  ASSERT_TRUE(set) << set.error().detail;
}

}  // namespace
}  // namespace helsebro::app
