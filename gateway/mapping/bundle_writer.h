#pragma once
// Writes the document the mapping engine built as compact JSON. Internal to gateway/mapping.

#include <string>
#include <string_view>

#include "gateway/core/json_tape.h"

namespace helsebro::mapping {

/// Appends the value the tape holds to `out` as compact JSON, byte for byte what rapidjson::Writer
/// writes for the same document; numbers kept as text (JsonToken::Kind::kNumber) as they are.
/// One pass over the document with a bulk copy of every run of characters that needs no escape:
/// rapidjson's Writer looks at each byte on its own and grows its buffer in small steps.
/// No text on the tape may lie in `out`, which may move.
void write_json(const JsonTape& tape, std::string& out);

}  // namespace helsebro::mapping
