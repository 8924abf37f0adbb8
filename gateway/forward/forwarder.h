#pragma once
// The Forwarder: delivers translated messages from the journal to the shared record, oldest
// first, one at a time, so messages reach it in the order they were received. A transient
// failure holds the line and is retried with backoff; a permanent one makes the message dead.

#include <memory>

#include "gateway/config/config.h"
#include "gateway/core/clock.h"

namespace boost::asio {
class io_context;
}
namespace helsebro {
class Journal;
}
namespace helsebro::observe {
class ForwardProbe;
}

namespace helsebro::forward {

class Forwarder {
 public:
  /// Throws config::ConfigError when the base URL, a TLS file (fhir.tls) or the OAuth settings
  /// (fhir.auth: token URL, secret, private key) cannot be used.
  Forwarder(boost::asio::io_context& io, Journal& journal, config::FhirConfig config,
            observe::ForwardProbe& probe, Clock clock = {});
  ~Forwarder();

  void start();
  /// Something new was stored: look at the journal again now. Thread-safe.
  void notify();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace helsebro::forward
