#pragma once
// A compiled mapping and the set of them that a running gateway serves from. A MappingSet is
// immutable once loaded; reloading builds a new set and swaps it in whole.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/core/json_tape.h"
#include "gateway/core/message.h"
#include "gateway/core/result.h"
#include "gateway/mapping/source.h"
#include "gateway/mapping/terminology.h"

namespace helsebro::mapping {

struct ResourcePlan;
struct DatatypePlan;
struct PlanNode;

/// Facts about the message that mappings may use as built-in variables ({{$messageId}} …).
struct MessageFacts {
  std::string message_id;
  std::string message_type;
  EpochMillis received_at = 0;
  /// The channel accepts fødselsnummer/D-nummer whose control digits or kind are wrong (the
  /// person-number "$check"s then keep the value and note where it was, instead of refusing).
  bool accept_invalid_person_id = false;
};

/// What a mapping produced for one message.
struct Translation {
  std::string mapping;
  std::string bundle;        // FHIR R4 transaction Bundle, JSON
  std::string ordering_key;  // "" when the mapping names none
  std::size_t resources = 0;
  /// Where a check was waived (e.g. "PID-3[2].1: invalid fødselsnummer accepted"): locations and
  /// reasons only, never the values.
  std::vector<std::string> warnings;
};

class Mapping {
 public:
  Mapping();
  ~Mapping();
  Mapping(Mapping&&) noexcept;
  Mapping& operator=(Mapping&&) noexcept;

  const std::string& name() const { return name_; }
  const std::string& file() const { return file_; }
  const std::string& format() const { return format_; }
  const std::vector<std::string>& message_types() const { return message_types_; }
  /// The compiled resources (plan_node.h), for checks of the whole plan when the set loads.
  const std::vector<ResourcePlan>& resources() const { return resources_; }
  bool accepts_version(std::string_view version) const;
  /// The kinds of content the mapping reads ("accepts.payloads"; KITH: "Dialogmelding"); empty
  /// in a format without them.
  const std::vector<std::string>& payloads() const { return payloads_; }
  /// True when the mapping reads content of this kind (always, when it names none).
  bool accepts_payload(std::string_view name) const;

  /// Checks a Bundle before it is serialized (the FHIR validator); an error refuses the message.
  using BundleCheck = std::function<Result<void>(const JsonTape& bundle)>;

  /// Thread-safe: translation reads the plan and writes only to its own output. An exception
  /// on the way (memory, an engine bug) is a mapping error naming it, not the caller's to catch:
  /// the message is refused with that reason and kept, and the sender gets its NAK.
  Result<Translation> translate(const SourceView& view, const MessageFacts& facts,
                                const BundleCheck& check = {}) const;

 private:
  friend class Compiler;

  Result<Translation> translate_unguarded(const SourceView& view, const MessageFacts& facts,
                                          const BundleCheck& check) const;

  std::string name_;
  std::string file_;
  std::string format_;
  std::vector<std::string> message_types_;
  std::vector<std::string> versions_;  // empty: any
  std::vector<std::string> payloads_;  // empty: the format has none
  std::vector<std::string> var_names_;
  std::vector<std::unique_ptr<PlanNode>> lets_;  // slot i computes var i (built-ins have none)
  std::unique_ptr<PlanNode> ordering_key_;
  std::vector<ResourcePlan> resources_;
};

/// Everything loaded from a mappings directory. Immutable; share via shared_ptr<const>.
/// The path dialects a mapping set can compile, by format name ("hl7v2" → HL7 v2 paths).
using Dialects = std::map<std::string, const SourceDialect*, std::less<>>;

class MappingSet {
 public:
  MappingSet();
  ~MappingSet();

  /// Loads `<dir>/terminology/*.json`, `<dir>/<format>/datatypes/*.json` and
  /// `<dir>/<format>/*.json`. Fails on the first broken file with file:line:column and reason.
  static Result<std::shared_ptr<const MappingSet>> load(const std::string& dir,
                                                        const Dialects& dialects);

  /// Constant-time choice by format and message type (e.g. "hl7v2", "ADT^A04").
  const Mapping* find(std::string_view format, std::string_view message_type) const;
  const std::vector<std::unique_ptr<Mapping>>& mappings() const { return mappings_; }
  const TerminologySet& terminology() const { return terminology_; }
  const std::string& directory() const { return directory_; }

 private:
  friend class Compiler;

  std::string directory_;
  TerminologySet terminology_;
  std::map<std::string, std::unique_ptr<DatatypePlan>, std::less<>> datatypes_;  // "format/name"
  std::vector<std::unique_ptr<Mapping>> mappings_;
  std::unordered_map<std::string, const Mapping*> by_type_;  // "format|type"
};

}  // namespace helsebro::mapping
