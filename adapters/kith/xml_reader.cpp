#include "adapters/kith/xml_reader.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <limits>
#include <optional>
#include <vector>
#include <stdexcept>

#include "adapters/kith/schema_resolver.h"
#include "adapters/kith/strings.h"

namespace helsebro::kith {
namespace {

// No XML_PARSE_NOENT (entities stay references), no XML_PARSE_DTDLOAD / DTDATTR / DTDVALID,
// no XML_PARSE_XINCLUDE, no XML_PARSE_HUGE (keeps libxml2's depth and size caps).
constexpr int kOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

struct ParseState {
  bool doctype = false;
  bool have_error = false;
  XmlFault fault;
};

ParseState& state_of(void* ctx) {
  return *static_cast<ParseState*>(static_cast<xmlParserCtxtPtr>(ctx)->_private);
}

void on_doctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  ParseState& state = state_of(ctx);
  state.doctype = true;
  state.fault.kind = XmlFault::Kind::kDoctype;
  state.fault.line = static_cast<std::uint32_t>(xmlSAX2GetLineNumber(ctx));
  state.fault.column = static_cast<std::uint32_t>(xmlSAX2GetColumnNumber(ctx));
  state.fault.detail = "document type declarations are not accepted";
  xmlStopParser(ctxt);
}

void on_error(void* ctx, xmlErrorPtr error) {
  ParseState& state = state_of(ctx);
  if (state.have_error || state.doctype || error == nullptr || error->level < XML_ERR_ERROR) return;
  state.have_error = true;
  state.fault.kind = XmlFault::Kind::kNotWellFormed;
  state.fault.line = error->line > 0 ? static_cast<std::uint32_t>(error->line) : 0;
  state.fault.column = error->int2 > 0 ? static_cast<std::uint32_t>(error->int2) : 0;
  std::string message = error->message != nullptr ? error->message : "not well-formed";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  state.fault.detail = std::move(message);
}

// The input as code units: bytes, or 16-bit units of UTF-16 (by its byte-order mark, or by the
// "<" that must open the document); markup is ASCII either way.
class Units {
 public:
  explicit Units(std::string_view bytes) : bytes_(bytes) {
    const auto b = [&](std::size_t i) { return i < bytes.size() ? static_cast<unsigned char>(bytes[i]) : 0x100u; };
    if ((b(0) == 0xFF && b(1) == 0xFE) || (b(0) == '<' && b(1) == 0)) width_ = 2, little_ = true;
    if ((b(0) == 0xFE && b(1) == 0xFF) || (b(0) == 0 && b(1) == '<')) width_ = 2, little_ = false;
  }
  std::size_t size() const { return bytes_.size() / width_; }
  char32_t operator[](std::size_t i) const {
    if (i >= size()) return 0;
    const auto at = [&](std::size_t j) { return static_cast<unsigned char>(bytes_[j]); };
    if (width_ == 1) return at(i);
    const std::size_t j = i * 2;
    return little_ ? at(j) | (at(j + 1) << 8) : (at(j) << 8) | at(j + 1);
  }
  bool starts(std::size_t i, std::string_view text) const {
    for (std::size_t k = 0; k < text.size(); ++k) {
      if ((*this)[i + k] != static_cast<unsigned char>(text[k])) return false;
    }
    return true;
  }
  /// The first unit at or after `from` where `text` starts; size() when there is none.
  std::size_t find(std::string_view text, std::size_t from) const {
    for (std::size_t i = from; i < size(); ++i) {
      if (starts(i, text)) return i;
    }
    return size();
  }

 private:
  std::string_view bytes_;
  std::size_t width_ = 1;
  bool little_ = true;
};

bool space(char32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Counts the attributes of each start tag and the namespace declarations in scope, without
// parsing the document, in one pass: comments, CDATA sections, processing instructions and quoted
// values are stepped over. Past a limit, the fault; otherwise nothing (libxml2 judges the rest,
// and refuses nesting past 256). A declaration repeated on every element (as some generators
// write them) goes out of scope with its element.
std::optional<XmlFault> too_complex(std::string_view bytes, const ReadLimits& limits) {
  const Units u(bytes);
  const std::size_t n = u.size();
  std::size_t declarations = 0;         // in scope
  std::vector<std::size_t> open;        // each open element's own declarations
  auto fault = [&](std::size_t at, std::string detail) {
    std::uint32_t line = 1;
    for (std::size_t i = 0; i < at && i < n; ++i) line += u[i] == '\n' ? 1 : 0;
    return XmlFault{XmlFault::Kind::kTooComplex, line, 0, std::move(detail)};
  };
  for (std::size_t k = 0; k < n;) {
    if (u[k] != '<') {
      ++k;
      continue;
    }
    if (u.starts(k, "<!--")) {
      k = u.find("-->", k + 4) + 3;
    } else if (u.starts(k, "<![CDATA[")) {
      k = u.find("]]>", k + 9) + 3;
    } else if (u.starts(k, "<?")) {
      k = u.find("?>", k + 2) + 2;
    } else if (u[k + 1] == '/') {  // an end tag: its element's declarations leave scope
      if (!open.empty()) {
        declarations -= open.back();
        open.pop_back();
      }
      k = u.find(">", k + 2) + 1;
    } else if (u[k + 1] == '!') {
      k = u.find(">", k + 2) + 1;
    } else {  // a start tag: its name, then attributes up to ">" or "/>"
      const std::size_t tag = k;
      ++k;
      while (k < n && !space(u[k]) && u[k] != '>' && u[k] != '/') ++k;
      std::size_t attributes = 0;
      std::size_t own = 0;
      bool empty = false;  // <e/>: its declarations leave scope at once
      while (k < n) {
        while (k < n && space(u[k])) ++k;
        if (k >= n || u[k] == '>') break;
        if (u[k] == '/') {
          empty = u[k + 1] == '>';
          ++k;
          continue;
        }
        const std::size_t name = k;
        while (k < n && !space(u[k]) && u[k] != '=' && u[k] != '>' && u[k] != '/') ++k;
        if (k == name) {  // a stray character: libxml2 will say what is wrong
          ++k;
          continue;
        }
        if (++attributes > limits.max_attributes_per_element) {
          return fault(tag, "an element has more than " + std::to_string(limits.max_attributes_per_element) +
                                " attributes");
        }
        if (u.starts(name, "xmlns") && (k == name + 5 || u[name + 5] == ':')) {
          ++own;
          if (++declarations > limits.max_namespace_declarations) {
            return fault(name, "the message has more than " + std::to_string(limits.max_namespace_declarations) +
                                   " namespace declarations in scope");
          }
        }
        while (k < n && space(u[k])) ++k;
        if (u[k] != '=') continue;
        ++k;
        while (k < n && space(u[k])) ++k;
        if (u[k] == '"' || u[k] == '\'') k = u.find(u[k] == '"' ? "\"" : "'", k + 1) + 1;
      }
      if (empty) {
        declarations -= own;
      } else {
        open.push_back(own);
      }
      ++k;
    }
  }
  return std::nullopt;
}

}  // namespace

XmlDocument::XmlDocument(_xmlDoc* doc) : doc_(doc) {}

void XmlDocument::Free::operator()(_xmlDoc* doc) const {
  xmlFreeDoc(doc);
}

std::string_view XmlDocument::declared_encoding() const {
  if (!doc_ || doc_->encoding == nullptr) return {};
  return reinterpret_cast<const char*>(doc_->encoding);
}

XmlResult<XmlDocument> read_xml(std::string_view bytes, const ReadLimits& limits) {
  if (bytes.size() > limits.max_bytes || bytes.size() > std::numeric_limits<int>::max()) {
    XmlFault fault{XmlFault::Kind::kTooLarge, 0, 0, {}};
    fault.detail = cat({"the message has ", std::to_string(bytes.size()), " bytes; the limit is ",
                        std::to_string(limits.max_bytes)});
    return fault;
  }
  if (auto fault = too_complex(bytes, limits)) return *fault;
  init_libxml();
  xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(bytes.data(), static_cast<int>(bytes.size()));
  if (ctxt == nullptr)
    return XmlFault{XmlFault::Kind::kNotWellFormed, 0, 0, "empty or unreadable input"};
  ParseState state;
  ctxt->_private = &state;
  xmlCtxtUseOptions(ctxt, kOptions);
  ctxt->sax->internalSubset = on_doctype;
  ctxt->sax->externalSubset = nullptr;
  ctxt->sax->serror = on_error;
  xmlParseDocument(ctxt);
  XmlDocument doc(ctxt->myDoc);
  ctxt->myDoc = nullptr;
  const bool well_formed = ctxt->wellFormed != 0 && ctxt->nsWellFormed != 0;
  xmlFreeParserCtxt(ctxt);
  if (state.doctype) return state.fault;
  if (!well_formed || doc.get() == nullptr || xmlDocGetRootElement(doc.get()) == nullptr) {
    if (!state.have_error) state.fault.detail = "not well-formed XML";
    state.fault.kind = XmlFault::Kind::kNotWellFormed;
    return state.fault;
  }
  return doc;
}

void throw_exception_from_error(const XmlFault& fault, const boost::source_location&) {
  throw std::runtime_error(fault.detail);
}

}  // namespace helsebro::kith
