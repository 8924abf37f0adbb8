#include "adapters/hl7v2/parser.h"

#include <array>
#include <climits>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace helsebro::hl7v2 {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// The kinds of marked positions the indexer steps through.
enum CharClass : std::uint8_t { kField = 1, kRepetition, kComponent, kSubcomponent, kEnd };

bool is_segment_id_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_line_end(char c) { return c == '\r' || c == '\n'; }
// Lines of nothing but these are skipped: blanks, and MLLP block bytes left in a file.
bool is_filler(char c) { return c == ' ' || c == '\t' || c == '\x0b' || c == '\x1c'; }

Location at_offset(std::size_t offset, std::string segment = {}) {
  Location where;
  where.segment = std::move(segment);
  where.byte_offset = offset;
  where.has_offset = true;
  return where;
}

std::size_t skip_leading(std::string_view bytes) {
  std::size_t i = bytes.substr(0, 3) == kBom ? 3 : 0;
  while (i < bytes.size() && (is_line_end(bytes[i]) || bytes[i] == ' ' || bytes[i] == '\t')) ++i;
  return i;
}

Result<Delimiters> read_delimiters(std::string_view text) {
  if (text.size() < 4 || text.substr(0, 3) != "MSH") {
    const bool looks_like_segment = text.size() >= 4 && is_segment_id_char(text[0]) &&
                                    is_segment_id_char(text[1]) && is_segment_id_char(text[2]) &&
                                    !is_segment_id_char(text[3]);
    if (looks_like_segment) {
      return Error{Errc::kMissingMsh,
                   "the first segment is '" + std::string(text.substr(0, 3)) + "', expected MSH",
                   at_offset(0)};
    }
    return Error{Errc::kNotHl7, "the data does not start with an MSH segment", at_offset(0)};
  }
  Delimiters d;
  d.field = text[3];
  std::size_t end = 4;
  while (end < text.size() && text[end] != d.field && !is_line_end(text[end])) ++end;
  const std::string_view enc = text.substr(4, end - 4);
  if (enc.size() < 4 || enc.size() > 5) {
    return Error{Errc::kBadEncodingCharacters,
                 "MSH-2 must hold 4 or 5 encoding characters, found " + std::to_string(enc.size()),
                 Location{"MSH", 1, 2}};
  }
  d.component = enc[0];
  d.repetition = enc[1];
  d.escape = enc[2];
  d.subcomponent = enc[3];
  d.truncation = enc.size() == 5 ? enc[4] : '\0';
  const std::string all = std::string(1, d.field).append(enc);  // not operator+: g++ 12 warns falsely (-Wrestrict)
  for (std::size_t i = 0; i < all.size(); ++i) {
    const char c = all[i];
    const auto byte = static_cast<unsigned char>(c);
    if (is_segment_id_char(c) || (c >= 'a' && c <= 'z') || byte <= 0x20 || byte >= 0x7F ||
        all.find(c, i + 1) != std::string::npos) {
      return Error{Errc::kBadEncodingCharacters,
                   "MSH-1/MSH-2 delimiters must be distinct punctuation characters",
                   Location{"MSH", 1, 2}};
    }
  }
  return d;
}

Result<void> decode_charset(std::string_view bytes, const ParseOptions& options, Message& m,
                            std::string& buffer, std::string& charset_name_out, bool& single_byte) {
  (void)m;
  Charset charset = Charset::kUtf8;
  bool declared = false;
  if (options.forced_charset) {
    charset = *options.forced_charset;
  } else {
    const std::string_view msh18 = peek_msh18(bytes);
    auto parsed = charset_from_msh18(msh18);
    if (!parsed) return parsed.error();
    declared = !msh18.empty();
    // Undeclared means ASCII by the standard; valid UTF-8 is read as UTF-8, safely.
    charset = declared ? *parsed : Charset::kUtf8;
  }
  auto decoded = to_utf8_into(bytes, charset, buffer);
  bool fell_back = false;
  if (!decoded && options.fallback_charset) {
    charset = *options.fallback_charset;
    decoded = to_utf8_into(bytes, charset, buffer);
    fell_back = true;
  }
  if (!decoded) {
    Error e = decoded.error();
    if (!declared && !options.forced_charset) {
      e.detail = "bytes are not valid UTF-8 and MSH-18 declares no charset (set MSH-18, e.g. 8859/1)";
    }
    return e;
  }
  // Name the charset the bytes were decoded from: after a fallback that is the fallback's, not
  // "UTF-8" (which also made \Xhh\ escapes of a Latin-9 fallback decode as Latin-1).
  Charset named = charset;
  if (!declared && !options.forced_charset && !fell_back) {
    named = find_non_ascii(bytes) == std::string_view::npos ? Charset::kAscii : Charset::kUtf8;
  }
  charset_name_out.assign(charset_name(named));
  single_byte = charset == Charset::kLatin1 || charset == Charset::kLatin9;
  return {};
}

}  // namespace

std::string_view peek_msh18(std::string_view bytes) {
  const std::size_t start = skip_leading(bytes);
  const std::string_view text = bytes.substr(start);
  if (text.size() < 4 || text.substr(0, 3) != "MSH") return {};
  const char sep = text[3];
  // One pass over the MSH segment: MSH-18 starts after the 17th separator.
  std::size_t separators = 1, begin = 0, end = text.size();
  std::size_t i = 4;
#if defined(__SSE2__)
  // Sixteen bytes at a time while the 17th separator and the line end are still ahead.
  const __m128i sep_v = _mm_set1_epi8(sep), cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
  while (i + 16 <= text.size()) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    const auto ends = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf))));
    const auto seps = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, sep_v)));
    if (ends != 0 || separators + static_cast<std::size_t>(__builtin_popcount(seps)) >= 17) break;
    separators += static_cast<std::size_t>(__builtin_popcount(seps));
    i += 16;
  }
#endif
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {
      end = i;
      break;
    }
    if (c != sep) continue;
    if (++separators == 17) begin = i + 1;
    if (separators == 18) {
      end = i;
      break;
    }
  }
  if (begin == 0 || begin > end) return {};
  std::string_view value = text.substr(begin, end - begin);
  if (text.size() > 5) {
    value = value.substr(0, value.find(text[5]));  // the first repetition
    value = value.substr(0, value.find(text[4]));  // its first component
  }
  return value;
}

Result<void> Parser::parse_into(std::string_view bytes, Message& m) const {
  m.segments_.clear();
  m.fields_.clear();
  m.reps_.clear();
  m.comps_.clear();
  m.subs_.clear();
  const std::size_t start = skip_leading(bytes);
  if (start >= bytes.size()) return Error{Errc::kNotHl7, "the message is empty", at_offset(0)};
  if (bytes.size() >= UINT32_MAX) return Error{Errc::kFrameTooLarge, "message over 4 GiB"};
  auto delimiters = read_delimiters(bytes.substr(start));
  if (!delimiters) return delimiters.error();
  m.delimiters_ = *delimiters;

  auto decoded = decode_charset(bytes.substr(start), options_, m, m.buffer_, m.charset_,
                                m.single_byte_charset_);
  if (!decoded) {
    Error e = decoded.error();
    e.where.byte_offset += start;
    return e;
  }
  auto indexed = index(m);
  if (!indexed) {
    Error e = indexed.error();
    if (m.single_byte_charset_) {
      // The buffer is UTF-8 now; the sender counts bytes of its own single-byte charset.
      std::size_t original = 0;
      for (std::size_t i = 0; i < e.where.byte_offset && i < m.buffer_.size(); ++i) {
        original += (static_cast<unsigned char>(m.buffer_[i]) & 0xC0) != 0x80;
      }
      e.where.byte_offset = original;
    }
    e.where.byte_offset += start;
    return e;
  }
  return {};
}

// Marks, for each 64-byte block of the buffer, where each kind of delimiter and the line ends
// stand, so the indexer steps from one to the next through bit masks instead of looking at
// every byte (and without a load per delimiter to learn its kind). Returns how many there are,
// which bounds the size of every index table.
namespace {

// Clears marks past the message's end (a last block is padded) and sums the block's marks.
__attribute__((target("popcnt"))) std::size_t finish_block(BlockMasks& m, std::size_t valid_bytes) {
  if (valid_bytes < 64) {
    const std::uint64_t valid = (1ULL << valid_bytes) - 1;
    m.field &= valid;
    m.component &= valid;
    m.repetition &= valid;
    m.subcomponent &= valid;
    m.line_end &= valid;
  }
  m.all = m.field | m.component | m.repetition | m.subcomponent | m.line_end;
  return static_cast<std::size_t>(__builtin_popcountll(m.all));
}

}  // namespace

#if defined(__x86_64__)
namespace {

// The same marks, 32 bytes per instruction, on CPUs with AVX2 (chosen at run time).
__attribute__((target("avx2,popcnt"))) std::size_t mark_specials_avx2(const std::string& buffer,
                                                                     const Delimiters& d,
                                                                     BlockMasks* masks) {
  const std::size_t size = buffer.size();
  const std::size_t blocks = (size + 63) / 64;
  const __m256i field = _mm256_set1_epi8(d.field), rep = _mm256_set1_epi8(d.repetition),
                comp = _mm256_set1_epi8(d.component), sub = _mm256_set1_epi8(d.subcomponent),
                cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n');
  alignas(32) char tail[64];
  std::size_t total = 0;
  for (std::size_t b = 0; b < blocks; ++b) {
    const char* p = buffer.data() + b * 64;
    const bool last = b * 64 + 64 > size;
    if (last) {
      std::memset(tail, 0, sizeof tail);
      std::memcpy(tail, p, size - b * 64);
      p = tail;
    }
    BlockMasks& m = masks[b];
    m = BlockMasks{};
    for (int k = 0; k < 2; ++k) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * k));
      const int shift = 32 * k;
#define HELSEBRO_BITS(hit) (static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(hit))) << shift)
      m.field |= HELSEBRO_BITS(_mm256_cmpeq_epi8(v, field));
      m.component |= HELSEBRO_BITS(_mm256_cmpeq_epi8(v, comp));
      m.repetition |= HELSEBRO_BITS(_mm256_cmpeq_epi8(v, rep));
      m.subcomponent |= HELSEBRO_BITS(_mm256_cmpeq_epi8(v, sub));
      m.line_end |= HELSEBRO_BITS(_mm256_or_si256(_mm256_cmpeq_epi8(v, cr), _mm256_cmpeq_epi8(v, lf)));
#undef HELSEBRO_BITS
    }
    total += finish_block(m, last ? size - b * 64 : 64);
  }
  return total;
}

const bool kHasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");

}  // namespace
#endif

__attribute__((target("popcnt"))) std::size_t Parser::mark_specials(const std::string& buffer,
                                                                    const Delimiters& d) const {
  const std::size_t size = buffer.size();
  const std::size_t blocks = (size + 63) / 64;
  if (masks_.size() < blocks) masks_.resize(blocks);
#if defined(__x86_64__)
  if (kHasAvx2) return mark_specials_avx2(buffer, d, masks_.data());
#endif
  std::size_t total = 0;
#if defined(__SSE2__)
  const __m128i field = _mm_set1_epi8(d.field), rep = _mm_set1_epi8(d.repetition),
                comp = _mm_set1_epi8(d.component), sub = _mm_set1_epi8(d.subcomponent),
                cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
  alignas(16) char tail[64];
  auto bits = [](__m128i v, __m128i c, int k) {
    return static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, c))))
           << (16 * k);
  };
  for (std::size_t b = 0; b < blocks; ++b) {
    const char* p = buffer.data() + b * 64;
    if (b * 64 + 64 > size) {
      std::memset(tail, 0, sizeof tail);  // NUL is never a delimiter: padding marks nothing
      std::memcpy(tail, p, size - b * 64);
      p = tail;
    }
    BlockMasks& m = masks_[b];
    m = BlockMasks{};
    for (int k = 0; k < 4; ++k) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
      m.field |= bits(v, field, k);
      m.component |= bits(v, comp, k);
      m.repetition |= bits(v, rep, k);
      m.subcomponent |= bits(v, sub, k);
      m.line_end |= static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(
                        _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)))))
                    << (16 * k);
    }
    total += finish_block(m, p == tail ? size - b * 64 : 64);
  }
#else
  for (std::size_t b = 0; b < blocks; ++b) {
    BlockMasks& m = masks_[b];
    m = BlockMasks{};
    for (std::size_t k = 0; k < 64 && b * 64 + k < size; ++k) {
      const char c = buffer[b * 64 + k];
      const std::uint64_t bit = 1ULL << k;
      if (c == d.field) m.field |= bit;
      else if (c == d.component) m.component |= bit;
      else if (c == d.repetition) m.repetition |= bit;
      else if (c == d.subcomponent) m.subcomponent |= bit;
      else if (c == '\r' || c == '\n') m.line_end |= bit;
    }
    total += finish_block(m, 64);
  }
#endif
  return total;
}

namespace {

// Walks the marked positions in order: where the next delimiter or line end is, and which.
class SpecialCursor {
 public:
  SpecialCursor(const BlockMasks* masks, std::uint32_t size)
      : masks_(masks), blocks_((size + 63) / 64), size_(size) {}

  /// Continues from position i (forgetting anything marked before it).
  void seek(std::uint32_t i) {
    block_ = i >> 6;
    load();
    remaining_ &= ~0ULL << (i & 63);
  }

  /// The next marked position and its kind; (size, kEnd) when there is none.
  std::uint8_t next(std::uint32_t& at) {
    while (remaining_ == 0) {
      if (++block_ >= blocks_) {
        block_ = blocks_;
        at = size_;
        return kEnd;
      }
      load();
    }
    const unsigned offset = static_cast<unsigned>(__builtin_ctzll(remaining_));
    at = (block_ << 6) + offset;
    remaining_ &= remaining_ - 1;
    // The kind as a small number from the class masks' bits at that offset.
    if ((field_ >> offset) & 1) return kField;
    if ((component_ >> offset) & 1) return kComponent;
    if ((repetition_ >> offset) & 1) return kRepetition;
    if ((subcomponent_ >> offset) & 1) return kSubcomponent;
    return kEnd;
  }

 private:
  void load() {
    if (block_ >= blocks_) {
      remaining_ = 0;
      return;
    }
    const BlockMasks& m = masks_[block_];
    remaining_ = m.all;
    field_ = m.field;
    component_ = m.component;
    repetition_ = m.repetition;
    subcomponent_ = m.subcomponent;
  }

  const BlockMasks* masks_;
  std::uint32_t blocks_;
  std::uint32_t size_;
  std::uint32_t block_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t field_ = 0, component_ = 0, repetition_ = 0, subcomponent_ = 0;
};

}  // namespace

// One pass over the decoded buffer: segments, fields, repetitions, components, sub-components.
// Straight scalar stores beat GCC's packing of the entries into SSE registers here.
__attribute__((optimize("no-tree-slp-vectorize"))) Result<void> Parser::index(Message& m) const {
  const char* buf = m.buffer_.data();
  const auto size = static_cast<std::uint32_t>(m.buffer_.size());
  const Delimiters& d = m.delimiters_;
  const std::size_t bound = mark_specials(m.buffer_, d) + 2;
  SpecialCursor cursor(masks_.data(), size);
  auto& segments = m.segments_;
  auto& fields = m.fields_;
  auto& reps = m.reps_;
  auto& comps = m.comps_;
  auto& subs = m.subs_;
  segments.reset(bound);
  fields.reset(bound);
  reps.reset(bound);
  comps.reset(bound);
  subs.reset(bound);
  std::uint32_t pos = 0;
  while (pos < size) {
    while (pos < size && is_line_end(buf[pos])) ++pos;
    if (pos >= size) break;
    // A segment starts at pos: three id characters, then a field separator or its end.
    const std::uint32_t begin = pos;
    const bool id_ok = size - pos >= 3 && is_segment_id_char(buf[pos]) && is_segment_id_char(buf[pos + 1]) &&
                       is_segment_id_char(buf[pos + 2]) &&
                       (pos + 3 == size || buf[pos + 3] == d.field || is_line_end(buf[pos + 3]));
    if (!id_ok) {
      std::uint32_t line_end = pos;
      bool blank = true;
      while (line_end < size && !is_line_end(buf[line_end])) {
        blank = blank && is_filler(buf[line_end]);
        ++line_end;
      }
      if (blank) {
        pos = line_end;
        continue;
      }
      std::string shown;
      for (std::uint32_t k = pos; k < std::min<std::uint32_t>(pos + 8, line_end); ++k) {
        // Bytes outside printable ASCII as \xHH: the text goes into a NAK in the sender's
        // charset, and eight bytes may end inside a character.
        const auto byte = static_cast<unsigned char>(buf[k]);
        if (byte < 0x20 || byte >= 0x7F) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02X", byte);
          shown += hex;
        } else {
          shown.push_back(buf[k]);
        }
      }
      return Error{Errc::kBadSegmentId,
                   "segment " + std::to_string(segments.size() + 1) + " starts with '" + shown +
                       "', not a three-character segment id and a field separator",
                   at_offset(pos)};
    }
    if (segments.size() >= options_.max_segments) {
      return Error{Errc::kBadSegmentId, "more than " + std::to_string(options_.max_segments) + " segments",
                   at_offset(pos)};
    }
    SegmentEntry seg;
    seg.first_field = static_cast<std::uint32_t>(fields.size());
    pos += 3;
    if (std::memcmp(buf + begin, "MSH", 3) == 0 && pos < size && buf[pos] == d.field) {
      // MSH-1 is the field separator itself; MSH-2 holds the encoding characters, unsplit.
      std::uint32_t enc_end = pos + 1;
      while (enc_end < size && buf[enc_end] != d.field && !is_line_end(buf[enc_end])) ++enc_end;
      for (const Span span : {Span{pos, pos + 1}, Span{pos + 1, enc_end}}) {
        comps.push_back({span, static_cast<std::uint32_t>(subs.size()), 0});
        reps.push_back({span, static_cast<std::uint32_t>(comps.size() - 1), 1});
        fields.push_back({span, static_cast<std::uint32_t>(reps.size() - 1), 1});
      }
      pos = enc_end;
    }
    // buf[pos] is now a field separator, or the segment's end.
    if (pos < size && buf[pos] == d.field) {
      cursor.seek(pos + 1);
      // Local cursors into the tables keep the hot loop in registers.
      FieldEntry* const field_out = fields.data();
      RepEntry* const rep_out = reps.data();
      ComponentEntry* const comp_out = comps.data();
      Span* const sub_out = subs.data();
      auto nfield = static_cast<std::uint32_t>(fields.size());
      auto nrep = static_cast<std::uint32_t>(reps.size());
      auto ncomp = static_cast<std::uint32_t>(comps.size());
      auto nsub = static_cast<std::uint32_t>(subs.size());
      std::uint8_t c = kField;
      while (c == kField) {  // one field per turn; pos is at its separator
        std::uint32_t i = pos + 1;
        const std::uint32_t field_first_rep = nrep;
        std::uint32_t rep_begin = i;
        std::uint32_t rep_first_comp = ncomp;
        std::uint32_t comp_begin = i;
        std::uint32_t comp_first_sub = nsub;
        std::uint32_t sub_begin = i;
        c = cursor.next(i);
        if (c == kField || c == kEnd) {
          // A plain field: no repetition, component or sub-component inside; stored alone.
          FieldEntry& field = field_out[nfield++];
          field.span.begin = pos + 1;
          field.span.end = i;
          field.first_rep = FieldEntry::kPlain;
          field.rep_count = 1;
          pos = i;
          continue;
        }
        for (;; c = cursor.next(i)) {
          if (c == kSubcomponent) {
            sub_out[nsub++] = {sub_begin, i};
            sub_begin = i + 1;
            continue;
          }
          // Every other delimiter ends the component (and its last sub-component, if split).
          std::uint32_t sub_count = 0;
          if (nsub != comp_first_sub) {
            sub_out[nsub++] = {sub_begin, i};
            sub_count = nsub - comp_first_sub;
          }
          ComponentEntry& comp = comp_out[ncomp++];
          comp.span.begin = comp_begin;
          comp.span.end = i;
          comp.first_sub = comp_first_sub;
          comp.sub_count = sub_count;
          comp_begin = sub_begin = i + 1;
          comp_first_sub = nsub;
          if (c == kComponent) continue;
          RepEntry& rep = rep_out[nrep++];
          rep.span.begin = rep_begin;
          rep.span.end = i;
          rep.first_comp = rep_first_comp;
          rep.comp_count = ncomp - rep_first_comp;
          rep_begin = i + 1;
          rep_first_comp = ncomp;
          if (c == kRepetition) continue;
          break;  // a field separator or the segment's end
        }
        FieldEntry& field = field_out[nfield++];
        field.span.begin = pos + 1;
        field.span.end = i;
        field.first_rep = field_first_rep;
        field.rep_count = nrep - field_first_rep;
        pos = i;
      }
      fields.set_size(nfield);
      reps.set_size(nrep);
      comps.set_size(ncomp);
      subs.set_size(nsub);
    } else {
      while (pos < size && !is_line_end(buf[pos])) ++pos;  // "PV1" alone: a segment without fields
    }
    seg.span = {begin, pos};
    seg.field_count = static_cast<std::uint32_t>(fields.size()) - seg.first_field;
    segments.push_back(seg);
  }
  return {};
}

namespace {

// The first field after the segment id, as a count; -1 when absent or not a number.
long count_field(std::string_view line) {
  if (line.size() < 5) return -1;
  const char sep = line[3];
  std::string_view rest = line.substr(4);
  rest = rest.substr(0, rest.find(sep));
  if (rest.empty()) return -1;
  long n = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return -1;
    if (n > 100'000'000) return LONG_MAX;  // more than any batch holds; no overflow
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

Result<std::vector<MessageSlice>> split_messages(std::string_view bytes, BatchEnvelope* envelope) {
  std::vector<MessageSlice> out;
  BatchEnvelope env;
  std::size_t batch_start = 0;  // messages before the current batch (BHS) began
  std::size_t pos = skip_leading(bytes);
  std::size_t current = std::string_view::npos;  // start of the message being collected
  std::size_t current_end = 0;
  auto close = [&] {
    if (current != std::string_view::npos) out.push_back({bytes.substr(current, current_end - current), current});
    current = std::string_view::npos;
  };
  while (pos < bytes.size()) {
    std::size_t end = pos;
    while (end < bytes.size() && !is_line_end(bytes[end])) ++end;
    std::size_t next = end;
    while (next < bytes.size() && is_line_end(bytes[next])) ++next;
    const std::string_view line = bytes.substr(pos, end - pos);
    const std::string_view id = line.substr(0, 3);
    if (id == "MSH") {
      close();
      current = pos;
    } else if (id == "FHS" || id == "BHS" || id == "BTS" || id == "FTS") {
      close();
      if (id == "FHS") env.fhs = line;
      else if (id == "BHS") {
        if (env.bhs.empty()) env.bhs = line;
        env.batches.push_back({line, out.size()});
        batch_start = out.size();
      }
      else if (id == "BTS") {
        env.bts = line;
        // BTS-1 counts the messages of its own batch, not of the whole file.
        const long count = count_field(line);
        if (count >= 0 && static_cast<std::size_t>(count) != out.size() - batch_start) {
          return Error{Errc::kInvalidValue,
                       "BTS-1 counts " + std::to_string(count) + " messages, the batch holds " +
                           std::to_string(out.size() - batch_start),
                       Location{"BTS", 1, 1}};
        }
        batch_start = out.size();
      } else {
        env.fts = line;
      }
    } else if (current == std::string_view::npos) {
      bool blank = true;
      for (char c : line) blank = blank && is_filler(c);
      if (!blank) {
        return Error{out.empty() ? Errc::kMissingMsh : Errc::kBadSegmentId,
                     "segment '" + std::string(id) + "' stands outside any message (expected MSH)",
                     at_offset(pos)};
      }
    }
    if (current != std::string_view::npos) current_end = next;
    pos = next;
  }
  close();
  if (out.empty() && !env.is_batch()) return Error{Errc::kNotHl7, "no MSH segment found", at_offset(0)};
  // A batch may hold no message (HL7 v2 2.10.3: zero or more); it is answered as an empty batch.
  if (envelope != nullptr) *envelope = env;
  return out;
}

Result<Message> parse(std::string_view bytes, const ParseOptions& options) {
  Message m;
  auto parsed = Parser{options}.parse_into(bytes, m);
  if (!parsed) return parsed.error();
  return m;
}

}  // namespace helsebro::hl7v2
