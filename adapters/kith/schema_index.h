#pragma once
// schemas/kith/index.json: which XSD validates which XML namespace, what a namespace may be (the
// document element, a MsgHead payload), and the fixed prefix mapping paths use for it.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/result.h"

namespace helsebro::kith {

enum class SchemaKind {
  kEnvelope,    // MsgHead: validated together with every payload schema
  kReceipt,     // AppRec: never answered with an AppRec
  kMessage,     // a clinical message: standalone (root Message) or a MsgHead payload
  kAttachment,  // Base64Container beside a message in MsgHead
  kComponent,   // imported by the others; never a document or payload of its own
};

enum class PatientRule { kNone, kOptional, kRequired };

struct SchemaEntry {
  std::string ns;
  std::string schema;  // file name in the schema directory
  SchemaKind kind = SchemaKind::kComponent;
  std::string prefix;   // e.g. "mh", "dm", "plo"
  std::string message;  // e.g. "Dialogmelding"; "" for components
  std::string version;  // e.g. "1.1"
  bool root = false;
  bool payload = false;
  PatientRule patient = PatientRule::kNone;
};

/// Immutable after load; safe to share between threads.
class SchemaIndex {
 public:
  /// Reads `dir`/index.json; every schema it names must exist in `dir`.
  static Result<SchemaIndex> load(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const std::vector<SchemaEntry>& entries() const { return entries_; }
  /// The entry for a namespace, or null when Helsebro does not know it.
  const SchemaEntry* find(std::string_view ns) const;
  /// The namespace prefix → namespace pairs, including xsi.
  std::vector<std::pair<std::string, std::string>> prefixes() const;

 private:
  std::filesystem::path dir_;
  std::vector<SchemaEntry> entries_;
};

inline constexpr std::string_view kMsgHeadNamespace =
    "http://www.kith.no/xmlstds/msghead/2006-05-24";
inline constexpr std::string_view kXsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";

}  // namespace helsebro::kith
