#pragma once
// Intake for KITH e-messages: gives each message an id, classifies it (well-formed, known format,
// schema, MsgId, receiver, patient), and prepares both the journal record and the answer: an
// AppRec (status 1 OK or 2 avvist) when the sender can be read, HTTP problem JSON otherwise.
// A valid e-message is translated by the kith mapping for its type and version and delivered like
// any other message; one no mapping takes is stored as held, for `helsebro replay --state held`
// once a mapping exists. A mapping that refuses the message (a required element missing, an
// invalid Bundle) makes it "avvist" (X99 with the reason). On a channel that takes messages only
// for patients the shared record knows (requireKnownPatient), an accepted message carries a
// pending patient check: the caller asks the PatientDirectory, then settle_patient() turns the
// answer into the final record and AppRec (E35 for an unknown patient). The caller stores the
// record and sends the answer only after the journal reports the record durable.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/clock.h"
#include "gateway/core/message.h"
#include "gateway/core/patient_directory.h"
#include "gateway/intake/hl7v2_intake.h"  // MappingProvider

namespace helsebro::kith {
class Classifier;
class SchemaIndex;
struct Classification;
struct AppRecRequest;
struct Rejection;
}  // namespace helsebro::kith

namespace helsebro::observe {
class IntakeProbe;
}

namespace helsebro::intake {

struct KithRules {
  std::string channel = "http-kith";
  bool apprec_1_0 = false;        // AppRec 1.0 instead of 1.1
  std::string software_version;   // the AppRec's Software/Version
  /// Accept only messages about a patient the PatientDirectory knows (others: E35). Messages
  /// without a patient, or whose patient has no identity number to look up, are not checked.
  bool require_known_patient = false;
};

/// An accepted message whose patient is still to be looked up.
struct PendingPatientCheck {
  std::vector<PatientIdentifier> ids;  // at least one
  std::string patient_path;            // where the patient is, for the E35 text
  std::shared_ptr<const kith::AppRecRequest> apprec;  // the OK receipt, to turn into status 2
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
  bool duplicate_checked = false;  // sender and MsgId known: store with append_unique, whatever the answer
  std::size_t unmapped_fields = 0;  // translated: the attributes and texts its mapping did not read
  /// Set while the answer waits for the patient lookup: give it to KithIntake::settle_patient
  /// before storing or answering. Metrics and the log line wait for it too.
  std::optional<PendingPatientCheck> patient_check;
};

/// Thread-safe: holds no per-message state.
class KithIntake {
 public:
  /// `classifier` must not be null. `mappings` (with `index`, the schema index of the
  /// classifier's schemas) translates accepted messages; without them every one is held.
  /// `patients` answers the patient checks of rules.require_known_patient; without it none is
  /// made.
  KithIntake(KithRules rules, std::shared_ptr<const kith::Classifier> classifier, Clock clock,
             observe::IntakeProbe* probe, MappingProvider mappings = {},
             std::shared_ptr<const kith::SchemaIndex> index = {},
             std::shared_ptr<PatientDirectory> patients = {});
  ~KithIntake();

  /// Classifies one e-message. Never fails: bad input yields a rejected record and its answer.
  PreparedKith prepare(std::string_view bytes, const std::string& peer) const;
  /// Classifies and translates a stored e-message again (replay) with today's schemas and
  /// mappings, keeping its id, receipt time, channel and peer. No patient check: the sender
  /// has had its answer.
  PreparedKith prepare_again(const MessageRecord& stored) const;

  /// Completes a pending patient check with the directory's answer: an unknown patient makes
  /// the message rejected, answered with AppRec status 2 and E35; a known one, or no answer
  /// (the record unreachable), leaves it accepted. Clears `p.patient_check`.
  void settle_patient(PreparedKith& p, PatientPresence presence) const;

  const std::string& channel() const { return rules_.channel; }
  /// Null when no patient check is made.
  PatientDirectory* patients() const { return patients_.get(); }

 private:
  kith::AppRecRequest apprec_for(const kith::Classification& c, const MessageRecord& r) const;
  /// `seed` holds the id, receipt time, channel and peer; the rest is read from `bytes`.
  PreparedKith classify(MessageRecord seed, std::string_view bytes, bool check_patient) const;
  /// Metrics and the log line for a message whose answer is final.
  void report(const PreparedKith& p, const kith::Rejection* rejection) const;

  KithRules rules_;
  std::shared_ptr<const kith::Classifier> classifier_;
  Clock clock_;
  observe::IntakeProbe* probe_;
  MappingProvider mappings_;
  std::shared_ptr<const kith::SchemaIndex> index_;
  std::shared_ptr<PatientDirectory> patients_;
};

}  // namespace helsebro::intake
