#pragma once
// An in-memory Journal for unit tests: appends are "durable" at once and answered on the calling
// thread; failures can be switched on. Only what the listeners use is modelled.

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/core/journal.h"

namespace helsebro::test {

class MemoryJournal final : public Journal {
 public:
  void append(MessageRecord record, AppendDone done) override {
    if (failing_) return done(Error{Errc::kJournalWriteFailed, "disk full (test)"});
    done(insert(std::move(record)));
  }

  void append_unique(MessageRecord record, EpochMillis window_start, UniqueDone done) override {
    if (failing_) return done(Error{Errc::kJournalWriteFailed, "disk full (test)"});
    std::string same_control_id_as;
    {
      std::lock_guard lock(mutex_);
      for (const auto& r : records_) {
        if (r.sender == record.sender && r.control_id == record.control_id &&
            r.state != MessageState::kRejected && r.received_at >= window_start) {
          if (r.payload_sha256 == record.payload_sha256) {
            AppendOutcome original = AppendOutcome::stored(r.seq);
            original.duplicate = true;
            original.original_id = r.id;
            original.original_ack = r.ack;
            return done(std::move(original));
          }
          if (same_control_id_as.empty()) same_control_id_as = r.id;
        }
      }
    }
    AppendOutcome stored = AppendOutcome::stored(insert(std::move(record)));
    stored.same_control_id_as = std::move(same_control_id_as);
    done(std::move(stored));
  }

  void mark_delivered(std::int64_t, std::int64_t, EpochMillis, Done done) override { done(Result<void>()); }
  void mark_failed(std::int64_t, std::int64_t, std::string, EpochMillis, EpochMillis, Done done) override {
    done(Result<void>());
  }
  void mark_dead(std::int64_t, std::int64_t, std::string, EpochMillis, Done done) override {
    done(Result<void>());
  }
  void retranslate(std::int64_t, AsRead, MessageState, std::string, std::string, std::string, std::string,
                   EpochMillis, Done done) override {
    done(Result<void>());
  }
  void purge(EpochMillis, EpochMillis, std::function<void(Result<std::int64_t>)> done) override {
    done(0);
  }
  Result<std::vector<MessageRecord>> pending(std::size_t, std::int64_t) override {
    return std::vector<MessageRecord>{};
  }
  Result<std::optional<MessageRecord>> waiting(std::int64_t seq) override {
    std::lock_guard lock(mutex_);
    for (const auto& r : records_) {
      if (r.seq == seq) return std::optional<MessageRecord>(r);
    }
    return std::optional<MessageRecord>();
  }
  // As the SQLite journal answers: matches in seq order, at most `limit`, after `after_seq`.
  Result<std::vector<MessageRecord>> find(const MessageQuery& query) override {
    std::vector<MessageRecord> out;
    for (const MessageRecord& r : records()) {
      if (out.size() == query.limit) break;
      const bool asked = query.ids.empty() ||
                         std::find(query.ids.begin(), query.ids.end(), r.id) != query.ids.end();
      if (!asked || (query.state && r.state != *query.state) ||
          r.received_at < query.received_since || r.seq <= query.after_seq) {
        continue;
      }
      out.push_back(r);
    }
    return out;
  }

  Result<std::optional<MessageRecord>> get(const std::string& id) override {
    std::lock_guard lock(mutex_);
    for (const auto& r : records_) {
      if (r.id == id) return std::optional<MessageRecord>(r);
    }
    return std::optional<MessageRecord>();
  }

  Result<std::map<MessageState, std::int64_t>> counts() override {
    std::map<MessageState, std::int64_t> out;
    for (const auto& r : records()) ++out[r.state];
    return out;
  }

  std::vector<MessageRecord> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  void set_failing(bool failing) { failing_ = failing; }

 private:
  std::int64_t insert(MessageRecord record) {
    std::lock_guard lock(mutex_);
    record.seq = static_cast<std::int64_t>(records_.size()) + 1;
    records_.push_back(std::move(record));
    return records_.back().seq;
  }

  mutable std::mutex mutex_;
  std::vector<MessageRecord> records_;
  std::atomic<bool> failing_{false};
};

}  // namespace helsebro::test
