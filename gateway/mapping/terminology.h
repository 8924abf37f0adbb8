#pragma once
// Terminology tables (ConceptMap-like lookups) that mappings use with "$table": a source code,
// e.g. HL7 table 0001 "F", becomes a target coding, e.g. administrative-gender "female".

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

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
  std::string name_;
  std::string system_;  // default target system
  bool case_insensitive_ = false;
  struct TextHash {  // lets a string_view find a string key without a copy
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      std::size_t h = 1469598103934665603ull;  // FNV-1a, inline: codes are a few bytes
      for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
      return h;
    }
  };
  std::unordered_map<std::string, Coding, TextHash, std::equal_to<>> entries_;
  std::optional<Coding> default_;
};

using TerminologySet = std::map<std::string, TerminologyTable, std::less<>>;

}  // namespace helsebro::mapping
