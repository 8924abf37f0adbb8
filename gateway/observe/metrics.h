#pragma once
// Prometheus metrics: counters, gauges and histograms in families with bounded label sets,
// exposed in the text format. Each part declares its metrics once (see *_metrics.h) and updates
// them through intent-named methods. All operations are thread-safe; updates are lock-free once
// a label combination exists.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace helsebro::observe {

using Labels = std::vector<std::string>;  // values, in the family's label-name order

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  /// Cumulative bucket counts (one per bound, then +Inf), sum and count.
  void snapshot(std::vector<std::uint64_t>& buckets, double& sum, std::uint64_t& count) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

/// A named metric with help text and label names; children per label combination.
class Family {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});

  Counter& counter(const Labels& labels = {});
  Gauge& gauge(const Labels& labels = {});
  Histogram& histogram(const Labels& labels = {});

  void write(std::string& out) const;
  const std::string& name() const { return name_; }

 private:
  struct Child {
    Counter counter;
    Gauge gauge;
    std::unique_ptr<Histogram> histogram;
  };
  Child& child(const Labels& labels);

  std::string name_, help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<Labels, std::unique_ptr<Child>> children_;
};

/// All families of a process. Families live as long as the registry.
class Registry {
 public:
  Family& add(std::string name, std::string help, MetricType type,
              std::vector<std::string> label_names = {}, std::vector<double> bounds = {});
  /// Called before each exposition, to refresh gauges read from elsewhere (journal depth …).
  void on_collect(std::function<void()> hook);
  std::string expose() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void()>> hooks_;
};

/// Latency buckets in seconds, from 100 µs to 30 s.
std::vector<double> latency_buckets();
/// Buckets for waits that run from milliseconds to the retry budget's days (delivery after an
/// outage, a translation backlog): latency_buckets() would put all of them in +Inf past 30 s.
std::vector<double> wait_buckets();

}  // namespace helsebro::observe
