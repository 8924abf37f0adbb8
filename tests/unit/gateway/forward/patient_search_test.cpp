#include "gateway/forward/patient_search.h"

#include <gtest/gtest.h>

#include "gateway/forward/presence_cache.h"

namespace helsebro::forward {
namespace {

constexpr std::string_view kFnrSystem = "urn:oid:2.16.578.1.12.4.1.4.1";
constexpr std::string_view kDnrSystem = "urn:oid:2.16.578.1.12.4.1.4.2";

TEST(PatientSearch, AsksForAnyOfTheIdentifiersInAFormBody) {
  const std::string body = patient_search_body(
      {{std::string(kFnrSystem), "15038512363"}, {std::string(kDnrSystem), "55038512357"}});
  EXPECT_EQ(body,
            "identifier=urn%3Aoid%3A2.16.578.1.12.4.1.4.1%7C15038512363%2C"
            "urn%3Aoid%3A2.16.578.1.12.4.1.4.2%7C55038512357&_count=1");
}

TEST(PatientSearch, EscapesSearchSeparatorsInsideAValue) {
  EXPECT_EQ(patient_search_body({{"urn:x", "a,b|c$d\\e"}}),
            "identifier=urn%3Ax%7Ca%5C%2Cb%5C%7Cc%5C%24d%5C%5Ce&_count=1");
}

TEST(PatientSearch, KeysASetOfIdentifiersWhateverTheOrder) {
  const PatientIdentifier a{std::string(kFnrSystem), "15038512363"};
  const PatientIdentifier b{std::string(kDnrSystem), "55038512357"};
  EXPECT_EQ(presence_key({a, b}), presence_key({b, a}));
  EXPECT_NE(presence_key({a}), presence_key({a, b}));
}

TEST(PatientSearch, ReadsKnownFromAPatientEntry) {
  auto known = read_patient_search(200, R"({"resourceType":"Bundle","type":"searchset","entry":[
      {"resource":{"resourceType":"OperationOutcome"},"search":{"mode":"outcome"}},
      {"resource":{"resourceType":"Patient","id":"p1"},"search":{"mode":"match"}}]})");
  ASSERT_TRUE(known);
  EXPECT_EQ(*known, PatientPresence::kKnown);
}

TEST(PatientSearch, ReadsUnknownFromAnEmptySearchset) {
  auto none = read_patient_search(200, R"({"resourceType":"Bundle","type":"searchset","total":0})");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, PatientPresence::kUnknown);
  auto only_outcome = read_patient_search(
      200, R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"OperationOutcome"}}]})");
  ASSERT_TRUE(only_outcome);
  EXPECT_EQ(*only_outcome, PatientPresence::kUnknown);
}

TEST(PatientSearch, RefusesAnythingElseWithoutQuotingIt) {
  for (const auto& [status, body] : std::vector<std::pair<int, std::string>>{
           {500, R"({"resourceType":"OperationOutcome"})"},
           {403, "{}"},
           {200, "<html>15038512363</html>"},
           {200, R"({"resourceType":"OperationOutcome"})"},
           {200, R"({"resourceType":"Bundle","entry":{}})"}}) {
    auto read = read_patient_search(status, body);
    ASSERT_FALSE(read) << status << " " << body;
    EXPECT_EQ(read.error().code, Errc::kUpstreamTransient);
    EXPECT_EQ(read.error().detail.find("15038512363"), std::string::npos);
  }
}

TEST(PresenceCache, RemembersKnownLongerThanUnknownAndNeverUnavailable) {
  EpochMillis now = 1'000'000;
  PresenceCache cache(600'000, 10'000, 100, Clock([&now] { return now; }));
  cache.put("known", PatientPresence::kKnown);
  cache.put("unknown", PatientPresence::kUnknown);
  cache.put("unavailable", PatientPresence::kUnavailable);
  EXPECT_EQ(cache.get("known"), PatientPresence::kKnown);
  EXPECT_EQ(cache.get("unknown"), PatientPresence::kUnknown);
  EXPECT_FALSE(cache.get("unavailable"));
  now += 10'000;
  EXPECT_FALSE(cache.get("unknown"));
  EXPECT_EQ(cache.get("known"), PatientPresence::kKnown);
  now += 590'000;
  EXPECT_FALSE(cache.get("known"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(PresenceCache, ForgetsTheLeastRecentlyUsedFirst) {
  PresenceCache cache(600'000, 600'000, 2, Clock([] { return EpochMillis{5}; }));
  cache.put("a", PatientPresence::kKnown);
  cache.put("b", PatientPresence::kKnown);
  EXPECT_TRUE(cache.get("a"));  // a is now the most recently used
  cache.put("c", PatientPresence::kUnknown);
  EXPECT_TRUE(cache.get("a"));
  EXPECT_FALSE(cache.get("b"));
  EXPECT_TRUE(cache.get("c"));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(PresenceCache, ANewAnswerReplacesTheOldOne) {
  PresenceCache cache(600'000, 0, 10, Clock([] { return EpochMillis{5}; }));
  cache.put("a", PatientPresence::kKnown);
  cache.put("a", PatientPresence::kUnknown);  // unknown is not remembered (lifetime 0)
  EXPECT_FALSE(cache.get("a"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(PatientSearch, ADeeplyNestedAnswerIsAnErrorNotACrash) {
  EXPECT_FALSE(read_patient_search(200, std::string(1'000'000, '[')));
  EXPECT_FALSE(read_patient_search(200, std::string(100'000, '[') + std::string(100'000, ']')));
}

}  // namespace
}  // namespace helsebro::forward
