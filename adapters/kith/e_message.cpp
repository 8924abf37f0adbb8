#include "adapters/kith/e_message.h"

#include <libxml/tree.h>

#include <algorithm>
#include <cctype>
#include <pugixml.hpp>

namespace helsebro::kith {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// pugixml's own decoding, when it matches what the declaration names; otherwise libxml2
// re-encodes its tree as UTF-8 (windows-1252, ISO-8859-15, UTF-16 …).
enum class Route { kAuto, kUtf8, kLatin1, kReencode };

Route route_for(std::string_view declared) {
  if (declared.empty()) return Route::kAuto;
  const std::string name = upper(declared);
  if (name == "UTF-8" || name == "UTF8" || name == "US-ASCII" || name == "ASCII")
    return Route::kUtf8;
  if (name == "ISO-8859-1" || name == "ISO_8859-1" || name == "LATIN1" || name == "LATIN-1") {
    return Route::kLatin1;
  }
  return Route::kReencode;
}

constexpr unsigned kParseOptions = pugi::parse_default;  // no parse_doctype: DOCTYPEs were refused

// The schemas type every V, U and S attribute (code, unit, code system) as a token, an OID, a
// number, a date or a URI: each collapses its whitespace, so " FNR " is valid and is "FNR". The
// mappings compare them as strings (TypeId/@V='FNR'); they get the value the schema means.
// (pugixml has already turned tabs and line breaks in attribute values into spaces.)
bool collapses(std::string_view name) { return name == "V" || name == "U" || name == "S"; }

void collapse_codes(pugi::xml_node element) {
  std::string collapsed;
  for (pugi::xml_node n = element; n;) {
    for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
      const std::string_view value = a.value();
      if (!collapses(a.name()) || value.empty() ||
          (value.front() != ' ' && value.back() != ' ' && value.find("  ") == std::string_view::npos)) {
        continue;
      }
      collapsed.clear();
      for (const char c : value) {
        if (c != ' ' || (!collapsed.empty() && collapsed.back() != ' ')) collapsed.push_back(c);
      }
      if (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
      a.set_value(collapsed.c_str());
    }
    // Depth first, without recursion: a deep document cannot exhaust the stack.
    if (n.first_child()) {
      n = n.first_child();
      continue;
    }
    while (n != element && !n.next_sibling()) n = n.parent();
    if (n == element) break;
    n = n.next_sibling();
  }
}

}  // namespace

EMessage::EMessage(std::unique_ptr<pugi::xml_document> document, MessageHeader header,
                   std::string charset)
    : document_(std::move(document)), header_(std::move(header)), charset_(std::move(charset)) {}

EMessage::~EMessage() = default;

std::unique_ptr<pugi::xml_document> load_document(std::string_view bytes, const XmlDocument& parsed,
                                                  const PrefixMap& prefixes) {
  auto doc = std::make_unique<pugi::xml_document>();
  pugi::xml_parse_result result;
  switch (route_for(parsed.declared_encoding())) {
    case Route::kAuto:
      result = doc->load_buffer(bytes.data(), bytes.size(), kParseOptions, pugi::encoding_auto);
      break;
    case Route::kUtf8:
      result = doc->load_buffer(bytes.data(), bytes.size(), kParseOptions, pugi::encoding_utf8);
      break;
    case Route::kLatin1:
      result = doc->load_buffer(bytes.data(), bytes.size(), kParseOptions, pugi::encoding_latin1);
      break;
    case Route::kReencode: {
      xmlChar* utf8 = nullptr;
      int size = 0;
      xmlDocDumpMemoryEnc(parsed.get(), &utf8, &size, "UTF-8");
      if (utf8 == nullptr) return nullptr;
      result = doc->load_buffer(utf8, static_cast<std::size_t>(size), kParseOptions,
                                pugi::encoding_utf8);
      xmlFree(utf8);
      break;
    }
  }
  if (!result || !doc->document_element()) return nullptr;
  canonicalize_names(*doc, prefixes);
  collapse_codes(doc->document_element());
  return doc;
}

}  // namespace helsebro::kith
