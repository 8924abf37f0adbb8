#pragma once
// mllp_load's command line, parsed once; read by every sender.

#include <string>

namespace helsebro::bench {

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string label = "server";
  std::string mode = "closed";
  int senders = 8;
  int window = 1;
  double rate = 5000;
  double warmup = 2;
  double seconds = 10;
  double drain = 5;
  std::string mix = "both";
  int patients = 200;
  unsigned seed = 1;
  long watch_pid = 0;
  int threads = 1;
  std::string dump_dir;
};

}  // namespace helsebro::bench
