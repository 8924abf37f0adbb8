#include "gateway/listen/inbound_exchange.h"

#include <chrono>
#include <mutex>
#include <optional>

#include "gateway/core/journal.h"
#include "gateway/core/patient_directory.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/intake/kith_intake.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::listen {
namespace {

using Pipeline = std::shared_ptr<const InboundPipeline>;
using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point started) {
  return std::chrono::duration<double>(SteadyClock::now() - started).count();
}

// What the journal keeps: a copy of the record with the Bundle moved, not copied (the exchange
// needs only the id, state and answer afterwards).
MessageRecord for_journal(MessageRecord& r) {
  std::string bundle = std::move(r.bundle);
  MessageRecord copy = r;
  copy.bundle = std::move(bundle);
  return copy;
}

// Stores a record; `done` gets the journal's answer on the journal's thread. Accepted messages
// are checked against the duplicate window, refused ones are always stored.
void store_record(const InboundPipeline& pipeline, MessageRecord record, bool unique,
                  Journal::UniqueDone done) {
  const auto window = static_cast<EpochMillis>(pipeline.duplicate_window_seconds * 1000);
  if (unique && window > 0) {
    const EpochMillis since = record.received_at - window;
    pipeline.journal->append_unique(std::move(record), since, std::move(done));
    return;
  }
  pipeline.journal->append(std::move(record), [done = std::move(done)](Result<std::int64_t> seq) {
    if (seq)
      done(AppendOutcome::stored(*seq));
    else
      done(seq.error());
  });
}

void journal_failed(const InboundPipeline& pipeline, const std::string& channel,
                    const std::string& id, const Error& error) {
  pipeline.probes->intake.rejected(channel, info(Errc::kJournalWriteFailed).name);
  observe::log_error("inbound.journal_failed",
                     {{"id", id}, {"channel", channel}, {"error", error.detail}});
}

void duplicate(const InboundPipeline& pipeline, const std::string& channel, const std::string& id,
               const AppendOutcome& outcome) {
  pipeline.probes->intake.duplicate(channel);
  observe::log_info("inbound.duplicate",
                    {{"id", id}, {"channel", channel}, {"original", outcome.original_id}});
}

// A new message whose sender had used its control id before, for other content: stored.
void note_reused_control_id(const InboundPipeline& pipeline, const std::string& channel,
                            const std::string& id, const AppendOutcome& outcome) {
  if (outcome.same_control_id_as.empty()) return;
  pipeline.probes->intake.control_id_reused(channel);
  observe::log_warn("inbound.control_id_reused",
                    {{"id", id}, {"channel", channel}, {"earlier", outcome.same_control_id_as}});
}

class KithExchange final : public InboundExchange,
                           public std::enable_shared_from_this<KithExchange> {
 public:
  KithExchange(Pipeline pipeline, std::shared_ptr<const intake::KithIntake> intake,
               std::string_view bytes, const std::string& peer)
      : pipeline_(std::move(pipeline)),
        intake_(std::move(intake)),
        prepared_(intake_->prepare(bytes, peer)) {}

  const std::string& channel() const override { return intake_->channel(); }
  std::vector<std::string> ids() const override { return {prepared_.record.id}; }

  InboundAnswer planned() const override {
    InboundAnswer a;
    a.http_status = prepared_.http_status;
    a.content_type = prepared_.content_type;
    a.body = prepared_.body;
    a.accepted = prepared_.record.state != MessageState::kRejected;
    return a;
  }

  void settle(std::function<void()> done) override {
    PatientDirectory* patients = intake_->patients();
    if (!prepared_.patient_check || patients == nullptr) return done();
    patients->find(prepared_.patient_check->ids,
                   [self = shared_from_this(), done = std::move(done)](PatientPresence presence) {
                     self->intake_->settle_patient(self->prepared_, presence);
                     done();
                   });
  }

  void store(std::function<void(InboundAnswer)> done) override {
    if (prepared_.patient_check) {
      return settle([self = shared_from_this(), done = std::move(done)]() mutable {
        self->store_settled(std::move(done));
      });
    }
    store_settled(std::move(done));
  }

 private:
  void store_settled(std::function<void(InboundAnswer)> done) {
    store_record(*pipeline_, for_journal(prepared_.record), prepared_.duplicate_checked,
                 [self = shared_from_this(), done = std::move(done)](Result<AppendOutcome> r) {
                   done(self->answer(r));
                 });
  }

  InboundAnswer answer(const Result<AppendOutcome>& stored) const {
    InboundAnswer a = planned();
    const MessageRecord& r = prepared_.record;
    if (!stored) {
      journal_failed(*pipeline_, channel(), r.id, stored.error());
      a.body.clear();
      a.accepted = false;
      a.storage_failed = true;
      a.storage_error = stored.error().detail;
      return a;
    }
    if (stored->duplicate) {
      // The original was accepted: its answer goes back as it went then, whatever this copy's
      // own answer would have been: an AppRec (XML), or for a receipt we were sent, the JSON
      // naming the message it was kept as (kith_intake.cpp).
      duplicate(*pipeline_, channel(), r.id, *stored);
      a.body = stored->original_ack;
      const bool receipt = !a.body.empty() && a.body.front() == '{';
      a.http_status = receipt ? 202 : 200;
      a.content_type = receipt ? "application/json" : "application/xml; charset=utf-8";
      a.accepted = true;
    } else {
      note_reused_control_id(*pipeline_, channel(), r.id, *stored);
      if (r.state == MessageState::kTranslated && pipeline_->on_stored) pipeline_->on_stored();
    }
    pipeline_->probes->intake.acknowledged(channel(), prepared_.outcome, seconds_since(started_));
    return a;
  }

  Pipeline pipeline_;
  std::shared_ptr<const intake::KithIntake> intake_;
  intake::PreparedKith prepared_;
  SteadyClock::time_point started_ = SteadyClock::now();
};

// The messages of one HL7 v2 body, answered together once the journal has stored them all.
class Hl7v2Exchange final : public InboundExchange,
                            public std::enable_shared_from_this<Hl7v2Exchange> {
 public:
  Hl7v2Exchange(Pipeline pipeline, std::shared_ptr<const intake::Hl7v2Intake> intake,
                std::string_view bytes, const intake::Peer& peer)
      : pipeline_(std::move(pipeline)),
        intake_(std::move(intake)),
        frame_(intake_->prepare_frame(bytes, peer)) {}

  const std::string& channel() const override { return intake_->channel(); }

  std::vector<std::string> ids() const override {
    std::vector<std::string> out;
    for (const auto& m : frame_.messages) out.push_back(m.record.id);
    return out;
  }

  InboundAnswer planned() const override {
    std::vector<std::string> acks;
    InboundAnswer a;
    for (const auto& m : frame_.messages) {
      acks.push_back(m.ack);  // a request is always answered (MSH-15/16 NE is for MLLP)
      a.accepted = a.accepted || m.record.state != MessageState::kRejected;
    }
    return with_body(std::move(a), acks);
  }

  void store(std::function<void(InboundAnswer)> done) override {
    const std::size_t n = frame_.messages.size();
    done_ = std::move(done);
    results_.resize(n);
    remaining_ = n;
    if (n == 0) return done_(planned());
    auto self = shared_from_this();
    for (std::size_t i = 0; i < n; ++i) {
      MessageRecord& record = frame_.messages[i].record;
      const bool unique = accepted(record.state);
      store_record(*pipeline_, for_journal(record), unique,
                   [self, i](Result<AppendOutcome> r) { self->stored(i, std::move(r)); });
    }
  }

 private:
  InboundAnswer with_body(InboundAnswer a, const std::vector<std::string>& acks) const {
    a.content_type = "x-application/hl7-v2+er7";
    if (frame_.batch)
      a.body = intake_->batch_ack(frame_, acks);
    else if (!acks.empty())
      a.body = acks.front();
    if (a.body.empty() && !a.storage_failed) a.http_status = 202;  // an ACK received: kept, not answered
    return a;
  }

  void stored(std::size_t index, Result<AppendOutcome> result) {
    {
      std::lock_guard lock(mutex_);
      results_[index] = std::move(result);
      if (--remaining_ > 0) return;
    }
    done_(finish());
  }

  InboundAnswer finish() {
    InboundAnswer a;
    std::vector<std::string> acks;
    std::size_t translated = 0;
    for (std::size_t i = 0; i < frame_.messages.size(); ++i) {
      intake::PreparedMessage& m = frame_.messages[i];
      const Result<AppendOutcome>& r = *results_[i];
      if (!r) {
        journal_failed(*pipeline_, channel(), m.record.id, r.error());
        a.storage_failed = true;
        a.storage_error = r.error().detail;
        m.ack_code = m.mode == intake::AckMode::kEnhanced ? "CE" : "AE";
        acks.push_back(intake_->storage_failed_ack(m));
        continue;
      }
      a.accepted = a.accepted || m.record.state != MessageState::kRejected;
      if (r->duplicate) {
        duplicate(*pipeline_, channel(), m.record.id, *r);
        acks.push_back(r->original_ack.empty() ? m.ack : r->original_ack);
      } else {
        note_reused_control_id(*pipeline_, channel(), m.record.id, *r);
        if (awaits_delivery(m.record.state)) ++translated;
        // An HTTP request (or a file's reply) is always answered: MSH-15/16 NE asks a
        // transport that could stay silent for no acknowledgement, and this one cannot.
        acks.push_back(m.ack);
      }
    }
    const double seconds = seconds_since(started_);
    for (std::size_t i = 0; i < frame_.messages.size(); ++i)  // "none": the sender asked for no answer
      pipeline_->probes->intake.acknowledged(channel(), acks[i].empty() ? "none" : frame_.messages[i].ack_code, seconds);
    if (translated > 0 && pipeline_->on_stored) pipeline_->on_stored();
    return with_body(std::move(a), acks);
  }

  Pipeline pipeline_;
  std::shared_ptr<const intake::Hl7v2Intake> intake_;
  intake::PreparedFrame frame_;
  SteadyClock::time_point started_ = SteadyClock::now();
  std::function<void(InboundAnswer)> done_;
  std::mutex mutex_;
  std::vector<std::optional<Result<AppendOutcome>>> results_;
  std::size_t remaining_ = 0;
};

}  // namespace

std::shared_ptr<InboundExchange> kith_exchange(Pipeline pipeline,
                                               std::shared_ptr<const intake::KithIntake> intake,
                                               std::string_view bytes, const std::string& peer) {
  return std::make_shared<KithExchange>(std::move(pipeline), std::move(intake), bytes, peer);
}

std::shared_ptr<InboundExchange> hl7v2_exchange(Pipeline pipeline,
                                                std::shared_ptr<const intake::Hl7v2Intake> intake,
                                                std::string_view bytes, const intake::Peer& peer) {
  return std::make_shared<Hl7v2Exchange>(std::move(pipeline), std::move(intake), bytes, peer);
}

}  // namespace helsebro::listen
