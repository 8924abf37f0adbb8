#include "gateway/mapping/mapping.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "adapters/hl7v2/parser.h"
#include "adapters/hl7v2/path.h"
#include "adapters/hl7v2/source_view.h"
#include "gateway/core/ids.h"
#include "gateway/mapping/evaluator.h"
#include "unit/temp_dir.h"

namespace helsebro::mapping {
namespace {

using test::TempDir;

const char* kGenderTable = R"json({
  "table": "hl7-0001",
  "system": "http://hl7.org/fhir/administrative-gender",
  "entries": [
    {"from": "F", "code": "female", "display": "Female"},
    {"from": "M", "code": "male", "display": "Male"},
    {"from": "O", "code": "other", "display": "Other"},
    {"from": "U", "code": "unknown", "display": "Unknown"},
    {"from": "Q", "code": "other", "display": "Other \"annet\"\tx\\y"},
    {"from": "X", "comment": "no equivalent in administrative-gender"}
  ]
})json";

const char* kCx = R"json({
  "datatype": "CX",
  "template": {"system": {"$path": "@.4"}, "value": {"$path": "@.1"}}
})json";

const char* kXpn = R"json({
  "datatype": "XPN",
  "template": {"family": {"$path": "@.1"}, "given": [{"$path": "@.2"}, {"$path": "@.3"}]}
})json";

// A realistic mapping: a Patient keyed by fødselsnummer and an Encounter that references it.
const char* kAdt = R"json({
  "mapping": "adt-patient",
  "description": "ADT registration to Patient and Encounter",
  "accepts": {"format": "hl7v2", "messages": ["ADT^A04", "ADT^A08"], "versions": ["2.5"]},
  "let": {
    "fnr": {"$first": "PID-3", "$where": {"path": "@.5", "equals": "FNR"}, "$do": {"$path": "@.1"}},
    "facility": {"$path": "MSH-4", "$default": "unknown"}
  },
  "orderingKey": "patient/{{fnr}}",
  "resources": [
    {
      "name": "patient",
      "resourceType": "Patient",
      "key": "{{fnr}}",
      "request": {"method": "PUT"},
      "resource": {
        "resourceType": "ignored",
        "identifier": [{"$each": "PID-3", "$use": "CX"}],
        "name": [{"$path": "PID-5", "$use": "XPN"}],
        "gender": {"$path": "PID-8", "$table": "hl7-0001"},
        "birthDate": {"$path": "PID-7", "$as": "date"},
        "deceasedBoolean": {"$path": "PID-30", "$as": "boolean"},
        "active": {"$const": true},
        "meta": {"source": "{{facility}}#{{$messageId}}"}
      }
    },
    {
      "name": "encounter",
      "resourceType": "Encounter",
      "when": {"path": "PV1-2", "in": ["I", "O", "E"]},
      "request": {"method": "POST", "ifNoneExist": "identifier={{fnr}}"},
      "resource": {
        "status": "in-progress",
        "class": {"code": {"$path": "PV1-2", "$as": "code"}},
        "subject": {"reference": {"$ref": "patient"}},
        "location": {
          "$if": {"path": "PV1-3", "exists": true},
          "$then": [{"location": {"display": {"$path": "PV1-3.1"}}}],
          "$else": [{"location": {"display": "unknown"}}]
        }
      }
    }
  ]
})json";

// One Observation per OBX.
const char* kOru = R"json({
  "mapping": "oru-observations",
  "accepts": {"format": "hl7v2", "messages": ["ORU^R01"]},
  "resources": [
    {
      "name": "obs",
      "resourceType": "Observation",
      "forEach": "OBX",
      "key": {"$path": "@-3.1"},
      "resource": {
        "code": {"text": {"$path": "@-3.1"}},
        "valueQuantity": {"$if": {"path": "@-2", "equals": "NM"},
                          "$then": {"value": {"$path": "@-5", "$as": "decimal"}}},
        "valueString": {"$if": {"path": "@-2", "equals": "ST"}, "$then": {"$path": "@-5"}},
        "issued": {"$path": "@-14", "$as": "instant"}
      }
    }
  ]
})json";

std::string msh(const std::string& type) {
  return "MSH|^~\\&|LAB|AHUS|HELSEBRO|NHN|20240115103000||" + type + "|MSG1|P|2.5\r";
}

std::string adt(const std::string& pid3 = "12345^^^AHUS^MR~01018012371^^^NHN^FNR",
                const std::string& gender = "F", const std::string& pv1 = "PV1|1|I|MED^101") {
  return msh("ADT^A04^ADT_A01") + "PID|1||" + pid3 + "||Nordmann^Kari^Marie||19800101|" + gender +
         "\r" + pv1 + "\r";
}

std::string oru() {
  return msh("ORU^R01") + "PID|1||01018012371^^^NHN^FNR\r" +
         "OBX|1|NM|HB^Hemoglobin||12.5|g/dL|||||F|||20240115103000\r"
         "OBX|2|ST|NOTE^Note||all \\T\\ fine||||||F\r"
         "OBX|3|NM|K^Potassium||4|mmol/L|||||F|||20240715103000+0000\r";
}

rapidjson::Document json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

std::string str(const rapidjson::Value& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string("<not a string>");
}

class MappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("terminology/hl7-0001.json", kGenderTable);
    dir_.write("hl7v2/datatypes/cx.json", kCx);
    dir_.write("hl7v2/datatypes/xpn.json", kXpn);
  }

  Result<std::shared_ptr<const MappingSet>> load() {
    return MappingSet::load(dir_.str(), {{"hl7v2", &dialect_}});
  }

  std::shared_ptr<const MappingSet> load_ok() {
    auto set = load();
    EXPECT_TRUE(set) << set.error().message();
    return set ? *set : nullptr;
  }

  /// Loads the directory and returns the error it is refused with.
  Error load_error() {
    auto set = load();
    EXPECT_FALSE(set) << "the mapping set loaded";
    return set ? Error{} : set.error();
  }

  Result<Translation> translate(const MappingSet& set, std::string_view type, const std::string& hl7,
                                const std::string& message_id = "m1") {
    auto message = hl7v2::parse(hl7);
    EXPECT_TRUE(message) << message.error().message();
    if (!message) return message.error();
    const Mapping* mapping = set.find("hl7v2", type);
    EXPECT_NE(mapping, nullptr) << type;
    if (mapping == nullptr) return Error{Errc::kNoMapping, std::string(type)};
    hl7v2::SourceView view(*message);
    return mapping->translate(view, MessageFacts{message_id, std::string(type), 1705314600123});
  }

  /// Writes a one-resource mapping for ADT^A04 whose resource body is `body`.
  void write_simple(const std::string& body, const std::string& let = "{}") {
    dir_.write("hl7v2/simple.json", R"({"mapping": "simple",
      "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
      "let": )" + let + R"(,
      "resources": [{"name": "r", "resourceType": "Basic", "resource": )" +
                                        body + "}]}");
  }

  /// Translates `hl7` with the simple mapping; returns the resource of its only entry.
  rapidjson::Document simple_resource(const std::string& hl7 = adt()) {
    auto set = load_ok();
    rapidjson::Document out;
    if (!set) return out;
    auto t = translate(*set, "ADT^A04", hl7);
    EXPECT_TRUE(t) << t.error().message();
    if (!t) return out;
    rapidjson::Document bundle = json(t->bundle);
    out.CopyFrom(bundle["entry"][0]["resource"], out.GetAllocator());
    return out;
  }

  Error simple_error(const std::string& hl7 = adt()) {
    auto set = load_ok();
    if (!set) return Error{};
    auto t = translate(*set, "ADT^A04", hl7);
    EXPECT_FALSE(t) << "translated: " << t->bundle;
    return t ? Error{} : t.error();
  }

  TempDir dir_{"helsebro-mapping"};
  hl7v2::PathDialect dialect_;
};

// --- loading and choosing ------------------------------------------------------------------------

TEST_F(MappingTest, LoadsMappingsAndFindsThemByMessageType) {
  dir_.write("hl7v2/adt.json", kAdt);
  dir_.write("hl7v2/oru.json", kOru);
  auto set = load_ok();
  ASSERT_TRUE(set);
  EXPECT_EQ(set->mappings().size(), 2u);
  EXPECT_EQ(set->directory(), dir_.str());
  EXPECT_EQ(set->terminology().count("hl7-0001"), 1u);
  const Mapping* a04 = set->find("hl7v2", "ADT^A04");
  ASSERT_NE(a04, nullptr);
  EXPECT_EQ(a04->name(), "adt-patient");
  EXPECT_EQ(a04->format(), "hl7v2");
  EXPECT_NE(a04->file().find("adt.json"), std::string::npos);
  EXPECT_EQ(a04->message_types(), (std::vector<std::string>{"ADT^A04", "ADT^A08"}));
  EXPECT_EQ(set->find("hl7v2", "ADT^A08"), a04);
  ASSERT_NE(set->find("hl7v2", "ORU^R01"), nullptr);
  EXPECT_EQ(set->find("hl7v2", "ORU^R01")->name(), "oru-observations");
  EXPECT_EQ(set->find("hl7v2", "ADT^A01"), nullptr);
  EXPECT_EQ(set->find("kith", "ADT^A04"), nullptr);
  EXPECT_EQ(set->find("hl7v2", "ADT"), nullptr);
}

TEST_F(MappingTest, AcceptedVersionsArePrefixes) {
  dir_.write("hl7v2/adt.json", kAdt);
  dir_.write("hl7v2/oru.json", kOru);
  auto set = load_ok();
  ASSERT_TRUE(set);
  const Mapping* adt_mapping = set->find("hl7v2", "ADT^A04");
  EXPECT_TRUE(adt_mapping->accepts_version("2.5"));
  EXPECT_TRUE(adt_mapping->accepts_version("2.5.1"));
  EXPECT_FALSE(adt_mapping->accepts_version("2.3"));
  EXPECT_TRUE(set->find("hl7v2", "ORU^R01")->accepts_version("2.3"));  // no list: any version
}

TEST_F(MappingTest, EmptyDirectoryLoadsNothing) {
  auto set = load_ok();
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->mappings().empty());
  EXPECT_EQ(set->find("hl7v2", "ADT^A04"), nullptr);
}

TEST_F(MappingTest, MissingDirectoryIsRefused) {
  auto set = MappingSet::load((dir_.path() / "nope").string(), {{"hl7v2", &dialect_}});
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().detail.find("not a directory"), std::string::npos);
}

// A folder of mappings that is there but cannot be listed (here a symbolic link to itself; a
// folder the gateway may not read, or one on a failing disk) refuses the set: loaded as empty, a
// reload would swap in a set without those mappings.
TEST_F(MappingTest, AFolderThatCannotBeListedIsRefused) {
  dir_.write("hl7v2/adt.json", kAdt);
  ASSERT_TRUE(load_ok());
  for (const std::string folder : {"terminology", "hl7v2/shared", "hl7v2/datatypes"}) {
    const std::filesystem::path at = dir_.path() / folder;
    std::filesystem::remove_all(at);
    std::filesystem::create_symlink(at.filename(), at);  // a link to itself
    auto set = MappingSet::load(dir_.path().string(), {{"hl7v2", &dialect_}});
    ASSERT_FALSE(set) << folder;
    EXPECT_NE(set.error().detail.find(folder + ": cannot be listed"), std::string::npos) << set.error().detail;
    std::filesystem::remove(dir_.path() / folder);
  }
  // A folder that is a link to a share not mounted, or a file under a folder's name.
  std::filesystem::create_symlink(dir_.path() / "unmounted", dir_.path() / "terminology");
  auto unmounted = MappingSet::load(dir_.path().string(), {{"hl7v2", &dialect_}});
  ASSERT_FALSE(unmounted);
  EXPECT_NE(unmounted.error().detail.find("terminology: cannot be listed: a link to nothing"), std::string::npos)
      << unmounted.error().detail;
  std::filesystem::remove(dir_.path() / "terminology");
  dir_.write("hl7v2/shared", "not a folder");
  auto file = MappingSet::load(dir_.path().string(), {{"hl7v2", &dialect_}});
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().detail.find("shared: cannot be listed: not a folder"), std::string::npos) << file.error().detail;
  std::filesystem::remove(dir_.path() / "hl7v2" / "shared");
  std::filesystem::rename(dir_.path() / "hl7v2", dir_.path() / "moved");
  std::filesystem::create_symlink("hl7v2", dir_.path() / "hl7v2");
  auto set = MappingSet::load(dir_.path().string(), {{"hl7v2", &dialect_}});
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().detail.find("/hl7v2/datatypes: cannot be listed"), std::string::npos) << set.error().detail;
}

// An editor's lock file (`.#adt.json`, a link to nothing) is no mapping file, and no reason to
// refuse the set while someone edits a mapping.
TEST_F(MappingTest, ALinkToNothingNamedJsonIsNotAMappingFile) {
  dir_.write("hl7v2/adt.json", kAdt);
  std::filesystem::create_symlink("user@host.1234:1700000000", dir_.path() / "hl7v2" / ".#adt.json");
  auto set = load_ok();
  ASSERT_TRUE(set);
  EXPECT_EQ(set->mappings().size(), 1u);
}

// --- a full translation --------------------------------------------------------------------------

TEST_F(MappingTest, TranslatesAnAdtMessageIntoATransactionBundle) {
  dir_.write("hl7v2/adt.json", kAdt);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ADT^A04", adt());
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->mapping, "adt-patient");
  EXPECT_EQ(t->resources, 2u);
  EXPECT_EQ(t->ordering_key, "patient/01018012371");

  const auto doc = json(t->bundle);
  EXPECT_EQ(str(doc["resourceType"]), "Bundle");
  EXPECT_EQ(str(doc["type"]), "transaction");
  ASSERT_EQ(doc["entry"].Size(), 2u);

  const auto& patient_entry = doc["entry"][0];
  const auto& patient = patient_entry["resource"];
  const std::string patient_id = uuid_v5(kResourceNamespace, "Patient|01018012371");
  EXPECT_EQ(str(patient_entry["fullUrl"]), "urn:uuid:" + patient_id);
  EXPECT_EQ(str(patient["resourceType"]), "Patient");
  EXPECT_EQ(str(patient["id"]), patient_id);
  EXPECT_EQ(str(patient_entry["request"]["method"]), "PUT");
  EXPECT_EQ(str(patient_entry["request"]["url"]), "Patient/" + patient_id);

  ASSERT_EQ(patient["identifier"].Size(), 2u);
  EXPECT_EQ(str(patient["identifier"][0]["value"]), "12345");
  EXPECT_EQ(str(patient["identifier"][0]["system"]), "AHUS");
  EXPECT_EQ(str(patient["identifier"][1]["value"]), "01018012371");
  EXPECT_EQ(str(patient["identifier"][1]["system"]), "NHN");
  ASSERT_EQ(patient["name"].Size(), 1u);
  EXPECT_EQ(str(patient["name"][0]["family"]), "Nordmann");
  ASSERT_EQ(patient["name"][0]["given"].Size(), 2u);
  EXPECT_EQ(str(patient["name"][0]["given"][1]), "Marie");
  EXPECT_EQ(str(patient["gender"]), "female");
  EXPECT_EQ(str(patient["birthDate"]), "1980-01-01");
  EXPECT_TRUE(patient["active"].IsBool() && patient["active"].GetBool());
  EXPECT_FALSE(patient.HasMember("deceasedBoolean"));  // PID-30 absent: member left out
  EXPECT_EQ(str(patient["meta"]["source"]), "AHUS#m1");

  const auto& encounter_entry = doc["entry"][1];
  const auto& encounter = encounter_entry["resource"];
  EXPECT_EQ(str(encounter["resourceType"]), "Encounter");
  EXPECT_FALSE(encounter.HasMember("id"));
  EXPECT_EQ(str(encounter_entry["request"]["method"]), "POST");
  EXPECT_EQ(str(encounter_entry["request"]["url"]), "Encounter");
  EXPECT_EQ(str(encounter_entry["request"]["ifNoneExist"]), "identifier=01018012371");
  EXPECT_EQ(str(encounter["status"]), "in-progress");
  EXPECT_EQ(str(encounter["class"]["code"]), "I");
  EXPECT_EQ(str(encounter["location"][0]["location"]["display"]), "MED");
}

TEST_F(MappingTest, AnExceptionWhileTranslatingIsAMappingError) {
  // Memory running out, or a bug in the engine, refuses the message with a reason (so that the
  // sender gets a NAK and the message is kept) instead of escaping to the listener.
  dir_.write("hl7v2/adt.json", kAdt);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto message = hl7v2::parse(adt());
  ASSERT_TRUE(message);
  hl7v2::SourceView view(*message);
  const Mapping* mapping = set->find("hl7v2", "ADT^A04");
  ASSERT_NE(mapping, nullptr);
  auto t = mapping->translate(view, MessageFacts{"m1", "ADT^A04", 0},
                              [](const JsonTape&) -> Result<void> { throw std::runtime_error("no memory left"); });
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::kMappingFailed);
  EXPECT_EQ(t.error().detail, "mapping 'adt-patient': translation stopped: no memory left");
  // The next message on this thread translates as before.
  EXPECT_TRUE(translate(*set, "ADT^A04", adt()));
}

TEST_F(MappingTest, RefProducesTheReferencedEntrysFullUrl) {
  dir_.write("hl7v2/adt.json", kAdt);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ADT^A04", adt());
  ASSERT_TRUE(t) << t.error().message();
  const auto doc = json(t->bundle);
  EXPECT_EQ(str(doc["entry"][1]["resource"]["subject"]["reference"]), str(doc["entry"][0]["fullUrl"]));
}

TEST_F(MappingTest, WhenLeavesOutAResourceAndIfChoosesElse) {
  dir_.write("hl7v2/adt.json", kAdt);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto pre_admit = translate(*set, "ADT^A04", adt("01018012371^^^NHN^FNR", "M", "PV1|1|P"));
  ASSERT_TRUE(pre_admit) << pre_admit.error().message();
  EXPECT_EQ(pre_admit->resources, 1u);
  EXPECT_EQ(json(pre_admit->bundle)["entry"].Size(), 1u);

  auto outpatient = translate(*set, "ADT^A04", adt("01018012371^^^NHN^FNR", "M", "PV1|1|O"));
  ASSERT_TRUE(outpatient) << outpatient.error().message();
  const auto doc = json(outpatient->bundle);
  EXPECT_EQ(str(doc["entry"][0]["resource"]["gender"]), "male");
  EXPECT_EQ(str(doc["entry"][1]["resource"]["location"][0]["location"]["display"]), "unknown");
}

TEST_F(MappingTest, ForEachMakesOneResourcePerSegment) {
  dir_.write("hl7v2/oru.json", kOru);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ORU^R01", oru());
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->resources, 3u);
  EXPECT_EQ(t->ordering_key, "");
  const auto doc = json(t->bundle);
  ASSERT_EQ(doc["entry"].Size(), 3u);
  const auto& hb = doc["entry"][0]["resource"];
  EXPECT_EQ(str(hb["code"]["text"]), "HB");
  EXPECT_DOUBLE_EQ(hb["valueQuantity"]["value"].GetDouble(), 12.5);
  EXPECT_EQ(str(hb["issued"]), "2024-01-15T10:30:00+01:00");
  EXPECT_FALSE(hb.HasMember("valueString"));
  const auto& note = doc["entry"][1]["resource"];
  EXPECT_EQ(str(note["valueString"]), "all & fine");
  EXPECT_FALSE(note.HasMember("valueQuantity"));
  EXPECT_FALSE(note.HasMember("issued"));
  const auto& k = doc["entry"][2]["resource"];
  EXPECT_DOUBLE_EQ(k["valueQuantity"]["value"].GetDouble(), 4.0);
  EXPECT_EQ(str(k["issued"]), "2024-07-15T10:30:00+00:00");
  EXPECT_EQ(str(doc["entry"][2]["fullUrl"]), "urn:uuid:" + uuid_v5(kResourceNamespace, "Observation|K"));
}

// --- deterministic ids ---------------------------------------------------------------------------

TEST_F(MappingTest, SameInputGivesTheSameIds) {
  dir_.write("hl7v2/adt.json", kAdt);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto first = translate(*set, "ADT^A04", adt(), "m1");
  auto again = translate(*set, "ADT^A04", adt(), "m1");
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->bundle, again->bundle);
}

TEST_F(MappingTest, KeyedIdsDependOnTheKeyOnly) {
  dir_.write("hl7v2/adt.json", kAdt);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto m1 = translate(*set, "ADT^A04", adt(), "m1");
  auto m2 = translate(*set, "ADT^A04", adt(), "m2");
  auto other = translate(*set, "ADT^A04", adt("15038543226^^^NHN^FNR"), "m1");
  ASSERT_TRUE(m1 && m2 && other);
  const auto d1 = json(m1->bundle), d2 = json(m2->bundle), d3 = json(other->bundle);
  // The keyed Patient keeps its id across messages; a different key gives a different id.
  EXPECT_EQ(str(d1["entry"][0]["fullUrl"]), str(d2["entry"][0]["fullUrl"]));
  EXPECT_NE(str(d1["entry"][0]["fullUrl"]), str(d3["entry"][0]["fullUrl"]));
  // The unkeyed Encounter is identified by its message.
  EXPECT_NE(str(d1["entry"][1]["fullUrl"]), str(d2["entry"][1]["fullUrl"]));
  EXPECT_EQ(str(d1["entry"][1]["fullUrl"]),
            "urn:uuid:" + uuid_v5(kResourceNamespace, "m1|encounter|0"));
}

// --- values --------------------------------------------------------------------------------------

TEST_F(MappingTest, PathTakesTheFirstNonEmptyValue) {
  write_simple(R"({"first": {"$path": "PID-3.1"}, "second": {"$path": "PID-3[2].1"},
                   "escaped": {"$path": "NTE-3"}})");
  const auto r = simple_resource(adt() + "NTE|1||a\\F\\b\\.br\\c\r");
  EXPECT_EQ(str(r["first"]), "12345");
  EXPECT_EQ(str(r["second"]), "01018012371");
  EXPECT_EQ(str(r["escaped"]), "a|b\nc");
}

TEST_F(MappingTest, EachCollectsEveryRepetition) {
  write_simple(R"({"ids": {"$each": "PID-3.1"}, "flat": [{"$each": "PID-3.4"}, "extra"],
                   "none": {"$each": "PID-30"}})");
  const auto r = simple_resource();
  ASSERT_TRUE(r["ids"].IsArray());
  ASSERT_EQ(r["ids"].Size(), 2u);
  EXPECT_EQ(str(r["ids"][0]), "12345");
  EXPECT_EQ(str(r["ids"][1]), "01018012371");
  ASSERT_EQ(r["flat"].Size(), 3u);
  EXPECT_EQ(str(r["flat"][0]), "AHUS");
  EXPECT_EQ(str(r["flat"][1]), "NHN");
  EXPECT_EQ(str(r["flat"][2]), "extra");
  EXPECT_FALSE(r.HasMember("none"));
}

TEST_F(MappingTest, WhereFiltersRepetitions) {
  write_simple(R"({
    "fnr": {"$each": "PID-3", "$where": {"path": "@.5", "equals": "FNR"}, "$do": {"$path": "@.1"}},
    "local": {"$each": "PID-3", "$where": {"not": {"path": "@.5", "equals": "FNR"}}, "$use": "CX"},
    "any": {"$each": "PID-3", "$where": {"path": "@.5", "in": ["MR", "FNR"]}, "$do": {"$path": "@.4"}},
    "firstFnr": {"$first": "PID-3", "$where": {"all": [{"path": "@.4", "equals": "NHN"},
                                                      {"path": "@.1", "exists": true}]},
                 "$do": {"$path": "@.1"}}
  })");
  const auto r = simple_resource();
  ASSERT_EQ(r["fnr"].Size(), 1u);
  EXPECT_EQ(str(r["fnr"][0]), "01018012371");
  ASSERT_EQ(r["local"].Size(), 1u);
  EXPECT_EQ(str(r["local"][0]["value"]), "12345");
  EXPECT_EQ(r["any"].Size(), 2u);
  EXPECT_EQ(str(r["firstFnr"]), "01018012371");
}

TEST_F(MappingTest, ExplicitNullAndEmptyValuesAreLeftOut) {
  write_simple(R"({"nulled": {"$path": "PID-6"}, "empty": {"$path": "PID-4"}, "kept": {"$path": "PID-7"}})");
  const auto r = simple_resource(msh("ADT^A04") + "PID|1||123||Doe|\"\"|19800101\r");
  EXPECT_FALSE(r.HasMember("nulled"));
  EXPECT_FALSE(r.HasMember("empty"));
  EXPECT_EQ(str(r["kept"]), "19800101");
}

TEST_F(MappingTest, KeysAndValuesThatNeedEscapesAreEscaped) {
  // Keys and values are written without a look for escapes only where they are known to need
  // none; a key with a quote (refused by FHIR validation, which this translation skips) and a
  // value with a backslash from the message must still come out as valid JSON.
  // PID-5.3 holds no HL7 escape: its value is referenced where the message holds it.
  write_simple(R"({"plain": {"$path": "PID-5.1"}, "with \"quote\"": {"$path": "PID-5.2"},
                   "given": {"$path": "PID-5.3"}})");
  const auto r = simple_resource(msh("ADT^A04") + "PID|1||123||Doe\\E\\x^Back\\E\\slash^Say \"hei\"\r");
  EXPECT_EQ(str(r["plain"]), "Doe\\x");
  EXPECT_EQ(str(r["with \"quote\""]), "Back\\slash");
  EXPECT_EQ(str(r["given"]), "Say \"hei\"");

  // So must constants, defaults and table entries of the mapping set that need escapes.
  write_simple(R"({"constant": "a \"b\"\tc", "plain": "abc",
                   "fallback": {"$path": "PID-9", "$default": "x\\y"},
                   "display": {"$path": "PID-8", "$table": "hl7-0001", "$tableField": "display"}})");
  const auto t = simple_resource(adt("123", "Q"));
  EXPECT_EQ(str(t["constant"]), "a \"b\"\tc");
  EXPECT_EQ(str(t["plain"]), "abc");
  EXPECT_EQ(str(t["fallback"]), "x\\y");
  EXPECT_EQ(str(t["display"]), "Other \"annet\"\tx\\y");
}

TEST_F(MappingTest, AResourceBodyMayBeAnyNodeThatYieldsAnObject) {
  // The body's members become the resource's, after its resourceType (and id for a PUT by id),
  // whatever node the body is; its own resourceType and id are the entry's, not the body's.
  write_simple(R"({"$if": {"path": "PID-5.1", "exists": true},
                   "$then": {"id": "mine", "resourceType": "Other", "family": {"$path": "PID-5.1"}, "kind": "person"},
                   "$else": {"kind": "nobody"}})");
  const auto r = simple_resource(msh("ADT^A04") + "PID|1||123||Doe^John\r");
  EXPECT_EQ(str(r["resourceType"]), "Basic");
  EXPECT_FALSE(r.HasMember("id"));  // a POST
  EXPECT_EQ(str(r["family"]), "Doe");
  EXPECT_EQ(str(r["kind"]), "person");
  EXPECT_EQ(r.MemberCount(), 3u);
  // Constants alone are kept in a body (a resource is never left out for lack of data).
  const auto other = simple_resource(msh("ADT^A04") + "PID|1||123\r");
  EXPECT_EQ(str(other["kind"]), "nobody");
  EXPECT_EQ(other.MemberCount(), 2u);

  write_simple(R"({"$first": "PID", "$do": {"family": {"$path": "PID-5.1"}}})");
  const auto first = simple_resource(msh("ADT^A04") + "PID|1||123||Nordmann\r");
  EXPECT_EQ(str(first["family"]), "Nordmann");
  EXPECT_EQ(first.MemberCount(), 2u);
}

TEST_F(MappingTest, TableLooksUpCodes) {
  write_simple(R"({"code": {"$path": "PID-8", "$table": "hl7-0001"},
                   "system": {"$path": "PID-8", "$table": "hl7-0001", "$tableField": "system"},
                   "display": {"$path": "PID-8", "$table": "hl7-0001", "$tableField": "display"}})");
  const auto r = simple_resource(adt("123", "O"));
  EXPECT_EQ(str(r["code"]), "other");
  EXPECT_EQ(str(r["system"]), "http://hl7.org/fhir/administrative-gender");
  EXPECT_EQ(str(r["display"]), "Other");
}

TEST_F(MappingTest, CodeWithoutEquivalentIsLeftOut) {
  write_simple(R"({"code": {"$path": "PID-8", "$table": "hl7-0001"},
                   "system": {"$path": "PID-8", "$table": "hl7-0001", "$tableField": "system"},
                   "display": {"$path": "PID-8", "$table": "hl7-0001", "$tableField": "display"},
                   "kept": "yes"})");
  const auto r = simple_resource(adt("123", "X"));
  EXPECT_FALSE(r.HasMember("code"));
  EXPECT_FALSE(r.HasMember("system"));
  EXPECT_FALSE(r.HasMember("display"));
  EXPECT_EQ(str(r["kept"]), "yes");
}

TEST_F(MappingTest, UnknownCodeIsAnError) {
  write_simple(R"({"gender": {"$path": "PID-8", "$table": "hl7-0001"}})");
  const Error e = simple_error(adt("123", "Z"));
  EXPECT_EQ(e.code, Errc::kInvalidValue);
  EXPECT_NE(e.detail.find("'Z'"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("hl7-0001"), std::string::npos) << e.detail;
  EXPECT_EQ(e.where.segment, "PID");
  EXPECT_EQ(e.where.field, 8u);
}

TEST_F(MappingTest, RequiredValueMissingNamesTheField) {
  write_simple(R"({"id": {"$path": "PID-3.1", "$required": "patient identifier (PID-3) is required"}})");
  const Error e = simple_error(adt(""));
  EXPECT_EQ(e.code, Errc::kRequiredFieldMissing);
  EXPECT_EQ(e.detail, "patient identifier (PID-3) is required");
  EXPECT_EQ(e.where.segment, "PID");
  EXPECT_EQ(e.where.field, 3u);
  EXPECT_EQ(e.where.component, 1u);
  EXPECT_EQ(e.message(), "required field missing (PID-3.1): patient identifier (PID-3) is required");
}

TEST_F(MappingTest, RequiredRepeatingValueMissing) {
  write_simple(R"({"ids": {"$each": "PID-3", "$use": "CX", "$required": "PID-3 is required"}})");
  const Error e = simple_error(adt(""));
  EXPECT_EQ(e.code, Errc::kRequiredFieldMissing);
  EXPECT_EQ(e.where.segment, "PID");
  EXPECT_EQ(e.where.field, 3u);
}

// "With $required, at least one occurrence must yield a value": a repetition that does not match
// is passed over, not an error (the first, MR number 12345, has no digits-only match here).
TEST_F(MappingTest, RequiredRepeatingValueNeedsOnlyOneOccurrence) {
  write_simple(R"({"ids": [{"$each": "PID-3.1", "$match": "^0[0-9]+$", "$required": "a number starting with 0"}]})");
  const rapidjson::Document r = simple_resource();
  ASSERT_TRUE(r.HasMember("ids"));
  ASSERT_EQ(r["ids"].Size(), 1u);
  EXPECT_EQ(str(r["ids"][0]), "01018012371");
  const Error e = simple_error(adt("12345^^^AHUS^MR~ 98765^^^NHN^FNR"));
  EXPECT_EQ(e.code, Errc::kRequiredFieldMissing);
  EXPECT_EQ(e.detail, "a number starting with 0");
}

TEST_F(MappingTest, RequiredVariableMissing) {
  write_simple(R"({"x": "{{fnr}}"})",
               R"({"fnr": {"$path": "PID-3.1", "$required": "fødselsnummer is required"}})");
  const Error e = simple_error(adt("\"\""));
  EXPECT_EQ(e.code, Errc::kRequiredFieldMissing);
  EXPECT_EQ(e.where.segment, "PID");
  EXPECT_EQ(e.where.field, 3u);
}

TEST_F(MappingTest, CheckAcceptsAValidFodselsnummer) {
  write_simple(R"({"fnr": {"$path": "PID-3[2].1", "$check": "norwegian-person-id"}})");
  EXPECT_EQ(str(simple_resource()["fnr"]), "01018012371");
}

TEST_F(MappingTest, CheckRefusesABadFodselsnummer) {
  write_simple(R"({"fnr": {"$path": "PID-3[2].1", "$check": "norwegian-person-id"}})");
  const Error e = simple_error(adt("12345^^^AHUS^MR~01018012372^^^NHN^FNR"));
  EXPECT_EQ(e.code, Errc::kInvalidIdentifier);
  EXPECT_NE(e.detail.find("control digit"), std::string::npos) << e.detail;
  EXPECT_EQ(e.where.segment, "PID");
  EXPECT_EQ(e.where.segment_seq, 1u);
  EXPECT_EQ(e.where.field, 3u);
  EXPECT_EQ(e.where.repetition, 2u);
  EXPECT_EQ(e.where.component, 1u);
}

TEST_F(MappingTest, ConvertsTypes) {
  write_simple(R"({
    "int": {"$path": "ZZZ-1", "$as": "integer"},
    "dec": {"$path": "ZZZ-2", "$as": "decimal"},
    "yes": {"$path": "ZZZ-3", "$as": "boolean"},
    "no": {"$path": "ZZZ-4", "$as": "boolean"},
    "date": {"$path": "ZZZ-5", "$as": "date"},
    "dateTime": {"$path": "ZZZ-5", "$as": "dateTime"},
    "instant": {"$path": "ZZZ-5", "$as": "instant"},
    "code": {"$path": "ZZZ-6", "$as": "code"},
    "string": {"$path": "ZZZ-6", "$as": "string"}
  })");
  const auto r = simple_resource(adt() + "ZZZ|42|-0.25|Y|N|20240115103000| MR \r");
  ASSERT_TRUE(r["int"].IsInt64());
  EXPECT_EQ(r["int"].GetInt64(), 42);
  EXPECT_DOUBLE_EQ(r["dec"].GetDouble(), -0.25);
  EXPECT_TRUE(r["yes"].GetBool());
  EXPECT_FALSE(r["no"].GetBool());
  EXPECT_EQ(str(r["date"]), "2024-01-15");
  EXPECT_EQ(str(r["dateTime"]), "2024-01-15T10:30:00+01:00");
  EXPECT_EQ(str(r["instant"]), "2024-01-15T10:30:00+01:00");
  EXPECT_EQ(str(r["code"]), "MR");
  EXPECT_EQ(str(r["string"]), " MR ");
}

TEST_F(MappingTest, BadValuesForTheirTypeAreErrors) {
  struct Case {
    const char* as;
    const char* value;
  };
  for (const Case& c : {Case{"integer", "4x"}, Case{"decimal", "abc"}, Case{"boolean", "maybe"},
                        Case{"date", "2024-01-15"}, Case{"instant", "20240115"}}) {
    write_simple(std::string(R"({"v": {"$path": "ZZZ-1", "$as": ")") + c.as + "\"}}");
    const Error e = simple_error(adt() + "ZZZ|" + c.value + "\r");
    EXPECT_EQ(e.code, Errc::kInvalidValue) << c.as;
    EXPECT_EQ(e.where.segment, "ZZZ") << c.as;
    EXPECT_EQ(e.where.field, 1u) << c.as;
  }
}

TEST_F(MappingTest, PrefixIsPrependedToStrings) {
  write_simple(R"({"system": {"$path": "ZZZ-1", "$prefix": "urn:oid:"},
                   "code": {"$path": "ZZZ-2", "$as": "code", "$prefix": "x-"},
                   "absent": {"$path": "ZZZ-9", "$prefix": "urn:oid:"}})");
  const auto r = simple_resource(adt() + "ZZZ|2.16.578.1.12.4.1.4.1| MR \r");
  EXPECT_EQ(str(r["system"]), "urn:oid:2.16.578.1.12.4.1.4.1");
  EXPECT_EQ(str(r["code"]), "x-MR");
  EXPECT_FALSE(r.HasMember("absent"));  // nothing to prefix
}

TEST_F(MappingTest, DefaultConstAndConditionals) {
  write_simple(R"({
    "fallback": {"$path": "PID-30", "$default": "none"},
    "unused": {"$path": "PID-8", "$default": "none"},
    "constant": {"$const": {"system": "urn:x", "list": [1, 2.5, null, false]}},
    "number": 7,
    "chosen": {"$if": {"path": "PID-8", "equals": "F"}, "$then": "woman", "$else": "other"},
    "notChosen": {"$if": {"path": "PID-8", "equals": "M"}, "$then": "man"},
    "negated": {"$if": {"not": {"path": "PID-30", "exists": true}}, "$then": {"$const": true}},
    "any": {"$if": {"any": [{"path": "PID-8", "equals": "M"}, {"path": "PID-7", "exists": true}]},
            "$then": "yes"}
  })");
  const auto r = simple_resource();
  EXPECT_EQ(str(r["fallback"]), "none");
  EXPECT_EQ(str(r["unused"]), "F");
  EXPECT_EQ(str(r["constant"]["system"]), "urn:x");
  ASSERT_EQ(r["constant"]["list"].Size(), 4u);
  EXPECT_EQ(r["constant"]["list"][0].GetInt64(), 1);
  EXPECT_DOUBLE_EQ(r["constant"]["list"][1].GetDouble(), 2.5);
  EXPECT_TRUE(r["constant"]["list"][2].IsNull());
  EXPECT_EQ(r["number"].GetInt64(), 7);
  EXPECT_EQ(str(r["chosen"]), "woman");
  EXPECT_FALSE(r.HasMember("notChosen"));
  EXPECT_TRUE(r["negated"].GetBool());
  EXPECT_EQ(str(r["any"]), "yes");
}

TEST_F(MappingTest, VariablesAndTemplates) {
  write_simple(R"({
    "family": {"$var": "family"},
    "text": "{{family}}, {{ given }}",
    "missing": "x-{{nothing}}",
    "builtins": "{{$messageId}} {{$messageType}} {{$receivedAt}}",
    "byVar": {"$if": {"var": "family", "equals": "Nordmann"}, "$then": "yes"}
  })",
               R"({"family": {"$path": "PID-5.1"}, "given": {"$path": "PID-5.2"},
                   "both": "{{family}}/{{given}}", "nothing": {"$path": "PID-30"}})");
  const auto r = simple_resource();
  EXPECT_EQ(str(r["family"]), "Nordmann");
  EXPECT_EQ(str(r["text"]), "Nordmann, Kari");
  EXPECT_FALSE(r.HasMember("missing"));
  EXPECT_EQ(str(r["builtins"]), "m1 ADT^A04 2024-01-15T10:30:00.123Z");
  EXPECT_EQ(str(r["byVar"]), "yes");
}

TEST_F(MappingTest, NoResourcesIsAnError) {
  dir_.write("hl7v2/never.json", R"({"mapping": "never",
    "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "resources": [{"name": "r", "resourceType": "Basic", "when": {"path": "PID-30", "exists": true},
                   "resource": {"x": "y"}}]})");
  const Error e = simple_error();
  EXPECT_EQ(e.code, Errc::kMappingFailed);
  EXPECT_NE(e.detail.find("produced no resources"), std::string::npos);
}

TEST_F(MappingTest, CustomUrlAndIfNoneExist) {
  dir_.write("hl7v2/put.json", R"({"mapping": "put",
    "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "let": {"fnr": {"$path": "PID-3[2].1"}},
    "resources": [{"name": "p", "resourceType": "Patient",
                   "request": {"method": "PUT", "url": "Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|{{fnr}}"},
                   "resource": {"active": true}}]})");
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ADT^A04", adt());
  ASSERT_TRUE(t) << t.error().message();
  const auto doc = json(t->bundle);
  EXPECT_EQ(str(doc["entry"][0]["request"]["url"]),
            "Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|01018012371");
  EXPECT_FALSE(doc["entry"][0]["resource"].HasMember("id"));  // conditional update: no id
}

// A value from the message lands in a request URL escaped: "&" or "=" must not add a parameter,
// "," must not make the search an "or", a space or "%" must not make the URL unreadable; the
// server finds the record whose identifier is exactly that value, and no other patient's.
TEST_F(MappingTest, ValuesInARequestUrlAreEscapedWhereTheyLand) {
  dir_.write("hl7v2/put.json", R"({"mapping": "put",
    "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "let": {"visit": {"$path": "PV1-19.1"}, "room": {"$path": "PV1-3.2"}},
    "resources": [{"name": "e", "resourceType": "Encounter",
                   "request": {"method": "PUT", "url": "Encounter?identifier=urn:sys|{{visit}}"},
                   "resource": {"status": "finished"}},
                  {"name": "l", "resourceType": "Location",
                   "request": {"method": "POST", "ifNoneExist": "identifier=urn:rooms|{{room}}"},
                   "resource": {"status": "active"}},
                  {"name": "b", "resourceType": "Basic",
                   "request": {"method": "PUT", "url": "Basic/{{room}}"},
                   "resource": {"id": "x"}}]})");
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ADT^A04",
                     adt("12345^^^AHUS^MR~01018012371^^^NHN^FNR", "F",
                         "PV1|1|I|MED^1/2,3 %x\\E\\||||||||||||||||V1\\T\\_format=xml,V2$"));
  ASSERT_TRUE(t) << t.error().message();
  const auto doc = json(t->bundle);
  EXPECT_EQ(str(doc["entry"][0]["request"]["url"]), "Encounter?identifier=urn:sys|V1%26_format%3Dxml%5C%2CV2%5C%24");
  EXPECT_EQ(str(doc["entry"][1]["request"]["ifNoneExist"]), "identifier=urn:rooms|1/2%5C%2C3%20%25x%5C%5C");
  EXPECT_EQ(str(doc["entry"][2]["request"]["url"]), "Basic/1%2F2%2C3%20%25x%5C");
}

// --- compile errors ------------------------------------------------------------------------------

TEST_F(MappingTest, UnknownDirectiveKeyPointsAtFileLineAndColumn) {
  const auto file = dir_.write("hl7v2/bad.json",
                               "{\n"
                               "  \"mapping\": \"bad\",\n"
                               "  \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},\n"
                               "  \"resources\": [\n"
                               "    {\n"
                               "      \"name\": \"p\", \"resourceType\": \"Patient\",\n"
                               "      \"resource\": {\n"
                               "        \"gender\": {\"$path\": \"PID-8\", \"$foo\": true}\n"
                               "      }\n"
                               "    }\n"
                               "  ]\n"
                               "}\n");
  const Error e = load_error();
  EXPECT_EQ(e.code, Errc::kInvalidValue);
  EXPECT_EQ(e.detail.rfind(file.string() + ":8:46: unknown key \"$foo\"", 0), 0u) << e.detail;
}

struct BadMapping {
  const char* body;   // the resource body, or a whole file when it starts with "FILE:"
  const char* let;
  const char* expected;
};

class MappingCompileErrorTest : public MappingTest, public ::testing::WithParamInterface<BadMapping> {};

TEST_P(MappingCompileErrorTest, IsRefusedWithAReason) {
  const BadMapping& c = GetParam();
  const std::string body = c.body;
  if (body.rfind("FILE:", 0) == 0) {
    dir_.write("hl7v2/bad.json", body.substr(5));
  } else {
    write_simple(body, c.let);
  }
  const Error e = load_error();
  EXPECT_EQ(e.code, Errc::kInvalidValue);
  EXPECT_NE(e.detail.find(c.expected), std::string::npos) << e.detail;
  // Every compile error names the file and a line:column in it.
  EXPECT_NE(e.detail.find(".json:"), std::string::npos) << e.detail;
}

INSTANTIATE_TEST_SUITE_P(
    Mapping, MappingCompileErrorTest,
    ::testing::Values(
        BadMapping{R"({"x": "{{nope}}"})", "{}", "unknown variable 'nope'"},
        BadMapping{R"({"x": {"$var": "nope"}})", "{}", "unknown variable 'nope'"},
        BadMapping{R"({"x": 1})", R"({"a": "{{b}}", "b": "1"})", "unknown variable 'b'"},
        BadMapping{R"({"x": 1})", R"({"$messageId": "1"})", "variable '$messageId' is defined twice"},
        BadMapping{R"({"x": "{{open"})", "{}", "'{{' without a closing '}}'"},
        BadMapping{R"({"x": {"$path": "pid-3"}})", "{}", "path 'pid-3'"},
        BadMapping{R"({"x": {"$path": 3}})", "{}", "a path must be a string"},
        BadMapping{R"({"x": {"$path": "PID-8", "$table": "nope"}})", "{}", "no terminology table named 'nope'"},
        BadMapping{R"({"x": {"$path": "PID-8", "$use": "XYZ"}})", "{}", "no datatype map named 'XYZ'"},
        BadMapping{R"({"x": {"$path": "PID-8", "$as": "float"}})", "{}", "\"$as\" is one of"},
        BadMapping{R"({"x": {"$path": "PID-8", "$check": "luhn"}})", "{}", "norwegian-person-id"},
        BadMapping{R"({"x": {"$path": "PID-8", "$required": ""}})", "{}", "\"$required\" takes"},
        BadMapping{R"({"x": {"$path": "PID-8", "$tableField": "name"}})", "{}", "\"$tableField\" is one of"},
        BadMapping{R"({"x": {"$path": "PID-8", "$prefix": 1}})", "{}", "\"$prefix\" takes a string"},
        BadMapping{R"({"x": {"$path": "PID-8", "$const": 1}})", "{}", "cannot be combined"},
        BadMapping{R"({"x": {"$each": "PID-3", "$use": "CX", "$do": "y"}})", "{}", "not both"},
        BadMapping{R"({"x": {"$if": {"path": "PID-8", "exists": true}}})", "{}", "\"$if\" needs \"$then\""},
        BadMapping{R"({"x": {"$if": {"path": "PID-8", "like": "F"}, "$then": 1}})", "{}",
                   "unknown condition key \"like\""},
        BadMapping{R"({"x": {"$if": {"path": "PID-8", "matches": "(F"}, "$then": 1}})", "{}",
                   "not a valid regular expression"},
        BadMapping{R"({"x": {"$path": "PID-8", "$match": "[a"}})", "{}", "not a valid regular expression"},
        BadMapping{R"x({"x": {"$path": "PID-8", "$match": "(a)", "$group": 2}})x", "{}", "only 1 capture group"},
        BadMapping{R"({"x": {"$path": "PID-8", "$group": 1}})", "{}", "\"$group\" needs \"$match\""},
        BadMapping{R"({"x": {"$path": "PID-8", "$separator": " "}})", "{}", "belongs with \"$join\""},
        BadMapping{R"({"x": {"$join": "PID-8"}})", "{}", "\"$join\" takes an array"},
        BadMapping{R"({"x": {"$if": {"equals": "F"}, "$then": 1}})", "{}", "needs \"path\" or \"var\""},
        BadMapping{R"({"x": {"$ref": "nobody"}})", "{}", "no resource named 'nobody'"},
        BadMapping{R"({"$path": "PID-8", "x": 1})", "{}", "unknown key \"x\" beside"},
        BadMapping{R"({"x": {"$where": {"path": "PID-8", "exists": true}}})", "{}", "is not a directive here"},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [], \"extra\": 1}",
                   "", "unknown top-level key \"extra\""},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": []}",
                   "", "\"resources\" lists at least one resource"},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"kith\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [{\"name\": \"r\", \"resourceType\": \"Basic\", \"resource\": {}}]}",
                   "", "format must be \"hl7v2\""},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": []},"
                   " \"resources\": [{\"name\": \"r\", \"resourceType\": \"Basic\", \"resource\": {}}]}",
                   "", "\"messages\" lists at least one"},
        BadMapping{"FILE:{\"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [{\"name\": \"r\", \"resourceType\": \"Basic\", \"resource\": {}}]}",
                   "", "\"mapping\" (the mapping's name) is required"},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [{\"name\": \"r\", \"resource\": {}}]}",
                   "", "needs a \"resourceType\""},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [{\"name\": \"r\", \"resourceType\": \"Basic \\\"x\\\"\", \"resource\": {}}]}",
                   "", "\"resourceType\" is the name of a FHIR resource type"},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [{\"name\": \"r\", \"resourceType\": \"Basic\", \"resource\": {}},"
                   " {\"name\": \"r\", \"resourceType\": \"Basic\", \"resource\": {}}]}",
                   "", "resource name 'r' is used twice"},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [{\"name\": \"r\", \"resourceType\": \"Basic\", \"resource\": {},"
                   " \"request\": {\"method\": \"DELETE\"}}]}",
                   "", "\"method\" is POST or PUT"},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [{\"name\": \"r\", \"resourceType\": \"Basic\", \"resource\": {},"
                   " \"forEach\": \"OBX-\"}]}",
                   "", "path 'OBX-'"},
        BadMapping{"FILE:{\"mapping\": \"m\", \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},"
                   " \"resources\": [{\"name\": \"r\", \"resourceType\": \"Basic\", \"resource\": {},"
                   " \"let\": {\"x\": {\"$path\": \"PID-8\"}}, \"when\": {\"var\": \"x\", \"exists\": true}}]}",
                   "", "unknown variable 'x'"},
        BadMapping{"FILE:{\"mapping\": \"m\",\n \"accepts\": {\"format\": \"hl7v2\", \"messages\": [\"ADT^A04\"]},\n"
                   " \"resources\": [}",
                   "", ".json:3:"}));

TEST_F(MappingTest, DuplicateMessageTypeAcrossFilesIsRefused) {
  dir_.write("hl7v2/a.json", kAdt);
  write_simple(R"({"x": 1})");  // simple.json also accepts ADT^A04
  const Error e = load_error();
  EXPECT_EQ(e.code, Errc::kInvalidValue);
  EXPECT_NE(e.detail.find("simple.json: ADT^A04 is already taken by"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("a.json"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, BrokenDatatypeMapIsRefusedEvenWhenUnused) {
  dir_.write("hl7v2/datatypes/bad.json", R"({"datatype": "BAD", "template": {"x": {"$path": "@.x"}}})");
  const Error e = load_error();
  EXPECT_NE(e.detail.find("bad.json:1:"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("path '@.x'"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, DatatypeMapsCannotUseThemselves) {
  dir_.write("hl7v2/datatypes/loop.json", R"({"datatype": "LOOP", "template": {"x": {"$path": "@.1", "$use": "LOOP"}}})");
  const Error e = load_error();
  EXPECT_NE(e.detail.find("datatype map 'LOOP' uses itself"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, DatatypeMapsCannotReadVariables) {
  dir_.write("hl7v2/datatypes/var.json", R"({"datatype": "VAR", "template": {"x": "{{a}}"}})");
  const Error e = load_error();
  EXPECT_NE(e.detail.find("datatype maps cannot read variables"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, DatatypeFileNeedsNameAndTemplate) {
  dir_.write("hl7v2/datatypes/half.json", R"({"datatype": "HALF"})");
  const Error e = load_error();
  EXPECT_NE(e.detail.find("half.json:1:1: a datatype map needs"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, BrokenTerminologyIsRefused) {
  dir_.write("terminology/broken.json", R"({"table": "x", "entries": [{"from": "a", "cod": "A"}]})");
  const Error e = load_error();
  EXPECT_NE(e.detail.find("broken.json:1:"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, TerminologyTableDefinedTwiceIsRefused) {
  dir_.write("terminology/again.json", kGenderTable);
  const Error e = load_error();
  EXPECT_NE(e.detail.find("table 'hl7-0001' is defined twice"), std::string::npos) << e.detail;
}

// Orders with their observations: a DiagnosticReport per OBR group lists the Observations of its
// own group, and each Observation points at the report of its order.
const char* kGroupedOru = R"json({
  "mapping": "oru-grouped",
  "accepts": {"format": "hl7v2", "messages": ["ORU^R01"]},
  "resources": [
    {"name": "report", "resourceType": "DiagnosticReport", "forEach": "group(OBR)",
     "key": {"$path": "@-3.1"},
     "resource": {"code": {"text": {"$path": "@-4.1"}}, "result": {"$refs": "observation"}}},
    {"name": "observation", "resourceType": "Observation", "forEach": "group(OBX)",
     "resource": {"code": {"text": {"$path": "@-3.1"}},
                  "valueQuantity": {"value": {"$path": "@-5", "$as": "decimal"}},
                  "derivedFrom": [{"reference": {"$ref": "report"}}]}}
  ]
})json";

std::string grouped_oru() {
  return msh("ORU^R01") + "PID|1||01018012371^^^NHN^FNR\r"
         "OBR|1||F1|LIPID\rOBX|1|NM|HDL||1.30\rOBX|2|NM|LDL||3.10\r"
         "OBR|2||F2|GLU\rOBX|1|NM|GLU||5.6\r";
}

TEST_F(MappingTest, RefsListTheEntriesMadeWithinTheCurrentGroup) {
  dir_.write("hl7v2/oru.json", kGroupedOru);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ORU^R01", grouped_oru());
  ASSERT_TRUE(t) << t.error().message();
  const auto bundle = json(t->bundle);
  const auto& entries = bundle["entry"];
  ASSERT_EQ(entries.Size(), 5u);  // two reports, three observations
  const auto& lipid = entries[0]["resource"];
  const auto& glucose = entries[1]["resource"];
  ASSERT_EQ(lipid["result"].Size(), 2u);
  ASSERT_EQ(glucose["result"].Size(), 1u);
  EXPECT_EQ(str(lipid["result"][0]["reference"]), str(entries[2]["fullUrl"]));
  EXPECT_EQ(str(lipid["result"][1]["reference"]), str(entries[3]["fullUrl"]));
  EXPECT_EQ(str(glucose["result"][0]["reference"]), str(entries[4]["fullUrl"]));
  // Each Observation's $ref finds the report of its own order.
  EXPECT_EQ(str(entries[3]["resource"]["derivedFrom"][0]["reference"]), str(entries[0]["fullUrl"]));
  EXPECT_EQ(str(entries[4]["resource"]["derivedFrom"][0]["reference"]), str(entries[1]["fullUrl"]));
}

TEST_F(MappingTest, DecimalsKeepTheDigitsTheSenderGave) {
  dir_.write("hl7v2/oru.json", kGroupedOru);
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ORU^R01", grouped_oru());
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_NE(t->bundle.find("\"value\":1.30}"), std::string::npos) << t->bundle;
  EXPECT_NE(t->bundle.find("\"value\":3.10}"), std::string::npos);
}

// "a number → that value": a decimal constant keeps its digits (FHIR decimals are exact).
TEST_F(MappingTest, NumberConstantsAreWrittenAsTheMappingWritesThem) {
  write_simple(R"({"code": {"text": "x"}, "extension": [
      {"url": "http://example.org/a", "valueDecimal": 1.50},
      {"url": "http://example.org/b", "valueDecimal": 12345678901234567890},
      {"url": "http://example.org/c", "valueInteger": 3}]})");
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ADT^A04", adt());
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_NE(t->bundle.find(R"("valueDecimal":1.50})"), std::string::npos) << t->bundle;
  EXPECT_NE(t->bundle.find(R"("valueDecimal":12345678901234567890})"), std::string::npos) << t->bundle;
  EXPECT_NE(t->bundle.find(R"("valueInteger":3})"), std::string::npos) << t->bundle;
}

}  // namespace

// --- occurrence variables, filters, joins, patterns -------------------------------------------------

const char* kOccurrences = R"json({
  "mapping": "occurrences",
  "accepts": {"format": "hl7v2", "messages": ["ORU^R01"]},
  "let": {"fnr": {"$path": "PID-3.1"}},
  "resources": [
    {
      "name": "obs",
      "resourceType": "Observation",
      "forEach": "OBX",
      "let": {"code": {"$path": "@-3.1"}, "label": "{{fnr}}/{{code}}"},
      "where": {"path": "@-2", "in": ["NM", "ST"]},
      "key": "{{label}}",
      "request": {
        "method": {"$if": {"var": "code", "equals": "HB"}, "$then": "PUT", "$else": "POST"},
        "ifNoneExist": "code={{code}}"
      },
      "resource": {
        "label": {"$var": "label"},
        "comparator": {"$path": "@-5", "$match": "^\\s*(<=|>=|<|>)"},
        "number": {"$path": "@-5", "$match": "^\\s*(?:<=|>=|<|>)?\\s*(\\S+)$", "$as": "decimal"},
        "isNumber": {"$if": {"path": "@-5", "matches": "^[0-9.]+$"}, "$then": true, "$else": false}
      }
    }
  ]
})json";

TEST_F(MappingTest, OccurrenceVariablesWhereAndMethodChosenPerEntry) {
  dir_.write("hl7v2/occurrences.json", kOccurrences);
  auto set = load_ok();
  ASSERT_TRUE(set);
  const std::string hl7 = msh("ORU^R01") + "PID|1||01018012371^^^NHN^FNR\r" +
                          "OBX|1|NM|HB^Hemoglobin||>=12.5|g/dL\r"
                          "OBX|2|CE|X^Coded||A^B\r"
                          "OBX|3|NM|K^Potassium||4\r";
  auto t = translate(*set, "ORU^R01", hl7);
  ASSERT_TRUE(t) << t.error().message();
  const auto doc = json(t->bundle);
  ASSERT_EQ(doc["entry"].Size(), 2u);  // the CE result is skipped by "where"
  const auto& hb = doc["entry"][0];
  const auto& k = doc["entry"][1];
  EXPECT_EQ(str(hb["resource"]["label"]), "01018012371/HB");
  EXPECT_EQ(str(k["resource"]["label"]), "01018012371/K");
  EXPECT_EQ(str(hb["request"]["method"]), "PUT");
  EXPECT_EQ(str(hb["request"]["url"]), "Observation/" + str(hb["resource"]["id"]));
  EXPECT_FALSE(hb["request"].HasMember("ifNoneExist"));  // only with POST
  EXPECT_EQ(str(k["request"]["method"]), "POST");
  EXPECT_EQ(str(k["request"]["ifNoneExist"]), "code=K");
  // Ids follow the occurrence's own key.
  EXPECT_EQ(str(hb["fullUrl"]), "urn:uuid:" + uuid_v5(kResourceNamespace, "Observation|01018012371/HB"));
  EXPECT_EQ(str(hb["resource"]["comparator"]), ">=");
  EXPECT_FALSE(k["resource"].HasMember("comparator"));
  EXPECT_EQ(std::string(t->bundle).find("\"number\":12.5") != std::string::npos, true) << t->bundle;
  EXPECT_FALSE(hb["resource"]["isNumber"].GetBool());
  EXPECT_TRUE(k["resource"]["isNumber"].GetBool());
}

TEST_F(MappingTest, OccurrenceVariablesAreLocalToTheirResource) {
  dir_.write("hl7v2/bad.json", R"({"mapping": "m", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "resources": [
      {"name": "a", "resourceType": "Basic", "let": {"x": "1"}, "resource": {"x": "{{x}}"}},
      {"name": "b", "resourceType": "Basic", "resource": {"x": "{{x}}"}}]})");
  const Error e = load_error();
  EXPECT_NE(e.detail.find("unknown variable 'x'"), std::string::npos) << e.detail;
}

// "when" comes before any occurrence: $occurrence is absent there, not the number the resource
// before it left behind.
TEST_F(MappingTest, OccurrenceIsAbsentInWhen) {
  dir_.write("hl7v2/m.json", R"({"mapping": "m", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "resources": [
      {"name": "a", "resourceType": "Basic", "resource": {"n": "{{$occurrence}}"}},
      {"name": "b", "resourceType": "Basic", "when": {"var": "$occurrence", "exists": true},
       "resource": {"n": "{{$occurrence}}"}}]})");
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ADT^A04", adt());
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->resources, 1u) << t->bundle;
}

// A waived check is noted once per value: a resource's "let" is computed twice (for the ids,
// then for the body), and the ordering key after the Bundle is made.
TEST_F(MappingTest, AWaivedCheckIsNotedOnceWhereverItIs) {
  const std::string checked = R"({"$path": "PID-3[2].1", "$check": "norwegian-person-id"})";
  struct Case {
    std::string ordering_key;
    std::string let;
  };
  for (const Case& c : {Case{checked, "{}"}, Case{R"("x")", R"({"fnr": )" + checked + "}"}}) {
    dir_.write("hl7v2/m.json", R"({"mapping": "m", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
      "orderingKey": )" + c.ordering_key + R"(,
      "resources": [{"name": "a", "resourceType": "Basic", "let": )" + c.let + R"(,
        "resource": {"n": "1"}}]})");
    auto set = load_ok();
    ASSERT_TRUE(set);
    auto message = hl7v2::parse(adt("12345^^^AHUS^MR~01018012372^^^NHN^FNR"));  // wrong control digit
    ASSERT_TRUE(message);
    hl7v2::SourceView view(*message);
    MessageFacts facts{"m1", "ADT^A04", 1705314600123};
    facts.accept_invalid_person_id = true;
    auto t = set->find("hl7v2", "ADT^A04")->translate(view, facts);
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ(t->warnings.size(), 1u) << "orderingKey " << c.ordering_key << ", let " << c.let;
  }
}

TEST_F(MappingTest, OccurrenceVariablesCannotShadowTheMappings) {
  dir_.write("hl7v2/bad.json", R"({"mapping": "m", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "let": {"x": "1"},
    "resources": [{"name": "a", "resourceType": "Basic", "let": {"x": "2"}, "resource": {"x": "{{x}}"}}]})");
  const Error e = load_error();
  EXPECT_NE(e.detail.find("already defined in the mapping"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, MethodDirectiveMustYieldPostOrPut) {
  dir_.write("hl7v2/m.json", R"({"mapping": "m", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "resources": [{"name": "a", "resourceType": "Basic", "request": {"method": {"$path": "PID-8"}},
                   "resource": {"x": "1"}}]})");
  const Error e = simple_error();
  EXPECT_EQ(e.code, Errc::kMappingFailed);
  EXPECT_NE(e.detail.find("request.method came out 'F'"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, JoinTextsWithASeparator) {
  write_simple(R"x({
    "names": {"$join": [{"$path": "PID-5.2"}, {"$path": "PID-30"}, {"$path": "PID-5.1"}], "$separator": " "},
    "ids": {"$join": {"$each": "PID-3", "$do": {"$path": "@.1"}}, "$separator": ","},
    "none": {"$join": [{"$path": "PID-30"}], "$separator": " "},
    "fallback": {"$join": [{"$path": "PID-30"}], "$default": "x"},
    "prefixed": {"$join": [{"$path": "PID-8"}], "$prefix": "sex:"}
  })x");
  const auto r = simple_resource();
  EXPECT_EQ(str(r["names"]), "Kari Nordmann");
  EXPECT_EQ(str(r["ids"]), "12345,01018012371");
  EXPECT_FALSE(r.HasMember("none"));
  EXPECT_EQ(str(r["fallback"]), "x");
  EXPECT_EQ(str(r["prefixed"]), "sex:F");
}

TEST_F(MappingTest, JoinedRequiredValueMissing) {
  write_simple(R"({"x": {"$join": [{"$path": "PID-30"}], "$required": "PID-30 is needed"}})");
  const Error e = simple_error();
  EXPECT_EQ(e.code, Errc::kRequiredFieldMissing);
  EXPECT_EQ(e.detail, "PID-30 is needed");
}

TEST_F(MappingTest, Base64EncodesUtf8Text) {
  write_simple(R"({
    "a": {"$path": "PID-5.1", "$as": "base64"},
    "b": {"$join": [{"$path": "PID-5.2"}, "ø"], "$as": "base64"},
    "c": {"$path": "PID-8", "$as": "base64"}
  })");
  const auto r = simple_resource();
  EXPECT_EQ(str(r["a"]), "Tm9yZG1hbm4=");  // "Nordmann"
  EXPECT_EQ(str(r["b"]), "S2FyacO4");      // "Kariø" in UTF-8
  EXPECT_EQ(str(r["c"]), "Rg==");          // "F"
}

TEST_F(MappingTest, MatchKeepsTheGroupOrTheWholeMatch) {
  write_simple(R"x({
    "year": {"$path": "PID-7", "$match": "^([0-9]{4})"},
    "whole": {"$path": "PID-7", "$match": "[0-9]{2}01$", "$group": 0},
    "none": {"$path": "PID-7", "$match": "^X"},
    "noneDefault": {"$path": "PID-7", "$match": "^X", "$default": "?"}
  })x");
  const auto r = simple_resource();
  EXPECT_EQ(str(r["year"]), "1980");
  EXPECT_EQ(str(r["whole"]), "0101");
  EXPECT_FALSE(r.HasMember("none"));
  EXPECT_EQ(str(r["noneDefault"]), "?");
}

TEST_F(MappingTest, ComparatorKeepsTheComparatorOrTheValue) {
  write_simple(R"x({
    "comparator": {"$path": "PID-6", "$comparator": "comparator"},
    "value": {"$path": "PID-6", "$comparator": "value", "$as": "decimal"},
    "plainComparator": {"$path": "PID-7", "$comparator": "comparator", "$default": "="},
    "plainValue": {"$path": "PID-7", "$comparator": "value"}
  })x");
  const auto r = simple_resource(msh("ADT^A04") + "PID|1||01018012371^^^NHN^FNR||Nordmann^Kari|>= 90|19800101\r");
  EXPECT_EQ(str(r["comparator"]), ">=");
  EXPECT_EQ(r["value"].GetInt(), 90);
  EXPECT_EQ(str(r["plainComparator"]), "=");
  EXPECT_EQ(str(r["plainValue"]), "19800101");
}

TEST_F(MappingTest, ComparatorIsComparatorOrValueAndNotBesideMatch) {
  write_simple(R"x({"a": {"$path": "PID-6", "$comparator": "number"}})x");
  auto unknown = load();
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().detail.find("\"$comparator\" is comparator or value"), std::string::npos)
      << unknown.error().detail;
  write_simple(R"x({"a": {"$path": "PID-6", "$comparator": "value", "$match": "(.*)"}})x");
  auto both = load();
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().detail.find("not both"), std::string::npos) << both.error().detail;
}

TEST_F(MappingTest, TwoOccurrencesWithOneKeyThatDifferAreAMappingError) {
  dir_.write("hl7v2/dup.json", R"({"mapping": "dup", "accepts": {"format": "hl7v2", "messages": ["ORU^R01"]},
    "resources": [{"name": "obs", "resourceType": "Observation", "forEach": "OBX",
                   "let": {"unit": {"$path": "@-6"}}, "key": "{{unit}}", "resource": {"x": {"$path": "@-5"}}}]})");
  auto set = load_ok();
  ASSERT_TRUE(set);
  const std::string hl7 = msh("ORU^R01") + "PID|1\rOBX|1|NM|A||1|g\rOBX|2|NM|B||2|g\r";
  auto t = translate(*set, "ORU^R01", hl7);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::kMappingFailed);
  EXPECT_NE(t.error().detail.find("two occurrences have the same key but differ"), std::string::npos)
      << t.error().detail;
}

// One resource said twice (a panel's OBRs each repeat the SPM of the one specimen): the same
// key and the same content are one entry, not a refusal.
TEST_F(MappingTest, TwoOccurrencesWithOneKeyWrittenTheSameAreOneEntry) {
  dir_.write("hl7v2/dup.json", R"({"mapping": "dup", "accepts": {"format": "hl7v2", "messages": ["ORU^R01"]},
    "resources": [{"name": "obs", "resourceType": "Observation", "forEach": "OBX",
                   "let": {"unit": {"$path": "@-6"}}, "key": "{{unit}}", "resource": {"x": {"$path": "@-5"}}},
                  {"name": "tail", "resourceType": "Basic", "resource": {"y": "2"}}]})");
  auto set = load_ok();
  ASSERT_TRUE(set);
  const std::string hl7 = msh("ORU^R01") + "PID|1\rOBX|1|NM|A||7|g\rOBX|2|NM|A||7|g\r";
  auto t = translate(*set, "ORU^R01", hl7);
  ASSERT_TRUE(t) << t.error().message();
  const auto doc = json(t->bundle);
  ASSERT_EQ(doc["entry"].Size(), 2u) << t->bundle;
  EXPECT_EQ(str(doc["entry"][0]["resource"]["x"]), "7");
  EXPECT_EQ(str(doc["entry"][1]["resource"]["resourceType"]), "Basic");
  EXPECT_EQ(t->resources, 2u);
}

TEST_F(MappingTest, WhitespaceOnlyValuesAreAbsent) {
  write_simple(R"({"blank": {"$path": "PID-6"}, "kept": {"$path": "PID-5.1"}, "fallback": {"$path": "PID-6", "$default": "x"}})");
  const auto r = simple_resource(msh("ADT^A04") + "PID|1||01018012371^^^NHN^FNR||Nordmann^Kari|   \r");
  EXPECT_FALSE(r.HasMember("blank"));
  EXPECT_EQ(str(r["kept"]), "Nordmann");
  EXPECT_EQ(str(r["fallback"]), "x");
}

// --- shared parts, "$refs": "*" and $occurrence -----------------------------------------------

const char* kPart = R"json({"part": "person",
  "let": {"family": {"$path": "PID-5.1", "$required": "PID-5 names the patient"}},
  "orderingKey": "{{family}}",
  "resources": [
    {"name": "patient", "resourceType": "Patient", "key": "{{family}}", "request": {"method": "PUT"},
     "resource": {"name": [{"family": "{{family}}"}]}},
    {"name": "provenance", "resourceType": "Provenance", "resource": {"target": [{"$refs": "*"}]}}
  ]})json";

TEST_F(MappingTest, IncludedPartsBringVariablesResourcesAndTheOrderingKey) {
  dir_.write("hl7v2/shared/person.json", kPart);
  dir_.write("hl7v2/obs.json", R"({"mapping": "obs", "accepts": {"format": "hl7v2", "messages": ["ORU^R01"]},
    "include": ["person"],
    "resources": [{"name": "obs", "resourceType": "Observation", "forEach": "OBX",
                   "key": "{{family}}|{{$occurrence}}", "request": {"method": "PUT"},
                   "resource": {"n": "{{$occurrence}}", "subject": {"reference": {"$ref": "patient"}}}}]})");
  auto set = load_ok();
  ASSERT_TRUE(set);
  const std::string hl7 = msh("ORU^R01") + "PID|1||||Nordmann^Kari\rOBX|1|NM|A||1|g\rOBX|2|NM|B||2|g\r";
  auto t = translate(*set, "ORU^R01", hl7);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->ordering_key, "Nordmann");
  const auto doc = json(t->bundle);
  ASSERT_EQ(doc["entry"].Size(), 4u);  // the mapping's own resources first, then the part's
  EXPECT_EQ(str(doc["entry"][0]["resource"]["n"]), "1");
  EXPECT_EQ(str(doc["entry"][1]["resource"]["n"]), "2");
  EXPECT_EQ(str(doc["entry"][1]["fullUrl"]), "urn:uuid:" + uuid_v5(kResourceNamespace, "Observation|Nordmann|2"));
  EXPECT_EQ(str(doc["entry"][0]["resource"]["subject"]["reference"]), str(doc["entry"][2]["fullUrl"]));
  const auto& targets = doc["entry"][3]["resource"]["target"];  // every entry but the Provenance
  ASSERT_EQ(targets.Size(), 3u);
  for (rapidjson::SizeType i = 0; i < 3; ++i) {
    EXPECT_EQ(str(targets[i]["reference"]), str(doc["entry"][i]["fullUrl"]));
  }
  EXPECT_FALSE(doc["entry"][3]["resource"].HasMember("n"));
}

TEST_F(MappingTest, ErrorsInAPartPointIntoThePartsFile) {
  dir_.write("hl7v2/shared/person.json", R"({"part": "person",
    "resources": [{"name": "patient", "resourceType": "Patient",
      "resource": {"x": {"$path": "PID-5", "$tabel": "t"}}}]})");
  write_simple(R"({"x": "y"})");
  dir_.write("hl7v2/simple.json", R"({"mapping": "simple", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "include": ["person"], "resources": [{"name": "r", "resourceType": "Basic", "resource": {"x": "y"}}]})");
  const Error e = load_error();
  EXPECT_NE(e.detail.find("shared/person.json:3:"), std::string::npos) << e.detail;
}

TEST_F(MappingTest, PartsMustExistAndNotClash) {
  dir_.write("hl7v2/shared/person.json", kPart);
  dir_.write("hl7v2/simple.json", R"({"mapping": "simple", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "include": ["persons"], "resources": [{"name": "r", "resourceType": "Basic", "resource": {"x": "y"}}]})");
  EXPECT_NE(load_error().detail.find("no shared part named 'persons' in hl7v2/shared/"), std::string::npos);
  dir_.write("hl7v2/simple.json", R"({"mapping": "simple", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "include": ["person"], "let": {"family": {"$path": "PID-5.1"}},
    "resources": [{"name": "r", "resourceType": "Basic", "resource": {"x": "y"}}]})");
  EXPECT_NE(load_error().detail.find("variable 'family' is defined twice"), std::string::npos);
  dir_.write("hl7v2/simple.json", R"({"mapping": "simple", "accepts": {"format": "hl7v2", "messages": ["ADT^A04"]},
    "include": ["person"], "resources": [{"name": "patient", "resourceType": "Basic", "resource": {"x": "y"}}]})");
  EXPECT_NE(load_error().detail.find("resource name 'patient' is used twice"), std::string::npos);
  dir_.write("hl7v2/shared/other.json", R"({"part": "person", "resources": []})");
  EXPECT_NE(load_error().detail.find("shared part 'person' is already defined in"), std::string::npos);
}

TEST_F(MappingTest, OccurrenceIsOneWithoutForEachAndAbsentInTheMappingsLet) {
  write_simple(R"({"n": "{{$occurrence}}", "seen": {"$var": "early", "$default": "absent"}})",
               R"({"early": {"$var": "$occurrence"}})");
  const auto r = simple_resource();
  EXPECT_EQ(str(r["n"]), "1");
  EXPECT_EQ(str(r["seen"]), "absent");
}

TEST_F(MappingTest, Base64BinaryLosesItsLineBreaksAndIsChecked) {
  write_simple(R"({"data": {"$path": "PID-5.1", "$as": "base64Binary"}})");
  EXPECT_EQ(str(simple_resource(msh("ADT^A04") + "PID|1||01018012371^^^NHN^FNR||SGVs\\.br\\  bG8=\r")["data"]), "SGVsbG8=");
  EXPECT_EQ(simple_error(msh("ADT^A04") + "PID|1||01018012371^^^NHN^FNR||SGVs*G8=\r").code, Errc::kInvalidValue);
  EXPECT_EQ(simple_error(msh("ADT^A04") + "PID|1||01018012371^^^NHN^FNR||SGVsbG8\r").code, Errc::kInvalidValue);
  EXPECT_EQ(simple_error(msh("ADT^A04") + "PID|1||01018012371^^^NHN^FNR||SG=sbG8=\r").code, Errc::kInvalidValue);
}

TEST_F(MappingTest, RegularExpressionsFollowEcmaScriptAcrossLineEnds) {
  // ^ and $ are the ends of the whole text; '.' does not cross a line end.
  write_simple(R"x({"whole": {"$path": "PID-5.1", "$match": "^(.*)$", "$group": 1},
                    "first": {"$path": "PID-5.1", "$match": "^(.*)", "$group": 1},
                    "all": {"$path": "PID-5.1", "$match": "^([\\s\\S]*)$", "$group": 1}})x");
  const auto r = simple_resource(msh("ADT^A04") + "PID|1||01018012371^^^NHN^FNR||linje en\\.br\\linje to\r");
  EXPECT_FALSE(r.HasMember("whole"));
  EXPECT_EQ(str(r["first"]), "linje en");
  EXPECT_EQ(str(r["all"]), "linje en\nlinje to");
}

TEST_F(MappingTest, RegularExpressionsOnLongTextsNeitherCrashNorHang) {
  // libstdc++'s std::regex recursed once per character and overflowed the stack near 25,000.
  write_simple(R"({"kept": {"$path": "PID-5.1", "$match": "^((\\w|\\s)+)$", "$group": 1},
                   "tested": {"$if": {"path": "PID-5.1", "matches": "^(a|b)*$"}, "$then": "yes"}})");
  const std::string name(200000, 'a');
  auto set = load_ok();
  ASSERT_TRUE(set);
  auto t = translate(*set, "ADT^A04", msh("ADT^A04") + "PID|1||01018012371^^^NHN^FNR||" + name + "\r");
  if (t) {  // either the whole text matched …
    const auto r = json(t->bundle)["entry"][0]["resource"].GetObject();
    EXPECT_EQ(r["kept"].GetStringLength(), name.size());
    EXPECT_EQ(str(r["tested"]), "yes");
  } else {  // … or the message is refused with a reason, never a crash
    EXPECT_EQ(t.error().code, Errc::kMappingFailed);
    EXPECT_NE(t.error().detail.find("too long or complex"), std::string::npos) << t.error().detail;
  }
}

}  // namespace helsebro::mapping

TEST(EvaluatorScratch, GivesBackTheRoomABigMessageMade) {
  // A thread keeps its evaluator's room from one message to the next, but not what one big
  // message grew it to.
  helsebro::mapping::Evaluator::Scratch scratch;
  scratch.read.assign(4 << 20, 'x');
  scratch.work.assign(1000, 'y');
  scratch.selected.resize(1 << 20);
  scratch.refs.resize(10);
  scratch.trim();
  EXPECT_LT(scratch.read.capacity(), 256u * 1024);
  EXPECT_GE(scratch.work.capacity(), 1000u);  // small room is kept
  EXPECT_EQ(scratch.selected.capacity(), 0u);
  EXPECT_GE(scratch.refs.capacity(), 10u);
}


