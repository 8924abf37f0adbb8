#pragma once
// An MLLP channel: accepts TCP (or TLS) connections and runs one coroutine per connection on its
// own strand: frame → Intake (read, check sender, translate) → Journal (durable) → ACK, in order
// per connection. Pipelined frames share a group commit; duplicates get their original ACK.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gateway/config/config.h"

namespace boost::asio {
class io_context;
}

namespace helsebro {
class Backlog;
class Journal;
}
namespace helsebro::mapping {
class MappingSet;
}
namespace helsebro::observe {
struct Probes;
}

namespace helsebro::listen {

class MllpListener {
 public:
  using MappingProvider = std::function<std::shared_ptr<const mapping::MappingSet>()>;

  /// `on_stored()` is called (from any thread) once messages to deliver (translated, or
  /// received to be translated) are durable. While `backlog` is over its limit, connections
  /// stop reading. Throws std::system_error when the TLS certificate or key cannot be loaded.
  MllpListener(boost::asio::io_context& io, config::MllpConfig config, MappingProvider mappings,
               Journal& journal, observe::Probes& probes, const Backlog* backlog,
               std::function<void()> on_stored);
  ~MllpListener();

  /// Binds and starts accepting. Throws std::system_error when the port cannot be bound.
  void start();
  /// Stops accepting; open sessions end at their next read.
  void stop();
  std::uint16_t port() const;
  const std::string& channel() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace helsebro::listen
