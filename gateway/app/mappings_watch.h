#pragma once
// Watches a mappings directory (and its format, datatype and terminology folders) with inotify
// and calls back, once the writes have settled, when a file there changes.

#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace helsebro::app {

class MappingsWatch {
 public:
  /// `changed` runs on the io_context, at most once per burst of changes (150 ms quiet).
  MappingsWatch(boost::asio::io_context& io, std::string dir, std::function<void()> changed);
  ~MappingsWatch();

  /// Starts watching; false (and a log line) when inotify is not available.
  bool start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace helsebro::app
