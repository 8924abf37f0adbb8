#pragma once
// An HL7 v2 message seen through the mapping engine's SourceView interface.

#include "adapters/hl7v2/message.h"
#include "adapters/hl7v2/path.h"
#include "gateway/mapping/source.h"

namespace helsebro::hl7v2 {

/// Node kinds packed in SourceNode::kind. For a segment and below: a = segment index,
/// b = field, c = repetition, d = component, e = sub-component (1-based). A group spans
/// segments [a, b).
enum NodeKind : std::uint32_t { kMessageNode = 0, kSegmentNode, kRepetitionNode, kComponentNode,
                                kSubcomponentNode, kGroupNode };

/// Borrows the message; the message must outlive the view. One thread at a time.
class SourceView final : public mapping::SourceView {
 public:
  explicit SourceView(const Message& message) : message_(message) {}

  mapping::SourceNode root() const override;
  void select(const mapping::SourceNode& context, const mapping::SourcePath& path,
              std::vector<mapping::SourceNode>& out) const override;
  std::string text(const mapping::SourceNode& node) const override;
  bool is_null(const mapping::SourceNode& node) const override;
  Location locate(const mapping::SourceNode& node) const override;
  bool contains(const mapping::SourceNode& outer, const mapping::SourceNode& inner) const override;

  std::string_view raw(const mapping::SourceNode& node) const;

 private:
  void select_in_segment(std::uint32_t seg, const Path& path,
                         std::vector<mapping::SourceNode>& out) const;
  void select_below_repetition(const mapping::SourceNode& rep, std::uint32_t component,
                               std::uint32_t subcomponent,
                               std::vector<mapping::SourceNode>& out) const;

  const Message& message_;
};

}  // namespace helsebro::hl7v2
