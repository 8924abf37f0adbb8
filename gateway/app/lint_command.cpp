#include "gateway/app/lint_command.h"

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "gateway/app/mappings.h"
#include "gateway/core/files.h"
#include "gateway/mapping/json_tree.h"

namespace helsebro::app {
namespace {

namespace fs = std::filesystem;

// Where a JSON pointer leads in the file: the deepest node the pointer reaches.
const mapping::JsonNode* at_pointer(const mapping::JsonNode& root, const rapidjson::Pointer& pointer) {
  const mapping::JsonNode* node = &root;
  for (rapidjson::SizeType i = 0; i < pointer.GetTokenCount(); ++i) {
    const auto& token = pointer.GetTokens()[i];
    const std::string key(token.name, token.length);
    const mapping::JsonNode* next = nullptr;
    if (node->is_object()) next = node->find(key);
    else if (node->is_array() && token.index < node->items.size()) next = &node->items[token.index];
    if (next == nullptr) break;
    node = next;
  }
  return node;
}

std::string pointer_text(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.Stringify(sb);
  return sb.GetSize() == 0 ? "/" : sb.GetString();
}

// One file against its schema; "" when it conforms.
std::string check_schema(const fs::path& file, const std::string& schema_text) {
  const std::string text = read_file(file).value_or("");
  auto tree = mapping::parse_json_tree(text);
  if (!tree) return file.string() + ":" + tree.error().detail;
  rapidjson::Document schema_doc;
  schema_doc.Parse(schema_text.c_str());
  rapidjson::SchemaDocument schema(schema_doc);
  rapidjson::SchemaValidator validator(schema);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag>(text.c_str());  // the engine takes comments too
  if (doc.Accept(validator)) return {};
  const mapping::JsonNode* node = at_pointer(*tree, validator.GetInvalidDocumentPointer());
  return file.string() + ":" + std::to_string(node->line) + ":" + std::to_string(node->column) + ": " +
         pointer_text(validator.GetInvalidDocumentPointer()) + " does not follow the schema (\"" +
         validator.GetInvalidSchemaKeyword() + "\" at " + pointer_text(validator.GetInvalidSchemaPointer()) + ")";
}

}  // namespace

int lint_mappings(const std::string& dir, std::ostream& out, std::ostream& err) {
  return lint_mappings(dir, default_kith_schema_dir(dir), out, err);
}

int lint_mappings(const std::string& dir, const std::string& kith_schema_dir, std::ostream& out, std::ostream& err) {
  if (!fs::is_directory(dir)) {
    err << "helsebro lint: " << dir << ": not a directory\n";
    return 2;
  }
  std::vector<std::string> problems;
  std::size_t files = 0;
  auto check_all = [&](const fs::path& folder, const std::string& schema) {
    auto listed = json_files(folder);
    if (!listed) {
      problems.push_back(listed.error().detail);
      return;
    }
    for (const auto& file : *listed) {
      ++files;
      if (auto problem = check_schema(file, schema); !problem.empty()) problems.push_back(problem);
    }
  };
  check_all(fs::path(dir) / "terminology", terminology_schema());
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    const bool folder = it->is_directory(type_ec);
    if (type_ec && type_ec != std::errc::no_such_file_or_directory) {  // a link to itself, say
      problems.push_back(it->path().string() + ": cannot be read: " + type_ec.message());
      continue;
    }
    if (!folder || it->path().filename() == "terminology") continue;
    check_all(it->path(), mapping_schema());
    check_all(it->path() / "datatypes", datatype_schema());
    check_all(it->path() / "shared", mapping_schema());
  }
  if (ec) problems.push_back(dir + ": cannot be listed: " + ec.message());
  // The compiler checks what no schema can: names that must exist, paths, tables, variables,
  // and the FHIR elements the plans write, with their cardinalities and values (plan_check.h).
  auto set = load_mappings(dir, kith_schema_dir);
  if (!set) {  // one problem per line, each once (a file the schema check refused fails to load too)
    std::istringstream lines(set.error().detail);
    for (std::string line; std::getline(lines, line);) {
      if (std::find(problems.begin(), problems.end(), line) == problems.end()) problems.push_back(line);
    }
  }
  for (const auto& p : problems) out << p << "\n";
  if (!problems.empty()) {
    out << problems.size() << " problem(s) in " << dir << "\n";
    return 1;
  }
  out << dir << ": " << files << " files, " << (*set)->mappings().size() << " mappings, "
      << (*set)->terminology().size() << " terminology tables: no problems\n";
  return 0;
}

}  // namespace helsebro::app
