#pragma once
// Intake for KITH e-messages: gives each message an id, classifies it (well-formed, known format,
// schema, MsgId, receiver, patient), and prepares both the journal record and the answer: an
// AppRec (status 1 OK or 2 avvist) when the sender can be read, HTTP problem JSON otherwise.
// A valid e-message is translated by the kith mapping for its type and version and delivered like
// any other message; one no mapping takes is stored as held, for `helsebro replay --state held`
// once a mapping exists. A mapping that refuses the message (a required element missing, an
// invalid Bundle) makes it "avvist" (X99 with the reason). The caller stores the record and sends
// the answer only after the journal reports the record durable.

#include <memory>
#include <string>
#include <string_view>

#include "gateway/core/clock.h"
#include "gateway/core/message.h"
#include "gateway/intake/hl7v2_intake.h"  // MappingProvider

namespace helsebro::kith {
class Classifier;
class SchemaIndex;
struct Classification;
struct AppRecRequest;
}  // namespace helsebro::kith

namespace helsebro::observe {
class IntakeProbe;
}

namespace helsebro::intake {

struct KithRules {
  std::string channel = "http-kith";
  bool apprec_1_0 = false;        // AppRec 1.0 instead of 1.1
  std::string software_version;   // the AppRec's Software/Version
};

/// A message, classified, waiting for its journal commit.
struct PreparedKith {
  MessageRecord record;        // state translated, held or rejected
  int http_status = 200;       // 200 with an AppRec; 400 with problem JSON (sender unreadable);
                               // 202 for a received AppRec (a receipt is not answered)
  std::string content_type;
  std::string body;            // the AppRec, or problem JSON
  std::string outcome;         // metric label: "apprec_ok", "apprec_rejected", "problem", "accepted"
  std::string metric_type;     // the payload's element (known to the schema index) or "other"
  bool duplicate_checked = false;  // sender and MsgId known: store with append_unique
};

/// Thread-safe: holds no per-message state.
class KithIntake {
 public:
  /// `classifier` must not be null. `mappings` (with `index`, the schema index of the
  /// classifier's schemas) translates accepted messages; without them every one is held.
  KithIntake(KithRules rules, std::shared_ptr<const kith::Classifier> classifier, Clock clock,
             observe::IntakeProbe* probe, MappingProvider mappings = {},
             std::shared_ptr<const kith::SchemaIndex> index = {});
  ~KithIntake();

  /// Classifies one e-message. Never fails: bad input yields a rejected record and its answer.
  PreparedKith prepare(std::string_view bytes, const std::string& peer) const;
  /// Classifies and translates a stored e-message again (replay) with today's schemas and
  /// mappings, keeping its id, receipt time, channel and peer.
  PreparedKith prepare_again(const MessageRecord& stored) const;

  const std::string& channel() const { return rules_.channel; }

 private:
  kith::AppRecRequest apprec_for(const kith::Classification& c, const MessageRecord& r) const;
  /// `seed` holds the id, receipt time, channel and peer; the rest is read from `bytes`.
  PreparedKith classify(MessageRecord seed, std::string_view bytes) const;

  KithRules rules_;
  std::shared_ptr<const kith::Classifier> classifier_;
  Clock clock_;
  observe::IntakeProbe* probe_;
  MappingProvider mappings_;
  std::shared_ptr<const kith::SchemaIndex> index_;
};

}  // namespace helsebro::intake
