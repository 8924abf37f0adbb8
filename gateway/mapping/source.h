#pragma once
// What a mapping reads from: a message of any format, addressed by paths the format's adapter
// compiles once (HL7 v2 `PID-3[2].4.1`; later XPath for KITH XML, FHIRPath-like for FHIR JSON).
// The engine never interprets a path itself; it only asks the view to resolve compiled paths.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/result.h"

namespace helsebro::mapping {

/// A position in a source message. Opaque to the engine: each adapter packs its own meaning
/// (for HL7 v2: level, segment, field, repetition, component, sub-component).
struct SourceNode {
  std::uint32_t kind = 0;
  std::uint32_t a = 0, b = 0, c = 0, d = 0, e = 0;
};

/// A path compiled by an adapter. Immutable, shared by every message the mapping translates.
class SourcePath {
 public:
  virtual ~SourcePath() = default;
  /// The text the path was compiled from, for error messages.
  virtual const std::string& text() const = 0;
  /// Where the path points, for a NAK's ERR segment (e.g. segment PID, field 3).
  virtual Location location() const = 0;
};

/// Compiles path text for one format. Stateless and thread-safe.
class SourceDialect {
 public:
  virtual ~SourceDialect() = default;
  virtual std::string_view format() const = 0;
  virtual Result<std::unique_ptr<SourcePath>> compile(std::string_view text) const = 0;
  /// The kinds of message this format's envelope carries as its content, by name (KITH: the
  /// schema index's message names, "Dialogmelding"): a mapping of such a format must name the
  /// ones it reads ("accepts.payloads"), so that a message whose type and content disagree is
  /// refused instead of translated into next to nothing. Empty: the format has no such content.
  virtual bool has_payloads() const { return false; }
  virtual bool knows_payload(std::string_view /*name*/) const { return false; }
};

/// One message, as the engine sees it. Used by one thread at a time.
class SourceView {
 public:
  virtual ~SourceView() = default;
  virtual SourceNode root() const = 0;
  /// Appends every node the path reaches from `context` (all repetitions / occurrences).
  virtual void select(const SourceNode& context, const SourcePath& path,
                      std::vector<SourceNode>& out) const = 0;
  /// The decoded text of a node; "" when absent or empty.
  virtual std::string text(const SourceNode& node) const = 0;
  /// The same text without a copy where the message holds it as it is: a view into the message,
  /// or into `scratch` when it had to be decoded. Valid while both are unchanged.
  virtual std::string_view text_view(const SourceNode& node, std::string& scratch) const {
    scratch = text(node);
    return scratch;
  }
  /// True when the node holds the explicit null `""` (HL7 v2), distinct from empty.
  virtual bool is_null(const SourceNode& node) const = 0;
  /// nullopt when is_null(node), else text_view(node, scratch): what reading a value asks, in one
  /// lookup where the format can.
  virtual std::optional<std::string_view> text_unless_null(const SourceNode& node,
                                                           std::string& scratch) const {
    if (is_null(node)) return std::nullopt;
    return text_view(node, scratch);
  }
  /// The first node `path` reaches from `context` whose text is not empty, and that text as
  /// text_view() gives it; with `skip_null`, nodes holding the explicit null are passed over as
  /// text_unless_null() does. nullopt when there is none. What conditions and plain values read;
  /// a format may find it without listing the nodes. `stack` is scratch space for them (left as
  /// it was found).
  struct FirstText {
    SourceNode node;
    std::string_view text;
  };
  virtual std::optional<FirstText> first_text(const SourceNode& context, const SourcePath& path,
                                              bool skip_null, std::string& scratch,
                                              std::vector<SourceNode>& stack) const {
    const std::size_t begin = stack.size();
    select(context, path, stack);
    std::optional<FirstText> found;
    for (std::size_t i = begin; i < stack.size() && !found; ++i) {
      const SourceNode node = stack[i];
      std::optional<std::string_view> text;
      if (skip_null) text = text_unless_null(node, scratch);
      else text = text_view(node, scratch);
      if (text && !text->empty()) found = FirstText{node, *text};
    }
    stack.resize(begin);
    return found;
  }
  /// Where a node is, for error messages and a NAK's ERR segment (e.g. PID-3[2].4).
  virtual Location locate(const SourceNode& node) const = 0;
  /// True when `inner` lies within `outer` (or is it): a group holds its segments and groups.
  virtual bool contains(const SourceNode& outer, const SourceNode& inner) const = 0;

  /// True when `text` lies within the message's own bytes, which stay as they are while the view
  /// lives: a value read there is referenced, not copied.
  bool holds(std::string_view text) const {
    const auto from = reinterpret_cast<std::uintptr_t>(text.data());
    const auto begin = reinterpret_cast<std::uintptr_t>(bytes_.data());
    return from >= begin && from + text.size() <= begin + bytes_.size();
  }
  /// True when `text` lies within the part of the message's bytes that its format has found free
  /// of anything a JSON string escapes: the Bundle writer copies such a value as it is.
  bool holds_plain(std::string_view text) const {
    const auto from = reinterpret_cast<std::uintptr_t>(text.data());
    const auto begin = reinterpret_cast<std::uintptr_t>(plain_.data());
    return from >= begin && from + text.size() <= begin + plain_.size();
  }

 protected:
  /// A format that keeps the message as one text says which, for holds().
  void set_bytes(std::string_view bytes) { bytes_ = bytes; }
  /// A part of those bytes in which no value's text needs a JSON escape, for holds_plain().
  void set_plain_bytes(std::string_view bytes) { plain_ = bytes; }

 private:
  std::string_view bytes_;
  std::string_view plain_;
};

}  // namespace helsebro::mapping
