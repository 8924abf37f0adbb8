#include "gateway/app/translator.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>

#include "gateway/core/thread_name.h"
#include "gateway/observe/log.h"
#include "gateway/observe/metrics.h"
#include "gateway/observe/probes.h"

namespace helsebro::app {
namespace {

// Messages read, translated and handed to the journal at a time: enough to share the reads and
// commits, few enough that the batch (payloads, Bundles) stays about a megabyte.
constexpr std::size_t kBatch = 64;
constexpr auto kIdlePoll = std::chrono::seconds(1);
// Below the listeners (nice 0): Linux lets a thread lower its own priority without privileges.
constexpr int kNice = 10;

}  // namespace

Translator::Translator(Journal& journal, MappingsNow mappings, ReplayRules rules, observe::Registry& registry,
                       observe::IntakeProbe* intake, Translated on_translated, Clock clock)
    : journal_(journal),
      mappings_(std::move(mappings)),
      rules_(std::move(rules)),
      intake_(intake),
      on_translated_(std::move(on_translated)),
      clock_(std::move(clock)),
      messages_(registry.add("helsebro_translator_messages_total",
                             "Messages translated after their ACK (channels with translate afterAck), by "
                             "channel and the state they got: translated, rejected, held.",
                             observe::MetricType::kCounter, {"channel", "state"})),
      delay_(registry.add("helsebro_translator_delay_seconds",
                          "Time from receipt to translation for messages translated after their ACK (seconds).",
                          observe::MetricType::kHistogram, {}, observe::wait_buckets())),
      failures_(registry.add("helsebro_translator_failures_total",
                             "Batches the translator could not read or commit (tried again).",
                             observe::MetricType::kCounter)) {}

Translator::~Translator() { stop(); }

void Translator::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    name_this_thread("hb-translate");
    run();
  });
}

void Translator::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void Translator::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Translator::run() {
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kNice);
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kIdlePoll, [this] { return notified_ || stopping_; });
      if (stopping_) return;
      notified_ = false;
    }
    translate_all();
  }
}

// The journal keeps its counts by state in memory: while none is received, the translator does not
// query the journal after every commit (a gateway translating before the ACK never has one).
bool Translator::nothing_received() {
  const auto counts = journal_.counts();
  if (!counts) return false;  // ask the journal itself
  const auto it = counts->find(MessageState::kReceived);
  return it == counts->end() || it->second == 0;
}

// Batch after batch until none is left received (or stop() is called).
void Translator::translate_all() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (nothing_received()) return;
    const auto set = mappings_();
    if (!set) return;
    auto batch = translate_received(journal_, *set, clock_, rules_, kBatch);
    if (!batch) {
      failures_.counter().inc();
      observe::log_error("translator.failed", {{"error", batch.error().detail}});
      return;  // the messages stay received: tried again on the next wake-up
    }
    std::size_t translated = 0;
    const EpochMillis now = clock_.now_ms();
    for (const TranslatedAfterAck& t : *batch) {
      messages_.counter({t.channel, std::string(to_string(t.state))}).inc();
      delay_.histogram().observe(static_cast<double>(now - t.received_at) / 1000.0);
      if (t.state == MessageState::kTranslated) {
        ++translated;
        if (intake_ && t.unmapped_fields > 0) intake_->unmapped_fields(t.mapping, t.unmapped_fields);
        for (std::size_t i = 0; intake_ && i < t.waived_checks; ++i) intake_->invalid_person_id_accepted(t.channel);
      } else {
        observe::log_info("translator.not_delivered",
                          {{"id", t.id}, {"channel", t.channel}, {"state", to_string(t.state)}});
      }
    }
    if (!batch->empty() && on_translated_) on_translated_(translated);
    if (batch->size() < kBatch) return;
  }
}

}  // namespace helsebro::app
