#include "gateway/mapping/json_tree.h"

#include <gtest/gtest.h>

namespace helsebro::mapping {
namespace {

using Type = JsonNode::Type;

TEST(JsonTree, ParsesEveryKindOfValue) {
  auto tree = parse_json_tree(
      R"({"s": "text", "i": -42, "d": 2.5, "e": 1e3, "t": true, "f": false, "n": null,
          "a": [1, "two"], "o": {"k": "v"}, "big": 9007199254740993})");
  ASSERT_TRUE(tree) << tree.error().detail;
  const JsonNode& root = *tree;
  ASSERT_TRUE(root.is_object());
  ASSERT_EQ(root.members.size(), 10u);
  EXPECT_EQ(root.find("s")->string, "text");
  EXPECT_TRUE(root.find("s")->is_string());
  EXPECT_EQ(root.find("i")->type, Type::kInt);
  EXPECT_EQ(root.find("i")->integer, -42);
  EXPECT_DOUBLE_EQ(root.find("i")->number, -42.0);
  EXPECT_EQ(root.find("d")->type, Type::kDouble);
  EXPECT_DOUBLE_EQ(root.find("d")->number, 2.5);
  EXPECT_TRUE(root.find("e")->is_number());
  EXPECT_DOUBLE_EQ(root.find("e")->number, 1000.0);
  EXPECT_EQ(root.find("t")->type, Type::kBool);
  EXPECT_TRUE(root.find("t")->boolean);
  EXPECT_FALSE(root.find("f")->boolean);
  EXPECT_EQ(root.find("n")->type, Type::kNull);
  ASSERT_TRUE(root.find("a")->is_array());
  ASSERT_EQ(root.find("a")->items.size(), 2u);
  EXPECT_EQ(root.find("a")->items[1].string, "two");
  EXPECT_EQ(root.find("o")->find("k")->string, "v");
  EXPECT_EQ(root.find("big")->integer, 9007199254740993);
  EXPECT_EQ(root.find("missing"), nullptr);
  EXPECT_EQ(root.find("a")->find("x"), nullptr);  // not an object
}

TEST(JsonTree, KeepsMembersInFileOrder) {
  auto tree = parse_json_tree(R"({"z": 1, "a": 2, "m": 3})");
  ASSERT_TRUE(tree);
  ASSERT_EQ(tree->members.size(), 3u);
  EXPECT_EQ(tree->members[0].first, "z");
  EXPECT_EQ(tree->members[1].first, "a");
  EXPECT_EQ(tree->members[2].first, "m");
}

TEST(JsonTree, RemembersLineAndColumnOfEveryValue) {
  const std::string text =
      "{\n"                                   // line 1
      "  \"a\": 1,\n"                         // line 2: value at column 8
      "  \"b\": \"x\",\n"                     // line 3: string starts at its quote, column 8
      "  \"c\": [true, null, -2.5],\n"        // line 4: '[' at 8, true 9, null 15, -2.5 21
      "  \"d\": {\"e\": \"q\\\"uote\"},\n"    // line 5: '{' at 8, string at 14
      "  \"f\": false\n"                      // line 6: column 8
      "}\n";
  auto tree = parse_json_tree(text);
  ASSERT_TRUE(tree) << tree.error().detail;
  const JsonNode& root = *tree;
  EXPECT_EQ(root.line, 1u);
  EXPECT_EQ(root.column, 1u);
  auto at = [](const JsonNode* n) { return std::to_string(n->line) + ":" + std::to_string(n->column); };
  EXPECT_EQ(at(root.find("a")), "2:8");
  EXPECT_EQ(at(root.find("b")), "3:8");
  const JsonNode* c = root.find("c");
  EXPECT_EQ(at(c), "4:8");
  EXPECT_EQ(at(&c->items[0]), "4:9");
  EXPECT_EQ(at(&c->items[1]), "4:15");
  EXPECT_EQ(at(&c->items[2]), "4:21");
  const JsonNode* d = root.find("d");
  EXPECT_EQ(at(d), "5:8");
  EXPECT_EQ(at(d->find("e")), "5:14");
  EXPECT_EQ(d->find("e")->string, "q\"uote");
  EXPECT_EQ(at(root.find("f")), "6:8");
}

TEST(JsonTree, CrLfLinesAndUtf8Columns) {
  auto tree = parse_json_tree("{\r\n  \"navn\": \"\xC3\x98stby\",\r\n  \"n\": 1\r\n}");
  ASSERT_TRUE(tree) << tree.error().detail;
  EXPECT_EQ(tree->find("navn")->string, "\xC3\x98stby");
  EXPECT_EQ(tree->find("n")->line, 3u);
  EXPECT_EQ(tree->find("n")->column, 8u);
  // After "Østby" on the same line: columns count characters, not bytes.
  auto after = parse_json_tree("{\"a\": \"\xC3\x98stby\", \"b\": 1}");
  ASSERT_TRUE(after) << after.error().detail;
  EXPECT_EQ(after->find("b")->column, 21u);  // the value 1; 22 if "Ø" counted as two
  EXPECT_EQ(parse_json_tree("{\"\xC3\xA6\xC3\xB8\xC3\xA5\": x}").error().detail, "1:9: Invalid value.");
}

TEST(JsonTree, AByteOrderMarkIsNamed) {
  EXPECT_EQ(parse_json_tree("\xEF\xBB\xBF{}").error().detail,
            "1:1: the file starts with a byte-order mark: save it as UTF-8 without one");
}

TEST(JsonTree, AcceptsComments) {
  auto tree = parse_json_tree("// mapping\n{\n  /* the id */ \"a\": 1 // trailing\n}\n");
  ASSERT_TRUE(tree) << tree.error().detail;
  EXPECT_EQ(tree->find("a")->integer, 1);
  EXPECT_EQ(tree->find("a")->line, 3u);
}

TEST(JsonTree, SyntaxErrorsCarryLineAndColumn) {
  auto tree = parse_json_tree("{\n  \"a\": 1,\n  \"b\": ,\n}");
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().code, Errc::kInvalidValue);
  EXPECT_EQ(tree.error().detail.rfind("3:8: ", 0), 0u) << tree.error().detail;

  auto unterminated = parse_json_tree("{\"a\": \"open");
  ASSERT_FALSE(unterminated);
  EXPECT_EQ(unterminated.error().detail.rfind("1:", 0), 0u) << unterminated.error().detail;

  auto empty = parse_json_tree("");
  ASSERT_FALSE(empty);
}

TEST(JsonTree, RefusesTextAfterTheValue) {
  auto tree = parse_json_tree("{}\n  x");
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().detail, "2:3: text after the JSON value");
  auto two = parse_json_tree("{} {}");
  ASSERT_FALSE(two);
  auto trailing_space = parse_json_tree("{}\n\t \r\n");
  EXPECT_TRUE(trailing_space);
}

TEST(JsonTree, TypeNames) {
  JsonNode n;
  EXPECT_EQ(n.type_name(), "null");
  n.type = Type::kBool;
  EXPECT_EQ(n.type_name(), "boolean");
  n.type = Type::kInt;
  EXPECT_EQ(n.type_name(), "number");
  n.type = Type::kDouble;
  EXPECT_EQ(n.type_name(), "number");
  n.type = Type::kString;
  EXPECT_EQ(n.type_name(), "string");
  n.type = Type::kArray;
  EXPECT_EQ(n.type_name(), "array");
  n.type = Type::kObject;
  EXPECT_EQ(n.type_name(), "object");
}

TEST(JsonTree, ScalarDocument) {
  auto tree = parse_json_tree("  \"just a string\"");
  ASSERT_TRUE(tree);
  EXPECT_EQ(tree->string, "just a string");
  EXPECT_EQ(tree->column, 3u);
}

TEST(JsonTree, NumbersKeepTheDigitsTheyWereWrittenWith) {
  auto tree = parse_json_tree(R"({"d": 1.50, "z": 0.1000, "big": 12345678901234567890, "i": 7, "e": 1E2})");
  ASSERT_TRUE(tree) << tree.error().detail;
  EXPECT_EQ(tree->find("d")->string, "1.50");
  EXPECT_EQ(tree->find("z")->string, "0.1000");
  EXPECT_EQ(tree->find("big")->type, Type::kDouble);  // past 64 bits: not an integer to compute with
  EXPECT_EQ(tree->find("big")->string, "12345678901234567890");
  EXPECT_EQ(tree->find("i")->type, Type::kInt);
  EXPECT_EQ(tree->find("i")->integer, 7);
  EXPECT_EQ(tree->find("e")->type, Type::kDouble);
  EXPECT_DOUBLE_EQ(tree->find("e")->number, 100.0);
}

// A file nested sixty thousand deep is refused with its place, not a crash.
TEST(JsonTree, RefusesNestingDeeperThanTheLimit) {
  const std::string deep = "{\"a\": " + std::string(60000, '[') + std::string(60000, ']') + "}";
  auto tree = parse_json_tree(deep);
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().detail, "1:" + std::to_string(7 + kMaxJsonDepth - 1) + ": nested deeper than 256 levels");
  const std::string fits = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_json_tree(fits));
}

}  // namespace
}  // namespace helsebro::mapping
