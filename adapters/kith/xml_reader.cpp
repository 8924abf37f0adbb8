#include "adapters/kith/xml_reader.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <limits>
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
