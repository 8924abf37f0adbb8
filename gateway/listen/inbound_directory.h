#pragma once
// A watched inbound directory: a polling loop (an Asio steady_timer on the server's io_context,
// no inotify) that takes each file written into the directory through its format's inbound
// pipeline, exactly as POST /inbound/kith or /inbound/hl7v2 would (size limit, validation,
// journal commit, AppRec or ACK), then moves it to processed/ or error/ with the reply beside it
// (see inbox.h). Files wait in the directory while the backlog is over its limit, and after a
// journal failure (taken again at the next poll). Logs name files and message ids, never content.

#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "gateway/config/config.h"

namespace boost::asio {
class io_context;
}
namespace helsebro {
class Backlog;
}
namespace helsebro::intake {
class Hl7v2Intake;
class KithIntake;
}  // namespace helsebro::intake

namespace helsebro::listen {

struct InboundPipeline;
class InboxProbe;

struct InboundDirectoryParts {
  std::shared_ptr<const InboundPipeline> pipeline;
  std::shared_ptr<const intake::KithIntake> kith;    // format "kith"
  std::shared_ptr<const intake::Hl7v2Intake> hl7v2;  // format "hl7v2"
  const Backlog* backlog = nullptr;                  // null: no back-pressure
  InboxProbe* probe = nullptr;                       // must outlive the directory
  /// Test hook (fault injection): called after a file's messages are durable and before the file
  /// is moved. Empty in production.
  std::function<void(const std::string& file)> after_commit;
  /// Test hook (fault injection): an error it returns fails the read of that file as the system
  /// would have. Empty in production.
  std::function<std::error_code(const std::string& file)> read_fault;
};

class InboundDirectory {
 public:
  /// `parts` must hold the intake of the directory's format, a pipeline and a probe.
  InboundDirectory(boost::asio::io_context& io, config::InboundDirectoryConfig config,
                   InboundDirectoryParts parts);
  ~InboundDirectory();

  /// Creates the directory and its folders, and starts polling. Throws
  /// std::filesystem::filesystem_error when a folder cannot be made.
  void start();
  /// Stops polling; a file being stored is finished if the io_context keeps running, and is
  /// otherwise found again, stored, at the next start.
  void stop();
  const std::string& channel() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace helsebro::listen
