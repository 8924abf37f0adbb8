#include "adapters/hl7v2/source_view.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <optional>

#include "adapters/hl7v2/parser.h"

namespace helsebro::hl7v2 {
namespace {

using mapping::SourceNode;

class SourceViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = parse(
        "MSH|^~\\&|LAB|AHUS|HELSEBRO|NHN|20240115103000||ORU^R01|MSG1|P|2.5\r"
        "PID|1||111^^^A^MR~222^^^B^FNR&x&y||Doe^John||\"\"|F\r"
        "OBX|1|NM|code1||5\r"
        "OBX|2|ST|code2||a\\T\\b\r"
        "OBX|3|NM|code3||7\r");
    ASSERT_TRUE(parsed) << parsed.error().message();
    message_ = std::move(*parsed);
    view_.emplace(message_);
  }

  std::vector<SourceNode> select(std::string_view path, const SourceNode* context = nullptr) {
    auto compiled = compile_path(path);
    EXPECT_TRUE(compiled) << path;
    std::vector<SourceNode> out;
    if (compiled) view_->select(context ? *context : view_->root(), **compiled, out);
    return out;
  }
  std::vector<std::string> texts(std::string_view path, const SourceNode* context = nullptr) {
    std::vector<std::string> out;
    for (const SourceNode& n : select(path, context)) out.push_back(view_->text(n));
    return out;
  }

  Message message_;
  std::optional<SourceView> view_;
};

using Texts = std::vector<std::string>;

TEST_F(SourceViewTest, RootSpansTheWholeMessage) {
  const SourceNode root = view_->root();
  EXPECT_EQ(root.kind, kGroupNode);
  EXPECT_EQ(root.a, 0u);
  EXPECT_EQ(root.b, 5u);
  EXPECT_EQ(view_->text(root), "");
  EXPECT_EQ(view_->locate(root).segment, "");
}

TEST_F(SourceViewTest, FieldSelectsEveryRepetition) {
  EXPECT_EQ(texts("PID-3"), (Texts{"111^^^A^MR", "222^^^B^FNR&x&y"}));
  EXPECT_EQ(texts("PID-3[2]"), (Texts{"222^^^B^FNR&x&y"}));
  EXPECT_EQ(texts("PID-3.4"), (Texts{"A", "B"}));
  EXPECT_EQ(texts("PID-3[2].5"), (Texts{"FNR&x&y"}));
  EXPECT_EQ(texts("PID-3[2].5.2"), (Texts{"x"}));
  EXPECT_EQ(texts("PID-3[1].5.1"), (Texts{"MR"}));
  EXPECT_EQ(texts("PID-5.2"), (Texts{"John"}));
}

TEST_F(SourceViewTest, AbsentPartsSelectNothing) {
  EXPECT_TRUE(select("PID-30").empty());
  EXPECT_TRUE(select("PID-3[3]").empty());
  EXPECT_TRUE(select("PID-3.9").empty());
  EXPECT_TRUE(select("PID-3[1].5.2").empty());
  EXPECT_TRUE(select("ZZZ-1").empty());
  EXPECT_TRUE(select("OBX[4]-5").empty());
}

TEST_F(SourceViewTest, SegmentsAndOccurrences) {
  const auto obx = select("OBX");
  ASSERT_EQ(obx.size(), 3u);
  EXPECT_EQ(obx[0].kind, kSegmentNode);
  EXPECT_EQ(view_->text(obx[1]), "OBX|2|ST|code2||a\\T\\b");  // segments are raw
  EXPECT_EQ(texts("OBX-5"), (Texts{"5", "a&b", "7"}));
  EXPECT_EQ(texts("OBX[3]-5"), (Texts{"7"}));
  EXPECT_EQ(texts("OBX[2]-3"), (Texts{"code2"}));
}

TEST_F(SourceViewTest, RelativeFieldOfTheCurrentSegment) {
  const auto obx = select("OBX");
  ASSERT_EQ(obx.size(), 3u);
  EXPECT_EQ(texts("@-5", &obx[1]), (Texts{"a&b"}));
  EXPECT_EQ(texts("@-2", &obx[2]), (Texts{"NM"}));
  // From a component, '-' still means a field of the same segment.
  const auto comp = select("PID-3[2].4");
  ASSERT_EQ(comp.size(), 1u);
  EXPECT_EQ(texts("@-5.1", &comp[0]), (Texts{"Doe"}));
  // Not from the message root.
  const SourceNode root = view_->root();
  EXPECT_TRUE(select("@-5", &root).empty());
}

TEST_F(SourceViewTest, RelativeComponentsOfTheCurrentRepetition) {
  const auto reps = select("PID-3");
  ASSERT_EQ(reps.size(), 2u);
  EXPECT_EQ(reps[0].kind, kRepetitionNode);
  EXPECT_EQ(texts("@.1", &reps[0]), (Texts{"111"}));
  EXPECT_EQ(texts("@.1", &reps[1]), (Texts{"222"}));
  EXPECT_EQ(texts("@.5.3", &reps[1]), (Texts{"y"}));
  EXPECT_EQ(texts("@", &reps[1]), (Texts{"222^^^B^FNR&x&y"}));
  // From a component, "@.n" is its n-th sub-component.
  const auto comp = select("PID-3[2].5");
  ASSERT_EQ(comp.size(), 1u);
  EXPECT_EQ(comp[0].kind, kComponentNode);
  EXPECT_EQ(texts("@.2", &comp[0]), (Texts{"x"}));
  EXPECT_TRUE(select("@.4", &comp[0]).empty());
}

TEST_F(SourceViewTest, ExplicitNull) {
  const auto nodes = select("PID-7");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_TRUE(view_->is_null(nodes[0]));
  EXPECT_EQ(view_->text(nodes[0]), "");
  EXPECT_EQ(view_->raw(nodes[0]), "\"\"");
  const auto present = select("PID-8");
  ASSERT_EQ(present.size(), 1u);
  EXPECT_FALSE(view_->is_null(present[0]));
  EXPECT_EQ(view_->text(present[0]), "F");
}

TEST_F(SourceViewTest, FirstTextIsTheFirstNodeWithText) {
  std::string scratch;
  std::vector<SourceNode> stack{SourceNode{}};  // left as it was found
  auto first = [&](std::string_view path, bool skip_null) {
    auto compiled = compile_path(path);
    EXPECT_TRUE(compiled) << path;
    return view_->first_text(view_->root(), **compiled, skip_null, scratch, stack);
  };
  const auto id = first("PID-3.1", false);  // every repetition; the first has text
  ASSERT_TRUE(id);
  EXPECT_EQ(id->text, "111");
  EXPECT_EQ(view_->locate(id->node).repetition, 1u);
  const auto fnr = first("PID-3.5", true);
  ASSERT_TRUE(fnr);
  EXPECT_EQ(fnr->text, "MR");
  const auto escaped = first("OBX[2]-5", true);  // decoded into the scratch space
  ASSERT_TRUE(escaped);
  EXPECT_EQ(escaped->text, "a&b");
  EXPECT_FALSE(first("PID-7", false));  // the explicit null has no text, read or passed over
  EXPECT_FALSE(first("PID-7", true));
  EXPECT_FALSE(first("PID-9", true));
  EXPECT_EQ(stack.size(), 1u);
}

TEST_F(SourceViewTest, FirstTextMarksWhatItReads) {
  // As reading each node in turn up to the one with text: the OBX-5 after it stay unread.
  std::string scratch;
  std::vector<SourceNode> stack;
  SourceView walked(message_);
  ASSERT_TRUE(walked.first_text(walked.root(), **compile_path("OBX-5"), true, scratch, stack));
  SourceView read_one(message_);
  read_one.text_view(select("OBX-5").front(), scratch);
  EXPECT_EQ(walked.unread(), read_one.unread());
  EXPECT_NE(walked.unread(), SourceView(message_).unread());
}

// A later repetition is its own data: reading the first repetition's components leaves the
// second's unread (a mapping that reads only PID-3[1] drops PID-3[2], and --unmapped says so).
TEST_F(SourceViewTest, ReadingOneRepetitionLeavesTheOthersUnread) {
  std::string scratch;
  SourceView view(message_);
  for (const SourceNode& n : select("PID-3[1].1")) view.text_view(n, scratch);
  for (const SourceNode& n : select("PID-3[1].4")) view.text_view(n, scratch);
  for (const SourceNode& n : select("PID-3[1].5")) view.text_view(n, scratch);
  const auto unread = view.unread();
  EXPECT_EQ(std::count(unread.begin(), unread.end(), "PID-3[2].1"), 1) << ::testing::PrintToString(unread);
  EXPECT_EQ(std::count(unread.begin(), unread.end(), "PID-3.1"), 0) << ::testing::PrintToString(unread);
  for (const SourceNode& n : select("PID-3[2]")) view.text_view(n, scratch);  // the whole repetition
  const auto after = view.unread();
  EXPECT_EQ(std::count(after.begin(), after.end(), "PID-3[2].1"), 0) << ::testing::PrintToString(after);
}

// A sub-component is its own data too: reading PID-3[2].5.1 (FNR) leaves "x" and "y" beside it
// unread, and --unmapped names them; reading the component whole reads them all.
TEST_F(SourceViewTest, ReadingOneSubcomponentLeavesTheOthersUnread) {
  std::string scratch;
  SourceView view(message_);
  for (const SourceNode& n : select("PID-3[2].5.1")) view.text_view(n, scratch);
  const auto unread = view.unread();
  for (const char* left : {"PID-3[2].5.2", "PID-3[2].5.3"})
    EXPECT_EQ(std::count(unread.begin(), unread.end(), left), 1) << left << ": " << ::testing::PrintToString(unread);
  for (const char* read : {"PID-3[2].5", "PID-3[2].5.1"})
    EXPECT_EQ(std::count(unread.begin(), unread.end(), read), 0) << read << ": " << ::testing::PrintToString(unread);
  // A component without sub-components read as its first one is read.
  for (const SourceNode& n : select("PID-3[1].5.1")) view.text_view(n, scratch);
  const auto after_first = view.unread();
  EXPECT_EQ(std::count(after_first.begin(), after_first.end(), "PID-3.5"), 0) << ::testing::PrintToString(after_first);
  for (const SourceNode& n : select("PID-3[2].5")) view.text_view(n, scratch);
  const auto after = view.unread();
  EXPECT_EQ(std::count(after.begin(), after.end(), "PID-3[2].5.2"), 0) << ::testing::PrintToString(after);
}

TEST_F(SourceViewTest, MshHeaderFieldsAreNotDecoded) {
  EXPECT_EQ(texts("MSH-1"), (Texts{"|"}));
  EXPECT_EQ(texts("MSH-2"), (Texts{"^~\\&"}));
  EXPECT_EQ(texts("MSH-9.1"), (Texts{"ORU"}));
  EXPECT_EQ(texts("MSH-9.2"), (Texts{"R01"}));
}

// What the Bundle writer may copy without looking for bytes to escape.
TEST(SourceViewPlain, ValuesAfterMsh2AreKnownPlainWhenNoSegmentHoldsAnEscapedByte) {
  auto parsed = parse("MSH|^~\\&|LAB|AHUS|HELSEBRO|NHN|20240115103000||ORU^R01|MSG1|P|2.5\rPID|1||111||Ås^Kåre\r");
  ASSERT_TRUE(parsed) << parsed.error().message();
  const SourceView view(*parsed);
  std::string scratch;
  auto text_of = [&](std::string_view path) {
    auto compiled = compile_path(path);
    EXPECT_TRUE(compiled) << path;
    std::vector<SourceNode> nodes;
    view.select(view.root(), **compiled, nodes);
    EXPECT_EQ(nodes.size(), 1U) << path;
    return view.text_view(nodes.at(0), scratch);
  };
  EXPECT_TRUE(view.holds_plain(text_of("PID-5.2")));
  EXPECT_TRUE(view.holds_plain(text_of("MSH-3")));
  EXPECT_FALSE(view.holds_plain(text_of("MSH-2")));  // the encoding characters hold a backslash
  EXPECT_FALSE(view.holds_plain(text_of("MSH-1")));
  EXPECT_FALSE(view.holds_plain("Kåre"));            // not the message's bytes
}

TEST(SourceViewPlain, NoValueIsKnownPlainWhenASegmentHoldsAQuoteOrAControlByte) {
  for (const std::string_view odd : {"a\"b", "a\tb", "a\x01b", "a\x1f"}) {
    const std::string text = "MSH|^~\\&|LAB|AHUS|HELSEBRO|NHN|20240115103000||ORU^R01|MSG1|P|2.5\r"
                             "PID|1||111||Ås^Kåre\rNTE|1||" + std::string(odd) + "\r";
    auto parsed = parse(text);
    ASSERT_TRUE(parsed) << parsed.error().message();
    const SourceView view(*parsed);
    auto compiled = compile_path("PID-5.2");
    ASSERT_TRUE(compiled);
    std::vector<SourceNode> nodes;
    view.select(view.root(), **compiled, nodes);
    ASSERT_EQ(nodes.size(), 1U);
    std::string scratch;
    EXPECT_FALSE(view.holds_plain(view.text_view(nodes[0], scratch))) << odd;
    EXPECT_TRUE(view.holds(view.text_view(nodes[0], scratch))) << odd;
  }
}

TEST_F(SourceViewTest, LocatesNodes) {
  const auto sub = select("PID-3[2].5.2");
  ASSERT_EQ(sub.size(), 1u);
  const Location where = view_->locate(sub[0]);
  EXPECT_EQ(where.segment, "PID");
  EXPECT_EQ(where.segment_seq, 1u);
  EXPECT_EQ(where.field, 3u);
  EXPECT_EQ(where.repetition, 2u);
  EXPECT_EQ(where.component, 5u);
  EXPECT_EQ(where.subcomponent, 2u);
  EXPECT_EQ(to_string(where), "PID-3[2].5.2");

  const auto obx = select("OBX[3]-5");
  ASSERT_EQ(obx.size(), 1u);
  EXPECT_EQ(to_string(view_->locate(obx[0])), "OBX[3]-5");

  const auto seg = select("OBX[2]");
  ASSERT_EQ(seg.size(), 1u);
  const Location seg_where = view_->locate(seg[0]);
  EXPECT_EQ(seg_where.segment, "OBX");
  EXPECT_EQ(seg_where.segment_seq, 2u);
  EXPECT_EQ(seg_where.field, 0u);
}

TEST_F(SourceViewTest, GroupContextLimitsAbsoluteSelection) {
  // A group node spans segments [a, b): here only the second and third OBX.
  const SourceNode group{kGroupNode, 3, 5, 0, 0, 0};
  EXPECT_EQ(texts("OBX-5", &group), (Texts{"a&b", "7"}));
  EXPECT_EQ(texts("OBX[1]-3", &group), (Texts{"code2"}));
  EXPECT_TRUE(select("PID-3", &group).empty());
}

// An ORU^R01 with two orders, each with its observations and notes.
class GroupPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = parse(
        "MSH|^~\\&|LAB|STOLAV|H|H|2026||ORU^R01|1|P|2.5\r"
        "PID|1||15038510190^^^^FNR\r"
        "ORC|RE|O1\r"
        "OBR|1|O1||LIPID\r"
        "OBX|1|NM|HDL||1.3\r"
        "NTE|1||fasting\r"
        "OBX|2|NM|LDL||3.1\r"
        "ORC|RE|O2\r"
        "OBR|2|O2||GLU\r"
        "OBX|1|NM|GLU||5.6\r"
        "NTE|1||repeat tomorrow\r");
    ASSERT_TRUE(parsed) << parsed.error().message();
    message_ = std::move(*parsed);
    view_ = std::make_unique<SourceView>(message_);
  }
  std::vector<SourceNode> select(std::string_view path, const SourceNode& context) {
    auto compiled = compile_path(path);
    EXPECT_TRUE(compiled) << path;
    std::vector<SourceNode> out;
    view_->select(context, **compiled, out);
    return out;
  }
  std::vector<std::string> texts(std::string_view path, const SourceNode& context) {
    std::vector<std::string> out;
    for (const auto& n : select(path, context)) out.push_back(view_->text(n));
    return out;
  }
  Message message_;
  std::unique_ptr<SourceView> view_;
};

TEST_F(GroupPathTest, EachOrderIsAGroupWithItsObservations) {
  const auto orders = select("group(OBR)", view_->root());
  ASSERT_EQ(orders.size(), 2u);
  EXPECT_EQ(texts("OBX-3", orders[0]), (std::vector<std::string>{"HDL", "LDL"}));
  EXPECT_EQ(texts("OBX-3", orders[1]), (std::vector<std::string>{"GLU"}));
  EXPECT_EQ(texts("@-4", orders[1]), (std::vector<std::string>{"GLU"}));  // the leading OBR
  EXPECT_EQ(texts("PID-3", orders[0]), (std::vector<std::string>{}));     // outside the group
}

TEST_F(GroupPathTest, ObservationGroupsHoldTheirNotes) {
  const auto order = select("group(OBR)", view_->root())[0];
  const auto observations = select("group(OBX)", order);
  ASSERT_EQ(observations.size(), 2u);
  EXPECT_EQ(texts("NTE-3", observations[0]), (std::vector<std::string>{"fasting"}));
  EXPECT_TRUE(texts("NTE-3", observations[1]).empty());
  EXPECT_EQ(to_string(view_->locate(observations[1])), "OBX[2]");
}

TEST(GroupPath, RefusesSegmentsThatLeadNoGroup) {
  EXPECT_FALSE(compile_path("group(NTE)"));
  EXPECT_FALSE(compile_path("group(OB)"));
  EXPECT_TRUE(compile_path("group(ORC)"));
}

}  // namespace
}  // namespace helsebro::hl7v2
