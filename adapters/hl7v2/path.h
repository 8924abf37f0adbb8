#pragma once
// Paths into an HL7 v2 message, as mappings write them, compiled once:
//   PID-3          every repetition of PID-3 (first PID)        PID-3[2].4.1  rep 2, comp 4, sub 1
//   OBX[3]-5       field 5 of the third OBX                     OBX           every OBX segment
//   @.1            component 1 of the current repetition        @-3           field 3 of the
//                  (or sub-component 1 of the current component)              current segment

#include <memory>
#include <string>
#include <string_view>

#include "gateway/core/result.h"
#include "gateway/mapping/source.h"

namespace helsebro::hl7v2 {

/// A compiled HL7 v2 path. Index 0 means "every" (segments, repetitions) or "absent".
struct Path final : mapping::SourcePath {
  std::string source;
  bool relative = false;
  bool from_segment = false;  // relative path that starts with '-': fields of the current segment
  char segment[4] = {0, 0, 0, 0};
  std::uint32_t segment_index = 0;
  std::uint32_t field = 0;
  std::uint32_t repetition = 0;
  std::uint32_t component = 0;
  std::uint32_t subcomponent = 0;

  const std::string& text() const override { return source; }
  Location location() const override;
};

Result<std::unique_ptr<Path>> compile_path(std::string_view text);

/// The HL7 v2 dialect of the mapping language's source paths.
class PathDialect final : public mapping::SourceDialect {
 public:
  std::string_view format() const override { return "hl7v2"; }
  Result<std::unique_ptr<mapping::SourcePath>> compile(std::string_view text) const override;
};

}  // namespace helsebro::hl7v2
