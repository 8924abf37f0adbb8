#pragma once
// The directorate's XSDs, compiled once at load with libxml2 and shared by every validation.
// A document is validated by the schema of its root element's namespace. MsgHead's
// Document/RefDoc/Content is a strict wildcard, so MsgHead is compiled together with every
// payload schema of the index: each payload is validated against its own schema in the same pass.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/kith/schema_index.h"
#include "adapters/kith/schema_resolver.h"
#include "adapters/kith/xml_reader.h"
#include "gateway/core/result.h"

struct _xmlSchema;

namespace helsebro::kith {

/// The first way a document breaks its schema.
struct SchemaViolation {
  std::uint32_t line = 0;
  std::string path;    // where, e.g. "/MsgHead/MsgInfo/GenDate" or ".../TypeId/@V"
  std::string reason;  // what, in Norwegian (no values from the message)
  std::string detail;  // libxml2's English message; may quote values: never log it
};

/// Immutable after load: validate() may run on many threads at once.
class SchemaSet {
 public:
  /// Reads `dir`/index.json and compiles the schemas it lists; every import resolves to a file
  /// of `dir` (see SchemaResolver) or loading fails, naming the schema and the reference.
  static Result<std::shared_ptr<const SchemaSet>> load(const std::filesystem::path& dir);
  ~SchemaSet();
  SchemaSet(const SchemaSet&) = delete;
  SchemaSet& operator=(const SchemaSet&) = delete;

  const SchemaIndex& index() const { return index_; }
  /// True when documents with this root namespace can be validated.
  bool validates_root(std::string_view ns) const;
  /// nullopt when the document is valid against the schema of its root's namespace.
  /// A root namespace without a schema is reported as a violation at the root.
  std::optional<SchemaViolation> validate(const XmlDocument& doc) const;
  /// What compiling the schemas read, for proving nothing came from the network.
  std::vector<SchemaResolver::Load> loads() const { return resolver_.loads(); }

 private:
  struct Compiled {
    std::string ns;
    _xmlSchema* schema = nullptr;
  };
  explicit SchemaSet(SchemaIndex index);
  Result<_xmlSchema*> compile(std::string_view label, const std::string& xsd_text) const;
  const Compiled* find(std::string_view ns) const;

  SchemaIndex index_;
  SchemaResolver resolver_;
  std::vector<Compiled> compiled_;
};

}  // namespace helsebro::kith
