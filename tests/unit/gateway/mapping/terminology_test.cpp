#include "gateway/mapping/terminology.h"

#include <gtest/gtest.h>

namespace helsebro::mapping {
namespace {

const char* kGender = R"({
  "table": "hl7-0001",
  "system": "http://hl7.org/fhir/administrative-gender",
  "description": "HL7 table 0001 to FHIR administrative gender",
  "entries": [
    {"from": "F", "code": "female", "display": "Female"},
    {"from": "M", "code": "male", "display": "Male"},
    {"from": "X", "code": "other", "system": "urn:example:other", "comment": "custom"}
  ],
  "default": {"code": "unknown", "display": "Unknown"}
})";

TEST(Terminology, LooksUpCodes) {
  auto table = TerminologyTable::load("gender.json", kGender);
  ASSERT_TRUE(table) << table.error().detail;
  EXPECT_EQ(table->name(), "hl7-0001");
  const Coding* f = table->lookup("F");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->code, "female");
  EXPECT_EQ(f->display, "Female");
  EXPECT_EQ(f->system, "http://hl7.org/fhir/administrative-gender");
  const Coding* x = table->lookup("X");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->system, "urn:example:other");
  EXPECT_EQ(x->display, "");
}

TEST(Terminology, UnknownCodesGetTheDefault) {
  auto table = TerminologyTable::load("gender.json", kGender);
  ASSERT_TRUE(table);
  const Coding* q = table->lookup("Q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->code, "unknown");
  EXPECT_EQ(q->system, "http://hl7.org/fhir/administrative-gender");
  // Case-sensitive unless the table says otherwise.
  EXPECT_EQ(table->lookup("f")->code, "unknown");
}

TEST(Terminology, WithoutDefaultUnknownCodesAreNull) {
  auto table = TerminologyTable::load(
      "t.json", R"({"table": "t", "entries": [{"from": "a", "code": "A"}]})");
  ASSERT_TRUE(table) << table.error().detail;
  EXPECT_EQ(table->lookup("b"), nullptr);
  EXPECT_EQ(table->lookup(""), nullptr);
  ASSERT_NE(table->lookup("a"), nullptr);
  EXPECT_EQ(table->lookup("a")->system, "");
}

TEST(Terminology, EntryWithoutCodeHasNoEquivalent) {
  auto table = TerminologyTable::load(
      "t.json", R"({"table": "t", "system": "urn:s", "entries": [{"from": "a", "comment": "no target"}],
                    "default": {"code": "other"}})");
  ASSERT_TRUE(table) << table.error().detail;
  const Coding* a = table->lookup("a");
  ASSERT_NE(a, nullptr);  // listed, so not the default …
  EXPECT_EQ(a->code, "");  // … but without a target code
  EXPECT_EQ(table->lookup("b")->code, "other");
}

TEST(Terminology, CaseInsensitiveTables) {
  auto table = TerminologyTable::load(
      "t.json", R"({"table": "t", "caseInsensitive": true, "entries": [{"from": "Ab", "code": "x"}]})");
  ASSERT_TRUE(table) << table.error().detail;
  ASSERT_NE(table->lookup("AB"), nullptr);
  ASSERT_NE(table->lookup("ab"), nullptr);
  EXPECT_EQ(table->lookup("ab")->code, "x");
}

TEST(Terminology, ManyCodesAreEachFoundAndOthersMissed) {
  // Enough entries for the index to grow several times, codes alike but for one byte or case.
  for (const bool folded : {false, true}) {
    std::string text = R"({"table": "t", "caseInsensitive": )";
    text.append(folded ? "true" : "false").append(R"(, "entries": [)");
    for (int i = 0; i < 300; ++i) {
      const std::string n = std::to_string(i);
      text.append(i ? "," : "").append(R"({"from": "c)").append(n).append(R"(", "code": "x)").append(n).append(R"("})");
    }
    text.append("]}");
    auto table = TerminologyTable::load("t.json", text);
    ASSERT_TRUE(table) << table.error().detail;
    for (int i = 0; i < 300; ++i) {
      const std::string n = std::to_string(i);
      const Coding* c = table->lookup("c" + n);
      ASSERT_NE(c, nullptr) << i;
      EXPECT_EQ(c->code, "x" + n);
      const Coding* upper = table->lookup("C" + n);
      if (folded) EXPECT_EQ(upper, c) << i;
      else EXPECT_EQ(upper, nullptr) << i;
      EXPECT_EQ(table->lookup("d" + n), nullptr) << i;
      EXPECT_EQ(table->lookup(n), nullptr) << i;
    }
    EXPECT_EQ(table->lookup(""), nullptr);
    EXPECT_EQ(table->lookup("c"), nullptr);
  }
}

TEST(Terminology, CaseInsensitiveTablesRefuseCodesListedTwiceInAnotherCase) {
  auto table = TerminologyTable::load(
      "t.json", R"({"table": "t", "caseInsensitive": true, "entries": [{"from": "ab", "code": "x"}, {"from": "AB", "code": "y"}]})");
  ASSERT_FALSE(table);
  EXPECT_NE(table.error().detail.find("\"AB\" is listed twice"), std::string::npos) << table.error().detail;
}

void expect_error(const char* text, const std::string& at, const std::string& why) {
  auto table = TerminologyTable::load("terminology/t.json", text);
  ASSERT_FALSE(table) << text;
  EXPECT_EQ(table.error().code, Errc::kInvalidValue);
  EXPECT_EQ(table.error().detail.rfind("terminology/t.json:" + at + ": ", 0), 0u) << table.error().detail;
  EXPECT_NE(table.error().detail.find(why), std::string::npos) << table.error().detail;
}

TEST(Terminology, ErrorsPointAtTheProblem) {
  expect_error("{\"table\": \"t\",\n \"entries\": [\n  {\"from\": \"a\", \"code\": \"A\"},\n  {\"from\": \"a\", \"code\": \"B\"}\n]}",
               "4:12", "\"a\" is listed twice");
  expect_error("{\"table\": \"t\", \"entries\": [{\"code\": \"A\"}]}", "1:28", "each entry needs \"from\"");
  expect_error("{\"table\": \"t\", \"entries\": [{\"from\": \"a\", \"code\": \"A\", \"sytem\": \"s\"}]}",
               "1:64", "unknown key \"sytem\"");
  expect_error("{\"table\": \"t\", \"entries\": [{\"from\": \"a\", \"code\": 1}]}", "1:50",
               "\"code\" must be a string");
  expect_error("{\"entries\": []}", "1:1", "\"table\"");
  expect_error("{\"table\": \"t\"}", "1:1", "\"entries\"");
  expect_error("{\"table\": \"t\", \"entries\": {}}", "1:27", "unknown or mistyped key \"entries\"");
  expect_error("[]", "1:1", "a terminology file is a JSON object");
  expect_error("{\"table\": \"t\", \"entries\": [\"a\"]}", "1:28", "each entry needs \"from\"");
  expect_error("{\"table\": \"t\", \"entries\": [], \"default\": \"x\"}", "1:42", "expected an object");
}

TEST(Terminology, SyntaxErrorsNameTheFile) {
  auto table = TerminologyTable::load("terminology/t.json", "{\"table\": }");
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().detail.rfind("terminology/t.json:1:", 0), 0u) << table.error().detail;
}

}  // namespace
}  // namespace helsebro::mapping
