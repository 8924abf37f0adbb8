#pragma once
// A received e-message as the rest of Helsebro sees it: its header facts and its document, in
// UTF-8 with canonical element names (canonical_names.h), ready for XPath source paths.

#include <memory>
#include <string>
#include <string_view>

#include "adapters/kith/canonical_names.h"
#include "adapters/kith/message_header.h"
#include "adapters/kith/xml_reader.h"

namespace pugi {
class xml_document;
}

namespace helsebro::kith {

/// Immutable; may be read by many threads at once.
class EMessage {
 public:
  EMessage(std::unique_ptr<pugi::xml_document> document, MessageHeader header, std::string charset);
  ~EMessage();
  EMessage(const EMessage&) = delete;
  EMessage& operator=(const EMessage&) = delete;

  const pugi::xml_document& document() const { return *document_; }
  const MessageHeader& header() const { return header_; }
  /// The charset the message declared ("UTF-8" when it declared none).
  const std::string& charset() const { return charset_; }

 private:
  std::unique_ptr<pugi::xml_document> document_;
  MessageHeader header_;
  std::string charset_;
};

/// The pugixml document for `bytes`, which libxml2 has read as `parsed`: decoded to UTF-8 by the
/// charset of the XML declaration, names made canonical. Null when pugixml cannot read it.
std::unique_ptr<pugi::xml_document> load_document(std::string_view bytes, const XmlDocument& parsed,
                                                  const PrefixMap& prefixes);

}  // namespace helsebro::kith
