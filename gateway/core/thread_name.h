#pragma once
// Names the calling thread, so that `top -H`, `ps -L` and profilers tell the gateway's threads
// apart (Linux keeps at most 15 characters; a longer name is cut).

#include <pthread.h>

#include <string>

namespace helsebro {

inline void name_this_thread(std::string name) {
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace helsebro
