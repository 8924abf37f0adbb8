#pragma once
// `helsebro map FILE`: translates one message offline and prints the FHIR Bundle; with
// --expect, compares it with an expected Bundle; with --unmapped, lists the input's non-empty
// fields that no rule read.

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/core/result.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::kith {
class SchemaSet;
}

namespace helsebro::app {

/// Translates one HL7 v2 message offline, as `helsebro map` and the golden tests do. The
/// message id is derived from the control id, so the output is the same on every run. When
/// `unread` is given, it receives the input's non-empty components that the mapping did not read.
/// Without `check_fhir`, the Bundle is not checked against FHIR R4 (what the gateway refuses shows).
Result<mapping::Translation> map_message(const mapping::MappingSet& set, std::string_view bytes,
                                         std::vector<std::string>* unread = nullptr, bool check_fhir = true);

/// Translates one KITH e-message offline: classified against `schemas` (any receiver), refused
/// as the AppRec would refuse it (code and Norwegian text, never libxml2's detail), then mapped
/// by the kith mapping of its type and version (kith_message.h). The message id is
/// "map:<MsgId>". With `unread`, it receives the paths of every attribute and text with data
/// that no rule read (kith::SourceView::unread()).
Result<mapping::Translation> map_e_message(const mapping::MappingSet& set,
                                           const std::shared_ptr<const kith::SchemaSet>& schemas,
                                           std::string_view bytes, std::vector<std::string>* unread = nullptr,
                                           bool check_fhir = true);

/// True when `bytes` look like XML (after a UTF-8 byte order mark and white space: '<').
bool looks_like_xml(std::string_view bytes);

/// The differences between two JSON documents, one line each: "<JSON pointer>: expected X, got Y".
/// Numbers are compared as written ("5.10" is not "5.1": a FHIR decimal's precision is part of
/// its value); members by key, whatever their order.
std::vector<std::string> json_differences(const std::string& expected, const std::string& actual);

struct MapOptions {
  std::string file;
  std::optional<std::string> expect_file;
  bool unmapped = false;
  long repeat = 1;  // > 1: translate that many times and print the rate instead of the Bundle
  bool validate = true;  // false: no FHIR validation (--no-validate)
};

/// Returns the exit code: 0 translated (and as expected), 1 refused or different, 2 the tool
/// could not run.
int map_file(const config::Config& config, const MapOptions& options, std::ostream& out, std::ostream& err);

}  // namespace helsebro::app
