#pragma once
// The journal: the durable home of every received message. An acknowledgement is sent only
// after append() reported success, so an acknowledged message survives a crash.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/message.h"
#include "gateway/core/result.h"

namespace helsebro {

/// Thread-safe. Writes are queued and group-committed; their completion callbacks run on the
/// journal's writer thread once the transaction holding them is durable (or failed), so they must
/// be quick and must not call back into the journal synchronously. Reads run on the caller's thread.
/// What append_unique() did: stored the message, or found that it had been accepted before (the
/// same sender, control id and content within the window: a resend).
struct AppendOutcome {
  std::int64_t seq = 0;           // the new message's, or the original's
  bool duplicate = false;
  std::string original_id;        // for a duplicate: the original message
  std::string original_ack;       // for a duplicate: the acknowledgement it was given
  /// Stored although an earlier message in the window has the same sender and control id: its
  /// content differs, so this one is not a resend, and the sender has used the control id
  /// twice. The earlier message's id; empty when there is none.
  std::string same_control_id_as;

  /// A message stored with this seq (no duplicate, no control id used before).
  static AppendOutcome stored(std::int64_t seq) {
    AppendOutcome o;
    o.seq = seq;
    return o;
  }
};

/// Which messages to list: by ids, or by state and receipt time. At most `limit` come back, in
/// seq order, so a caller that needs every match reads page by page: the next page starts after
/// the last seq of the one before (`after_seq`).
struct MessageQuery {
  std::vector<std::string> ids;
  std::optional<MessageState> state;
  EpochMillis received_since = 0;
  std::size_t limit = 1000;
  std::int64_t after_seq = 0;  // only messages with a greater seq; 0: from the first
};

class Journal {
 public:
  using AppendDone = std::function<void(Result<std::int64_t> seq)>;
  using UniqueDone = std::function<void(Result<AppendOutcome>)>;
  using Done = std::function<void(Result<void>)>;

  virtual ~Journal() = default;

  // Writes complete in the order they were asked for, with one exception: an append may overtake
  // state changes and translations asked for before it (they are applied in order among
  // themselves). A caller that needs a change applied before a later append waits for its
  // `done` first.

  /// Stores a new message; `done` gets its sequence number (arrival order) once durable.
  virtual void append(MessageRecord record, AppendDone done) = 0;
  /// Like append(), unless a message from the same sender with the same control id and the same
  /// payload hash was accepted (not rejected) at or after `window_start`: then nothing is stored
  /// and the original is named. Other content under a used control id is stored (AppendOutcome::
  /// same_control_id_as names the earlier message).
  /// The check and the insert are one transaction, so two copies racing in are told apart.
  virtual void append_unique(MessageRecord record, EpochMillis window_start, UniqueDone done) = 0;
  // The state changes of delivery. Each applies only to the message's `revision` the forwarder
  // read (MessageRecord::revision); when a replay has translated it again meanwhile, nothing
  // changes and `done` gets Errc::kJournalSuperseded.
  virtual void mark_delivered(std::int64_t seq, std::int64_t revision, EpochMillis now, Done done) = 0;
  /// A transient failure: retried at `next_attempt_at`.
  virtual void mark_failed(std::int64_t seq, std::int64_t revision, std::string reason, EpochMillis now,
                           EpochMillis next_attempt_at, Done done) = 0;
  /// Given up: kept until replayed or purged by an operator.
  virtual void mark_dead(std::int64_t seq, std::int64_t revision, std::string reason, EpochMillis now,
                         Done done) = 0;

  /// The state and revision a message had when it was read, for a change that applies only if it
  /// still has them.
  struct AsRead {
    MessageState state = MessageState::kReceived;
    std::int64_t revision = 0;
  };
  /// A new translation of a stored message (a replay through the current mapping, or the
  /// translation after the ACK): its state becomes translated (attempts reset, due now), held or
  /// rejected with the reason. Only while it is still as it was read (`from`): when it changed
  /// meanwhile (delivered by the forwarder, replayed by someone else), nothing changes and `done`
  /// gets Errc::kJournalSuperseded.
  virtual void retranslate(std::int64_t seq, AsRead from, MessageState state, std::string bundle,
                           std::string ordering_key, std::string mapping, std::string reason, EpochMillis now,
                           Done done) = 0;

  /// Retention: removes delivered and rejected messages last changed before the cutoffs (dead,
  /// failed and waiting messages are kept until acted on); `done` gets how many were removed.
  virtual void purge(EpochMillis delivered_before, EpochMillis rejected_before,
                     std::function<void(Result<std::int64_t>)> done) = 0;

  /// Messages waiting for delivery (translated or failed), in arrival order: seq, id,
  /// ordering_key and next_attempt_at only, what choosing the next to send needs, read from an
  /// index without touching the messages themselves (a row holds its payload and Bundle, and a
  /// scan of the backlog would read them all); waiting() reads the one about to be sent. Only
  /// those older than every message still waiting to be translated (received), so no patient's
  /// later message overtakes an earlier one whose ordering key is not yet known. At most `limit`,
  /// from the first with a seq after `after_seq` (0: from the first), so a scan reads on.
  virtual Result<std::vector<MessageRecord>> pending(std::size_t limit, std::int64_t after_seq = 0) = 0;
  /// The message at `seq` with its Bundle (not its payload) while it waits for delivery;
  /// nullopt when it waits no more (delivered, dead, back to received for a replay, or purged).
  virtual Result<std::optional<MessageRecord>> waiting(std::int64_t seq) = 0;
  /// Messages matching the query, oldest first, with payloads.
  virtual Result<std::vector<MessageRecord>> find(const MessageQuery& query) = 0;
  /// One message by id, with payload and bundle.
  virtual Result<std::optional<MessageRecord>> get(const std::string& id) = 0;
  /// How many messages are in each state.
  virtual Result<std::map<MessageState, std::int64_t>> counts() = 0;
};

}  // namespace helsebro
