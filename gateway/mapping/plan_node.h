#pragma once
// The compiled form of a mapping: a tree of plan nodes built once from the JSON file, so that
// translating a message never parses an expression. Internal to gateway/mapping.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/regex.hpp>

#include "gateway/mapping/convert.h"
#include "gateway/mapping/json_tree.h"
#include "gateway/mapping/source.h"
#include "gateway/mapping/terminology.h"

namespace helsebro::mapping {

struct PlanNode;

struct Condition {
  enum class Kind { kEquals, kIn, kExists, kMatches, kAll, kAny, kNot };
  Kind kind = Kind::kExists;
  std::unique_ptr<SourcePath> path;  // either a path …
  int var = -1;                      // … or a variable slot
  std::vector<std::string> values;   // kEquals (one) / kIn
  bool exists = true;                // kExists: true = must have a non-empty value
  std::shared_ptr<const boost::regex> pattern;  // kMatches: the whole value matches
  std::vector<Condition> children;   // kAll / kAny / kNot (one)
};

enum class ValueType { kString, kCode, kInteger, kDecimal, kBoolean, kDate, kDateTime, kInstant, kBase64, kBase64Binary };
enum class TableField { kCode, kSystem, kDisplay };
/// "$comparator": which part of a value with a leading comparator is kept (convert.h).
enum class ComparatorPart { kNone, kComparator, kValue };

/// What happens to a text value once read: conversion, lookup, checks. What every value looks at
/// comes first, so that with the node's own fields before it (PlanNode) it takes about the first
/// hundred bytes of the node; the texts, which a value rarely reads, come after.
struct Modifiers {
  ValueType as = ValueType::kString;
  TimeSyntax time_syntax = TimeSyntax::kHl7;  // how the source writes the times "$as" reads
  TableField table_field = TableField::kCode;
  ComparatorPart comparator = ComparatorPart::kNone;  // "$comparator": like "$match", without a regex
  std::optional<PersonIdKind> person_id;  // "$check": a Norwegian person number of this kind
  bool has_default = false;
  bool default_plain = false;  // no byte of default_value needs a JSON escape
  bool has_prefix = false;     // prefix is not empty
  bool must = false;           // required is not empty
  int group = 0;                            // "$match": the whole match (0) or one capture group
  const TerminologyTable* table = nullptr;
  std::shared_ptr<const boost::regex> match;  // "$match": keep only this part of the text
  std::string required;  // non-empty: absence is an error with this text
  std::string prefix;  // prepended to a string result, e.g. "urn:oid:"
  std::string default_value;
  std::string separator;                    // "$join": between the joined values
};

/// A literal piece or a variable slot of a "{{var}}" template string.
struct TemplatePart {
  /// How a variable's value is written into a request URL (request.url, request.ifNoneExist):
  /// as one path segment, or as a search parameter's value. Elsewhere as it is.
  enum class Escape : std::uint8_t { kNone, kPathSegment, kSearchValue };
  std::string literal;
  int var = -1;
  Escape escape = Escape::kNone;
};

// What the evaluator reads for every node comes first; the constant and the place in the file,
// which it rarely reads, last.
struct PlanNode {
  enum class Op : std::uint8_t { kConst, kTemplate, kObject, kArray, kPath, kVar, kEach, kFirst, kIf, kRef, kRefs, kJoin };
  Op op = Op::kConst;
  bool dynamic = true;  // reads the message; objects and arrays whose dynamic parts all come out
                        // empty are left out, constants beside them notwithstanding
  bool plain_keys = false;  // kObject: no member key needs a JSON escape
  int var = -1;                                                       // kVar
  const PlanNode* use = nullptr;                                      // datatype template
  std::unique_ptr<SourcePath> path;                                   // kPath, kEach, kFirst
  std::unique_ptr<Condition> where;                                   // kEach, kFirst, kIf
  std::unique_ptr<PlanNode> body;  // kEach/kFirst "$do"; kIf then; kJoin the values joined
  std::unique_ptr<PlanNode> otherwise;                                // kIf else
  Modifiers mods;
  std::vector<std::pair<std::string, std::unique_ptr<PlanNode>>> members;  // kObject
  std::vector<std::unique_ptr<PlanNode>> items;                       // kArray
  std::vector<TemplatePart> parts;                                    // kTemplate
  std::string ref;                                                    // kRef, kRefs: resource name
  JsonNode constant;                                                  // kConst
  std::string where_in_file;                                          // "file:line:column"
};

/// One resource (or one per iteration with forEach) in the output Bundle.
struct ResourcePlan {
  std::string name;
  std::string resource_type;
  std::string where_in_file;  // "file:line:column" of its resourceType
  std::unique_ptr<Condition> when;
  std::unique_ptr<SourcePath> for_each;
  /// Variables of the occurrence ("let" inside the resource): slot and value, computed in order
  /// for each occurrence before "where", the key and the body.
  std::vector<std::pair<int, std::unique_ptr<PlanNode>>> lets;
  std::unique_ptr<Condition> where;         // per occurrence: skip those that fail
  std::unique_ptr<PlanNode> key;            // business key → deterministic id
  std::string method = "POST";
  std::unique_ptr<PlanNode> method_node;    // a method chosen per message ($if …)
  std::unique_ptr<PlanNode> url;            // default: type (POST) or type/id (PUT)
  std::unique_ptr<PlanNode> if_none_exist;
  std::unique_ptr<PlanNode> body;
};

/// A named datatype map (CX → Identifier, XPN → HumanName …), shared by a format's mappings.
struct DatatypePlan {
  std::string name;
  std::string file;
  std::unique_ptr<PlanNode> body;
};

}  // namespace helsebro::mapping
