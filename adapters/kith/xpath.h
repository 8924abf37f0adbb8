#pragma once
// The mapping language's source paths for KITH e-messages: XPath 1.0 as pugixml evaluates it
// (plain paths walked directly, the rest compiled once per distinct text, see XPath), over a
// document whose names were made canonical (canonical_names.h).
// Elements are named with the fixed prefixes of schemas/kith/index.json, one per message family
// and every version of it:
//   mh   MsgHead 1.2                     ar   AppRec 1.0, 1.1
//   dm   Dialogmelding 1.0, 1.1          hv   Henvisning 1.0, 1.1, 2.0
//   ep   Epikrise 1.0, 1.1, 1.2          sv   Svarrapport 1.2, 1.3, 1.4
//   rk   Rekvisisjon 1.4, 1.5, 1.6       plo  the PLO messages 1.5, 1.6 (each message's own
//   namespace) po   poKomponent (PLO, Henvisning)   fk1  felleskomponent1      kith  kith.xsd epj1
//   epj2 epj3 epjm  EPJ components  b64  Base64Container       ds   XML Signature xsi  XML Schema
//   instance (attributes)
// A path is absolute ("/mh:MsgHead/mh:MsgInfo/mh:MsgId", "//dm:Notat") or relative to the node a
// mapping iterates over ("dm:TekstNotatInnhold", "mh:TypeId/@V", "../mh:Id"). Attributes select
// their value as text; elements their string value. Paths must select nodes (not numbers or
// strings), and every prefix they use must be one of the above.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/kith/schema_index.h"
#include "gateway/core/result.h"
#include "gateway/mapping/source.h"

namespace pugi {
class xml_node;
class xpath_node;
class xpath_query;
}  // namespace pugi

namespace helsebro::kith {

/// One step of a plain path: a child element or an attribute by its (prefixed) name, the parent,
/// or the document node.
struct PlainStep {
  enum Kind { kRoot, kParent, kChild, kAttribute };
  Kind kind;
  std::string name;  // kChild, kAttribute
};

/// A compiled path. Immutable; may be evaluated from many threads at once.
///
/// Most mapping paths are plain: "/mh:MsgHead/mh:MsgInfo/mh:MsgId", "mh:TypeId/@V",
/// "../../mh:Id". Those are walked directly over the document, in document order, without
/// pugixml's XPath engine, which takes a 4 KiB block for each compiled query (18 MB for the
/// mapping set) and more time per evaluation. Every other path is pugixml's XPath 1.0, compiled
/// once per distinct text and shared by every mapping of the set that uses it.
class XPath final : public mapping::SourcePath {
 public:
  XPath(std::string text, std::vector<PlainStep> steps);
  XPath(std::string text, std::shared_ptr<const pugi::xpath_query> query);
  ~XPath() override;
  const std::string& text() const override { return text_; }
  /// The path itself, in Location::segment.
  Location location() const override;
  /// Appends what the path selects from `start` (an element, a text node or the document), in
  /// document order and without repeats.
  void select(const pugi::xml_node& start, std::vector<pugi::xpath_node>& out) const;
  /// True when the path is walked without the XPath engine.
  bool plain() const { return query_ == nullptr; }

 private:
  std::string text_;
  std::vector<PlainStep> steps_;                     // a plain path
  std::shared_ptr<const pugi::xpath_query> query_;  // any other
};

/// The "kith" dialect. Thread-safe. Keeps the XPath queries it compiled, so a path used by many
/// mappings of a set is compiled once: make one dialect per mapping set (paths keep their
/// queries alive on their own).
class XPathDialect final : public mapping::SourceDialect {
 public:
  /// Accepts the prefixes of the index, plus xsi and xml.
  explicit XPathDialect(const SchemaIndex& index);
  /// Accepts exactly these prefixes.
  explicit XPathDialect(std::set<std::string> prefixes);
  std::string_view format() const override { return "kith"; }
  Result<std::unique_ptr<mapping::SourcePath>> compile(std::string_view text) const override;
  Result<std::unique_ptr<XPath>> compile_xpath(std::string_view text) const;
  /// The index's message names (kind "message"), when made from an index.
  bool has_payloads() const override { return !payloads_.empty(); }
  bool knows_payload(std::string_view name) const override { return payloads_.count(name) > 0; }
  /// How many distinct XPath queries the engine compiled (plain paths need none).
  std::size_t compiled_queries() const;

 private:
  std::set<std::string> prefixes_;
  std::set<std::string, std::less<>> payloads_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::shared_ptr<const pugi::xpath_query>, std::less<>> queries_;
};

/// The steps of `text` when it is a plain path: an optional leading "/" (the document), then
/// "..", "." and element names ("mh:Id") separated by "/", where every ".." comes before the
/// first name, optionally ending in an attribute ("@V", "@xsi:nil"). Anything else (predicates,
/// axes, "//", "*", functions, unions) is not plain.
std::optional<std::vector<PlainStep>> plain_steps(std::string_view text);

}  // namespace helsebro::kith
