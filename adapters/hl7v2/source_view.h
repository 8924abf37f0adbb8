#pragma once
// An HL7 v2 message seen through the mapping engine's SourceView interface.

#include <string>
#include <array>
#include <vector>

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
  explicit SourceView(const Message& message);

  mapping::SourceNode root() const override;
  void select(const mapping::SourceNode& context, const mapping::SourcePath& path,
              std::vector<mapping::SourceNode>& out) const override;
  std::string text(const mapping::SourceNode& node) const override;
  /// A view into the message unless the value holds escapes.
  std::string_view text_view(const mapping::SourceNode& node, std::string& scratch) const override;
  bool is_null(const mapping::SourceNode& node) const override;
  std::optional<std::string_view> text_unless_null(const mapping::SourceNode& node,
                                                   std::string& scratch) const override;
  /// Walks the path's nodes in place and stops at the first with text: no list of nodes.
  std::optional<FirstText> first_text(const mapping::SourceNode& context, const mapping::SourcePath& path,
                                      bool skip_null, std::string& scratch,
                                      std::vector<mapping::SourceNode>& stack) const override;
  Location locate(const mapping::SourceNode& node) const override;
  bool contains(const mapping::SourceNode& outer, const mapping::SourceNode& inner) const override;

  std::string_view raw(const mapping::SourceNode& node) const;

  /// Every non-empty component of the message whose value no one has read through text() so far,
  /// as paths such as "PID-11[2].7" — what a mapping would drop. MSH-1 and MSH-2 (the delimiters)
  /// are not listed; reading a whole segment (e.g. to test that it exists) reads none of its
  /// fields, and reading a repetition reads all its components.
  std::vector<std::string> unread() const;
  /// How many unread() would list, without building the paths.
  std::size_t unread_count() const;

 private:
  // The nodes a path reaches, each given to `visit` with its raw value, in order, until it
  // returns true (stop).
  template <class Visit>
  bool visit_selected(const mapping::SourceNode& context, const Path& path, Visit&& visit) const;
  template <class Visit>
  bool visit_in_segment(std::uint32_t seg, const Path& path, Visit&& visit) const;
  template <class Visit>
  bool visit_below_repetition(const mapping::SourceNode& rep, const RepEntry& entry, std::uint32_t component,
                              std::uint32_t subcomponent, Visit&& visit) const;
  // text_view() and text_unless_null() of a node whose raw value is known.
  std::string_view read_text(const mapping::SourceNode& node, std::string_view raw, std::string& scratch) const;
  std::optional<std::string_view> read_unless_null(const mapping::SourceNode& node, std::string_view raw,
                                                   std::string& scratch) const;

  void mark(const mapping::SourceNode& node) const;
  std::string_view decoded(const mapping::SourceNode& node, std::string_view value,
                           std::string& scratch) const;
  template <class Visit>
  void for_each_unread(Visit&& visit) const;

  const Message& message_;
  // False when no value can hold an escape: the escape character appears nowhere after MSH-2
  // (which declares it), so values are read in place without looking for it.
  bool escapes_ = true;
  // Per field of the message (in the parser's field order), for its first repetition: bit 0 =
  // the whole repetition was read, bit c = component c was read (components past 63 share bit
  // 63). Later repetitions, which few reads reach, have their bits in read_later_.
  mutable std::vector<std::uint64_t> read_;
  struct LaterRead {
    std::size_t field;        // index into read_
    std::uint32_t repetition; // 2 and up
    std::uint64_t bits;
  };
  mutable std::vector<LaterRead> read_later_;
  std::uint64_t read_bits(std::size_t field, std::uint32_t repetition) const;
  // Sub-components read one by one (bit s = sub-component s, past 63 sharing bit 63): reading
  // CX-4.2 reads CX-4.2, not CX-4.1 and CX-4.3 beside it. A component read whole is in read_.
  struct SubRead {
    std::size_t field;
    std::uint32_t repetition;
    std::uint32_t component;
    std::uint64_t bits;
  };
  // The first few in place (a view is made per message: no allocation for the usual handful).
  mutable std::array<SubRead, 16> sub_read_inline_{};
  mutable std::size_t sub_read_count_ = 0;
  mutable std::vector<SubRead> sub_read_more_;
  SubRead* find_sub_read(std::size_t field, std::uint32_t repetition, std::uint32_t component) const;
  std::uint64_t sub_read_bits(std::size_t field, std::uint32_t repetition, std::uint32_t component) const;
};

}  // namespace helsebro::hl7v2
