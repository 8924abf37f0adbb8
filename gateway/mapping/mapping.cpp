#include "gateway/mapping/mapping.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <new>
#include <fstream>
#include <sstream>

#include "gateway/core/files.h"
#include "gateway/core/ids.h"
#include "gateway/mapping/bundle_writer.h"
#include "gateway/mapping/compiler.h"
#include "gateway/mapping/evaluator.h"

namespace helsebro::mapping {
namespace {

namespace fs = std::filesystem;

// The texts the usual Bundle copies (decoded, converted) fit; bigger ones take more memory from
// the heap as they grow.
constexpr std::size_t kTextBufferBytes = 64 * 1024;

Result<std::string> read_mapping_file(const fs::path& file) {
  auto text = helsebro::read_file(file);
  if (!text) return Error{Errc::kInvalidValue, file.string() + ": cannot be read"};
  return std::move(*text);
}

// One Bundle entry before its body is evaluated.
struct Entry {
  const ResourcePlan* plan;
  SourceNode context;
  std::string_view full_url;  // "urn:uuid:" and the id, in the evaluator's arena
  std::size_t occurrence;     // 1-based, among the occurrences of its forEach

  std::string_view id() const { return full_url.substr(9); }
};

// "urn:uuid:" and the UUID v5 of `name`, in the arena (it lives as long as the document).
std::string_view full_url_of(std::string_view name, TextArena& arena) {
  constexpr std::string_view kScheme = "urn:uuid:";
  char* url = static_cast<char*>(arena.Malloc(kScheme.size() + 36));
  if (url == nullptr) throw std::bad_alloc();  // the pool returns null when malloc does
  std::memcpy(url, kScheme.data(), kScheme.size());
  format_uuid(uuid_v5_bytes(kResourceNamespace, name), url + kScheme.size());
  return {url, kScheme.size() + 36};
}

// A string member of the object being built; `value` must outlive the tape. The keys are the
// engine's own; `plain`: so is the value, or it is known to need no escape.
void add_string(JsonTape& tape, std::string_view key, std::string_view value, bool plain = false) {
  tape.push_string(value, plain);
  tape.set_key(tape.size() - 1, key, true);
}

// The resource's own variables and $occurrence, for one occurrence.
void set_occurrence_vars(Evaluator& eval, const ResourcePlan& plan, const SourceNode& context,
                         std::size_t occurrence) {
  eval.set_var(kOccurrenceVar, eval.keep(std::to_string(occurrence)));
  for (const auto& [slot, let] : plan.lets) {
    eval.set_var(slot, eval.string(*let, context));
    if (eval.failed()) return;
  }
}

}  // namespace

Mapping::Mapping() = default;
Mapping::~Mapping() = default;
Mapping::Mapping(Mapping&&) noexcept = default;
Mapping& Mapping::operator=(Mapping&&) noexcept = default;

bool Mapping::accepts_version(std::string_view version) const {
  if (versions_.empty()) return true;
  for (const std::string& v : versions_) {
    if (version.rfind(v, 0) == 0) return true;
  }
  return false;
}

bool Mapping::accepts_payload(std::string_view name) const {
  if (payloads_.empty()) return true;
  return std::find(payloads_.begin(), payloads_.end(), name) != payloads_.end();
}

Result<Translation> Mapping::translate(const SourceView& view, const MessageFacts& facts,
                                       const BundleCheck& check) const {
  try {
    return translate_unguarded(view, facts, check);
  } catch (const std::exception& e) {
    return Error{Errc::kMappingFailed, "mapping '" + name_ + "': translation stopped: " + e.what()};
  }
}

namespace {

// Whether the values at `a` and `b` on the tape are written the same.
bool same_value(const JsonTape& tape, std::size_t a, std::size_t b) {
  if (tape[a].span != tape[b].span) return false;
  for (std::uint32_t i = 0; i < tape[a].span; ++i) {
    const JsonToken& x = tape[a + i];
    const JsonToken& y = tape[b + i];
    if (x.kind != y.kind || x.size != y.size || x.key_view() != y.key_view()) return false;
    switch (x.kind) {
      case JsonToken::Kind::kString:
      case JsonToken::Kind::kNumber:
        if (x.text_view() != y.text_view()) return false;
        break;
      case JsonToken::Kind::kInt:
        if (x.integer != y.integer) return false;
        break;
      case JsonToken::Kind::kDouble:
        if (x.real != y.real) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

}  // namespace

Result<Translation> Mapping::translate_unguarded(const SourceView& view, const MessageFacts& facts,
                                                 const BundleCheck& check) const {
  // The texts the evaluator makes live in a buffer of this thread, reused by every translation it
  // makes, so that they cost no malloc (and no page faults) unless a Bundle outgrows the buffer.
  thread_local const std::unique_ptr<char[]> text_buffer(new char[kTextBufferBytes]);
  thread_local JsonTape tape;
  tape.clear();
  TextArena arena(text_buffer.get(), kTextBufferBytes);
  thread_local Evaluator::Scratch scratch;
  Evaluator eval(view, tape, arena, var_names_.size(), scratch);
  eval.accept_invalid_person_id(facts.accept_invalid_person_id);
  const SourceNode root = view.root();
  eval.set_var(0, facts.message_id);
  eval.set_var(1, facts.message_type);
  if (facts.received_at > 0) {
    // Instant in UTC from epoch milliseconds.
    const std::time_t seconds = static_cast<std::time_t>(facts.received_at / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(facts.received_at % 1000));
    eval.set_var(2, eval.keep(buf));
  }
  for (std::size_t slot = kBuiltinVarCount; slot < lets_.size(); ++slot) {
    eval.set_var(static_cast<int>(slot), eval.string(*lets_[slot], root));
    if (eval.failed()) return *eval.error();
  }

  // Ids first, so that every body can reference every entry. Kept by the thread from one Bundle
  // to the next, as the Bundle's own texts are.
  thread_local std::vector<Entry> entries;
  thread_local std::vector<SourceNode> contexts;
  entries.clear();
  std::string name;  // what an id is made from; below, a URL by id
  for (const ResourcePlan& plan : resources_) {
    eval.set_var(kOccurrenceVar, std::nullopt);  // "when" decides before any occurrence exists
    if (plan.when && !eval.test(*plan.when, root)) continue;
    contexts.clear();
    if (plan.for_each) view.select(root, *plan.for_each, contexts);
    else contexts.push_back(root);
    for (std::size_t i = 0; i < contexts.size(); ++i) {
      set_occurrence_vars(eval, plan, contexts[i], i + 1);
      if (eval.failed()) return *eval.error();
      if (plan.where && !eval.test(*plan.where, contexts[i])) continue;
      std::optional<std::string_view> key;
      if (plan.key) key = eval.string(*plan.key, contexts[i]);
      if (eval.failed()) return *eval.error();
      if (key) name.assign(plan.resource_type).append("|").append(*key);
      else name.assign(facts.message_id).append("|").append(plan.name).append("|").append(std::to_string(i));
      entries.push_back(Entry{&plan, contexts[i], full_url_of(name, arena), i + 1});
      eval.add_ref(plan.name, entries.back().full_url, contexts[i]);
    }
  }
  // Two entries with one id would make the server refuse the whole transaction. Written the
  // same, they are one resource said twice (a panel's OBRs each repeat the one specimen's SPM):
  // the first stays and the others go. Written differently, the later one is named (below).
  thread_local std::vector<std::pair<std::string_view, std::size_t>> ids;
  thread_local std::vector<std::pair<std::size_t, std::size_t>> twins;  // (entry, the first with its id)
  ids.clear();
  twins.clear();
  for (std::size_t i = 0; i < entries.size(); ++i) ids.emplace_back(entries[i].id(), i);
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 1, first = 0; i < ids.size(); ++i) {
    if (ids[i].first != ids[i - 1].first) {
      first = i;
      continue;
    }
    twins.emplace_back(ids[i].second, ids[first].second);
  }
  thread_local std::vector<std::size_t> entry_at;  // each entry's place on the tape
  entry_at.assign(entries.size(), 0);

  const std::size_t bundle = tape.open(JsonToken::Kind::kObject);
  add_string(tape, "resourceType", "Bundle", true);
  add_string(tape, "type", "transaction", true);
  const std::size_t list = tape.open(JsonToken::Kind::kArray);
  tape.set_key(list, "entry", true);
  for (const Entry& e : entries) {
    const ResourcePlan& plan = *e.plan;
    // The same values as in the id pass, which noted their waived checks already.
    const std::size_t noted = eval.warnings().size();
    set_occurrence_vars(eval, plan, e.context, e.occurrence);
    eval.warnings().resize(noted);
    eval.set_building(plan.name);
    const std::size_t entry = tape.open(JsonToken::Kind::kObject);
    entry_at[static_cast<std::size_t>(&e - entries.data())] = entry;
    add_string(tape, "fullUrl", e.full_url, true);  // "urn:uuid:" and the id
    const std::size_t resource = tape.open(JsonToken::Kind::kObject);
    tape.set_key(resource, "resource", true);
    add_string(tape, "resourceType", plan.resource_type, true);  // letters (the compiler checks)
    // The id of a PUT by id; taken out again below when the request is something else.
    const std::size_t id = tape.size();
    add_string(tape, "id", e.id(), true);
    const std::size_t body = tape.size();
    eval.members(*plan.body, e.context);
    if (eval.failed()) return *eval.error();
    for (std::size_t i = body; i < tape.size();) {  // the entry's own, not the body's
      const std::string_view key = tape[i].key_view();
      if (key == "resourceType" || key == "id") tape.erase_value(i);
      else i += tape[i].span;
    }
    // A PUT whose conditional URL cannot be formed (its key is missing) writes by id instead.
    std::optional<std::string_view> url;
    if (plan.url) url = eval.string(*plan.url, e.context);
    if (eval.failed()) return *eval.error();
    std::string_view method = plan.method;
    std::optional<std::string_view> chosen;
    if (plan.method_node) {
      chosen = eval.string(*plan.method_node, e.context);
      if (eval.failed()) return *eval.error();
      if (!chosen || (*chosen != "POST" && *chosen != "PUT")) {
        return Error{Errc::kMappingFailed, "mapping '" + name_ + "', resource '" + plan.name +
                                               "': request.method came out '" + std::string(chosen.value_or("")) +
                                               "', not POST or PUT"};
      }
      method = *chosen == "PUT" ? "PUT" : "POST";
    }
    const bool put_by_id = method == "PUT" && !url;
    if (!put_by_id) tape.erase_one(id);
    tape.close(resource);
    const std::size_t request = tape.open(JsonToken::Kind::kObject);
    tape.set_key(request, "request", true);
    add_string(tape, "method", method, true);
    if (url) {
      add_string(tape, "url", *url);
    } else if (put_by_id) {
      name.assign(plan.resource_type).append("/").append(e.id());
      add_string(tape, "url", eval.keep(name));
    } else {
      add_string(tape, "url", plan.resource_type, true);
    }
    if (plan.if_none_exist && method == "POST") {
      if (auto cond = eval.string(*plan.if_none_exist, e.context)) add_string(tape, "ifNoneExist", *cond);
    }
    if (eval.failed()) return *eval.error();
    tape.close(request);
    tape.close(entry);
  }
  // The twins, from the last on the tape: taking one out moves only what comes after it.
  std::sort(twins.begin(), twins.end(), [](const auto& a, const auto& b) { return entry_at[a.first] > entry_at[b.first]; });
  for (const auto& [twin, first] : twins) {
    if (!same_value(tape, entry_at[twin], entry_at[first])) {
      return Error{Errc::kMappingFailed,
                   "mapping '" + name_ + "', resource '" + entries[twin].plan->name +
                       "': two occurrences have the same key but differ, so they would be one resource; the "
                       "key must tell them apart",
                   view.locate(entries[twin].context)};
    }
    tape.erase_value(entry_at[twin]);
  }
  tape.close(list);
  if (tape[list].size == 0) return Error{Errc::kMappingFailed, "mapping '" + name_ + "' produced no resources"};
  tape.close(bundle);
  Translation out;
  out.mapping = name_;
  out.resources = tape[list].size;
  eval.set_var(kOccurrenceVar, std::nullopt);
  if (ordering_key_) out.ordering_key = eval.string(*ordering_key_, root).value_or("");
  if (eval.failed()) return *eval.error();
  out.warnings = std::move(eval.warnings());  // the ordering key's too
  if (check) {
    if (auto checked = check(tape); !checked) return checked.error();
  }
  write_json(tape, out.bundle);
  return out;
}

MappingSet::MappingSet() = default;
MappingSet::~MappingSet() = default;

const Mapping* MappingSet::find(std::string_view format, std::string_view message_type) const {
  std::string key;
  key.reserve(format.size() + message_type.size() + 1);
  key.append(format).append("|").append(message_type);
  auto it = by_type_.find(key);
  return it == by_type_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<const MappingSet>> MappingSet::load(const std::string& dir,
                                                           const Dialects& dialects) {
  auto set = std::make_shared<MappingSet>();
  set->directory_ = dir;
  if (!fs::is_directory(dir)) return Error{Errc::kInvalidValue, dir + ": not a directory"};
  auto tables = json_files(fs::path(dir) / "terminology");
  if (!tables) return tables.error();
  for (const fs::path& file : *tables) {
    auto text = read_mapping_file(file);
    if (!text) return text.error();
    auto table = TerminologyTable::load(file.string(), *text);
    if (!table) return table.error();
    const std::string name = table->name();
    if (!set->terminology_.emplace(name, std::move(*table)).second) {
      return Error{Errc::kInvalidValue, file.string() + ": table '" + name + "' is defined twice"};
    }
  }
  for (const auto& [format, dialect] : dialects) {
    std::map<std::string, Compiler::PendingDatatype> pending;
    auto datatypes = json_files(fs::path(dir) / format / "datatypes");
    if (!datatypes) return datatypes.error();
    for (const fs::path& file : *datatypes) {
      auto text = read_mapping_file(file);
      if (!text) return text.error();
      auto tree = parse_json_tree(*text);
      if (!tree) return Error{Errc::kInvalidValue, file.string() + ":" + tree.error().detail};
      const JsonNode* name = tree->find("datatype");
      const JsonNode* body = tree->find("template");
      if (name == nullptr || !name->is_string() || body == nullptr) {
        return Error{Errc::kInvalidValue, file.string() + ":" + std::to_string(tree->line) + ":" +
                                              std::to_string(tree->column) +
                                              ": a datatype map needs \"datatype\" and \"template\""};
      }
      pending[name->string] = Compiler::PendingDatatype{file.string(), *body, false};
    }
    Compiler::SharedParts parts;
    auto shared = json_files(fs::path(dir) / format / "shared");
    if (!shared) return shared.error();
    for (const fs::path& file : *shared) {
      auto text = read_mapping_file(file);
      if (!text) return text.error();
      auto tree = parse_json_tree(*text);
      if (!tree) return Error{Errc::kInvalidValue, file.string() + ":" + tree.error().detail};
      auto name = Compiler::shared_part_name(file.string(), *tree);
      if (!name) return name.error();
      if (auto it = parts.find(*name); it != parts.end()) {
        return Error{Errc::kInvalidValue, file.string() + ": shared part '" + *name + "' is already defined in " +
                                              it->second.file};
      }
      parts.emplace(*name, Compiler::SharedPart{file.string(), std::move(*tree)});
    }
    auto files = json_files(fs::path(dir) / format);
    if (!files) return files.error();
    for (const fs::path& file : *files) {
      auto text = read_mapping_file(file);
      if (!text) return text.error();
      auto tree = parse_json_tree(*text);
      if (!tree) return Error{Errc::kInvalidValue, file.string() + ":" + tree.error().detail};
      Compiler compiler(*set, *dialect, pending, &parts);
      auto mapping = compiler.compile_mapping(file.string(), *tree);
      if (!mapping) return mapping.error();
      for (const std::string& type : (*mapping)->message_types()) {
        const std::string key = format + "|" + type;
        if (auto it = set->by_type_.find(key); it != set->by_type_.end()) {
          return Error{Errc::kInvalidValue, file.string() + ": " + type + " is already taken by " +
                                                it->second->file()};
        }
        set->by_type_.emplace(key, mapping->get());
      }
      set->mappings_.push_back(std::move(*mapping));
    }
    for (const auto& [name, p] : pending) {  // unused maps are checked too
      Compiler compiler(*set, *dialect, pending);
      auto dt = compiler.datatype(name, p.body);
      if (!dt) return dt.error();
    }
  }
  return std::shared_ptr<const MappingSet>(std::move(set));
}

}  // namespace helsebro::mapping
