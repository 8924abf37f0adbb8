#pragma once
// A parsed HL7 v2 message: one UTF-8 buffer and flat index tables of spans into it, built in one
// pass by parse(). Every field, repetition, component and sub-component is indexed; values are
// decoded (escapes) only when read. Immutable after parsing, so safe to share between threads.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace helsebro::hl7v2 {

struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
  char truncation = '\0';  // v2.7 '#', when present in MSH-2

  bool operator==(const Delimiters&) const = default;
};

struct Span {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  bool empty() const { return begin == end; }
};

/// Index entries: each level points at its first child in the next table and counts them.
struct SegmentEntry {
  Span span;
  std::uint32_t first_field = 0;
  std::uint32_t field_count = 0;  // fields present; field n is first_field + n - 1
};
struct FieldEntry {
  Span span;
  std::uint32_t first_rep = 0;  // kPlain: one repetition of one component, the field itself
  std::uint32_t rep_count = 0;

  /// Most fields hold no repetition, component or sub-component delimiter: the parser then
  /// stores the field alone, and readers see one repetition of one component spanning it.
  static constexpr std::uint32_t kPlain = UINT32_MAX;
  bool plain() const { return first_rep == kPlain; }
};
struct RepEntry {
  Span span;
  std::uint32_t first_comp = 0;
  std::uint32_t comp_count = 0;
};
struct ComponentEntry {
  Span span;
  std::uint32_t first_sub = 0;
  std::uint32_t sub_count = 0;
};

/// Flat storage for one index level: capacity is ensured once per parse, then entries are
/// appended without checks. Keeps its memory between parses when a Message is reused.
template <class T>
class IndexTable {
 public:
  IndexTable() = default;
  IndexTable(const IndexTable& other) { *this = other; }
  IndexTable& operator=(const IndexTable& other) {
    if (this != &other) {
      reset(other.size_);
      std::copy(other.data_.get(), other.data_.get() + other.size_, data_.get());
      size_ = other.size_;
    }
    return *this;
  }
  IndexTable(IndexTable&&) noexcept = default;
  IndexTable& operator=(IndexTable&&) noexcept = default;

  /// Empties the table and makes room for `capacity` entries.
  void reset(std::size_t capacity) {
    if (capacity > capacity_) {
      data_ = std::make_unique_for_overwrite<T[]>(capacity);
      capacity_ = capacity;
    }
    size_ = 0;
  }
  void clear() { size_ = 0; }
  /// Appends; the caller ensured the room with reset().
  void push_back(const T& value) { data_[size_++] = value; }
  std::size_t size() const { return size_; }
  /// For the parser's hot loop: write up to the reset() capacity, then set_size().
  T* data() { return data_.get(); }
  void set_size(std::size_t n) { size_ = n; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T& operator[](std::size_t i) { return data_[i]; }

 private:
  std::unique_ptr<T[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

class Message {
 public:
  const std::string& buffer() const { return buffer_; }
  const Delimiters& delimiters() const { return delimiters_; }
  /// Character set the bytes were decoded from ("ASCII", "8859/1", "8859/15", "UNICODE UTF-8").
  const std::string& charset() const { return charset_; }

  std::size_t segment_count() const { return segments_.size(); }
  std::string_view segment_id(std::size_t seg) const {
    return {buffer_.data() + segments_[seg].span.begin, 3};
  }
  std::string_view segment_text(std::size_t seg) const { return view(segments_[seg].span); }
  /// Index of the n-th (1-based) segment with this id, or npos.
  std::size_t find_segment(std::string_view id, std::size_t occurrence = 1) const;

  // Raw (still escaped) text of each level; numbering is 1-based as in HL7. Absent → "".
  std::string_view field(std::size_t seg, std::size_t field) const;
  std::string_view repetition(std::size_t seg, std::size_t field, std::size_t rep) const;
  std::string_view component(std::size_t seg, std::size_t field, std::size_t rep,
                             std::size_t comp) const;
  std::string_view subcomponent(std::size_t seg, std::size_t field, std::size_t rep,
                                std::size_t comp, std::size_t sub) const;

  std::size_t field_count(std::size_t seg) const { return segments_[seg].field_count; }
  std::size_t repetition_count(std::size_t seg, std::size_t field) const;
  std::size_t component_count(std::size_t seg, std::size_t field, std::size_t rep) const;
  std::size_t subcomponent_count(std::size_t seg, std::size_t field, std::size_t rep,
                                 std::size_t comp) const;

  /// Decodes escape sequences of a raw value taken from this message into UTF-8.
  std::string decode(std::string_view raw) const;

  /// The message type as mappings are chosen by: MSH-9.1^MSH-9.2, e.g. "ADT^A04" ("ACK" alone
  /// when there is no trigger event).
  std::string message_type() const;

  /// Convenience: first repetition, decoded, e.g. value("MSH", 9, 1) → "ADT".
  std::string value(std::string_view segment, std::size_t field, std::size_t comp = 0,
                    std::size_t sub = 0) const;

  std::string_view view(Span span) const {
    return {buffer_.data() + span.begin, span.end - span.begin};
  }

  // Entry access, for the path evaluator and inspectors.
  const SegmentEntry& segment_entry(std::size_t seg) const { return segments_[seg]; }
  const FieldEntry* field_entry(std::size_t seg, std::size_t field) const {
    if (seg >= segments_.size() || field == 0) return nullptr;
    const SegmentEntry& s = segments_[seg];
    if (field > s.field_count) return nullptr;
    return &fields_[s.first_field + field - 1];
  }
  std::optional<RepEntry> rep_entry(std::size_t seg, std::size_t field, std::size_t rep) const {
    const FieldEntry* f = field_entry(seg, field);
    return f == nullptr ? std::nullopt : rep_entry(*f, rep);
  }
  std::optional<ComponentEntry> component_entry(std::size_t seg, std::size_t field, std::size_t rep,
                                                std::size_t comp) const;
  /// The same one step down from an entry already found (for walks that go on from it).
  std::optional<RepEntry> rep_entry(const FieldEntry& field, std::size_t rep) const {
    if (rep == 0 || rep > field.rep_count) return std::nullopt;
    if (field.plain()) return RepEntry{field.span, FieldEntry::kPlain, 1};
    return reps_[field.first_rep + rep - 1];
  }
  std::optional<ComponentEntry> component_entry(const RepEntry& rep, std::size_t comp) const {
    if (comp == 0 || comp > rep.comp_count) return std::nullopt;
    if (rep.first_comp == FieldEntry::kPlain) return ComponentEntry{rep.span, 0, 0};
    return comps_[rep.first_comp + comp - 1];
  }
  Span subcomponent_span(const ComponentEntry& comp, std::size_t sub) const;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  friend class Parser;

  std::string buffer_;
  std::string charset_;
  Delimiters delimiters_;
  bool single_byte_charset_ = false;  // \Xhh\ escapes are then bytes of that charset
  IndexTable<SegmentEntry> segments_;
  IndexTable<FieldEntry> fields_;
  IndexTable<RepEntry> reps_;
  IndexTable<ComponentEntry> comps_;
  IndexTable<Span> subs_;
};

}  // namespace helsebro::hl7v2
