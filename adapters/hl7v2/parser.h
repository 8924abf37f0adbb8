#pragma once
// The HL7 v2 ER7 parser: lenient in what it can read safely (\n or \r\n line ends, a UTF-8 BOM,
// Z-segments, missing trailing fields), precise about what it cannot (error code and position).

#include <array>
#include <optional>
#include <vector>
#include <string_view>

#include "adapters/hl7v2/charset.h"
#include "adapters/hl7v2/message.h"
#include "gateway/core/result.h"

namespace helsebro::hl7v2 {

struct ParseOptions {
  /// The channel knows better than MSH-18: decode with this charset whatever is declared.
  std::optional<Charset> forced_charset;
  /// When the bytes contradict the declared charset, decode with this one instead of failing.
  std::optional<Charset> fallback_charset;
  std::size_t max_segments = 100000;
};

/// For 64 bytes of a message, one bit per byte for each kind of delimiter and the line ends.
struct BlockMasks {
  std::uint64_t all = 0;
  std::uint64_t field = 0, component = 0, repetition = 0, subcomponent = 0, line_end = 0;
};

/// Reusable: parse_into() keeps the message's index capacity, so a loop allocates little.
/// Not thread-safe; use one Parser per thread.
class Parser {
 public:
  explicit Parser(ParseOptions options = {}) : options_(options) {}

  /// Parses one message (not a batch) into `out`, replacing its content.
  Result<void> parse_into(std::string_view bytes, Message& out) const;

 private:
  Result<void> index(Message& m) const;
  std::size_t mark_specials(const std::string& buffer, const Delimiters& d) const;

  ParseOptions options_;
  mutable std::vector<BlockMasks> masks_;
};

/// Parses one message.
Result<Message> parse(std::string_view bytes, const ParseOptions& options = {});

/// One message's bytes inside a larger input, and where they start.
struct MessageSlice {
  std::string_view bytes;
  std::size_t offset = 0;
};

/// What surrounds the messages of a batch file (FHS/BHS … BTS/FTS); empty when not a batch.
struct BatchEnvelope {
  std::string_view fhs, bhs, bts, fts;  // bhs: the first batch's header
  /// Every batch of the file, in order: its header, and the index of its first message in the
  /// slices split_messages returns (its last is the next one's first, less one).
  struct Batch {
    std::string_view bhs;
    std::size_t first_message = 0;
  };
  std::vector<Batch> batches;
  bool is_batch() const { return !fhs.empty() || !bhs.empty(); }
};

/// Splits input holding one message, several messages, or a batch (FHS/BHS … BTS/FTS) into
/// messages, each starting at its MSH. Does not parse the messages. Fails when data stands
/// before the first MSH, or when a BTS/FTS count contradicts what was found.
Result<std::vector<MessageSlice>> split_messages(std::string_view bytes, BatchEnvelope* envelope = nullptr);

/// Reads the raw MSH-18 (first repetition, first component) from undecoded bytes; "" if absent.
std::string_view peek_msh18(std::string_view bytes);

}  // namespace helsebro::hl7v2
