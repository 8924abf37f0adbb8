#include "gateway/core/message.h"

#include <gtest/gtest.h>

#include "gateway/core/clock.h"

namespace helsebro {
namespace {

TEST(MessageState, NamesRoundTrip) {
  for (MessageState s : {MessageState::kReceived, MessageState::kTranslated, MessageState::kDelivered,
                         MessageState::kRejected, MessageState::kFailed, MessageState::kDead}) {
    const auto back = parse_message_state(to_string(s));
    ASSERT_TRUE(back.has_value()) << to_string(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(to_string(MessageState::kTranslated), "translated");
  EXPECT_EQ(to_string(MessageState::kDead), "dead");
  EXPECT_FALSE(parse_message_state("Translated").has_value());
  EXPECT_FALSE(parse_message_state("").has_value());
}

TEST(Clock, InjectableSource) {
  const Clock fixed([] { return EpochMillis{1234}; });
  EXPECT_EQ(fixed.now_ms(), 1234);
  const Clock system;
  EXPECT_GT(system.now_ms(), 1'600'000'000'000);  // after 2020
}

}  // namespace
}  // namespace helsebro
