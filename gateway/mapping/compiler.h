#pragma once
// Turns mapping, datatype and terminology files into plans. Internal to gateway/mapping.

#include <map>
#include <string>

#include "gateway/mapping/json_tree.h"
#include "gateway/mapping/mapping.h"
#include "gateway/mapping/plan_node.h"

namespace helsebro::mapping {

/// Built-in variables every mapping can read, in slot order.
/// "$occurrence" is the 1-based number of the occurrence a resource is made for (1 without
/// forEach), set while its key, occurrence variables and body are evaluated; absent elsewhere.
inline constexpr const char* kBuiltinVars[] = {"$messageId", "$messageType", "$receivedAt", "$occurrence"};
inline constexpr int kBuiltinVarCount = 4;
inline constexpr int kOccurrenceVar = 3;

class Compiler {
 public:
  /// Datatype files of one format, parsed but not compiled; compiled on first use.
  struct PendingDatatype {
    std::string file;
    JsonNode body;
    bool compiling = false;
  };

  /// A shared part of one format (`<format>/shared/*.json`): variables and resources that
  /// mappings take in with "include". Compiled inside each mapping that includes it.
  struct SharedPart {
    std::string file;
    JsonNode root;
  };
  using SharedParts = std::map<std::string, SharedPart, std::less<>>;

  Compiler(MappingSet& set, const SourceDialect& dialect, std::map<std::string, PendingDatatype>& pending,
           const SharedParts* parts = nullptr)
      : set_(set), dialect_(dialect), pending_(pending), parts_(parts) {}

  /// Checks a shared part's own structure; what it means is checked in each mapping including it.
  static Result<std::string> shared_part_name(const std::string& file, const JsonNode& root);

  Result<std::unique_ptr<Mapping>> compile_mapping(const std::string& file, const JsonNode& root);
  Result<const DatatypePlan*> datatype(const std::string& name, const JsonNode& at);

 private:
  Result<std::unique_ptr<PlanNode>> node(const JsonNode& j);
  Result<std::unique_ptr<PlanNode>> directive(const JsonNode& j);
  Result<std::unique_ptr<PlanNode>> text_template(const JsonNode& j);
  Result<Condition> condition(const JsonNode& j);
  Result<std::unique_ptr<SourcePath>> path(const JsonNode& j);
  Result<Modifiers> modifiers(const JsonNode& j, PlanNode& target);
  Result<int> var_slot(const std::string& name, const JsonNode& at);
  Result<ResourcePlan> resource(const JsonNode& j);
  Result<void> lets(const JsonNode& j);
  Result<std::vector<const SharedPart*>> includes(const JsonNode& root);
  Error error(const JsonNode& at, const std::string& why) const;

  MappingSet& set_;
  const SourceDialect& dialect_;
  std::map<std::string, PendingDatatype>& pending_;
  const SharedParts* parts_;
  std::string file_;
  Mapping* mapping_ = nullptr;  // null while compiling a datatype: no variables there
  std::vector<std::string> resource_names_;
  std::size_t global_var_count_ = 0;                     // the mapping's "let" and built-ins
  std::vector<std::pair<std::string, int>> local_vars_;  // the current resource's "let"
};

}  // namespace helsebro::mapping
