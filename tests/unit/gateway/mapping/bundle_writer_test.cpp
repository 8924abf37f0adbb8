#include "gateway/mapping/bundle_writer.h"

#include <gtest/gtest.h>
#include <vector>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "gateway/core/json_tape.h"

namespace helsebro::mapping {
namespace {

std::string with_rapidjson(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string written(const rapidjson::Value& v) {
  JsonTape tape;
  append_rapidjson(v, tape);
  std::string out;
  write_json(tape, out);
  return out;
}

TEST(BundleWriter, WritesWhatRapidjsonWrites) {
  rapidjson::Document doc;
  doc.Parse(R"({"a":[1,-2,3.5,1e300,0.1,true,false,null,{},[]],"long text over eight bytes":"x",)"
            R"("escapes":"q\" b\\ /\b\f\n\r\t\u0001\u001f\u007f","utf8":"Kåre Øystein – ✓",)"
            R"("neg":-9223372036854775808,"max":9223372036854775807,"":""})");
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(written(doc), with_rapidjson(doc));
}

TEST(BundleWriter, EscapesEveryPositionOfALongString) {
  // Each special byte at each offset of the eight-byte words the writer scans.
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (std::size_t at = 0; at < 20; ++at) {
      std::string text(20, 'a');
      text[at] = special;
      const rapidjson::Value v(rapidjson::StringRef(text.c_str(), text.size()));
      EXPECT_EQ(written(v), with_rapidjson(v)) << "byte " << int(special) << " at " << at;
    }
  }
}

TEST(BundleWriter, EscapesEveryPositionOfShortStrings) {
  // Short keys and values are looked at in whole and half words: every length around them, with
  // each special byte at each position, and without one.
  for (std::size_t length = 0; length <= 17; ++length) {
    const std::string plain(length, 'k');
    const rapidjson::Value whole(rapidjson::StringRef(plain.c_str(), plain.size()));
    EXPECT_EQ(written(whole), with_rapidjson(whole)) << "length " << length;
    for (const char special : {'"', '\\', '\t', '\x01', '\x1f'}) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string text = plain;
        text[at] = special;
        const rapidjson::Value v(rapidjson::StringRef(text.c_str(), text.size()));
        EXPECT_EQ(written(v), with_rapidjson(v)) << "length " << length << ", byte " << int(special) << " at " << at;
      }
    }
  }
}

TEST(BundleWriter, WritesALongTextInPieces) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "line \"" + std::to_string(i) + "\"\n";
  rapidjson::Document doc;
  rapidjson::Value v(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), doc.GetAllocator());
  EXPECT_EQ(written(v), with_rapidjson(v));
}

TEST(BundleWriter, WritesNumbersKeptAsTextAsTheyAre) {
  JsonTape tape;
  const std::size_t object = tape.open(JsonToken::Kind::kObject);
  tape.push_number("1.50");
  tape.set_key(1, "value");
  tape.push_string("1.50");
  tape.set_key(2, "text");
  tape.close(object);
  std::string out;
  write_json(tape, out);
  EXPECT_EQ(out, R"({"value":1.50,"text":"1.50"})");
}

TEST(BundleWriter, WritesPlainKeysAndTextsAsTheyAre) {
  // The flags say that no byte needs an escape; the writer then copies without looking.
  JsonTape tape;
  const std::size_t object = tape.open(JsonToken::Kind::kObject);
  tape.push_string("urn:uuid:1", true);
  tape.set_key(1, "fullUrl", true);
  tape.push_string("a\"b");
  tape.set_key(2, "k\"ey");
  tape.close(object);
  EXPECT_EQ(tape[1].flags, JsonToken::kPlainKey | JsonToken::kPlainText);
  EXPECT_EQ(tape[2].flags, 0);
  std::string out;
  write_json(tape, out);
  EXPECT_EQ(out, R"({"fullUrl":"urn:uuid:1","k\"ey":"a\"b"})");
  EXPECT_TRUE(json_plain("Patient.identifier"));
  EXPECT_FALSE(json_plain("tab\there"));
}

TEST(BundleWriter, CopiesPlainTextsOfEveryLength) {
  // Texts flagged plain are copied without looking, in steps that depend on the length (words,
  // 16-byte moves, memcpy): every length across those steps, as a key and as a value, each byte
  // different so that a step copying the wrong bytes shows.
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes;
  for (std::size_t i = 0; i < 300; ++i) bytes.push_back(kAlphabet[i * 7 % kAlphabet.size()]);
  ASSERT_TRUE(json_plain(bytes));
  for (std::size_t length = 0; length <= bytes.size(); ++length) {
    const std::string_view text(bytes.data(), length);
    JsonTape tape;
    const std::size_t object = tape.open(JsonToken::Kind::kObject);
    tape.push_string(text, true);
    tape.set_key(1, length == 0 ? std::string_view("k") : text, true);
    tape.close(object);
    std::string out;
    write_json(tape, out);
    const std::string key(length == 0 ? std::string_view("k") : text);
    EXPECT_EQ(out, "{\"" + key + "\":\"" + std::string(text) + "\"}") << "length " << length;
  }
}

TEST(BundleWriter, AppendsToWhatIsThere) {
  JsonTape tape;
  tape.push_bool(true);
  std::string out = "x";
  write_json(tape, out);
  EXPECT_EQ(out, "xtrue");
}

TEST(BundleWriter, MakesRoomForEveryBracketAndComma) {
  // The writer makes room once, for the most each token can take, and refuses to write past it
  // (commit() throws). With texts flagged plain, that most is nearly exact: little more than the
  // comma counted for each first member, which writes none. Documents that end in many
  // containers closing at once must fit, whether their keys are plain or need an escape.
  for (const bool escaped_keys : {false, true}) {
    for (std::size_t depth = 1; depth <= 64; ++depth) {
      // depth containers, objects and arrays in turn, each holding a text and the next one.
      JsonTape tape;
      std::vector<std::size_t> opened;
      std::vector<std::string> keys;  // the text's key, and the next container's, in each object
      std::vector<std::string> next_keys;
      for (std::size_t level = 0; level < depth; ++level) {
        keys.push_back(escaped_keys ? "q\"" + std::to_string(level) : "k" + std::to_string(level));
        next_keys.push_back(keys.back() + "x");
      }
      for (std::size_t level = 0; level < depth; ++level) {
        const bool object = level % 2 == 0;
        opened.push_back(tape.open(object ? JsonToken::Kind::kObject : JsonToken::Kind::kArray));
        tape.push_string("y", true);
        if (object) tape.set_key(tape.size() - 1, keys[level], !escaped_keys);
      }
      for (std::size_t level = depth; level-- > 0;) {
        tape.close(opened[level]);
        if (level > 0 && level % 2 == 1) tape.set_key(opened[level], next_keys[level - 1], !escaped_keys);
      }
      std::string expected;
      for (std::size_t level = 0; level < depth; ++level) {
        const bool object = level % 2 == 0;
        expected += object ? "{" : "[";
        if (object) {
          const std::string key = escaped_keys ? "q\\\"" + std::to_string(level) : keys[level];
          expected += "\"" + key + "\":\"y\"";
        } else {
          expected += "\"y\"";
        }
        if (level + 1 < depth) {
          expected += ",";
          if (object) {
            const std::string key = escaped_keys ? "q\\\"" + std::to_string(level) + "x" : keys[level] + "x";
            expected += "\"" + key + "\":";
          }
        }
      }
      for (std::size_t level = depth; level-- > 0;) expected += level % 2 == 0 ? "}" : "]";
      std::string out;
      std::string failure;
      try {
        write_json(tape, out);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      EXPECT_EQ(failure, "") << "depth " << depth << (escaped_keys ? ", escaped keys" : "");
      EXPECT_EQ(out, expected) << "depth " << depth << (escaped_keys ? ", escaped keys" : "");
    }
  }
}

}  // namespace
}  // namespace helsebro::mapping
