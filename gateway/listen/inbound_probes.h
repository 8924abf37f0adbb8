#pragma once
// Metrics of the inbound directories and of the HTTPS listener's sender check, declared once
// here with help text and unit. Labels: channel, listener ("https"), destination and reason from
// fixed sets — never a file name or an id. Thread-safe.

#include <string_view>

namespace helsebro::observe {
class Family;
class Registry;
}  // namespace helsebro::observe

namespace helsebro::listen {

/// Why a file went to error/: "rejected" (refused as bad input, answered), "too_big", "unreadable".
/// Why a file was left for the next poll: "journal_failed", "claim_failed", "move_failed",
/// "recovery_failed". Back-pressure pauses count in helsebro_listen_backpressure_pauses_total.
class InboxProbe {
 public:
  explicit InboxProbe(observe::Registry& r);
  void file_taken(std::string_view channel);
  void file_processed(std::string_view channel);
  void file_error(std::string_view channel, std::string_view reason);
  /// Found journaled but not moved (a crash in between): moved now, not stored again.
  void file_recovered(std::string_view channel);
  void file_deferred(std::string_view channel, std::string_view reason);

 private:
  observe::Family& taken_;
  observe::Family& processed_;
  observe::Family& error_;
  observe::Family& recovered_;
  observe::Family& deferred_;
};

class HttpsProbe {
 public:
  explicit HttpsProbe(observe::Registry& r);
  /// A request answered before any handler saw it (reason "sender_not_allowed").
  void request_refused(std::string_view listener, std::string_view reason);

 private:
  observe::Family& refused_;
};

}  // namespace helsebro::listen
