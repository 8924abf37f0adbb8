#include "adapters/hl7v2/path.h"

#include <gtest/gtest.h>

namespace helsebro::hl7v2 {
namespace {

Path compiled(std::string_view text) {
  auto p = compile_path(text);
  EXPECT_TRUE(p) << text << ": " << (p ? "" : p.error().detail);
  return p ? **p : Path{};
}

TEST(Path, FieldWithRepetitionComponentAndSubcomponent) {
  const Path p = compiled("PID-3[2].4.1");
  EXPECT_EQ(p.text(), "PID-3[2].4.1");
  EXPECT_FALSE(p.relative);
  EXPECT_EQ(std::string(p.segment), "PID");
  EXPECT_EQ(p.segment_index, 0u);
  EXPECT_EQ(p.field, 3u);
  EXPECT_EQ(p.repetition, 2u);
  EXPECT_EQ(p.component, 4u);
  EXPECT_EQ(p.subcomponent, 1u);
}

TEST(Path, EveryRepetitionByDefault) {
  const Path p = compiled("PID-3");
  EXPECT_EQ(p.field, 3u);
  EXPECT_EQ(p.repetition, 0u);
  EXPECT_EQ(p.component, 0u);
  const Path star = compiled("PID-3[*].1");
  EXPECT_EQ(star.repetition, 0u);
  EXPECT_EQ(star.component, 1u);
}

TEST(Path, SegmentOccurrence) {
  const Path p = compiled("OBX[3]-5");
  EXPECT_EQ(std::string(p.segment), "OBX");
  EXPECT_EQ(p.segment_index, 3u);
  EXPECT_EQ(p.field, 5u);
  EXPECT_EQ(p.repetition, 0u);
}

TEST(Path, WholeSegments) {
  const Path p = compiled("OBX");
  EXPECT_EQ(std::string(p.segment), "OBX");
  EXPECT_EQ(p.field, 0u);
  EXPECT_EQ(p.segment_index, 0u);
  const Path z = compiled("ZP1");
  EXPECT_EQ(std::string(z.segment), "ZP1");
}

TEST(Path, RelativeComponent) {
  const Path p = compiled("@.1");
  EXPECT_TRUE(p.relative);
  EXPECT_FALSE(p.from_segment);
  EXPECT_EQ(p.component, 1u);
  EXPECT_EQ(p.subcomponent, 0u);
  const Path sub = compiled("@.4.2");
  EXPECT_EQ(sub.component, 4u);
  EXPECT_EQ(sub.subcomponent, 2u);
  const Path self = compiled("@");
  EXPECT_TRUE(self.relative);
  EXPECT_EQ(self.component, 0u);
}

TEST(Path, RelativeField) {
  const Path p = compiled("@-3");
  EXPECT_TRUE(p.relative);
  EXPECT_TRUE(p.from_segment);
  EXPECT_EQ(p.field, 3u);
  const Path full = compiled("@-5[1].2.3");
  EXPECT_EQ(full.field, 5u);
  EXPECT_EQ(full.repetition, 1u);
  EXPECT_EQ(full.component, 2u);
  EXPECT_EQ(full.subcomponent, 3u);
}

TEST(Path, ErrorsNameTheCharacter) {
  struct Case {
    const char* text;
    const char* at;
  };
  for (const Case& c : {Case{"pid-3", "character 1"}, Case{"PID-x", "character 5"},
                        Case{"PI", "character 1"}, Case{"", "character 1"},
                        Case{"PID-0", "character 5"}, Case{"PID-3[0]", "character 7"},
                        Case{"PID-3[2", "character 8"}, Case{"PID-3.", "character 7"},
                        Case{"PID-3.1.", "character 9"}, Case{"PID-3 ", "character 6"},
                        Case{"PID[x]-3", "character 5"}, Case{"@x", "character 2"},
                        Case{"@.", "character 3"}, Case{"@-", "character 3"},
                        Case{"@.1.2.3", "character 6"}}) {
    auto p = compile_path(c.text);
    ASSERT_FALSE(p) << c.text;
    EXPECT_EQ(p.error().code, Errc::kInvalidValue) << c.text;
    EXPECT_NE(p.error().detail.find(std::string("path '") + c.text + "'"), std::string::npos)
        << p.error().detail;
    EXPECT_NE(p.error().detail.find(c.at), std::string::npos) << c.text << ": " << p.error().detail;
  }
}

TEST(Path, LocationForErrorMessages) {
  const Location where = compiled("OBX[2]-5[3].1.2").location();
  EXPECT_EQ(where.segment, "OBX");
  EXPECT_EQ(where.segment_seq, 2u);
  EXPECT_EQ(where.field, 5u);
  EXPECT_EQ(where.repetition, 3u);
  EXPECT_EQ(where.component, 1u);
  EXPECT_EQ(where.subcomponent, 2u);
  EXPECT_EQ(to_string(compiled("PID-3.1").location()), "PID-3.1");
  EXPECT_EQ(compiled("@.1").location().segment, "");
}

TEST(Path, GroupLevelsFollowTheMessageStructures) {
  EXPECT_EQ(group_level("MSH"), 0);
  EXPECT_EQ(group_level("FHS"), 0);
  EXPECT_EQ(group_level("PID"), 1);
  EXPECT_EQ(group_level("PV1"), 2);
  EXPECT_EQ(group_level("SCH"), 3);
  EXPECT_EQ(group_level("RXE"), 4);
  EXPECT_EQ(group_level("SPM"), 5);
  // Segments that only belong to the group before them, near misses and other lengths.
  for (std::string_view id : {"NTE", "PV2", "OBY", "XBX", "ZBX", "PI", "PIDX", "", "pid"}) {
    EXPECT_EQ(group_level(id), -1) << id;
  }
  EXPECT_TRUE(compile_path("group(OBR)"));
  EXPECT_FALSE(compile_path("group(NTE)"));
}

TEST(Path, DialectCompilesForTheMappingEngine) {
  const PathDialect dialect;
  EXPECT_EQ(dialect.format(), "hl7v2");
  auto p = dialect.compile("PID-5.1");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)->text(), "PID-5.1");
  EXPECT_EQ((*p)->location().field, 5u);
  auto bad = dialect.compile("PID-");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kInvalidValue);
}

}  // namespace
}  // namespace helsebro::hl7v2
