#include "gateway/observe/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace helsebro::observe {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Metrics, CounterWithLabels) {
  Registry r;
  Family& f = r.add("helsebro_test_total", "Things counted, by channel.", MetricType::kCounter, {"channel"});
  f.counter({"mllp"}).inc(3);
  f.counter({"mllp"}).inc();
  f.counter({"tls"}).inc();
  EXPECT_EQ(f.counter({"mllp"}).value(), 4u);
  EXPECT_EQ(r.expose(),
            "# HELP helsebro_test_total Things counted, by channel.\n"
            "# TYPE helsebro_test_total counter\n"
            "helsebro_test_total{channel=\"mllp\"} 4\n"
            "helsebro_test_total{channel=\"tls\"} 1\n");
}

TEST(Metrics, FamilyWithoutChildrenStillHasHelpAndType) {
  Registry r;
  r.add("helsebro_unused_total", "Never incremented.", MetricType::kCounter, {"reason"});
  EXPECT_EQ(r.expose(),
            "# HELP helsebro_unused_total Never incremented.\n"
            "# TYPE helsebro_unused_total counter\n");
}

TEST(Metrics, AFamilyWithoutLabelsIsExposedAtZeroBeforeItsFirstEvent) {
  Registry r;
  r.add("helsebro_commits_total", "Commits.", MetricType::kCounter);
  r.add("helsebro_wait_seconds", "Waits (seconds).", MetricType::kHistogram, {}, {1});
  const std::string text = r.expose();
  EXPECT_TRUE(contains(text, "\nhelsebro_commits_total 0\n")) << text;
  EXPECT_TRUE(contains(text, "\nhelsebro_wait_seconds_count 0\n")) << text;
}

TEST(Metrics, GaugeWithoutLabels) {
  Registry r;
  Family& f = r.add("helsebro_depth", "Queue depth (messages).", MetricType::kGauge);
  Gauge& g = f.gauge();
  g.set(2.5);
  EXPECT_TRUE(contains(r.expose(), "# TYPE helsebro_depth gauge\nhelsebro_depth 2.5\n")) << r.expose();
  g.set(3);
  g.add(-1);
  EXPECT_DOUBLE_EQ(g.value(), 2);
  EXPECT_TRUE(contains(r.expose(), "\nhelsebro_depth 2\n")) << r.expose();
  g.set(-0.125);
  EXPECT_TRUE(contains(r.expose(), "\nhelsebro_depth -0.125\n")) << r.expose();
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  Family& f = r.add("helsebro_latency_seconds", "Latency (seconds).", MetricType::kHistogram, {"target"},
                    {0.1, 1, 10});
  Histogram& h = f.histogram({"shared-record"});
  for (double v : {0.05, 0.5, 0.5, 1.0, 5.0, 50.0}) h.observe(v);
  const std::string text = r.expose();
  EXPECT_EQ(text,
            "# HELP helsebro_latency_seconds Latency (seconds).\n"
            "# TYPE helsebro_latency_seconds histogram\n"
            "helsebro_latency_seconds_bucket{target=\"shared-record\",le=\"0.1\"} 1\n"
            "helsebro_latency_seconds_bucket{target=\"shared-record\",le=\"1\"} 4\n"
            "helsebro_latency_seconds_bucket{target=\"shared-record\",le=\"10\"} 5\n"
            "helsebro_latency_seconds_bucket{target=\"shared-record\",le=\"+Inf\"} 6\n"
            "helsebro_latency_seconds_sum{target=\"shared-record\"} 57.05\n"
            "helsebro_latency_seconds_count{target=\"shared-record\"} 6\n");
}

TEST(Metrics, HistogramWithoutLabels) {
  Registry r;
  Family& f = r.add("helsebro_batch", "Batch size.", MetricType::kHistogram, {}, {1, 2});
  f.histogram().observe(2);
  f.histogram().observe(3);
  const std::string text = r.expose();
  EXPECT_TRUE(contains(text, "helsebro_batch_bucket{le=\"1\"} 0\n")) << text;
  EXPECT_TRUE(contains(text, "helsebro_batch_bucket{le=\"2\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "helsebro_batch_bucket{le=\"+Inf\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "helsebro_batch_sum 5\n")) << text;
  EXPECT_TRUE(contains(text, "helsebro_batch_count 2\n")) << text;
}

TEST(Metrics, HistogramSnapshot) {
  Histogram h({1, 2, 4});
  h.observe(0.5);
  h.observe(3);
  h.observe(3);
  h.observe(100);
  std::vector<std::uint64_t> buckets;
  double sum = 0;
  std::uint64_t count = 0;
  h.snapshot(buckets, sum, count);
  EXPECT_EQ(buckets, (std::vector<std::uint64_t>{1, 1, 3, 4}));
  EXPECT_DOUBLE_EQ(sum, 106.5);
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(h.bounds().size(), 3u);
}

TEST(Metrics, LabelValuesAreEscaped) {
  Registry r;
  Family& f = r.add("helsebro_escaped_total", "Escaping.", MetricType::kCounter, {"reason"});
  f.counter({"say \"hi\"\\\nbye"}).inc();
  EXPECT_TRUE(contains(r.expose(), "helsebro_escaped_total{reason=\"say \\\"hi\\\"\\\\\\nbye\"} 1\n"))
      << r.expose();
}

TEST(Metrics, SeveralLabelsInDeclaredOrder) {
  Registry r;
  Family& f = r.add("helsebro_pairs_total", "Pairs.", MetricType::kCounter, {"channel", "code"});
  f.counter({"mllp", "AA"}).inc(2);
  EXPECT_TRUE(contains(r.expose(), "helsebro_pairs_total{channel=\"mllp\",code=\"AA\"} 2\n")) << r.expose();
}

TEST(Metrics, WrongNumberOfLabelsIsAProgrammingError) {
  Registry r;
  Family& f = r.add("helsebro_labels_total", "Labels.", MetricType::kCounter, {"a", "b"});
  EXPECT_THROW(f.counter({"only-one"}), std::logic_error);
  EXPECT_THROW(f.counter(), std::logic_error);
}

TEST(Metrics, FamiliesAreExposedInRegistrationOrder) {
  Registry r;
  r.add("helsebro_b_total", "B.", MetricType::kCounter).counter().inc();
  r.add("helsebro_a", "A.", MetricType::kGauge).gauge().set(1);
  const std::string text = r.expose();
  EXPECT_LT(text.find("helsebro_b_total"), text.find("helsebro_a"));
}

TEST(Metrics, CollectHooksRunBeforeExposition) {
  Registry r;
  Gauge& g = r.add("helsebro_refreshed", "Refreshed on collect.", MetricType::kGauge).gauge();
  int calls = 0;
  r.on_collect([&] { g.set(++calls * 10); });
  EXPECT_TRUE(contains(r.expose(), "helsebro_refreshed 10\n"));
  EXPECT_TRUE(contains(r.expose(), "helsebro_refreshed 20\n"));
  EXPECT_EQ(calls, 2);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Registry r;
  Family& counters = r.add("helsebro_concurrent_total", "Concurrent.", MetricType::kCounter, {"t"});
  Family& hist = r.add("helsebro_concurrent_seconds", "Concurrent.", MetricType::kHistogram, {}, {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        counters.counter({"shared"}).inc();
        counters.counter({std::to_string(t)}).inc();
        hist.histogram().observe(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counters.counter({"shared"}).value(), 40000u);
  EXPECT_EQ(counters.counter({"3"}).value(), 10000u);
  std::vector<std::uint64_t> buckets;
  double sum = 0;
  std::uint64_t count = 0;
  hist.histogram().snapshot(buckets, sum, count);
  EXPECT_EQ(count, 40000u);
  EXPECT_DOUBLE_EQ(sum, 40000);
}

// Sums of long-running histograms pass 10^9: each observation must still move them.
TEST(Metrics, NumbersAreWrittenToFullPrecision) {
  Registry r;
  Gauge& g = r.add("helsebro_big", "A large sum (seconds).", MetricType::kGauge).gauge();
  g.set(1080049200.5);
  g.add(7.25);
  EXPECT_TRUE(contains(r.expose(), "\nhelsebro_big 1080049207.75\n")) << r.expose();
  g.set(0.1 + 0.2);
  EXPECT_TRUE(contains(r.expose(), "\nhelsebro_big 0.30000000000000004\n")) << r.expose();
}

TEST(Metrics, WaitBucketsReachTheRetryBudget) {
  const auto b = wait_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_GE(b.back(), 96 * 3600);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

TEST(Metrics, LatencyBucketsIncrease) {
  const auto b = latency_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0001);
  EXPECT_DOUBLE_EQ(b.back(), 30);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

}  // namespace
}  // namespace helsebro::observe
