#pragma once
// MLLP framing (0x0B payload 0x1C 0x0D), incrementally: bytes arrive in reads of any size and
// frames come out whole. Pure (no I/O), so it is unit-tested and fuzzed on its own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace helsebro::listen {

struct FrameEvent {
  enum class Kind {
    kFrame,      // a complete payload
    kOversized,  // a frame passed the limit; `payload` holds its first bytes only
    kAbandoned,  // a start block came before the frame's end block; `payload` holds what came
  };
  Kind kind = Kind::kFrame;
  std::string payload;
};

/// Not thread-safe: one framer per connection.
class MllpFramer {
 public:
  static constexpr char kStartBlock = 0x0B;
  static constexpr char kEndBlock = 0x1C;
  static constexpr char kCarriageReturn = 0x0D;

  /// `prefix_bytes`: how much of an oversized frame is kept, to answer it with a NAK.
  explicit MllpFramer(std::size_t max_frame_bytes, std::size_t prefix_bytes = 4096)
      : max_frame_bytes_(max_frame_bytes), prefix_bytes_(prefix_bytes) {}

  /// Consumes bytes; call next() until it returns nothing before feeding more.
  void feed(std::string_view bytes);
  std::optional<FrameEvent> next();

  /// Bytes outside any frame that were skipped since the last call (then reset).
  std::uint64_t take_skipped() { return std::exchange(skipped_, 0); }
  /// True while a frame has started but not ended (the read timeout applies).
  bool in_frame() const { return state_ != State::kIdle; }
  /// Frames abandoned because a new start block came before their end block.
  std::uint64_t abandoned() const { return abandoned_; }

 private:
  enum class State { kIdle, kInFrame, kDiscarding };

  std::size_t max_frame_bytes_;
  std::size_t prefix_bytes_;
  State state_ = State::kIdle;
  std::string pending_input_;
  std::size_t pos_ = 0;
  std::string frame_;
  bool oversized_ = false;
  std::uint64_t skipped_ = 0;
  std::uint64_t abandoned_ = 0;
};

}  // namespace helsebro::listen
