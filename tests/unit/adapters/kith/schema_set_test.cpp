#include "adapters/kith/schema_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <thread>
#include <vector>

#include "adapters/kith/schema_resolver.h"
#include "tests/unit/adapters/kith/test_support.h"

namespace helsebro::kith {
namespace {

using testing::dialog_message;
using testing::kSchemaDir;
using testing::schemas;

std::optional<SchemaViolation> validate(std::string_view text) {
  auto doc = read_xml(text);
  EXPECT_TRUE(doc) << (doc ? "" : doc.error().detail);
  if (!doc) return SchemaViolation{};
  return schemas()->validate(*doc);
}

TEST(KithSchemaSet, CompilesEveryRootSchemaOfTheIndex) {
  ASSERT_NE(schemas(), nullptr);
  for (const SchemaEntry& e : schemas()->index().entries()) {
    EXPECT_EQ(schemas()->validates_root(e.ns), e.root) << e.ns;
  }
  EXPECT_TRUE(schemas()->validates_root(kMsgHeadNamespace));
}

TEST(KithSchemaSet, ResolvesEveryImportLocallyAndNeverTheNetwork) {
  ASSERT_NE(schemas(), nullptr);
  const auto loads = schemas()->loads();
  ASSERT_FALSE(loads.empty());
  bool web_address_seen = false;
  for (const auto& load : loads) {
    EXPECT_FALSE(load.file.empty()) << "refused: " << load.reference;
    EXPECT_EQ(std::filesystem::path(load.file).parent_path(),
              std::filesystem::canonical(kSchemaDir))
        << load.reference;
    web_address_seen |= load.reference.rfind("http://", 0) == 0;
  }
  // Epikrise, Svarrapport, Rekvisisjon and AppRec 1.1 import kith.xsd by web address.
  EXPECT_TRUE(web_address_seen);
  const auto kith = std::find_if(loads.begin(), loads.end(), [](const auto& l) {
    return l.reference == "http://www.kith.no/xmlstds/kith.xsd";
  });
  ASSERT_NE(kith, loads.end());
  EXPECT_EQ(std::filesystem::path(kith->file).filename(), "kith.xsd");
}

TEST(KithSchemaResolver, MapsReferencesByFileNameAndRefusesTheRest) {
  const SchemaResolver resolver(kSchemaDir);
  const auto local = std::filesystem::canonical(kSchemaDir);
  EXPECT_EQ(resolver.resolve("http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"),
            local / "xmldsig-core-schema.xsd");
  EXPECT_EQ(resolver.resolve("../../felleskomponenter/felleskomponent1.xsd"),
            local / "felleskomponent1.xsd");
  EXPECT_EQ(resolver.resolve((local / "kith.xsd").string()), local / "kith.xsd");
  EXPECT_EQ(resolver.resolve("http://example.invalid/evil.xsd"), std::nullopt);
  EXPECT_EQ(resolver.resolve("http://www.w3.org/2001/XMLSchema.dtd"), std::nullopt);
  EXPECT_EQ(resolver.resolve("/etc/passwd"), std::nullopt);
  EXPECT_EQ(resolver.resolve("index.json"), std::nullopt);
}

// A schema directory whose XSD imports something by a web address no local file answers: the
// loader refuses it (no network fetch is tried) and compiling fails, naming the address.
TEST(KithSchemaSet, FailsToLoadWhenAnImportCannotBeResolvedLocally) {
  const testing::TempDir temp("helsebro-kith-unresolvable");
  const auto& dir = temp.path();
  std::ofstream(dir / "index.json")
      << R"({"namespaces": [{"namespace": "urn:test", "schema": "test.xsd", "kind": "message",
           "prefix": "t", "root": true, "payload": false, "patient": "none"}]})";
  std::ofstream(dir / "test.xsd")
      << R"(<schema xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test">
             <import namespace="urn:other" schemaLocation="http://example.invalid/other.xsd"/>
             <element name="Message" type="string"/>
           </schema>)";
  auto set = SchemaSet::load(dir);
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().detail.find("cannot resolve 'http://example.invalid/other.xsd' locally"),
            std::string::npos)
      << set.error().detail;
}

TEST(KithSchemaSet, RefusesAnIndexNamingAMissingSchema) {
  const testing::TempDir temp("helsebro-kith-missing");
  const auto& dir = temp.path();
  std::ofstream(dir / "index.json")
      << R"({"namespaces": [{"namespace": "urn:test", "schema": "absent.xsd", "kind": "message",
           "prefix": "t", "root": true}]})";
  auto set = SchemaSet::load(dir);
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().detail.find("absent.xsd"), std::string::npos) << set.error().detail;
}

TEST(KithSchemaSet, ValidatesMsgHeadWithItsPayload) {
  EXPECT_EQ(validate(dialog_message()), std::nullopt);
}

TEST(KithSchemaSet, ValidatesThePayloadAgainstItsOwnSchema) {
  // TemaKodet is required in Dialogmelding's Notat: the strict wildcard checks the payload.
  auto violation = validate(dialog_message(
      {{R"(<TemaKodet V="1" S="2.16.578.1.12.4.1.1.7322" DN="Helsefaglig dialog"/>)", ""}}));
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->path,
            "/MsgHead/Document/RefDoc/Content/Dialogmelding/Notat[1]/TekstNotatInnhold");
  EXPECT_EQ(violation->reason, "elementet er ikke tillatt her");
  EXPECT_GT(violation->line, 60u);
}

TEST(KithSchemaSet, NamesAnInvalidValueAndItsElement) {
  auto violation = validate(
      dialog_message({{"<GenDate>2024-03-01T10:15:00</GenDate>", "<GenDate>i går</GenDate>"}}));
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->path, "/MsgHead/MsgInfo/GenDate");
  EXPECT_EQ(violation->reason, "ugyldig verdi");
  EXPECT_EQ(violation->line, 6u);
}

TEST(KithSchemaSet, NamesAnInvalidAttribute) {
  auto violation = validate(dialog_message({{R"(S="2.16.578.1.12.4.1.1.8116" DN="Fødselsnummer")",
                                             R"(S="ikke en OID" DN="Fødselsnummer")"}}));
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->path, "/MsgHead/MsgInfo/Patient/Ident/TypeId/@S");
  EXPECT_EQ(violation->reason, "ugyldig verdi");
}

TEST(KithSchemaSet, RefusesAnUndeclaredPayload) {
  auto violation =
      validate(dialog_message({{"http://www.kith.no/xmlstds/dialog/2013-01-23", "urn:unknown"}}));
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->reason, "elementet er ikke deklarert i skjemaet");
}

TEST(KithSchemaSet, IgnoresSchemaLocationHintsInTheMessage) {
  const auto before = schemas()->loads().size();
  const std::uint64_t refused_before = refused_loads();
  EXPECT_EQ(
      validate(dialog_message(
          {{R"(<MsgHead xmlns="http://www.kith.no/xmlstds/msghead/2006-05-24">)",
            R"(<MsgHead xmlns="http://www.kith.no/xmlstds/msghead/2006-05-24" )"
            R"(xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" )"
            R"(xsi:schemaLocation="http://www.kith.no/xmlstds/msghead/2006-05-24 http://example.invalid/MsgHead.xsd">)"}})),
      std::nullopt);
  EXPECT_EQ(schemas()->loads().size(), before);
  EXPECT_EQ(refused_loads(), refused_before);
}

TEST(KithSchemaSet, ReportsARootNamespaceWithoutSchema) {
  auto violation = validate("<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"/>");
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->path, "/Envelope");
}

TEST(KithSchemaSet, ValidatesFromManyThreadsAtOnce) {
  const std::string good = dialog_message();
  const std::string bad =
      dialog_message({{"<GenDate>2024-03-01T10:15:00</GenDate>", "<GenDate>x</GenDate>"}});
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto g = read_xml(good);
        auto b = read_xml(bad);
        if (!g || !b || schemas()->validate(*g) || !schemas()->validate(*b)) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace helsebro::kith
