#include "gateway/listen/mllp_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace helsebro::listen {
namespace {

std::string framed(const std::string& payload) { return "\x0b" + payload + "\x1c\x0d"; }

std::vector<FrameEvent> drain(MllpFramer& framer) {
  std::vector<FrameEvent> out;
  while (auto e = framer.next()) out.push_back(std::move(*e));
  return out;
}

TEST(MllpFramer, ReturnsOneFrameWithoutItsEnvelope) {
  MllpFramer framer(1024);
  framer.feed(framed("MSH|a"));
  auto events = drain(framer);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, FrameEvent::Kind::kFrame);
  EXPECT_EQ(events[0].payload, "MSH|a");
  EXPECT_FALSE(framer.in_frame());
}

TEST(MllpFramer, SplitsSeveralFramesInOneRead) {
  MllpFramer framer(1024);
  framer.feed(framed("one") + framed("two") + framed("three"));
  auto events = drain(framer);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].payload, "one");
  EXPECT_EQ(events[1].payload, "two");
  EXPECT_EQ(events[2].payload, "three");
}

TEST(MllpFramer, JoinsAFrameSplitAcrossReadsAtEveryByte) {
  const std::string wire = framed("MSH|^~\\&|A|B") + framed("second");
  for (std::size_t cut = 1; cut < wire.size(); ++cut) {
    MllpFramer framer(1024);
    std::vector<std::string> payloads;
    framer.feed(wire.substr(0, cut));
    for (auto& e : drain(framer)) payloads.push_back(e.payload);
    framer.feed(wire.substr(cut));
    for (auto& e : drain(framer)) payloads.push_back(e.payload);
    ASSERT_EQ(payloads.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(payloads[0], "MSH|^~\\&|A|B");
    EXPECT_EQ(payloads[1], "second");
  }
}

TEST(MllpFramer, SkipsAndCountsBytesBeforeAStartBlock) {
  MllpFramer framer(1024);
  framer.feed("garbage" + framed("ok") + "\r\n");
  auto events = drain(framer);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "ok");
  EXPECT_EQ(framer.take_skipped(), 7u);  // line ends between frames are not counted
  EXPECT_EQ(framer.take_skipped(), 0u);
}

TEST(MllpFramer, ReportsFrameLargerThanLimitWithItsPrefix) {
  MllpFramer framer(16, 8);
  framer.feed(framed(std::string(100, 'x')) + framed("next"));
  auto events = drain(framer);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, FrameEvent::Kind::kOversized);
  EXPECT_EQ(events[0].payload, std::string(8, 'x'));
  EXPECT_EQ(events[1].kind, FrameEvent::Kind::kFrame);
  EXPECT_EQ(events[1].payload, "next");
}

TEST(MllpFramer, AcceptsAFrameExactlyAtTheLimit) {
  MllpFramer framer(16);
  framer.feed(framed(std::string(16, 'y')));
  auto events = drain(framer);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, FrameEvent::Kind::kFrame);
}

TEST(MllpFramer, ResynchronisesOnAStartBlockInsideAFrame) {
  MllpFramer framer(1024);
  framer.feed("\x0bhalf a message" + framed("whole"));
  auto events = drain(framer);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, FrameEvent::Kind::kAbandoned);  // kept, not lost without a trace
  EXPECT_EQ(events[0].payload, "half a message");
  EXPECT_EQ(events[1].kind, FrameEvent::Kind::kFrame);
  EXPECT_EQ(events[1].payload, "whole");
  EXPECT_EQ(framer.abandoned(), 1u);
}

TEST(MllpFramer, ToleratesAnEndBlockWithoutCarriageReturn) {
  MllpFramer framer(1024);
  framer.feed("\x0b" "first\x1c" "\x0bsecond\x1c\x0d");
  auto events = drain(framer);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].payload, "first");
  EXPECT_EQ(events[1].payload, "second");
}

}  // namespace
}  // namespace helsebro::listen
