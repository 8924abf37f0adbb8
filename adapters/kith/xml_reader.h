#pragma once
// Reading received XML safely with libxml2: a size limit, no DTD (a DOCTYPE stops the parser
// before its internal subset is read, so no entity is ever declared or expanded), no external
// entities, no network, no XInclude. The charset comes from the XML declaration (UTF-8 when
// there is none). Errors come back as values with line and column; libxml2 prints nothing.

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct _xmlDoc;

namespace helsebro::kith {

struct ReadLimits {
  /// Larger inputs are refused before parsing. libxml2 itself also caps element depth (256) and
  /// a single text node (10 MB).
  std::size_t max_bytes = 16 * 1024 * 1024;
  /// libxml2 takes time that grows with the square of these (its duplicate check of attributes,
  /// its namespace lookups): a message past them is refused before it is parsed. E-messages have
  /// a handful of each.
  std::size_t max_attributes_per_element = 256;
  std::size_t max_namespace_declarations = 256;  // in scope at any element
};

/// Why bytes could not be read as XML.
struct XmlFault {
  enum class Kind {
    kTooLarge,       // over ReadLimits::max_bytes
    kDoctype,        // has a document type declaration
    kNotWellFormed,  // not well-formed XML or XML Namespaces, or an unreadable charset
    kTooComplex,     // more attributes on one element, or namespace declarations, than ReadLimits
  };
  Kind kind = Kind::kNotWellFormed;
  std::uint32_t line = 0;    // 1-based; 0 when not known
  std::uint32_t column = 0;  // 1-based; 0 when not known
  std::string detail;        // libxml2's English explanation; may quote markup: never log it
};

/// A parsed libxml2 document. Move-only; one thread at a time.
class XmlDocument {
 public:
  XmlDocument() = default;
  explicit XmlDocument(_xmlDoc* doc);
  _xmlDoc* get() const { return doc_.get(); }
  /// The encoding named by the XML declaration, as written; "" when there is none.
  std::string_view declared_encoding() const;

 private:
  struct Free {
    void operator()(_xmlDoc* doc) const;
  };
  std::unique_ptr<_xmlDoc, Free> doc_;
};

template <class T>
using XmlResult = boost::system::result<T, XmlFault>;

/// Thread-safe.
XmlResult<XmlDocument> read_xml(std::string_view bytes, const ReadLimits& limits = {});

[[noreturn]] void throw_exception_from_error(const XmlFault& fault, const boost::source_location&);

}  // namespace helsebro::kith
