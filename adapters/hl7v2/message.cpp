#include "adapters/hl7v2/message.h"

#include "adapters/hl7v2/escape.h"

namespace helsebro::hl7v2 {

std::size_t Message::find_segment(std::string_view id, std::size_t occurrence) const {
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (segment_id(i) == id && --occurrence == 0) return i;
  }
  return npos;
}

std::optional<ComponentEntry> Message::component_entry(std::size_t seg, std::size_t field,
                                                       std::size_t rep, std::size_t comp) const {
  const auto r = rep_entry(seg, field, rep);
  return r ? component_entry(*r, comp) : std::nullopt;
}

Span Message::subcomponent_span(const ComponentEntry& comp, std::size_t sub) const {
  if (sub == 0) return comp.span;
  if (comp.sub_count == 0) return sub == 1 ? comp.span : Span{};
  if (sub > comp.sub_count) return Span{};
  return subs_[comp.first_sub + sub - 1];
}

std::string_view Message::field(std::size_t seg, std::size_t field) const {
  const FieldEntry* f = field_entry(seg, field);
  return f ? view(f->span) : std::string_view{};
}

std::string_view Message::repetition(std::size_t seg, std::size_t field, std::size_t rep) const {
  const auto r = rep_entry(seg, field, rep);
  return r ? view(r->span) : std::string_view{};
}

std::string_view Message::component(std::size_t seg, std::size_t field, std::size_t rep,
                                    std::size_t comp) const {
  const auto c = component_entry(seg, field, rep, comp);
  return c ? view(c->span) : std::string_view{};
}

std::string_view Message::subcomponent(std::size_t seg, std::size_t field, std::size_t rep,
                                       std::size_t comp, std::size_t sub) const {
  const auto c = component_entry(seg, field, rep, comp);
  return c ? view(subcomponent_span(*c, sub)) : std::string_view{};
}

std::size_t Message::repetition_count(std::size_t seg, std::size_t field) const {
  const FieldEntry* f = field_entry(seg, field);
  return f ? f->rep_count : 0;
}

std::size_t Message::component_count(std::size_t seg, std::size_t field, std::size_t rep) const {
  const auto r = rep_entry(seg, field, rep);
  return r ? r->comp_count : 0;
}

std::size_t Message::subcomponent_count(std::size_t seg, std::size_t field, std::size_t rep,
                                        std::size_t comp) const {
  const auto c = component_entry(seg, field, rep, comp);
  if (!c) return 0;
  return c->sub_count == 0 ? 1 : c->sub_count;
}

std::string Message::decode(std::string_view raw) const {
  return decode_escapes(raw, delimiters_, single_byte_charset_ ? charset_ : std::string_view{});
}

std::string Message::message_type() const {
  std::string type = value("MSH", 9, 1);
  const std::string trigger = value("MSH", 9, 2);
  if (!trigger.empty()) type.append(1, '^').append(trigger);
  return type;
}

std::string Message::value(std::string_view segment, std::size_t field, std::size_t comp,
                           std::size_t sub) const {
  const std::size_t seg = find_segment(segment);
  if (seg == npos) return {};
  if (segment == "MSH" && (field == 1 || field == 2)) return std::string(this->field(seg, field));
  if (comp == 0) return decode(repetition(seg, field, 1));
  if (sub == 0) return decode(component(seg, field, 1, comp));
  return decode(subcomponent(seg, field, 1, comp, sub));
}

}  // namespace helsebro::hl7v2
