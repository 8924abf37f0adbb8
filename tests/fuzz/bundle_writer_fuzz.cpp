// Fuzz target: arbitrary bytes as JSON through the tape and the Bundle writer. Input: bytes 0–1
// give how many bytes of text to put before the document (little-endian, 0–65,535, in strings of
// up to 1,000 bytes), so that documents of every size are written (the writer makes room for a
// whole document at once); the rest is the JSON text. A text that rapidjson parses, nesting no
// deeper than 64, is put on a tape and written by write_json. Oracle: rapidjson's own Writer,
// byte for byte, on the document as the tape holds it.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/core/json_tape.h"
#include "gateway/mapping/bundle_writer.h"
#include "tests/fuzz/fuzz_target.h"

namespace helsebro::fuzz {
namespace {

constexpr int kMaxDepth = 64;  // rapidjson's Writer, the oracle, recurses

// True when `v` nests no deeper than kMaxDepth. On the way, integers above int64's range become
// doubles, as append_rapidjson keeps them (the tape has no unsigned 64-bit integers).
bool prepare(rapidjson::Value& v, int depth = 0) {
  if (depth > kMaxDepth) return false;
  if (v.IsUint64() && !v.IsInt64()) v.SetDouble(v.GetDouble());
  if (v.IsArray()) {
    for (auto& item : v.GetArray()) {
      if (!prepare(item, depth + 1)) return false;
    }
  } else if (v.IsObject()) {
    for (auto& member : v.GetObject()) {
      if (!prepare(member.value, depth + 1)) return false;
    }
  }
  return true;
}

}  // namespace

void exercise_bundle_writer(std::string_view input) {
  if (input.size() < 2) return;
  const std::size_t filler_size = static_cast<unsigned char>(input[0]) | static_cast<unsigned char>(input[1]) << 8;
  const std::string text(input.substr(2));
  rapidjson::Document parsed;
  parsed.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (parsed.HasParseError() || !prepare(parsed)) return;

  rapidjson::Document doc;
  doc.SetArray();
  const std::string filler(1000, 'f');
  for (std::size_t left = filler_size; left > 0;) {
    const std::size_t n = left < filler.size() ? left : filler.size();
    doc.PushBack(rapidjson::Value(filler.c_str(), static_cast<rapidjson::SizeType>(n)), doc.GetAllocator());
    left -= n;
  }
  doc.PushBack(rapidjson::Value(parsed, doc.GetAllocator()), doc.GetAllocator());

  rapidjson::StringBuffer expected;
  rapidjson::Writer<rapidjson::StringBuffer> writer(expected);
  // Numbers too big for a double parse as infinity, which JSON cannot write: nothing to compare.
  if (!doc.Accept(writer)) return;

  JsonTape tape;
  append_rapidjson(doc, tape);
  std::string written;
  std::string failure;
  try {
    mapping::write_json(tape, written);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  check(failure.empty(), "write_json does not throw");
  check(written == std::string_view(expected.GetString(), expected.GetSize()),
        "write_json writes what rapidjson's Writer writes");
}

HELSEBRO_FUZZ_ENTRY(exercise_bundle_writer)

}  // namespace helsebro::fuzz
