// The JSON Schemas of the mapping language (schemas/mapping, datatype, terminology) against the
// files in mappings/, against typical mistakes, and against the engine that compiles the same
// files: what a schema refuses, MappingSet::load must refuse too (unless the case is marked as a
// schema-only check for something the engine silently ignores).

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/internal/regex.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/hl7v2/path.h"
#include "gateway/mapping/mapping.h"
#include "unit/temp_dir.h"

#ifndef HELSEBRO_SOURCE_DIR
#error "HELSEBRO_SOURCE_DIR must name the source tree (see tests/CMakeLists.txt)"
#endif

namespace helsebro {
namespace {

namespace fs = std::filesystem;

const fs::path kSource{HELSEBRO_SOURCE_DIR};

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

enum class Kind { kMapping, kDatatype, kTerminology };

const char* schema_file(Kind kind) {
  switch (kind) {
    case Kind::kMapping: return "mapping.schema.json";
    case Kind::kDatatype: return "datatype.schema.json";
    case Kind::kTerminology: return "terminology.schema.json";
  }
  return "";
}

// The three schemas, parsed once for the whole test program.
class Schemas {
 public:
  static const Schemas& get() {
    static const Schemas instance;
    return instance;
  }

  const rapidjson::Document& document(Kind kind) const { return *documents_.at(kind); }

  /// "" when `json` is valid against the schema of `kind`; otherwise where and why it is not.
  std::string refusal(Kind kind, const std::string& json) const {
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    if (doc.HasParseError()) {
      return std::string("not JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) + " at " +
             std::to_string(doc.GetErrorOffset());
    }
    rapidjson::SchemaValidator validator(*schemas_.at(kind));
    if (doc.Accept(validator)) return "";
    rapidjson::StringBuffer schema_at, document_at;
    validator.GetInvalidSchemaPointer().StringifyUriFragment(schema_at);
    validator.GetInvalidDocumentPointer().StringifyUriFragment(document_at);
    return std::string("keyword '") + validator.GetInvalidSchemaKeyword() + "' at schema " +
           schema_at.GetString() + ", document " + document_at.GetString();
  }

 private:
  Schemas() {
    for (Kind kind : {Kind::kMapping, Kind::kDatatype, Kind::kTerminology}) {
      auto doc = std::make_unique<rapidjson::Document>();
      doc->Parse(read_text(kSource / "schemas" / schema_file(kind)).c_str());
      if (!doc->HasParseError()) schemas_.emplace(kind, std::make_unique<rapidjson::SchemaDocument>(*doc));
      documents_.emplace(kind, std::move(doc));
    }
  }

  std::map<Kind, std::unique_ptr<rapidjson::Document>> documents_;
  std::map<Kind, std::unique_ptr<rapidjson::SchemaDocument>> schemas_;
};

// --- the schemas themselves ----------------------------------------------------------------------

class SchemaFile : public ::testing::TestWithParam<Kind> {};

// Every "description" an editor can show, and every "pattern" RapidJSON can run: RapidJSON drops a
// pattern its regex engine cannot read without a word, which would silently accept anything.
void walk(const rapidjson::Value& schema, const rapidjson::Value& root, const std::string& where,
          std::vector<std::string>& problems) {
  if (schema.IsArray()) {
    for (rapidjson::SizeType i = 0; i < schema.Size(); ++i) {
      walk(schema[i], root, where + "/" + std::to_string(i), problems);
    }
    return;
  }
  if (!schema.IsObject()) return;
  for (auto m = schema.MemberBegin(); m != schema.MemberEnd(); ++m) {
    const std::string key(m->name.GetString(), m->name.GetStringLength());
    const std::string at = where + "/" + key;
    if ((key == "pattern") && m->value.IsString()) {
      rapidjson::internal::Regex re(m->value.GetString());
      if (!re.IsValid()) problems.push_back(at + ": RapidJSON cannot read the pattern");
    }
    if (key == "patternProperties" && m->value.IsObject()) {
      for (auto p = m->value.MemberBegin(); p != m->value.MemberEnd(); ++p) {
        rapidjson::internal::Regex re(p->name.GetString());
        if (!re.IsValid()) problems.push_back(at + ": RapidJSON cannot read " + p->name.GetString());
      }
    }
    if (key == "properties" && m->value.IsObject()) {
      for (auto p = m->value.MemberBegin(); p != m->value.MemberEnd(); ++p) {
        const rapidjson::Value* described = &p->value;
        if (described->IsObject() && described->HasMember("$ref") && (*described)["$ref"].IsString()) {
          described = rapidjson::Pointer((*described)["$ref"].GetString() + 1).Get(root);
        }
        if (described == nullptr || !described->IsObject() || !described->HasMember("description")) {
          problems.push_back(at + "/" + p->name.GetString() + ": no description");
        }
      }
    }
    walk(m->value, root, at, problems);
  }
}

TEST_P(SchemaFile, IsDraft04JsonWithDescriptionsAndReadablePatterns) {
  const rapidjson::Document& doc = Schemas::get().document(GetParam());
  ASSERT_FALSE(doc.HasParseError()) << schema_file(GetParam()) << ": "
                                    << rapidjson::GetParseError_En(doc.GetParseError()) << " at "
                                    << doc.GetErrorOffset();
  ASSERT_TRUE(doc.IsObject());
  ASSERT_TRUE(doc.HasMember("$schema"));
  EXPECT_STREQ(doc["$schema"].GetString(), "http://json-schema.org/draft-04/schema#");
  std::vector<std::string> problems;
  walk(doc, doc, "#", problems);
  for (const std::string& p : problems) ADD_FAILURE() << schema_file(GetParam()) << " " << p;
}

INSTANTIATE_TEST_SUITE_P(MappingSchemas, SchemaFile,
                         ::testing::Values(Kind::kMapping, Kind::kDatatype, Kind::kTerminology),
                         [](const auto& info) {
                           return std::string(info.param == Kind::kMapping    ? "Mapping"
                                              : info.param == Kind::kDatatype ? "Datatype"
                                                                               : "Terminology");
                         });

// --- the files in mappings/ ----------------------------------------------------------------------

// The schema for a file, chosen by folder as MappingSet::load reads them: terminology/*.json,
// <format>/datatypes/*.json and <format>/*.json. Anything else (examples/ with expected Bundles) is
// not a mapping file.
std::optional<Kind> kind_of(const fs::path& relative) {
  const auto depth = std::distance(relative.begin(), relative.end());
  const std::string top = relative.begin()->string();
  if (depth == 2 && top == "terminology") return Kind::kTerminology;
  if (depth == 3 && std::next(relative.begin())->string() == "datatypes") return Kind::kDatatype;
  if (depth == 2) return Kind::kMapping;
  return std::nullopt;
}

TEST(MappingSchemas, EveryFileInMappingsValidatesAndNamesItsSchema) {
  const fs::path root = kSource / "mappings";
  std::map<Kind, int> counts;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    const fs::path relative = entry.path().lexically_relative(root);
    const auto kind = kind_of(relative);
    if (!kind) continue;
    ++counts[*kind];
    const std::string text = read_text(entry.path());
    EXPECT_EQ(Schemas::get().refusal(*kind, text), "") << relative;

    rapidjson::Document doc;
    doc.Parse(text.c_str());
    ASSERT_TRUE(doc.IsObject()) << relative;
    ASSERT_TRUE(doc.HasMember("$schema") && doc["$schema"].IsString()) << relative << ": no \"$schema\"";
    const fs::path named = (entry.path().parent_path() / doc["$schema"].GetString()).lexically_normal();
    EXPECT_EQ(named, (kSource / "schemas" / schema_file(*kind)).lexically_normal()) << relative;
  }
  EXPECT_GT(counts[Kind::kMapping], 0);
  EXPECT_GT(counts[Kind::kDatatype], 0);
  EXPECT_GT(counts[Kind::kTerminology], 0);
}

TEST(MappingSchemas, TheEngineLoadsTheSameFiles) {
  const hl7v2::PathDialect dialect;
  auto set = mapping::MappingSet::load((kSource / "mappings").string(), {{"hl7v2", &dialect}});
  EXPECT_TRUE(set) << set.error().message();
}

// --- inline cases: the schema and the engine agree -----------------------------------------------

// A one-resource ADT^A04 mapping; the pieces replace parts of it.
std::string mapping(const std::string& body, const std::string& let = "{}",
                    const std::string& resource_extra = "", const std::string& top_extra = "") {
  return R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]}, "let": )" + let +
         ", " + top_extra + R"("resources": [{"name": "r", "resourceType": "Basic")" + resource_extra +
         R"(, "resource": )" + body + "}]}";
}

std::string datatype(const std::string& body) {
  return R"({"datatype": "T", "template": )" + body + "}";
}

// Writes `json` where MappingSet::load looks for its kind, beside the repository's own tables and
// datatype maps, and returns what loading says ("" = loaded).
std::string engine_refusal(Kind kind, const std::string& json) {
  const test::TempDir dir("helsebro-schemas");
  const fs::path source = kSource / "mappings";
  fs::copy(source / "terminology", dir.path() / "terminology");
  fs::create_directories(dir.path() / "hl7v2");
  fs::copy(source / "hl7v2" / "datatypes", dir.path() / "hl7v2" / "datatypes");
  switch (kind) {
    case Kind::kMapping: dir.write("hl7v2/case.json", json); break;
    case Kind::kDatatype: dir.write("hl7v2/datatypes/zz-case.json", json); break;
    case Kind::kTerminology: dir.write("terminology/zz-case.json", json); break;
  }
  const hl7v2::PathDialect dialect;
  auto set = mapping::MappingSet::load(dir.str(), {{"hl7v2", &dialect}});
  return set ? std::string() : set.error().message();
}

struct Case {
  const char* name;
  Kind kind;
  std::string json;
};

TEST(MappingSchemas, AcceptsEveryConstructTheEngineAccepts) {
  const std::vector<Case> cases = {
      {"every directive and modifier", Kind::kMapping, R"json({
        "$schema": "../../schemas/mapping.schema.json",
        "$comment": "a note",
        "mapping": "kitchen-sink",
        "description": "every construct",
        "accepts": {"format": "hl7v2", "messages": ["ORU^R01", "ADT"], "versions": ["2.5", "2.3.1"]},
        "let": {
          "id": {"$path": "MSH-10", "$required": "MSH-10 is needed"},
          "n": {"$const": 3},
          "sex": {"$path": "PID-8", "$table": "hl7-0001-administrative-gender", "$tableField": "display",
                  "$default": "U", "$comment": "c"},
          "fnr": {"$first": "PID-3", "$where": {"path": "@.5", "in": ["FNR", "DNR"]},
                  "$do": {"$path": "@.1", "$check": "norwegian-person-id"}},
          "kind": {"$if": {"var": "$messageType", "equals": "ORU^R01"}, "$then": "lab", "$else": "{{n}}"},
          "below": {"$path": "OBX-5", "$comparator": "comparator"},
          "typed": {"$var": "$receivedAt", "$as": "instant", "$prefix": "", "$default": "20240101"}
        },
        "orderingKey": {"$var": "id"},
        "resources": [
          {
            "name": "p", "resourceType": "Patient", "description": "d", "$comment": "c",
            "key": {"$path": "PID-3[1].1"},
            "request": {"method": "PUT"},
            "resource": {
              "$comment": "c", "active": true, "deceasedBoolean": null, "multipleBirthInteger": 2,
              "weight": 1.5, "text {x}": "{ not a template }",
              "identifier": [{"$each": "PID-3", "$use": "CX", "$where": {"not": {"path": "@.5", "equals": "XX"}},
                              "$required": "PID-3 is needed"}],
              "name": [{"$first": "PID-5", "$do": {"family": {"$path": "@.1.1", "$as": "string"}}}],
              "birthDate": {"$path": "PID-7", "$as": "date", "$default": "19000101"},
              "gender": {"$path": "PID-8", "$table": "hl7-0001-administrative-gender", "$tableField": "code"},
              "extension": [{"$if": {"all": [{"path": "PID-30", "exists": false},
                                             {"any": [{"var": "id", "in": []}, {"path": "MSH-12"}]}]},
                             "$then": {"$const": {"url": "x", "$odd": [1, {"$path": 2}]}},
                             "$else": [{"url": "{{ kind }}"}]}],
              "contact": [{"$each": "NK1", "$do": {"name": {"text": {"$path": "@-2.1"}}}}],
              "telecom": [{"$each": "PID-13[*].1", "$as": "code"}, {"value": {"$var": "fnr", "$as": "code"}}],
              "managingOrganization": {"display": {"$path": "PID[1]-3[2].4.1"}, "id": {"$path": "@"}}
            }
          },
          {
            "name": "o", "resourceType": "Observation", "forEach": "OBX",
            "when": {"path": "OBX", "$comment": "c"},
            "request": {"method": "POST", "url": "Observation", "ifNoneExist": "identifier={{id}}"},
            "resource": {
              "subject": {"reference": {"$ref": "p", "$comment": "c"}},
              "status": "final",
              "code": {"text": {"$path": "OBX[2]-3"}},
              "valueQuantity": {"value": {"$path": "@-5[1].1.1", "$as": "decimal"}},
              "valueInteger": {"$path": "@-5", "$as": "integer"},
              "valueBoolean": {"$path": "@-5", "$as": "boolean"},
              "issued": {"$path": "@-14", "$as": "instant"},
              "effectiveDateTime": {"$path": "@-14", "$as": "dateTime"}
            }
          },
          {"name": "c", "resourceType": "Basic", "resource": {"$if": {"path": "ZZZ"}, "$then": {"code": "x"}}}
        ]
      })json"},
      {"minimal mapping", Kind::kMapping, mapping(R"({"code": {"text": "{{$messageId}}"}})")},
      {"datatype with every directive it may use", Kind::kDatatype, R"json({
        "$schema": "../../../schemas/datatype.schema.json",
        "datatype": "ZZ", "description": "d",
        "template": {
          "a": {"$path": "@.1", "$as": "code", "$prefix": "urn:x:", "$default": "x"},
          "b": [{"$each": "@.2", "$table": "hl7-0001-administrative-gender", "$tableField": "system"}],
          "c": {"$first": "@.3", "$where": {"path": "@.1", "exists": true}, "$use": "CX"},
          "d": {"$if": {"any": [{"path": "@.4", "equals": "Y"}, {"not": {"path": "@-3"}}]}, "$then": "y"},
          "e": {"$const": {"$any": "{{thing}}"}},
          "f": "literal { braces }"
        }
      })json"},
      {"terminology with every key", Kind::kTerminology, R"json({
        "$schema": "../../schemas/terminology.schema.json",
        "table": "zz", "description": "d", "source": "s", "system": "http://x", "caseInsensitive": false,
        "entries": [{"from": "a", "code": "b", "system": "http://y", "display": "d", "comment": "c"}, {"from": "z"}],
        "default": {"code": "", "display": "none", "comment": "c"}
      })json"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Schemas::get().refusal(c.kind, c.json), "") << c.name;
    EXPECT_EQ(engine_refusal(c.kind, c.json), "") << c.name;
  }
}

// Both refuse: the schema and MappingSet::load.
const std::vector<Case>& refused_by_both() {
  static const std::vector<Case> cases = {
      // Top level.
      {"unknown top-level key", Kind::kMapping, mapping("{}", "{}", "", R"("mappings": 1, )")},
      {"payloads in an HL7 v2 mapping", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"], "payloads": ["Dialogmelding"]},
           "resources": [{"name": "r", "resourceType": "Basic", "resource": {}}]})"},
      {"no mapping name", Kind::kMapping,
       R"({"accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
           "resources": [{"name": "r", "resourceType": "Basic", "resource": {}}]})"},
      {"no accepts", Kind::kMapping,
       R"({"mapping": "t", "resources": [{"name": "r", "resourceType": "Basic", "resource": {}}]})"},
      {"no message types", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": []},
           "resources": [{"name": "r", "resourceType": "Basic", "resource": {}}]})"},
      {"one message type twice", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04", "ADT^A04"]},
           "resources": [{"name": "r", "resourceType": "Basic", "resource": {}}]})"},
      {"unknown format", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "fhir", "messages": ["ADT^A04"]},
           "resources": [{"name": "r", "resourceType": "Basic", "resource": {}}]})"},
      {"unknown key in accepts", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"], "version": ["2.5"]},
           "resources": [{"name": "r", "resourceType": "Basic", "resource": {}}]})"},
      {"no resources", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]}, "resources": []})"},
      {"let redefines a built-in", Kind::kMapping, mapping("{}", R"({"$messageId": "x"})")},
      {"let is an array", Kind::kMapping, mapping("{}", R"(["x"])")},
      // Resources.
      {"resource without resourceType", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
           "resources": [{"name": "r", "resource": {}}]})"},
      {"resource without name", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
           "resources": [{"resourceType": "Basic", "resource": {}}]})"},
      {"resource without body", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
           "resources": [{"name": "r", "resourceType": "Basic"}]})"},
      {"resource body is text", Kind::kMapping, mapping(R"("Patient")")},
      {"unknown resource key", Kind::kMapping, mapping("{}", "{}", R"(, "foreach": "OBX")")},
      {"method GET", Kind::kMapping, mapping("{}", "{}", R"(, "request": {"method": "GET"})")},
      {"unknown request key", Kind::kMapping, mapping("{}", "{}", R"(, "request": {"if-none-exist": "x"})")},
      {"forEach with a bad path", Kind::kMapping, mapping("{}", "{}", R"(, "forEach": "obx")")},
      {"when is text", Kind::kMapping, mapping("{}", "{}", R"(, "when": "PV1")")},
      // Paths.
      {"lower-case segment", Kind::kMapping, mapping(R"({"a": {"$path": "pid-3"}})")},
      {"field 0", Kind::kMapping, mapping(R"({"a": {"$path": "PID-0"}})")},
      {"trailing dot", Kind::kMapping, mapping(R"({"a": {"$path": "PID-3."}})")},
      {"repetition 0", Kind::kMapping, mapping(R"({"a": {"$each": "PID-3[0]"}})")},
      {"too deep", Kind::kMapping, mapping(R"({"a": {"$path": "@.1.2.3"}})")},
      {"path is a number", Kind::kMapping, mapping(R"({"a": {"$first": 3}})")},
      // Directives and modifiers.
      {"$as datetime", Kind::kMapping, mapping(R"({"a": {"$path": "PID-7", "$as": "datetime"}})")},
      {"$comparator number", Kind::kMapping, mapping(R"({"a": {"$path": "OBX-5", "$comparator": "number"}})")},
      {"$comparator beside $match", Kind::kMapping,
       mapping(R"x({"a": {"$path": "OBX-5", "$comparator": "value", "$match": "(.+)"}})x")},
      {"$tableField coding", Kind::kMapping,
       mapping(R"({"a": {"$path": "PID-8", "$table": "hl7-0001-administrative-gender", "$tableField": "coding"}})")},
      {"$check ssn", Kind::kMapping, mapping(R"({"a": {"$path": "PID-3.1", "$check": "ssn"}})")},
      {"empty $required", Kind::kMapping, mapping(R"({"a": {"$path": "PID-3.1", "$required": ""}})")},
      {"$default a number", Kind::kMapping, mapping(R"({"a": {"$path": "PID-3.1", "$default": 0}})")},
      {"$prefix a number", Kind::kMapping, mapping(R"({"a": {"$path": "PID-3.1", "$prefix": 1}})")},
      {"$table an object", Kind::kMapping, mapping(R"({"a": {"$path": "PID-8", "$table": {}}})")},
      {"two value directives", Kind::kMapping, mapping(R"({"a": {"$path": "PID-8", "$var": "$messageId"}})")},
      {"unknown $ key beside a directive", Kind::kMapping, mapping(R"({"a": {"$path": "PID-8", "$type": "code"}})")},
      {"plain key beside a directive", Kind::kMapping, mapping(R"({"a": {"$path": "PID-8", "system": "x"}})")},
      {"modifier without a directive", Kind::kMapping, mapping(R"({"a": {"$as": "date"}})")},
      {"unknown directive", Kind::kMapping, mapping(R"({"a": {"$lookup": "PID-8"}})")},
      {"$if without $then", Kind::kMapping, mapping(R"({"a": {"$if": {"path": "PV1"}, "$else": "x"}})")},
      {"$do and $use together", Kind::kMapping,
       mapping(R"({"a": [{"$each": "PID-3", "$use": "CX", "$do": {"value": {"$path": "@.1"}}}]})")},
      {"$var a number", Kind::kMapping, mapping(R"({"a": {"$var": 1}})")},
      {"$ref a number", Kind::kMapping, mapping(R"({"a": {"$ref": 1}})")},
      {"$use a number", Kind::kMapping, mapping(R"({"a": {"$path": "PID-3", "$use": 1}})")},
      {"bad directive inside $do", Kind::kMapping,
       mapping(R"({"a": {"$first": "PID-3", "$do": {"$path": "@.1", "$as": "text"}}})")},
      {"bad directive deep in an array", Kind::kMapping,
       mapping(R"({"a": [[{"b": {"$path": "PID-3", "$check": true}}]]})")},
      {"unclosed {{", Kind::kMapping, mapping(R"({"a": "urn:oid:{{visitAuthority"})")},
      // Conditions.
      {"unknown condition key", Kind::kMapping, mapping(R"({"a": {"$if": {"path": "PV1", "is": "x"}, "$then": "y"}})")},
      {"condition without path or var", Kind::kMapping, mapping(R"({"a": {"$if": {"equals": "x"}, "$then": "y"}})")},
      {"equals a number", Kind::kMapping, mapping(R"({"a": {"$if": {"path": "PV1-2", "equals": 1}, "$then": "y"}})")},
      {"in a string", Kind::kMapping, mapping(R"({"a": {"$if": {"path": "PV1-2", "in": "I"}, "$then": "y"}})")},
      {"in with a number", Kind::kMapping, mapping(R"({"a": {"$if": {"path": "PV1-2", "in": [1]}, "$then": "y"}})")},
      {"exists as text", Kind::kMapping, mapping(R"({"a": {"$if": {"path": "PV1-2", "exists": "yes"}, "$then": "y"}})")},
      {"empty all", Kind::kMapping, mapping(R"({"a": {"$if": {"all": []}, "$then": "y"}})")},
      {"any is an object", Kind::kMapping, mapping(R"({"a": {"$if": {"any": {"path": "PV1"}}, "$then": "y"}})")},
      {"bad condition inside not", Kind::kMapping, mapping(R"({"a": {"$if": {"not": {"path": "pv1"}}, "$then": "y"}})")},
      {"$where a string", Kind::kMapping, mapping(R"({"a": {"$first": "PID-3", "$where": "@.5 = FNR"}})")},
      // Datatype maps.
      {"datatype without template", Kind::kDatatype, R"({"datatype": "T"})"},
      {"datatype without name", Kind::kDatatype, R"({"template": {"a": "b"}})"},
      {"datatype reads a variable", Kind::kDatatype, datatype(R"({"a": "{{x}}"})")},
      {"datatype uses $var", Kind::kDatatype, datatype(R"({"a": {"$var": "$messageId"}})")},
      {"datatype uses $ref", Kind::kDatatype, datatype(R"({"a": {"$ref": "patient"}})")},
      {"datatype condition reads a variable", Kind::kDatatype,
       datatype(R"({"a": {"$if": {"var": "x", "exists": true}, "$then": "y"}})")},
      {"datatype with a bad modifier", Kind::kDatatype, datatype(R"({"a": {"$path": "@.1", "$as": "number"}})")},
      {"datatype with a bad path", Kind::kDatatype, datatype(R"({"a": {"$path": "@1"}})")},
      {"lower-case resource type", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
           "resources": [{"name": "r", "resourceType": "patient", "resource": {}}]})"},
      {"resource type with a quote", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
           "resources": [{"name": "r", "resourceType": "Pa\"tient", "resource": {}}]})"},
      // Terminology tables.
      {"table without name", Kind::kTerminology, R"({"entries": []})"},
      {"table with empty name", Kind::kTerminology, R"({"table": "", "entries": []})"},
      {"table without entries", Kind::kTerminology, R"({"table": "t"})"},
      {"entries an object", Kind::kTerminology, R"({"table": "t", "entries": {"F": "female"}})"},
      {"entry without from", Kind::kTerminology, R"({"table": "t", "entries": [{"code": "x"}]})"},
      {"entry with a number", Kind::kTerminology, R"({"table": "t", "entries": [{"from": "1", "code": 1}]})"},
      {"entry with unknown key", Kind::kTerminology, R"({"table": "t", "entries": [{"from": "F", "to": "female"}]})"},
      {"caseInsensitive as text", Kind::kTerminology, R"({"table": "t", "caseInsensitive": "yes", "entries": []})"},
      {"unknown table key", Kind::kTerminology, R"({"table": "t", "$comment": "x", "entries": []})"},
      {"default as text", Kind::kTerminology, R"({"table": "t", "entries": [], "default": "unknown"})"},
      {"system a number", Kind::kTerminology, R"({"table": "t", "system": 1, "entries": []})"},
  };
  return cases;
}

TEST(MappingSchemas, RefusesWhatTheEngineRefuses) {
  for (const Case& c : refused_by_both()) {
    EXPECT_NE(Schemas::get().refusal(c.kind, c.json), "") << c.name << " was accepted by the schema";
    EXPECT_NE(engine_refusal(c.kind, c.json), "") << c.name << " was loaded by the engine";
  }
}

// The engine loads these but does nothing with the part in question (or not what its author meant);
// the schemas refuse them so that an editor points at the mistake. Should the engine start refusing
// one of them, move it to refused_by_both().
TEST(MappingSchemas, RefusesWhatTheEngineWouldIgnore) {
  const std::vector<Case> cases = {
      {"$where beside $if (replaced by the $if condition)", Kind::kMapping,
       mapping(R"({"a": {"$if": {"path": "PV1"}, "$where": {"path": "PV2"}, "$then": "y"}})")},
      {"$do beside $var", Kind::kMapping, mapping(R"({"a": {"$var": "$messageId", "$do": {"b": "c"}}})")},
      {"$as beside $const", Kind::kMapping, mapping(R"({"a": {"$const": "2024", "$as": "date"}})")},
      {"$required beside $if", Kind::kMapping,
       mapping(R"({"a": {"$if": {"path": "PV1"}, "$then": {"$path": "PV1-2"}, "$required": "x"}})")},
      {"$required beside $ref", Kind::kMapping, mapping(R"({"a": {"$ref": "r", "$required": "x"}})")},
      {"$default beside $each", Kind::kMapping, mapping(R"({"a": [{"$each": "PID-3.1", "$default": "x"}]})")},
      {"$tableField without $table", Kind::kMapping, mapping(R"({"a": {"$path": "PV1-2", "$tableField": "display"}})")},
      {"equals and in together", Kind::kMapping,
       mapping(R"({"a": {"$if": {"path": "PV1-2", "equals": "I", "in": ["O"]}, "$then": "y"}})")},
      {"path and var together", Kind::kMapping,
       mapping(R"({"a": {"$if": {"path": "PV1-2", "var": "$messageId"}, "$then": "y"}})")},
      {"all beside a test", Kind::kMapping,
       mapping(R"({"a": {"$if": {"all": [{"path": "PV1"}], "path": "PV2"}, "$then": "y"}})")},
      {"three-part message type (never matches)", Kind::kMapping,
       R"({"mapping": "t", "accepts": {"format": "hl7v2", "messages": ["ADT^A04^ADT_A01"]},
           "resources": [{"name": "r", "resourceType": "Basic", "resource": {}}]})"},
      {"unknown datatype key (ignored by the loader)", Kind::kDatatype,
       R"({"datatype": "T", "template": {"a": "b"}, "templates": {}})"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(Schemas::get().refusal(c.kind, c.json), "") << c.name << " was accepted by the schema";
    EXPECT_EQ(engine_refusal(c.kind, c.json), "") << c.name << " is now refused by the engine too";
  }
}

}  // namespace
}  // namespace helsebro
