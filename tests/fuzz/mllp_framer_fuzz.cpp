// Fuzz target: MllpFramer fed in chunks whose sizes come from the input, drained after each feed.
// Input: byte 0 picks the frame limit, byte 1 the oversized prefix, bytes 2–3 seed the chunk
// sizes (0 0: one feed); the rest is the stream. A byte-at-a-time model of MLLP framing over the
// whole stream is the oracle: the framer must emit the same frames whatever the chunking, never a
// frame over the limit, and never more than the prefix of an oversized one.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/listen/mllp_framer.h"
#include "tests/fuzz/fuzz_target.h"

namespace helsebro::fuzz {
namespace {

using listen::FrameEvent;
using listen::MllpFramer;

struct ModelFrame {
  bool oversized = false;
  std::string content;  // the whole frame, also when oversized
  bool abandoned = false;  // cut short by a start block (within the limit: its bytes come out)
};

struct Model {
  std::vector<ModelFrame> frames;
  std::uint64_t skipped = 0;
  std::uint64_t abandoned = 0;
  bool in_frame = false;
};

// MLLP as the framer documents it: 0x0B starts a frame (abandoning an unfinished one, whose bytes
// come out as abandoned, or as oversized past the limit), 0x1C
// ends it (a 0x0D after it is consumed), bytes between frames other than CR/LF are skipped.
Model model_of(std::string_view stream, std::size_t limit) {
  Model model;
  std::string content;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    const char c = stream[i];
    if (!model.in_frame) {
      if (c == MllpFramer::kStartBlock) {
        model.in_frame = true;
        content.clear();
      } else if (c != '\r' && c != '\n') {
        ++model.skipped;
      }
    } else if (c == MllpFramer::kStartBlock) {
      ++model.abandoned;
      model.frames.push_back({content.size() > limit, content, content.size() <= limit});
      content.clear();
    } else if (c == MllpFramer::kEndBlock) {
      model.frames.push_back({content.size() > limit, content});
      model.in_frame = false;
      if (i + 1 < stream.size() && stream[i + 1] == MllpFramer::kCarriageReturn) ++i;
    } else {
      content.push_back(c);
    }
  }
  return model;
}

struct Framed {
  std::vector<FrameEvent> events;
  std::uint64_t skipped = 0;
};

Framed frame_in_chunks(MllpFramer& framer, std::string_view stream, std::uint32_t seed) {
  Framed out;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    std::size_t size = stream.size();
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      size = 1 + (seed >> 16) % 64;
    }
    framer.feed(stream.substr(pos, size));
    pos += std::min(size, stream.size() - pos);
    while (auto event = framer.next()) out.events.push_back(std::move(*event));
    out.skipped += framer.take_skipped();
  }
  return out;
}

void compare(const Framed& got, const Model& want, std::size_t limit, std::size_t prefix) {
  check(got.events.size() == want.frames.size(), "the framer's events differ from the model's");
  for (std::size_t i = 0; i < got.events.size(); ++i) {
    const FrameEvent& event = got.events[i];
    const ModelFrame& frame = want.frames[i];
    if (event.kind == FrameEvent::Kind::kAbandoned) {
      check(frame.abandoned, "a frame came out abandoned that was not cut short");
      check(event.payload == frame.content, "an abandoned frame's bytes are not what was sent");
      continue;
    }
    check(!frame.abandoned, "a frame cut short came out as another kind of event");
    if (event.kind == FrameEvent::Kind::kFrame) {
      check(!frame.oversized, "an oversized frame came out whole");
      check(event.payload.size() <= limit, "a frame payload larger than the limit");
      check(event.payload == frame.content, "a frame's payload is not what was sent");
      continue;
    }
    check(frame.oversized, "a frame within the limit reported oversized");
    check(event.payload.size() <= prefix, "an oversized event holds more than the prefix");
    check(frame.content.compare(0, event.payload.size(), event.payload) == 0,
          "an oversized event's bytes are not the start of the frame");
    if (prefix <= limit) {
      check(event.payload.size() == prefix, "an oversized event holds less than the prefix");
    }
  }
  check(got.skipped == want.skipped, "skipped bytes counted differently from the model");
}

}  // namespace

void exercise_mllp_framer(std::string_view input) {
  if (input.size() < 4) return;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(input[i]); };
  const std::size_t limit = byte(0) == 255 ? std::size_t{1} << 20 : 1 + std::size_t{byte(0)} * 4;
  const std::size_t prefix = std::size_t{byte(1)} * 4;
  const std::uint32_t seed = byte(2) | std::uint32_t{byte(3)} << 8;
  const std::string_view stream = input.substr(4);

  MllpFramer framer(limit, prefix);
  const Framed got = frame_in_chunks(framer, stream, seed);
  const Model want = model_of(stream, limit);
  compare(got, want, limit, prefix);
  check(framer.abandoned() == want.abandoned, "abandoned frames counted differently");
  check(framer.in_frame() == want.in_frame, "in_frame() differs from the model");
  check(!framer.next().has_value(), "an event after the framer was drained");
}

}  // namespace helsebro::fuzz

HELSEBRO_FUZZ_ENTRY(helsebro::fuzz::exercise_mllp_framer)
