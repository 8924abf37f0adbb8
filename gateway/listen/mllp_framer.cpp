#include "gateway/listen/mllp_framer.h"

#include <cstring>

namespace helsebro::listen {

void MllpFramer::feed(std::string_view bytes) {
  if (pos_ >= pending_input_.size()) {
    pending_input_.assign(bytes);
    pos_ = 0;
  } else {
    pending_input_.erase(0, pos_);
    pending_input_.append(bytes);
    pos_ = 0;
  }
}

std::optional<FrameEvent> MllpFramer::next() {
  const std::size_t size = pending_input_.size();
  while (pos_ < size) {
    switch (state_) {
      case State::kIdle: {
        const void* found = std::memchr(pending_input_.data() + pos_, kStartBlock, size - pos_);
        if (found == nullptr) {
          // Whitespace between frames (a stray CR/LF after 0x1C 0x0D) is not worth counting.
          for (std::size_t i = pos_; i < size; ++i) {
            const char c = pending_input_[i];
            if (c != '\r' && c != '\n') ++skipped_;
          }
          pos_ = size;
          break;
        }
        const std::size_t at = static_cast<const char*>(found) - pending_input_.data();
        for (std::size_t i = pos_; i < at; ++i) {
          const char c = pending_input_[i];
          if (c != '\r' && c != '\n') ++skipped_;
        }
        pos_ = at + 1;
        state_ = State::kInFrame;
        frame_.clear();
        oversized_ = false;
        break;
      }
      case State::kInFrame:
      case State::kDiscarding: {
        // Copy up to the next end block or start block in one go.
        std::size_t i = pos_;
        while (i < size && pending_input_[i] != kEndBlock && pending_input_[i] != kStartBlock) ++i;
        const std::size_t chunk = i - pos_;
        if (state_ == State::kInFrame) {
          if (frame_.size() + chunk > max_frame_bytes_) {
            const std::size_t keep = frame_.size() < prefix_bytes_ ? prefix_bytes_ - frame_.size() : 0;
            frame_.append(pending_input_, pos_, std::min(keep, chunk));
            if (frame_.size() > prefix_bytes_) frame_.resize(prefix_bytes_);
            state_ = State::kDiscarding;
            oversized_ = true;
          } else {
            frame_.append(pending_input_, pos_, chunk);
          }
        }
        pos_ = i;
        if (i == size) break;
        if (pending_input_[i] == kStartBlock) {
          // A new frame before this one ended: the sender gave up on it; resynchronise.
          ++abandoned_;
          state_ = State::kIdle;
          if (oversized_) {
            oversized_ = false;
            return FrameEvent{FrameEvent::Kind::kOversized, std::move(frame_)};
          }
          // What came is kept (a 0x0B inside a message, or a sender that gave up on it).
          FrameEvent event{FrameEvent::Kind::kAbandoned, std::move(frame_)};
          frame_.clear();
          return event;
        }
        ++pos_;  // the end block; 0x0D should follow, but a frame is not lost without it
        if (pos_ < size && pending_input_[pos_] == kCarriageReturn) ++pos_;
        state_ = State::kIdle;
        FrameEvent event{oversized_ ? FrameEvent::Kind::kOversized : FrameEvent::Kind::kFrame,
                         std::move(frame_)};
        frame_.clear();
        oversized_ = false;
        return event;
      }
    }
  }
  return std::nullopt;
}

}  // namespace helsebro::listen
