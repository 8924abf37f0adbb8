#pragma once
// Paths into an HL7 v2 message, as mappings write them, compiled once:
//   PID-3          every repetition of PID-3 (first PID)        PID-3[2].4.1  rep 2, comp 4, sub 1
//   OBX[3]-5       field 5 of the third OBX                     OBX           every OBX segment
//   @.1            component 1 of the current repetition        @-3           field 3 of the
//                  (or sub-component 1 of the current component)              current segment
//   group(OBR)     each OBR with the segments that belong to it (its OBX, NTE, SPM …); inside a
//                  group, segment paths search that group only, so "OBX" there means its OBX.
// A group led by a segment ends at the next segment of the same or a higher level in the
// standard structures: MSH/BHS/FHS, PID, PV1, ORC/SCH/TXA, OBR/RXA/RXO/RXE, OBX/SPM, from
// highest to lowest; other segments (NTE, TQ1, Z-segments …) belong to the group before them.

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
  bool group = false;         // group(SEG): each SEG with the segments that belong to it
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

/// Where a group led by the segment with this id stops: its level in the message structures
/// (lower is higher up), or -1 for segments that only belong to the group before them.
int group_level(std::string_view segment_id);

/// The HL7 v2 dialect of the mapping language's source paths.
class PathDialect final : public mapping::SourceDialect {
 public:
  std::string_view format() const override { return "hl7v2"; }
  Result<std::unique_ptr<mapping::SourcePath>> compile(std::string_view text) const override;
};

}  // namespace helsebro::hl7v2
