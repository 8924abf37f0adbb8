#include "gateway/observe/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace helsebro::observe {
namespace {

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  // Nine digits when they give the value back (bucket bounds keep the text dashboards name:
  // le="0.0001"), else seventeen: with nine, a sum past 10^9 seconds moved in steps of 10, and
  // rate() over it was wrong.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string label_text(const std::vector<std::string>& names, const Labels& values,
                       const std::string& extra = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!out.empty()) out += ",";
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

void atomic_add(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::snapshot(std::vector<std::uint64_t>& buckets, double& sum,
                         std::uint64_t& count) const {
  buckets.assign(bounds_.size() + 1, 0);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    buckets[i] = running;
  }
  sum = sum_.load(std::memory_order_relaxed);
  count = running;
}

Family::Family(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {
  // A family without labels has one series: exposed from the start, at zero, so that a rule such
  // as increase(…[10m]) > 0 sees its first event (a series that first appears at 1 shows none).
  if (label_names_.empty()) child({});
}

Family::Child& Family::child(const Labels& labels) {
  if (labels.size() != label_names_.size()) {
    throw std::logic_error("metric " + name_ + ": wrong number of labels");
  }
  std::lock_guard lock(mutex_);
  auto& slot = children_[labels];
  if (!slot) {
    slot = std::make_unique<Child>();
    if (type_ == MetricType::kHistogram) slot->histogram = std::make_unique<Histogram>(bounds_);
  }
  return *slot;
}

Counter& Family::counter(const Labels& labels) { return child(labels).counter; }
Gauge& Family::gauge(const Labels& labels) { return child(labels).gauge; }
Histogram& Family::histogram(const Labels& labels) { return *child(labels).histogram; }

void Family::write(std::string& out) const {
  static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
  out += "# HELP " + name_ + " " + help_ + "\n";
  out += "# TYPE " + name_ + " " + kTypeNames[static_cast<int>(type_)] + "\n";
  std::lock_guard lock(mutex_);
  for (const auto& [labels, child] : children_) {
    switch (type_) {
      case MetricType::kCounter:
        out += name_ + label_text(label_names_, labels) + " " + std::to_string(child->counter.value()) + "\n";
        break;
      case MetricType::kGauge:
        out += name_ + label_text(label_names_, labels) + " " + format_number(child->gauge.value()) + "\n";
        break;
      case MetricType::kHistogram: {
        std::vector<std::uint64_t> buckets;
        double sum = 0;
        std::uint64_t count = 0;
        child->histogram->snapshot(buckets, sum, count);
        for (std::size_t i = 0; i < buckets.size(); ++i) {
          const std::string le = i < bounds_.size() ? format_number(bounds_[i]) : "+Inf";
          out += name_ + "_bucket" + label_text(label_names_, labels, "le=\"" + le + "\"") + " " +
                 std::to_string(buckets[i]) + "\n";
        }
        out += name_ + "_sum" + label_text(label_names_, labels) + " " + format_number(sum) + "\n";
        out += name_ + "_count" + label_text(label_names_, labels) + " " + std::to_string(count) + "\n";
        break;
      }
    }
  }
}

Family& Registry::add(std::string name, std::string help, MetricType type,
                      std::vector<std::string> label_names, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  families_.push_back(std::make_unique<Family>(std::move(name), std::move(help), type,
                                               std::move(label_names), std::move(bounds)));
  return *families_.back();
}

void Registry::on_collect(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  hooks_.push_back(std::move(hook));
}

std::string Registry::expose() const {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mutex_);
    hooks = hooks_;
  }
  for (const auto& hook : hooks) hook();
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) family->write(out);
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::vector<double> wait_buckets() {
  return {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 96 * 3600};
}

}  // namespace helsebro::observe
