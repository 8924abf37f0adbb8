#include "gateway/forward/circuit_breaker.h"

#include <gtest/gtest.h>

namespace helsebro::forward {
namespace {

using State = CircuitBreaker::State;
using Grant = CircuitBreaker::Grant;

TEST(CircuitBreaker, StaysClosedBelowTheThreshold) {
  CircuitBreaker b(3, 1000, 8000);
  b.failure(0, Grant::kRequest);
  b.failure(10, Grant::kRequest);
  EXPECT_EQ(b.state(20), State::kClosed);
  EXPECT_EQ(b.allow(20), Grant::kRequest);
}

TEST(CircuitBreaker, OpensAtTheThresholdAndRefusesUntilTheCoolDown) {
  CircuitBreaker b(3, 1000, 8000);
  for (EpochMillis t : {0, 10, 20}) b.failure(t, Grant::kRequest);
  EXPECT_EQ(b.state(500), State::kOpen);
  EXPECT_EQ(b.allow(500), Grant::kNone);
  EXPECT_EQ(b.open_until(), 1020);
}

TEST(CircuitBreaker, LetsOneTrialThroughWhenHalfOpen) {
  CircuitBreaker b(1, 1000, 8000);
  b.failure(0, Grant::kRequest);
  EXPECT_EQ(b.state(1000), State::kHalfOpen);
  EXPECT_EQ(b.allow(1000), Grant::kTrial);
  EXPECT_EQ(b.allow(1001), Grant::kNone) << "one trial at a time";
}

TEST(CircuitBreaker, BlocksWhileOpenAndWhileItsTrialIsOut) {
  CircuitBreaker b(1, 1000, 8000);
  EXPECT_FALSE(b.blocks(0)) << "closed";
  b.failure(0, Grant::kRequest);
  EXPECT_TRUE(b.blocks(999)) << "open";
  EXPECT_FALSE(b.blocks(1000)) << "half-open, no trial yet";
  ASSERT_EQ(b.allow(1000), Grant::kTrial);
  EXPECT_TRUE(b.blocks(1001)) << "half-open, its trial out";
  b.success(Grant::kTrial);
  EXPECT_FALSE(b.blocks(1002));
}

// The forwarder asks blocks() before it has read the message it would send, and may then send
// nothing: the question must leave the half-open circuit's trial for a request that goes.
TEST(CircuitBreaker, AskingWhetherItBlocksLeavesTheTrialUnused) {
  CircuitBreaker b(1, 1000, 8000);
  b.failure(0, Grant::kRequest);
  for (EpochMillis t : {1000, 1001, 1002}) EXPECT_FALSE(b.blocks(t)) << t;
  EXPECT_EQ(b.allow(1003), Grant::kTrial) << "the trial is still there";
  EXPECT_TRUE(b.blocks(1004));
  EXPECT_EQ(b.allow(1004), Grant::kNone);
}

// A request granted and then never sent (no token to send it with, or it could not be built)
// tells nothing about the target: the trial is given back, and no failure is counted.
TEST(CircuitBreaker, ARequestNeverSentGivesItsTrialBackAndCountsForNothing) {
  CircuitBreaker b(1, 1000, 8000);
  b.failure(0, Grant::kRequest);
  ASSERT_EQ(b.allow(1000), Grant::kTrial);
  b.unused(Grant::kTrial);
  EXPECT_EQ(b.state(1001), State::kHalfOpen) << "not opened again";
  EXPECT_EQ(b.allow(1001), Grant::kTrial) << "the trial is there for a request that goes";
  CircuitBreaker closed(2, 1000, 8000);
  for (int i = 0; i < 5; ++i) closed.unused(closed.allow(i));
  closed.failure(10, Grant::kRequest);
  EXPECT_EQ(closed.state(11), State::kClosed) << "one failure of two";
}

TEST(CircuitBreaker, ASuccessfulTrialClosesIt) {
  CircuitBreaker b(1, 1000, 8000);
  b.failure(0, Grant::kRequest);
  ASSERT_EQ(b.allow(1000), Grant::kTrial);
  b.success(Grant::kTrial);
  EXPECT_EQ(b.state(1001), State::kClosed);
  EXPECT_EQ(b.allow(1001), Grant::kRequest);
}

TEST(CircuitBreaker, AFailedTrialOpensItForTwiceAsLongUpToTheMaximum) {
  CircuitBreaker b(1, 1000, 3000);
  b.failure(0, Grant::kRequest);
  ASSERT_EQ(b.allow(1000), Grant::kTrial);
  b.failure(1000, Grant::kTrial);
  EXPECT_EQ(b.open_until(), 3000);
  ASSERT_EQ(b.allow(3000), Grant::kTrial);
  b.failure(3000, Grant::kTrial);
  EXPECT_EQ(b.open_until(), 6000) << "capped at 3000 ms";
}

// Four lanes: requests sent while the circuit was closed may time out long after it opened. Such
// a failure is not the trial's: it neither opens the circuit again nor frees the trial's place.
TEST(CircuitBreaker, ARequestSentBeforeItOpenedFailingLaterIsNotTheTrial) {
  CircuitBreaker b(1, 1000, 8000);
  ASSERT_EQ(b.allow(0), Grant::kRequest);  // A
  ASSERT_EQ(b.allow(0), Grant::kRequest);  // B
  b.failure(10, Grant::kRequest);          // A: the circuit opens until 1010
  ASSERT_EQ(b.allow(1010), Grant::kTrial);
  b.failure(1500, Grant::kRequest);        // B, late
  EXPECT_EQ(b.state(1500), State::kHalfOpen) << "not opened again by B";
  EXPECT_EQ(b.open_until(), 1010);
  EXPECT_TRUE(b.blocks(1500)) << "the trial is still out";
  EXPECT_EQ(b.allow(1500), Grant::kNone) << "no second trial";
  b.success(Grant::kTrial);
  EXPECT_EQ(b.state(1600), State::kClosed);
}

// A request sent while closed that succeeds after the circuit opened shows the target is back.
TEST(CircuitBreaker, AnyAnswerClosesItAndTheTrialStaysCountedUntilItComesBack) {
  CircuitBreaker b(1, 1000, 8000);
  ASSERT_EQ(b.allow(0), Grant::kRequest);  // A
  ASSERT_EQ(b.allow(0), Grant::kRequest);  // B
  b.failure(10, Grant::kRequest);          // A: open until 1010
  ASSERT_EQ(b.allow(1010), Grant::kTrial);
  b.success(Grant::kRequest);              // B answers
  EXPECT_EQ(b.state(1020), State::kClosed);
  b.failure(1030, Grant::kRequest);        // open again until 2030
  EXPECT_TRUE(b.blocks(2030)) << "half-open, but the first trial is still out";
  b.failure(2040, Grant::kTrial);          // the old trial fails: twice the cool-down
  EXPECT_EQ(b.open_until(), 4040);
  EXPECT_EQ(b.allow(4040), Grant::kTrial);
}

}  // namespace
}  // namespace helsebro::forward
