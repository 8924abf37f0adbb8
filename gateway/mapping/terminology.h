#pragma once
// Terminology tables (ConceptMap-like lookups) that mappings use with "$table": a source code,
// e.g. HL7 table 0001 "F", becomes a target coding, e.g. administrative-gender "female".

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/result.h"

namespace helsebro::mapping {

struct Coding {
  std::string system;
  std::string code;
  std::string display;
};

/// Immutable once loaded; safe to share between threads.
class TerminologyTable {
 public:
  const std::string& name() const { return name_; }
  /// The coding for a source code; the default (if any) for codes the table does not list.
  /// A listed code with an empty target code has no equivalent: mappings leave it out.
  const Coding* lookup(std::string_view source_code) const;

  /// Parses a table file; errors carry file:line:column.
  static Result<TerminologyTable> load(const std::string& file_name, std::string_view text);

 private:
  /// The entry listed for `code` (folded to upper case when the table is case-insensitive), or
  /// nullptr: open addressing over a power-of-two table, the code folded as it is hashed and
  /// compared rather than copied, as every coded value of a message is looked up here.
  const Coding* find(std::string_view code) const;
  /// Lists `code` (folded already); false when it is there already.
  bool add(std::string code, Coding coding);
  std::uint64_t hash(std::string_view code) const;

  std::string name_;
  std::string system_;  // default target system
  bool case_insensitive_ = false;
  std::vector<std::pair<std::string, Coding>> entries_;  // folded source code and its coding
  std::vector<std::uint32_t> buckets_;                   // 1-based index into entries_; 0: empty
  std::optional<Coding> default_;
};

using TerminologySet = std::map<std::string, TerminologyTable, std::less<>>;

}  // namespace helsebro::mapping
