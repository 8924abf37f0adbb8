#pragma once
// The MLLP listener: accepts TCP connections and runs one coroutine per connection on its own
// strand: frame → Intake (read, translate) → Journal (durable) → ACK, in order per connection.

#include <cstdint>
#include <functional>
#include <memory>

#include "gateway/config/config.h"

namespace boost::asio {
class io_context;
}

namespace helsebro {
class Journal;
}
namespace helsebro::intake {
class Hl7v2Intake;
}
namespace helsebro::observe {
struct Probes;
}

namespace helsebro::listen {

class MllpListener {
 public:
  /// `on_stored` is called (from any thread) after a translated message is durable.
  MllpListener(boost::asio::io_context& io, config::MllpConfig config, intake::Hl7v2Intake& intake,
               Journal& journal, observe::Probes& probes, std::function<void()> on_stored);
  ~MllpListener();

  /// Binds and starts accepting. Throws std::system_error when the port cannot be bound.
  void start();
  /// Stops accepting; open sessions end at their next read.
  void stop();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace helsebro::listen
