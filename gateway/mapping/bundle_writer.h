#pragma once
// Writes the document the mapping engine built as compact JSON. Internal to gateway/mapping.

#include <rapidjson/fwd.h>

#include <string>

namespace helsebro::mapping {

/// Appends `value` to `out` as compact JSON, byte for byte what rapidjson::Writer writes, except
/// that strings marked as raw numbers (gateway/core/raw_number.h) are written as those numbers.
/// One pass over the document with a bulk copy of every run of characters that needs no escape:
/// rapidjson's Writer looks at each byte on its own and grows its buffer in small steps.
void write_json(const rapidjson::Value& value, std::string& out);

}  // namespace helsebro::mapping
