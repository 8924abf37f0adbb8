#include "adapters/hl7v2/source_view.h"

#include <cstring>

#include "gateway/core/json_tape.h"

namespace helsebro::hl7v2 {

using mapping::SourceNode;

namespace {
std::uint64_t component_bit(std::uint32_t component) { return 1ULL << std::min<std::uint32_t>(component, 63); }

// The message's bytes from `from` (after MSH-2, whose encoding characters hold a backslash) to its
// end when no segment there holds a byte a JSON string escapes; else none. A value lies within one
// segment, so the terminators between them do not count.
std::string_view plain_bytes(const Message& message, std::size_t from) {
  const std::string_view buffer = message.buffer();
  if (from > buffer.size()) return {};
  for (std::uint32_t seg = 0; seg < message.segment_count(); ++seg) {
    std::string_view text = message.segment_text(seg);
    const auto offset = static_cast<std::size_t>(text.data() - buffer.data());
    if (offset + text.size() <= from) continue;
    if (offset < from) text.remove_prefix(from - offset);
    if (!json_plain(text)) return {};
  }
  return buffer.substr(from);
}
}  // namespace

SourceView::SourceView(const Message& message) : message_(message) {
  set_bytes(message.buffer());
  if (message.segment_count() > 0 && message.segment_id(0) == "MSH") {
    if (const FieldEntry* msh2 = message.field_entry(0, 2)) {
      escapes_ = message.buffer().find(message.delimiters().escape, msh2->span.end) != std::string::npos;
      set_plain_bytes(plain_bytes(message, msh2->span.end));
    }
  }
  std::size_t fields = 0;
  for (std::size_t s = 0; s < message.segment_count(); ++s) fields += message.field_count(s);
  read_.assign(fields, 0);
}

void SourceView::mark(const SourceNode& node) const {
  if (node.kind < kRepetitionNode || node.kind > kSubcomponentNode) return;
  const std::size_t index = message_.segment_entry(node.a).first_field + node.b - 1;
  if (index >= read_.size()) return;
  if (node.kind == kSubcomponentNode) {
    const std::uint32_t repetition = node.c == 0 ? 1 : node.c;
    // A component without sub-components, read as its first: the component is read.
    const auto comp = message_.component_entry(node.a, node.b, repetition, node.d);
    if (comp && comp->sub_count <= 1) {
      mark(SourceNode{kComponentNode, node.a, node.b, node.c, node.d, 0});
      return;
    }
    if (SubRead* sub = find_sub_read(index, repetition, node.d)) {
      sub->bits |= component_bit(node.e);
    } else if (sub_read_count_ < sub_read_inline_.size()) {
      sub_read_inline_[sub_read_count_++] = {index, repetition, node.d, component_bit(node.e)};
    } else {
      sub_read_more_.push_back({index, repetition, node.d, component_bit(node.e)});
    }
    return;
  }
  const std::uint64_t bits = node.kind == kRepetitionNode ? 1ULL : component_bit(node.d);
  if (node.c <= 1) {
    read_[index] |= bits;
    return;
  }
  for (LaterRead& later : read_later_) {
    if (later.field == index && later.repetition == node.c) {
      later.bits |= bits;
      return;
    }
  }
  read_later_.push_back({index, node.c, bits});
}

std::uint64_t SourceView::read_bits(std::size_t field, std::uint32_t repetition) const {
  if (repetition <= 1) return read_[field];
  for (const LaterRead& later : read_later_) {
    if (later.field == field && later.repetition == repetition) return later.bits;
  }
  return 0;
}

SourceView::SubRead* SourceView::find_sub_read(std::size_t field, std::uint32_t repetition,
                                               std::uint32_t component) const {
  for (std::size_t i = 0; i < sub_read_count_; ++i) {
    SubRead& sub = sub_read_inline_[i];
    if (sub.field == field && sub.repetition == repetition && sub.component == component) return &sub;
  }
  for (SubRead& sub : sub_read_more_) {
    if (sub.field == field && sub.repetition == repetition && sub.component == component) return &sub;
  }
  return nullptr;
}

std::uint64_t SourceView::sub_read_bits(std::size_t field, std::uint32_t repetition,
                                        std::uint32_t component) const {
  const SubRead* sub = find_sub_read(field, repetition, component);
  return sub ? sub->bits : 0;
}

template <class Visit>
void SourceView::for_each_unread(Visit&& visit) const {
  for (std::uint32_t seg = 0; seg < message_.segment_count(); ++seg) {
    const bool msh = message_.segment_id(seg) == "MSH";
    for (std::uint32_t f = 1; f <= message_.field_count(seg); ++f) {
      if (msh && f <= 2) continue;
      const std::size_t field = message_.segment_entry(seg).first_field + f - 1;
      for (std::uint32_t r = 1; r <= message_.repetition_count(seg, f); ++r) {
        const std::uint64_t bits = read_bits(field, r);
        if (bits & 1ULL) continue;
        for (std::uint32_t c = 1; c <= message_.component_count(seg, f, r); ++c) {
          const std::string_view value = message_.component(seg, f, r, c);
          if (value.empty() || value == "\"\"" || (bits & component_bit(c))) continue;
          const auto comp = message_.component_entry(seg, f, r, c);
          if (!comp || comp->sub_count <= 1) {
            visit(seg, f, r, c, 0);
            continue;
          }
          // Sub-components: each one that holds something and was not read.
          const std::uint64_t subs = sub_read_bits(field, r, c);
          for (std::uint32_t s = 1; s <= comp->sub_count; ++s) {
            const std::string_view sub = message_.view(message_.subcomponent_span(*comp, s));
            if (sub.empty() || sub == "\"\"" || (subs & component_bit(s))) continue;
            visit(seg, f, r, c, s);
          }
        }
      }
    }
  }
}

std::vector<std::string> SourceView::unread() const {
  std::vector<std::string> out;
  for_each_unread([&](std::uint32_t seg, std::uint32_t f, std::uint32_t r, std::uint32_t c, std::uint32_t s) {
    const std::string_view id = message_.segment_id(seg);
    std::uint32_t occurrence = 0;
    for (std::uint32_t s = 0; s <= seg; ++s) occurrence += message_.segment_id(s) == id;
    // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on a chain of operator+.
    std::string& where = out.emplace_back(id);
    if (occurrence > 1) where.append("[").append(std::to_string(occurrence)).append("]");
    where.append("-").append(std::to_string(f));
    if (r > 1) where.append("[").append(std::to_string(r)).append("]");
    where.append(".").append(std::to_string(c));
    if (s > 0) where.append(".").append(std::to_string(s));
  });
  return out;
}

std::size_t SourceView::unread_count() const {
  std::size_t n = 0;
  for_each_unread([&n](std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t) { ++n; });
  return n;
}

SourceNode SourceView::root() const {
  return SourceNode{kGroupNode, 0, static_cast<std::uint32_t>(message_.segment_count()), 0, 0, 0};
}

template <class Visit>
bool SourceView::visit_below_repetition(const SourceNode& rep, const RepEntry& entry, std::uint32_t component,
                                        std::uint32_t subcomponent, Visit&& visit) const {
  if (component == 0) return visit(rep, message_.view(entry.span));
  const auto comp = message_.component_entry(entry, component);
  if (!comp) return false;
  if (subcomponent == 0) {
    return visit(SourceNode{kComponentNode, rep.a, rep.b, rep.c, component, 0}, message_.view(comp->span));
  }
  const std::uint32_t subs = comp->sub_count == 0 ? 1 : comp->sub_count;
  if (subcomponent > subs) return false;
  return visit(SourceNode{kSubcomponentNode, rep.a, rep.b, rep.c, component, subcomponent},
               message_.view(message_.subcomponent_span(*comp, subcomponent)));
}

template <class Visit>
bool SourceView::visit_in_segment(std::uint32_t seg, const Path& path, Visit&& visit) const {
  if (path.field == 0) return visit(SourceNode{kSegmentNode, seg, 0, 0, 0, 0}, message_.segment_text(seg));
  const FieldEntry* field = message_.field_entry(seg, path.field);
  if (field == nullptr) return false;
  const std::uint32_t first = path.repetition == 0 ? 1 : path.repetition;
  const std::uint32_t last = path.repetition == 0 ? field->rep_count : path.repetition;
  for (std::uint32_t rep = first; rep <= last && rep <= field->rep_count; ++rep) {
    const auto entry = message_.rep_entry(*field, rep);
    if (visit_below_repetition({kRepetitionNode, seg, path.field, rep, 0, 0}, *entry, path.component,
                               path.subcomponent, visit)) {
      return true;
    }
  }
  return false;
}

template <class Visit>
bool SourceView::visit_selected(const SourceNode& context, const Path& path, Visit&& visit) const {
  if (path.relative) {
    if (path.from_segment) {
      // In a group, "@-4" reads the segment that leads it.
      const bool in_segment = context.kind >= kSegmentNode && context.kind <= kSubcomponentNode;
      const bool in_group = context.kind == kGroupNode && context.c == 1;
      return (in_segment || in_group) && visit_in_segment(context.a, path, visit);
    }
    if (path.component == 0) return visit(context, raw(context));
    const bool in_repetition = context.kind == kRepetitionNode;
    if (!in_repetition && (context.kind != kComponentNode || path.subcomponent != 0)) return false;
    const auto entry = message_.rep_entry(context.a, context.b, context.c);
    if (!entry) return false;
    if (in_repetition) return visit_below_repetition(context, *entry, path.component, path.subcomponent, visit);
    const SourceNode rep{kRepetitionNode, context.a, context.b, context.c, 0, 0};
    return visit_below_repetition(rep, *entry, context.d, path.component, visit);
  }
  std::uint32_t from = 0;
  auto to = static_cast<std::uint32_t>(message_.segment_count());
  if (context.kind == kGroupNode) {
    from = context.a;
    to = context.b;
  }
  if (path.group) {
    const int level = group_level({path.segment, 3});
    for (std::uint32_t seg = from; seg < to; ++seg) {
      if (std::memcmp(message_.segment_id(seg).data(), path.segment, 3) != 0) continue;
      std::uint32_t end = seg + 1;
      while (end < to) {
        const int next = group_level(message_.segment_id(end));
        if (next >= 0 && next <= level) break;
        ++end;
      }
      // c = 1: a group led by segment a
      if (visit(SourceNode{kGroupNode, seg, end, 1, 0, 0}, message_.segment_text(seg))) return true;
    }
    return false;
  }
  std::uint32_t occurrence = 0;
  for (std::uint32_t seg = from; seg < to; ++seg) {
    if (std::memcmp(message_.segment_id(seg).data(), path.segment, 3) != 0) continue;
    ++occurrence;
    if (path.segment_index != 0 && occurrence != path.segment_index) continue;
    if (visit_in_segment(seg, path, visit)) return true;
    if (path.segment_index != 0) break;
  }
  return false;
}

void SourceView::select(const SourceNode& context, const mapping::SourcePath& base,
                        std::vector<SourceNode>& out) const {
  visit_selected(context, static_cast<const Path&>(base), [&out](const SourceNode& node, std::string_view) {
    out.push_back(node);
    return false;
  });
}

// Every plain value and every condition of a mapping comes here (hundreds per message): flattened,
// the walk, the lookups and the decoding are one function instead of seven calls.
[[gnu::flatten]] std::optional<mapping::SourceView::FirstText> SourceView::first_text(
    const SourceNode& context, const mapping::SourcePath& path, bool skip_null, std::string& scratch,
    std::vector<SourceNode>&) const {
  std::optional<FirstText> found;
  visit_selected(context, static_cast<const Path&>(path), [&](const SourceNode& node, std::string_view raw) {
    const std::optional<std::string_view> text =
        skip_null ? read_unless_null(node, raw, scratch) : read_text(node, raw, scratch);
    if (text && !text->empty()) found = FirstText{node, *text};
    return found.has_value();
  });
  return found;
}

std::string_view SourceView::raw(const SourceNode& node) const {
  switch (node.kind) {
    case kGroupNode: return node.c == 1 ? message_.segment_text(node.a) : std::string_view{};
    case kSegmentNode: return message_.segment_text(node.a);
    case kRepetitionNode: return message_.repetition(node.a, node.b, node.c);
    case kComponentNode: return message_.component(node.a, node.b, node.c, node.d);
    case kSubcomponentNode: return message_.subcomponent(node.a, node.b, node.c, node.d, node.e);
    default: return {};
  }
}

std::string SourceView::text(const SourceNode& node) const {
  std::string scratch;
  const std::string_view value = text_view(node, scratch);
  return value.data() == scratch.data() ? std::move(scratch) : std::string(value);
}

std::string_view SourceView::text_view(const SourceNode& node, std::string& scratch) const {
  return read_text(node, raw(node), scratch);
}

std::optional<std::string_view> SourceView::text_unless_null(const SourceNode& node,
                                                             std::string& scratch) const {
  return read_unless_null(node, raw(node), scratch);
}

std::string_view SourceView::read_text(const SourceNode& node, std::string_view value, std::string& scratch) const {
  mark(node);  // what a mapping reads is mapped; the rest is listed by unread()
  if (value == "\"\"") return {};
  return decoded(node, value, scratch);
}

std::optional<std::string_view> SourceView::read_unless_null(const SourceNode& node, std::string_view value,
                                                             std::string& scratch) const {
  if (value == "\"\"") return std::nullopt;
  mark(node);
  return decoded(node, value, scratch);
}

// The node's raw value as text: escapes decoded, except in the delimiters of MSH and in whole
// segments.
std::string_view SourceView::decoded(const SourceNode& node, std::string_view value,
                                     std::string& scratch) const {
  const bool msh_header = node.kind != kSegmentNode && node.b <= 2 &&
                          message_.segment_id(node.a) == "MSH";
  if (msh_header || node.kind == kSegmentNode || node.kind == kGroupNode) return value;
  if (!escapes_ || value.find(message_.delimiters().escape) == std::string_view::npos) return value;
  scratch = message_.decode(value);
  return scratch;
}

bool SourceView::is_null(const SourceNode& node) const { return raw(node) == "\"\""; }

bool SourceView::contains(const SourceNode& outer, const SourceNode& inner) const {
  // Segment range each node covers: a group [a, b); a segment or anything inside it [a, a+1).
  auto range = [](const SourceNode& n) {
    return n.kind == kGroupNode ? std::pair{n.a, n.b} : std::pair{n.a, n.a + 1};
  };
  const auto [outer_from, outer_to] = range(outer);
  const auto [inner_from, inner_to] = range(inner);
  if (outer.kind != kGroupNode && outer.kind != kSegmentNode) {
    return outer.kind == inner.kind && outer.a == inner.a && outer.b == inner.b && outer.c == inner.c &&
           outer.d == inner.d && outer.e == inner.e;
  }
  return inner_from >= outer_from && inner_to <= outer_to;
}

Location SourceView::locate(const SourceNode& node) const {
  Location where;
  if (node.kind == kMessageNode || (node.kind == kGroupNode && node.c != 1)) return where;
  const std::string_view id = message_.segment_id(node.a);
  std::uint32_t occurrence = 0;
  for (std::uint32_t seg = 0; seg <= node.a; ++seg) occurrence += message_.segment_id(seg) == id;
  where.segment = std::string(id);
  where.segment_seq = occurrence;
  if (node.kind == kSegmentNode || node.kind == kGroupNode) return where;
  where.field = node.b;
  where.repetition = node.c;
  if (node.kind >= kComponentNode) where.component = node.d;
  if (node.kind == kSubcomponentNode) where.subcomponent = node.e;
  return where;
}

}  // namespace helsebro::hl7v2
