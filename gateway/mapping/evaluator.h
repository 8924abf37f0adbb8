#pragma once
// Runs a compiled plan against one source message. Internal to gateway/mapping.

#include <optional>
#include <rapidjson/allocators.h>
#include <string>
#include <vector>

#include "gateway/core/json_tape.h"
#include "gateway/mapping/plan_node.h"

namespace helsebro::mapping {

/// Where the evaluator copies the texts it makes (decoded, converted, joined): freed all at once.
using TextArena = rapidjson::MemoryPoolAllocator<>;

/// One evaluation: not shared between threads; lives for one message.
class Evaluator {
 public:
  /// An entry of the Bundle as references see it.
  struct Ref {
    std::string_view name;
    std::string_view full_url;
    SourceNode context;
  };
  /// The room an evaluation works in, kept by a thread from one message to the next, so that
  /// evaluating allocates nothing once it has grown. One evaluator at a time may use it. Each
  /// evaluator empties the lists; the texts keep the last message's bytes until overwritten, and
  /// no one reads them before.
  struct Scratch {
    std::vector<std::optional<std::string_view>> vars;
    std::vector<Ref> refs;
    std::vector<SourceNode> selected;  // the nodes of every selection still in use (Selection)
    std::string read;                  // a value's text where it had to be decoded
    std::string work;                  // a value's text while it is converted
    std::string joined;                // a template's text while it is joined
    boost::cmatch match;               // "$match"

    /// Gives back the room a big message made (a long text decoded or converted), so that a
    /// thread does not keep it for every message after.
    void trim() {
      constexpr std::size_t kKeptBytes = 256 * 1024;
      for (std::string* s : {&read, &work, &joined}) {
        if (s->capacity() > kKeptBytes) std::string().swap(*s);
      }
      if (selected.capacity() > kKeptBytes / sizeof(SourceNode)) std::vector<SourceNode>().swap(selected);
      if (refs.capacity() > kKeptBytes / sizeof(Ref)) std::vector<Ref>().swap(refs);
    }
  };

  /// Values are appended to `tape`; texts they reference live in the plan, in the message and in
  /// `arena`, all of which must outlive the tape's use.
  Evaluator(const SourceView& view, JsonTape& tape, TextArena& arena, std::size_t var_count, Scratch& scratch)
      : view_(view), tape_(tape), arena_(arena), scratch_(scratch), vars_(scratch.vars), refs_(scratch.refs),
        selected_(scratch.selected), read_(scratch.read), work_(scratch.work), joined_(scratch.joined),
        match_(scratch.match) {
    vars_.assign(var_count, std::nullopt);
    refs_.clear();
    selected_.clear();
  }
  ~Evaluator() { scratch_.trim(); }
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  /// Appends the node's value to the tape; false when it yields nothing (absent: the tape is as it
  /// was) or on error.
  bool value(const PlanNode& n, const SourceNode& context);
  /// Appends the members of an object node to the object being built (a resource around its
  /// body), its constants even when nothing else came out.
  void members(const PlanNode& n, const SourceNode& context);
  /// A copy of `text` in the arena, for the tape.
  std::string_view keep(std::string_view text);
  bool test(const Condition& c, const SourceNode& context);
  /// Evaluates to a plain string (templates, keys, URLs); nullopt when absent. The text lives as
  /// long as the tape's texts: in the plan, the message or the arena.
  std::optional<std::string_view> string(const PlanNode& n, const SourceNode& context);

  /// `v` must live as long as the evaluator (keep() it when it would not).
  void set_var(int slot, std::optional<std::string_view> v) { vars_[static_cast<std::size_t>(slot)] = v; }
  /// An entry of the Bundle: resources reference it by name, from within its context or not.
  /// Both texts are referenced: they must outlive the evaluator and the document (the plan's
  /// resource name, the entry's URL).
  void add_ref(std::string_view name, std::string_view full_url, const SourceNode& context) {
    refs_.push_back({name, full_url, context});
  }
  /// The resource whose body is evaluated next: "$refs": "*" leaves its own entries out.
  void set_building(std::string_view name) { building_ = name; }
  /// Invalid person ids are kept (and noted in warnings()) instead of refusing the message.
  void accept_invalid_person_id(bool accept) { accept_invalid_person_id_ = accept; }
  std::vector<std::string>& warnings() { return warnings_; }
  const std::optional<Error>& error() const { return error_; }
  bool failed() const { return error_.has_value(); }

 private:
  class Selection;

  /// Where a text lies, for the tape: the mapping plan (a table's coding, a default) outlives it.
  enum class TextHome : std::uint8_t { kElsewhere, kPlan, kPlanPlain };

  /// `occurrence`: one of several a "$each" reads; coming out empty is then no error, since
  /// "$required" asks only that one of them yields a value (collect() checks that).
  bool text_value(const PlanNode& n, std::string_view text, const SourceNode* node, bool occurrence = false);
  bool converted_value(const PlanNode& n, std::string_view text, const SourceNode* node,
                       TextHome home = TextHome::kElsewhere);
  /// `plain`: no byte of `text` needs a JSON escape.
  void push_copy(std::string_view text, bool plain = false) { tape_.push_string(keep(text), plain); }
  void push_constant(const JsonNode& j);
  /// The "$refs" References, each an object appended to the array being built.
  void push_refs(const PlanNode& n, const SourceNode& context);
  /// The first non-empty text `path` reaches from `context` (into read_ or the message).
  std::string_view first_text(const SourcePath& path, const SourceNode& context);
  bool from_node(const PlanNode& n, const SourceNode& node);
  /// Appends the members that come out; true when one of them read the message (or the node
  /// is constant).
  bool object_members(const PlanNode& n, const SourceNode& context);
  /// Appends each value of a "$each" to the array being built.
  void collect(const PlanNode& n, const SourceNode& context);
  bool missing(const PlanNode& n, const SourceNode* node);
  void fail(Errc code, std::string detail, const PlanNode& n, const SourceNode* node);

  const Ref* resolve_ref(std::string_view name, const SourceNode& from) const;

  const SourceView& view_;
  JsonTape& tape_;
  TextArena& arena_;
  Scratch& scratch_;
  // In it:
  std::vector<std::optional<std::string_view>>& vars_;
  std::vector<Ref>& refs_;
  std::vector<SourceNode>& selected_;
  std::string& read_;
  std::string& work_;
  std::string& joined_;
  boost::cmatch& match_;
  std::string_view building_;
  std::optional<Error> error_;
  bool accept_invalid_person_id_ = false;
  std::vector<std::string> warnings_;
};

}  // namespace helsebro::mapping
