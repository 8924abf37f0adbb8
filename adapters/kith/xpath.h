#pragma once
// The mapping language's source paths for KITH e-messages: XPath 1.0 as pugixml evaluates it,
// compiled once per path, over a document whose names were made canonical (canonical_names.h).
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

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "adapters/kith/schema_index.h"
#include "gateway/core/result.h"
#include "gateway/mapping/source.h"

namespace pugi {
class xpath_query;
}

namespace helsebro::kith {

/// A compiled path. Immutable; may be evaluated from many threads at once.
class XPath final : public mapping::SourcePath {
 public:
  XPath(std::string text, std::unique_ptr<pugi::xpath_query> query);
  ~XPath() override;
  const std::string& text() const override { return text_; }
  /// The path itself, in Location::segment.
  Location location() const override;
  const pugi::xpath_query& query() const { return *query_; }

 private:
  std::string text_;
  std::unique_ptr<pugi::xpath_query> query_;
};

/// The "kith" dialect. Stateless after construction and thread-safe.
class XPathDialect final : public mapping::SourceDialect {
 public:
  /// Accepts the prefixes of the index, plus xsi and xml.
  explicit XPathDialect(const SchemaIndex& index);
  /// Accepts exactly these prefixes.
  explicit XPathDialect(std::set<std::string> prefixes);
  std::string_view format() const override { return "kith"; }
  Result<std::unique_ptr<mapping::SourcePath>> compile(std::string_view text) const override;
  Result<std::unique_ptr<XPath>> compile_xpath(std::string_view text) const;

 private:
  std::set<std::string> prefixes_;
};

}  // namespace helsebro::kith
