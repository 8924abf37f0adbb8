#include "gateway/core/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace helsebro {
namespace {

std::string name_in_thread(const std::string& name) {
  std::string seen;
  std::thread t([&] {
    name_this_thread(name);
    char buffer[32] = {};
    pthread_getname_np(pthread_self(), buffer, sizeof buffer);
    seen = buffer;
  });
  t.join();
  return seen;
}

TEST(ThreadName, TheThreadCarriesItsName) { EXPECT_EQ(name_in_thread("hb-journal"), "hb-journal"); }

TEST(ThreadName, ALongNameIsCutToFifteenCharacters) {
  EXPECT_EQ(name_in_thread("hb-a-very-long-thread-name"), "hb-a-very-long-");
}

}  // namespace
}  // namespace helsebro
