#pragma once
// The compiled form of a mapping: a tree of plan nodes built once from the JSON file, so that
// translating a message never parses an expression. Internal to gateway/mapping.

#include <memory>
#include <string>
#include <vector>

#include "gateway/mapping/convert.h"
#include "gateway/mapping/json_tree.h"
#include "gateway/mapping/source.h"
#include "gateway/mapping/terminology.h"

namespace helsebro::mapping {

struct PlanNode;

struct Condition {
  enum class Kind { kEquals, kIn, kExists, kAll, kAny, kNot };
  Kind kind = Kind::kExists;
  std::unique_ptr<SourcePath> path;  // either a path …
  int var = -1;                      // … or a variable slot
  std::vector<std::string> values;   // kEquals (one) / kIn
  bool exists = true;                // kExists: true = must have a non-empty value
  std::vector<Condition> children;   // kAll / kAny / kNot (one)
};

enum class ValueType { kString, kCode, kInteger, kDecimal, kBoolean, kDate, kDateTime, kInstant };
enum class TableField { kCode, kSystem, kDisplay };
enum class Check { kNone, kNorwegianPersonId };

/// What happens to a text value once read: conversion, lookup, checks.
struct Modifiers {
  ValueType as = ValueType::kString;
  const TerminologyTable* table = nullptr;
  TableField table_field = TableField::kCode;
  Check check = Check::kNone;
  std::string required;  // non-empty: absence is an error with this text
  bool has_default = false;
  std::string default_value;
  std::string prefix;  // prepended to a string result, e.g. "urn:oid:"
};

/// A literal piece or a variable slot of a "{{var}}" template string.
struct TemplatePart {
  std::string literal;
  int var = -1;
};

struct PlanNode {
  enum class Op { kConst, kTemplate, kObject, kArray, kPath, kVar, kEach, kFirst, kIf, kRef, kRefs };
  Op op = Op::kConst;
  JsonNode constant;                                                  // kConst
  std::vector<TemplatePart> parts;                                    // kTemplate
  std::vector<std::pair<std::string, std::unique_ptr<PlanNode>>> members;  // kObject
  std::vector<std::unique_ptr<PlanNode>> items;                       // kArray
  std::unique_ptr<SourcePath> path;                                   // kPath, kEach, kFirst
  int var = -1;                                                       // kVar
  std::unique_ptr<Condition> where;                                   // kEach, kFirst, kIf
  std::unique_ptr<PlanNode> body;                                     // kEach/kFirst "$do"; kIf then
  std::unique_ptr<PlanNode> otherwise;                                // kIf else
  const PlanNode* use = nullptr;                                      // datatype template
  std::string ref;                                                    // kRef, kRefs: resource name
  Modifiers mods;
  bool dynamic = true;  // reads the message; objects and arrays whose dynamic parts all come out
                        // empty are left out, constants beside them notwithstanding
  std::string where_in_file;                                          // "file:line:column"
};

/// One resource (or one per iteration with forEach) in the output Bundle.
struct ResourcePlan {
  std::string name;
  std::string resource_type;
  std::unique_ptr<Condition> when;
  std::unique_ptr<SourcePath> for_each;
  std::unique_ptr<PlanNode> key;            // business key → deterministic id
  std::string method = "POST";
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
