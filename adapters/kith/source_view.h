#pragma once
// A KITH e-message seen through the mapping engine's SourceView interface: the nodes XPath paths
// select, their text and where they are.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gateway/mapping/source.h"

namespace pugi {
class xml_document;
class xpath_node;
}  // namespace pugi

namespace helsebro::kith {

/// Node kinds packed in SourceNode::kind; SourceNode::a indexes the view's table of the nodes
/// selected so far (the same node always gets the same index).
enum NodeKind : std::uint32_t { kDocumentNode = 0, kElementNode, kAttributeNode, kTextNode };

/// Borrows the document (with canonical names, see canonical_names.h), which must outlive the
/// view. One thread at a time.
class SourceView final : public mapping::SourceView {
 public:
  explicit SourceView(const pugi::xml_document& document);
  ~SourceView() override;

  mapping::SourceNode root() const override;
  void select(const mapping::SourceNode& context, const mapping::SourcePath& path,
              std::vector<mapping::SourceNode>& out) const override;
  /// An attribute's value; an element's string value (all its text, in document order). What it
  /// returns counts as read (see unread()).
  std::string text(const mapping::SourceNode& node) const override;
  /// A view into the document for an attribute or a text node; an element's text is gathered in
  /// `scratch`.
  std::string_view text_view(const mapping::SourceNode& node, std::string& scratch) const override;
  /// True for an element with xsi:nil="true" or a KITH null flavour (attribute NULL="UNK" …).
  bool is_null(const mapping::SourceNode& node) const override;
  /// The node's path in Location::segment, e.g.
  /// "/mh:MsgHead/mh:Document[2]/mh:RefDoc/mh:MsgType/@V".
  Location locate(const mapping::SourceNode& node) const override;
  bool contains(const mapping::SourceNode& outer, const mapping::SourceNode& inner) const override;

  /// Every attribute and text of the document that holds more than white space and that no
  /// text() call read, as locate() writes paths ("/mh:MsgHead/mh:MsgInfo/mh:Ack/@V",
  /// ".../dm:Notat/dm:Tema/text()"). A code's list S and display DN count as read when its V was
  /// read; namespace declarations and xsi: attributes are not data and never listed.
  std::vector<std::string> unread() const;
  /// How many unread() would list, without writing their paths.
  std::size_t unread_count() const;

 private:
  template <class Visit>
  void for_each_unread(Visit&& visit) const;
  mapping::SourceNode intern(const pugi::xpath_node& node) const;
  const pugi::xpath_node& at(const mapping::SourceNode& node) const;

  const pugi::xml_document& document_;
  mutable std::vector<pugi::xpath_node> nodes_;
  mutable std::unordered_map<const void*, std::uint32_t> index_;
  mutable std::unordered_set<const void*> read_;  // attributes and text nodes text() returned
  mutable std::vector<pugi::xpath_node> selected_;  // scratch for select()
};

}  // namespace helsebro::kith
