#include "adapters/kith/schema_set.h"

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include <algorithm>
#include <cstring>

#include "adapters/kith/strings.h"

namespace helsebro::kith {
namespace {

std::string trimmed_message(const xmlError* error) {
  std::string message = error->message != nullptr ? error->message : "";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// Errors while compiling: the first error (warnings such as "skipping import of a namespace
// already imported" are expected and ignored).
struct CompileErrors {
  std::string first;
  static void collect(void* ctx, xmlErrorPtr error) {
    auto* self = static_cast<CompileErrors*>(ctx);
    if (error == nullptr || error->level < XML_ERR_ERROR || !self->first.empty()) return;
    self->first = trimmed_message(error);
    if (error->file != nullptr) {
      self->first.append(" (");
      self->first.append(error->file);
      self->first.append(" line ");
      self->first.append(std::to_string(error->line));
      self->first.append(")");
    }
  }
};

// Errors from libxml2's own parser while it reads the XSD files go to the thread's structured
// handler; route them to `errors` while compiling, then restore.
class ThreadErrorsTo {
 public:
  explicit ThreadErrorsTo(CompileErrors& errors)
      : previous_(xmlStructuredError), previous_context_(xmlStructuredErrorContext) {
    xmlSetStructuredErrorFunc(&errors, &CompileErrors::collect);
  }
  ~ThreadErrorsTo() { xmlSetStructuredErrorFunc(previous_context_, previous_); }
  ThreadErrorsTo(const ThreadErrorsTo&) = delete;
  ThreadErrorsTo& operator=(const ThreadErrorsTo&) = delete;

 private:
  xmlStructuredErrorFunc previous_;
  void* previous_context_;
};

std::string local_name(const xmlNode* node) {
  return node->name != nullptr ? reinterpret_cast<const char*>(node->name) : "";
}

// "/MsgHead/Document[2]/RefDoc": local names, with a position among same-named siblings.
std::string element_path(const xmlNode* node) {
  std::vector<std::string> steps;
  for (const xmlNode* n = node; n != nullptr && n->type != XML_DOCUMENT_NODE; n = n->parent) {
    if (n->type == XML_ATTRIBUTE_NODE) {
      steps.push_back(cat({"@", local_name(n)}));
      continue;
    }
    if (n->type != XML_ELEMENT_NODE) continue;
    std::string step = local_name(n);
    int position = 0;
    int same = 0;
    if (n->parent != nullptr && n->parent->type == XML_ELEMENT_NODE) {
      for (const xmlNode* s = n->parent->children; s != nullptr; s = s->next) {
        if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, n->name)) continue;
        ++same;
        if (s == n) position = same;
      }
    }
    if (same > 1) {
      step.append("[");
      step.append(std::to_string(position));
      step.append("]");
    }
    steps.push_back(std::move(step));
  }
  std::string path;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    path.append("/");
    path.append(*it);
  }
  return path;
}

// The attribute a message like "Element 'X', attribute 'V': ..." names, or "".
std::string attribute_named(const std::string& message) {
  const std::string marker = "attribute '";
  const std::size_t at = message.find(marker);
  if (at == std::string::npos) return {};
  const std::size_t start = at + marker.size();
  const std::size_t end = message.find('\'', start);
  if (end == std::string::npos) return {};
  std::string name = message.substr(start, end - start);
  const std::size_t brace = name.rfind('}');
  return brace == std::string::npos ? name : name.substr(brace + 1);
}

// What kind of violation, in Norwegian, from libxml2's error code.
std::string reason_for(int code, const std::string& message) {
  if (code == XML_SCHEMAV_ELEMENT_CONTENT) {
    return message.find("Missing child") != std::string::npos ? "påkrevd underelement mangler"
                                                              : "elementet er ikke tillatt her";
  }
  if (code == XML_SCHEMAV_CVC_ELT_1 || code == XML_SCHEMAV_CVC_WILDCARD) {
    return "elementet er ikke deklarert i skjemaet";
  }
  if (code == XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_1 || code == XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_2) {
    return "attributtet er ikke tillatt";
  }
  if (code == XML_SCHEMAV_CVC_COMPLEX_TYPE_4) return "påkrevd attributt mangler";
  if (code == XML_SCHEMAV_CVC_COMPLEX_TYPE_2_1 || code == XML_SCHEMAV_CVC_COMPLEX_TYPE_2_3) {
    return "elementet skal ikke ha tekstinnhold";
  }
  if (code == XML_SCHEMAV_CVC_ELT_5_2_2_2_1 || code == XML_SCHEMAV_CVC_ELT_5_2_2_2_2) {
    return "verdien skal være den faste verdien skjemaet angir";
  }
  if ((code >= XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_1 && code <= XML_SCHEMAV_CVC_ENUMERATION_VALID) ||
      code == XML_SCHEMAV_CVC_COMPLEX_TYPE_2_2 || code == XML_SCHEMAV_CVC_ATTRIBUTE_3 ||
      code == XML_SCHEMAV_VALUE || code == XML_SCHEMAV_FACET) {
    return "ugyldig verdi";
  }
  return "validerer ikke mot skjemaet";
}

struct ValidationErrors {
  bool have = false;
  SchemaViolation first;
  static void collect(void* ctx, xmlErrorPtr error) {
    auto* self = static_cast<ValidationErrors*>(ctx);
    if (self->have || error == nullptr || error->level < XML_ERR_ERROR) return;
    self->have = true;
    self->first.detail = trimmed_message(error);
    self->first.line = error->line > 0 ? static_cast<std::uint32_t>(error->line) : 0;
    const auto* node = static_cast<const xmlNode*>(error->node);
    if (node != nullptr) {
      self->first.path = element_path(node);
      if (node->type == XML_ELEMENT_NODE) {
        const std::string attribute = attribute_named(self->first.detail);
        if (!attribute.empty()) self->first.path.append(cat({"/@", attribute}));
      }
      if (self->first.line == 0 && node->type == XML_ELEMENT_NODE) {
        self->first.line = static_cast<std::uint32_t>(xmlGetLineNo(node));
      }
    }
    self->first.reason = reason_for(error->code, self->first.detail);
  }
};

// A schema document with no target namespace that imports the given ones: what libxml2 compiles.
std::string wrapper(const std::vector<const SchemaEntry*>& imports,
                    const std::filesystem::path& dir) {
  std::string xsd = "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n";
  for (const SchemaEntry* e : imports) {
    xsd.append("  <xs:import namespace=\"");
    xsd.append(e->ns);
    xsd.append("\" schemaLocation=\"");
    xsd.append((dir / e->schema).string());
    xsd.append("\"/>\n");
  }
  xsd.append("</xs:schema>\n");
  return xsd;
}

}  // namespace

SchemaSet::SchemaSet(SchemaIndex index) : index_(std::move(index)), resolver_(index_.dir()) {}

SchemaSet::~SchemaSet() {
  for (const Compiled& c : compiled_) xmlSchemaFree(c.schema);
}

Result<_xmlSchema*> SchemaSet::compile(std::string_view label, const std::string& xsd_text) const {
  ResolverScope scope(resolver_);
  const std::size_t loads_before = resolver_.loads().size();
  CompileErrors errors;
  ThreadErrorsTo route(errors);
  xmlSchemaParserCtxtPtr parser =
      xmlSchemaNewMemParserCtxt(xsd_text.data(), static_cast<int>(xsd_text.size()));
  if (parser == nullptr) return Error{Errc::kInvalidValue, "cannot create a schema parser"};
  xmlSchemaSetParserStructuredErrors(parser, &CompileErrors::collect, &errors);
  xmlSchemaPtr schema = xmlSchemaParse(parser);
  xmlSchemaFreeParserCtxt(parser);
  // libxml2 only warns when it cannot read an import; a schema without it is not the standard's.
  const auto loads = resolver_.loads();
  for (std::size_t i = loads_before; i < loads.size(); ++i) {
    if (loads[i].file.empty()) {
      errors.first = cat({"cannot resolve '", loads[i].reference, "' locally"});
      break;
    }
  }
  if (schema == nullptr || !errors.first.empty()) {
    if (schema != nullptr) xmlSchemaFree(schema);
    std::string detail = "schema for ";
    detail.append(label);
    detail.append(" does not compile: ");
    detail.append(errors.first.empty() ? "unknown error" : errors.first);
    return Error{Errc::kInvalidValue, std::move(detail)};
  }
  return schema;
}

Result<std::shared_ptr<const SchemaSet>> SchemaSet::load(const std::filesystem::path& dir) {
  auto index = SchemaIndex::load(dir);
  if (!index) return index.error();
  std::shared_ptr<SchemaSet> set(new SchemaSet(std::move(*index)));
  std::vector<const SchemaEntry*> payloads;
  for (const SchemaEntry& e : set->index_.entries()) {
    // A MsgHead carries messages, or receipts (MsgInfo/Type APPREC).
    if (e.payload || e.kind == SchemaKind::kReceipt) payloads.push_back(&e);
  }
  for (const SchemaEntry& e : set->index_.entries()) {
    if (!e.root) continue;
    std::vector<const SchemaEntry*> imports{&e};
    if (e.kind == SchemaKind::kEnvelope)
      imports.insert(imports.end(), payloads.begin(), payloads.end());
    auto schema = set->compile(e.ns, wrapper(imports, set->index_.dir()));
    if (!schema) return schema.error();
    set->compiled_.push_back(Compiled{e.ns, *schema});
  }
  return std::shared_ptr<const SchemaSet>(std::move(set));
}

const SchemaSet::Compiled* SchemaSet::find(std::string_view ns) const {
  const auto it = std::find_if(compiled_.begin(), compiled_.end(),
                               [ns](const Compiled& c) { return c.ns == ns; });
  return it == compiled_.end() ? nullptr : &*it;
}

bool SchemaSet::validates_root(std::string_view ns) const {
  return find(ns) != nullptr;
}

std::optional<SchemaViolation> SchemaSet::validate(const XmlDocument& doc) const {
  const xmlNode* root = doc.get() != nullptr ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (root == nullptr)
    return SchemaViolation{0, "/", "dokumentet mangler rotelement", "no root element"};
  const std::string ns = root->ns != nullptr ? reinterpret_cast<const char*>(root->ns->href) : "";
  const Compiled* compiled = find(ns);
  if (compiled == nullptr) {
    return SchemaViolation{static_cast<std::uint32_t>(xmlGetLineNo(root)), element_path(root),
                           "ingen skjema for rotelementets navnerom",
                           cat({"no schema for the root namespace '", ns, "'"})};
  }
  xmlSchemaValidCtxtPtr ctxt = xmlSchemaNewValidCtxt(compiled->schema);
  if (ctxt == nullptr)
    return SchemaViolation{0, "/", "validering kunne ikke startes", "out of memory"};
  ValidationErrors errors;
  xmlSchemaSetValidStructuredErrors(ctxt, &ValidationErrors::collect, &errors);
  const int rc = xmlSchemaValidateDoc(ctxt, doc.get());
  xmlSchemaFreeValidCtxt(ctxt);
  if (rc == 0 && !errors.have) return std::nullopt;
  if (!errors.have) {
    errors.first.path = element_path(root);
    errors.first.reason = "validerer ikke mot skjemaet";
    errors.first.detail = cat({"validation failed (libxml2 code ", std::to_string(rc), ")"});
  }
  return errors.first;
}

}  // namespace helsebro::kith
