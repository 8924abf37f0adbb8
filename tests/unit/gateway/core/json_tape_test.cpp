#include "gateway/core/json_tape.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

namespace helsebro {
namespace {

using Kind = JsonToken::Kind;

TEST(JsonTape, ContainersCountWhatIsDirectlyInsideAndSpanEverything) {
  // {"a":[1,{"b":true}],"c":"x"}
  JsonTape tape;
  const std::size_t root = tape.open(Kind::kObject);
  const std::size_t a = tape.open(Kind::kArray);
  tape.set_key(a, "a");
  tape.push_int(1);
  const std::size_t inner = tape.open(Kind::kObject);
  tape.push_bool(true);
  tape.set_key(tape.size() - 1, "b");
  tape.close(inner);
  tape.close(a);
  tape.push_string("x");
  tape.set_key(tape.size() - 1, "c");
  tape.close(root);

  EXPECT_EQ(tape[root].size, 2u);
  EXPECT_EQ(tape[root].span, 6u);
  EXPECT_EQ(tape[a].size, 2u);
  EXPECT_EQ(tape[a].span, 4u);
  EXPECT_EQ(tape[inner].size, 1u);
  EXPECT_EQ(find_member(tape[root], "c"), &tape[5]);
  EXPECT_EQ(find_member(tape[root], "c")->text_view(), "x");
  EXPECT_EQ(find_member(tape[root], "b"), nullptr);  // members of the object only, not below
  EXPECT_EQ(find_member(tape[inner], "b"), &tape[inner + 1]);
}

TEST(JsonTape, TakesBackAndRemovesValues) {
  JsonTape tape;
  const std::size_t root = tape.open(Kind::kObject);
  tape.push_string("kept");
  tape.set_key(1, "k");
  const std::size_t mark = tape.size();
  const std::size_t empty = tape.open(Kind::kObject);  // came out empty: taken back
  EXPECT_EQ(empty, mark);
  tape.truncate(mark);
  const std::size_t list = tape.open(Kind::kArray);
  tape.set_key(list, "gone");
  tape.push_int(1);
  tape.push_int(2);
  tape.close(list);
  tape.push_null();
  tape.set_key(tape.size() - 1, "n");
  tape.erase_value(list);  // the array and its items
  tape.close(root);
  EXPECT_EQ(tape.size(), 3u);
  EXPECT_EQ(tape[root].size, 2u);
  EXPECT_EQ(tape[2].key_view(), "n");

  // erase_one: an object's members become the members of the object around it.
  JsonTape outer;
  const std::size_t o = outer.open(Kind::kObject);
  const std::size_t body = outer.open(Kind::kObject);
  outer.push_string("v");
  outer.set_key(body + 1, "m");
  outer.close(body);
  outer.erase_one(body);
  outer.close(o);
  EXPECT_EQ(outer[o].size, 1u);
  EXPECT_EQ(outer[o + 1].key_view(), "m");
}

TEST(JsonTape, TakesARapidjsonDocumentAsItIs) {
  rapidjson::Document doc;
  doc.Parse(R"({"s":"t","i":-7,"d":2.5,"big":18446744073709551615,"b":[true,false,null],"o":{}})");
  ASSERT_FALSE(doc.HasParseError());
  JsonTape tape;
  append_rapidjson(doc, tape);
  ASSERT_EQ(tape[0].kind, Kind::kObject);
  EXPECT_EQ(tape[0].size, 6u);
  EXPECT_EQ(tape[0].span, tape.size());
  EXPECT_EQ(find_member(tape[0], "s")->text_view(), "t");
  EXPECT_EQ(find_member(tape[0], "i")->integer, -7);
  EXPECT_EQ(find_member(tape[0], "d")->real, 2.5);
  EXPECT_EQ(find_member(tape[0], "big")->kind, Kind::kDouble);  // beyond int64
  const std::size_t b = static_cast<std::size_t>(find_member(tape[0], "b") - &tape[0]);
  EXPECT_EQ(tape[b].size, 3u);
  EXPECT_EQ(tape[b + 1].kind, Kind::kTrue);
  EXPECT_EQ(tape[b + 3].kind, Kind::kNull);
  EXPECT_EQ(find_member(tape[0], "o")->size, 0u);
}

TEST(JsonTape, TakesDeeplyNestedInputWithoutRecursion) {
  constexpr int kDepth = 200000;
  const std::string text = std::string(kDepth, '[') + std::string(kDepth, ']');
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.c_str());
  ASSERT_FALSE(doc.HasParseError());
  JsonTape tape;
  append_rapidjson(doc, tape);
  ASSERT_EQ(tape.size(), static_cast<std::size_t>(kDepth));
  EXPECT_EQ(tape[0].span, static_cast<std::uint32_t>(kDepth));
  EXPECT_EQ(tape[kDepth - 1].size, 0u);
}

}  // namespace
}  // namespace helsebro
