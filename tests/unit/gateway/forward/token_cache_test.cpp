#include "gateway/forward/token_cache.h"

#include <gtest/gtest.h>

#include <limits>
#include <memory>

namespace helsebro::forward {
namespace {

// A clock the test moves by hand.
struct ManualClock {
  std::shared_ptr<EpochMillis> now = std::make_shared<EpochMillis>(1'700'000'000'000);
  Clock clock() const {
    return Clock([now = now] { return *now; });
  }
  void advance_ms(EpochMillis ms) const { *now += ms; }
};

TEST(TokenCache, EmptyUntilATokenIsStored) {
  ManualClock t;
  TokenCache cache(t.clock());
  EXPECT_EQ(cache.fresh(), nullptr);
  cache.store("tok-1", 3600);
  ASSERT_NE(cache.fresh(), nullptr);
  EXPECT_EQ(*cache.fresh(), "tok-1");
}

TEST(TokenCache, RenewsThirtySecondsBeforeALongLivedTokenExpires) {
  ManualClock t;
  TokenCache cache(t.clock());
  cache.store("tok-1", 3600);
  t.advance_ms(3'570'000 - 1);
  EXPECT_NE(cache.fresh(), nullptr);
  t.advance_ms(1);
  EXPECT_EQ(cache.fresh(), nullptr);
}

TEST(TokenCache, RenewsATenthBeforeAShortLivedTokenExpires) {
  ManualClock t;
  TokenCache cache(t.clock());
  cache.store("tok-1", 3);
  t.advance_ms(2'699);
  EXPECT_NE(cache.fresh(), nullptr);
  t.advance_ms(1);
  EXPECT_EQ(cache.fresh(), nullptr);
}

TEST(TokenCache, RefreshMarginIsATenthAtMostThirtySeconds) {
  EXPECT_EQ(TokenCache::refresh_margin_ms(3'000), 300);
  EXPECT_EQ(TokenCache::refresh_margin_ms(300'000), 30'000);
  EXPECT_EQ(TokenCache::refresh_margin_ms(86'400'000), 30'000);
  EXPECT_EQ(TokenCache::refresh_margin_ms(0), 0);
}

// An issuer that says a token lives for ever (or sends nonsense) gets a day: the renewal time must
// not overflow into the past, or every request would fetch a new token.
TEST(TokenCache, AHugeExpiresInCountsAsADay) {
  ManualClock t;
  TokenCache cache(t.clock());
  cache.store("tok-1", 1e16);
  ASSERT_NE(cache.fresh(), nullptr);
  t.advance_ms(86'400'000 - 30'000 - 1);
  EXPECT_NE(cache.fresh(), nullptr);
  t.advance_ms(1);
  EXPECT_EQ(cache.fresh(), nullptr);
  cache.store("tok-2", std::numeric_limits<double>::infinity());
  EXPECT_NE(cache.fresh(), nullptr);
}

TEST(TokenCache, WithoutExpiresInAssumesFiveMinutes) {
  ManualClock t;
  TokenCache cache(t.clock());
  cache.store("tok-1", std::nullopt);
  t.advance_ms(TokenCache::kDefaultLifetimeMs - 30'000 - 1);
  EXPECT_NE(cache.fresh(), nullptr);
  t.advance_ms(1);
  EXPECT_EQ(cache.fresh(), nullptr);
}

TEST(TokenCache, ATokenThatExpiresAtOnceIsNeverFresh) {
  ManualClock t;
  TokenCache cache(t.clock());
  cache.store("tok-1", 0);
  EXPECT_EQ(cache.fresh(), nullptr);
  cache.store("tok-2", -5);
  EXPECT_EQ(cache.fresh(), nullptr);
}

TEST(TokenCache, ANewTokenReplacesTheOld) {
  ManualClock t;
  TokenCache cache(t.clock());
  cache.store("tok-1", 10);
  t.advance_ms(9'500);
  EXPECT_EQ(cache.fresh(), nullptr);
  cache.store("tok-2", 10);
  ASSERT_NE(cache.fresh(), nullptr);
  EXPECT_EQ(*cache.fresh(), "tok-2");
}

TEST(TokenCache, InvalidateForgetsOnlyTheRefusedToken) {
  ManualClock t;
  TokenCache cache(t.clock());
  cache.store("tok-2", 3600);
  cache.invalidate("tok-1");  // a lane's 401 for a token already replaced
  ASSERT_NE(cache.fresh(), nullptr);
  EXPECT_EQ(*cache.fresh(), "tok-2");
  cache.invalidate("tok-2");
  EXPECT_EQ(cache.fresh(), nullptr);
}

}  // namespace
}  // namespace helsebro::forward
