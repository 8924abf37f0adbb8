#pragma once
// Terminology tables (ConceptMap-like lookups) that mappings use with "$table": a source code,
// e.g. HL7 table 0001 "F", becomes a target coding, e.g. administrative-gender "female".

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/key_index.h"
#include "gateway/core/result.h"

namespace helsebro::mapping {

struct Coding {
  std::string system;
  std::string code;
  std::string display;
  bool plain = false;  // no byte of system, code or display needs a JSON escape
};

/// Immutable once loaded; safe to share between threads.
class TerminologyTable {
 public:
  const std::string& name() const { return name_; }
  /// The coding for a source code; the default (if any) for codes the table does not list.
  /// A listed code with an empty target code has no equivalent: mappings leave it out.
  const Coding* lookup(std::string_view source_code) const;
  /// visit(source code, coding) for every entry in file order, then visit("", default) when the
  /// table has a default: every coding a lookup can give.
  template <class Visit>
  void for_each_coding(Visit&& visit) const {
    entries_.for_each(visit);
    if (default_) visit(std::string_view(), *default_);
  }

  /// Parses a table file; errors carry file:line:column.
  static Result<TerminologyTable> load(const std::string& file_name, std::string_view text);

 private:
  std::string name_;
  std::string system_;  // default target system
  bool case_insensitive_ = false;
  KeyIndex<Coding> entries_;  // by source code, in upper case when the table is case-insensitive
  std::optional<Coding> default_;
};

using TerminologySet = std::map<std::string, TerminologyTable, std::less<>>;

}  // namespace helsebro::mapping
