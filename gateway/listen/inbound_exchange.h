#pragma once
// One inbound body through its format's pipeline, whatever carried it (an HTTP request, or a file
// in an inbound directory): Intake prepares the records and the answer, the journal stores the
// records, and the answer holds only once the journal reports them durable. A resend of an
// accepted message within the duplicate window gets its original answer and is not stored again.
// No Beast or Asio here.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace helsebro {
class Journal;
}
namespace helsebro::observe {
struct Probes;
}
namespace helsebro::intake {
class Hl7v2Intake;
class KithIntake;
struct Peer;
}  // namespace helsebro::intake

namespace helsebro::listen {

/// What every exchange needs. The journal and probes must outlive every exchange.
struct InboundPipeline {
  Journal* journal = nullptr;
  observe::Probes* probes = nullptr;
  /// Called once messages to deliver (translated, or received to be translated after the ACK)
  /// were stored as new (from the journal's thread).
  std::function<void()> on_stored;
  double duplicate_window_seconds = 86400;  // 0: no duplicate check
};

/// The answer to one inbound body.
struct InboundAnswer {
  int http_status = 200;
  std::string content_type;
  std::string body;  // AppRec, ACK or batch ACK, problem JSON; empty when HL7 v2 asks for none
  /// At least one message was accepted: stored as translated or held, or was a resend of one
  /// that had been. False: every message was refused as bad input.
  bool accepted = false;
  /// The journal failed for at least one message. KITH: `body` is empty, nothing was stored.
  /// HL7 v2: `body` carries AE/CE ("please resend later") for the messages not stored.
  bool storage_failed = false;
  std::string storage_error;
};

/// One body, prepared. Thread-safe to store once; `done` runs exactly once.
class InboundExchange {
 public:
  virtual ~InboundExchange() = default;
  /// The channel the messages are counted and journaled under.
  virtual const std::string& channel() const = 0;
  /// The ids Intake gave the messages, in order (for logs, and to find them in the journal).
  virtual std::vector<std::string> ids() const = 0;
  /// Finishes what needs an answer from elsewhere before the answer is known (a KITH channel's
  /// patient lookup); `done` runs once, on any thread, when planned() is final. store() settles
  /// by itself when this was not called.
  virtual void settle(std::function<void()> done) { done(); }
  /// The answer if every message is stored as new; final once settle() is done.
  virtual InboundAnswer planned() const = 0;
  /// Stores the records; `done` gets the answer on the journal's thread once they are durable.
  virtual void store(std::function<void(InboundAnswer)> done) = 0;
};

/// A KITH e-message (`peer`: the certificate subject, address or file it came from).
std::shared_ptr<InboundExchange> kith_exchange(std::shared_ptr<const InboundPipeline> pipeline,
                                               std::shared_ptr<const intake::KithIntake> intake,
                                               std::string_view bytes, const std::string& peer);

/// An HL7 v2 message or batch.
std::shared_ptr<InboundExchange> hl7v2_exchange(std::shared_ptr<const InboundPipeline> pipeline,
                                                std::shared_ptr<const intake::Hl7v2Intake> intake,
                                                std::string_view bytes, const intake::Peer& peer);

}  // namespace helsebro::listen
