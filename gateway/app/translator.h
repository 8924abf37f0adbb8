#pragma once
// The Translator of DESIGN's flow, for channels that translate after the ACK (translate
// "afterAck"): messages stored as received are translated in arrival order with the current
// mappings, then handed to the forwarder (translated), or kept as rejected or held. It runs on a
// thread of its own at a lower scheduling priority than the listeners, so acknowledging stays
// quick under load and translation catches up in the slack; back-pressure (the backlog counts
// received messages) stops senders before it falls too far behind. Until a received message is
// translated, no later message is delivered (Journal::pending), so each patient's order holds.
//
// Woken by notify() when received messages were stored, and once a second regardless (messages
// left received by a crash are taken at start). Only ids, channels and states are logged.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "gateway/app/replay.h"
#include "gateway/core/clock.h"
#include "gateway/core/journal.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::observe {
class Family;
class IntakeProbe;
class Registry;
}  // namespace helsebro::observe

namespace helsebro::app {

class Translator {
 public:
  using MappingsNow = std::function<std::shared_ptr<const mapping::MappingSet>()>;
  /// Called on the translator's thread after each batch is committed, whatever its messages
  /// became: how many became translated (to deliver). Those it rejected or held were settled too,
  /// and no later message waits behind them for delivery any more.
  using Translated = std::function<void(std::size_t translated)>;

  /// The journal, registry and probe must outlive the translator. `intake` counts the fields each
  /// translation left unread, as translating before the ACK does (null: not counted).
  Translator(Journal& journal, MappingsNow mappings, ReplayRules rules, observe::Registry& registry,
             observe::IntakeProbe* intake, Translated on_translated, Clock clock = {});
  ~Translator();
  Translator(const Translator&) = delete;
  Translator& operator=(const Translator&) = delete;

  void start();
  /// Received messages were stored. Thread-safe, cheap.
  void notify();
  /// Finishes the batch in hand and stops the thread. Idempotent.
  void stop();

 private:
  void run();
  void translate_all();
  bool nothing_received();

  Journal& journal_;
  MappingsNow mappings_;
  ReplayRules rules_;
  observe::IntakeProbe* intake_;
  Translated on_translated_;
  Clock clock_;
  observe::Family& messages_;
  observe::Family& delay_;
  observe::Family& failures_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool notified_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace helsebro::app
