#pragma once
// pugixml's XPath has no namespace bindings: it matches element names as they are written. A
// received message may use any prefix (or a default namespace), so its names are rewritten once,
// after parsing, to the fixed prefixes of schemas/kith/index.json: every element in a known
// namespace becomes "prefix:local" (MsgHead's MsgInfo → "mh:MsgInfo", Dialogmelding's Notat →
// "dm:Notat", whatever the sender wrote), elements in no namespace keep their local name,
// namespaces the index does not know get ns1, ns2, … in document order. Attributes in a namespace
// are renamed alike (xsi:…); unqualified attributes (V, S, DN, OT) are left as they are. The
// namespace declarations move to the document element, one per prefix used, so namespace-uri()
// still answers (for a family prefix such as "dm" that spans versions: the first version seen).

#include <string>
#include <utility>
#include <vector>

namespace pugi {
class xml_document;
}

namespace helsebro::kith {

/// prefix → namespace, e.g. {"mh", "http://www.kith.no/xmlstds/msghead/2006-05-24"}.
using PrefixMap = std::vector<std::pair<std::string, std::string>>;

void canonicalize_names(pugi::xml_document& doc, const PrefixMap& prefixes);

}  // namespace helsebro::kith
