#include "gateway/forward/circuit_breaker.h"

#include <gtest/gtest.h>

namespace helsebro::forward {
namespace {

using State = CircuitBreaker::State;

TEST(CircuitBreaker, StaysClosedBelowTheThreshold) {
  CircuitBreaker b(3, 1000, 8000);
  b.failure(0);
  b.failure(10);
  EXPECT_EQ(b.state(20), State::kClosed);
  EXPECT_TRUE(b.allow(20));
}

TEST(CircuitBreaker, OpensAtTheThresholdAndRefusesUntilTheCoolDown) {
  CircuitBreaker b(3, 1000, 8000);
  for (EpochMillis t : {0, 10, 20}) b.failure(t);
  EXPECT_EQ(b.state(500), State::kOpen);
  EXPECT_FALSE(b.allow(500));
  EXPECT_EQ(b.open_until(), 1020);
}

TEST(CircuitBreaker, LetsOneTrialThroughWhenHalfOpen) {
  CircuitBreaker b(1, 1000, 8000);
  b.failure(0);
  EXPECT_EQ(b.state(1000), State::kHalfOpen);
  EXPECT_TRUE(b.allow(1000));
  EXPECT_FALSE(b.allow(1001)) << "one trial at a time";
}

TEST(CircuitBreaker, BlocksWhileOpenAndWhileItsTrialIsOut) {
  CircuitBreaker b(1, 1000, 8000);
  EXPECT_FALSE(b.blocks(0)) << "closed";
  b.failure(0);
  EXPECT_TRUE(b.blocks(999)) << "open";
  EXPECT_FALSE(b.blocks(1000)) << "half-open, no trial yet";
  ASSERT_TRUE(b.allow(1000));
  EXPECT_TRUE(b.blocks(1001)) << "half-open, its trial out";
  b.success();
  EXPECT_FALSE(b.blocks(1002));
}

// The forwarder asks blocks() before it has read the message it would send, and may then send
// nothing: the question must leave the half-open circuit's trial for a request that goes.
TEST(CircuitBreaker, AskingWhetherItBlocksLeavesTheTrialUnused) {
  CircuitBreaker b(1, 1000, 8000);
  b.failure(0);
  for (EpochMillis t : {1000, 1001, 1002}) EXPECT_FALSE(b.blocks(t)) << t;
  EXPECT_TRUE(b.allow(1003)) << "the trial is still there";
  EXPECT_TRUE(b.blocks(1004));
  EXPECT_FALSE(b.allow(1004));
}

TEST(CircuitBreaker, ASuccessfulTrialClosesIt) {
  CircuitBreaker b(1, 1000, 8000);
  b.failure(0);
  ASSERT_TRUE(b.allow(1000));
  b.success();
  EXPECT_EQ(b.state(1001), State::kClosed);
  EXPECT_TRUE(b.allow(1001));
}

TEST(CircuitBreaker, AFailedTrialOpensItForTwiceAsLongUpToTheMaximum) {
  CircuitBreaker b(1, 1000, 3000);
  b.failure(0);
  ASSERT_TRUE(b.allow(1000));
  b.failure(1000);
  EXPECT_EQ(b.open_until(), 3000);
  ASSERT_TRUE(b.allow(3000));
  b.failure(3000);
  EXPECT_EQ(b.open_until(), 6000) << "capped at 3000 ms";
}

}  // namespace
}  // namespace helsebro::forward
