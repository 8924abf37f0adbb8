#include "gateway/core/key_index.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace helsebro {
namespace {

// Keys of every length up to 40 bytes (each way `same` compares: bytes, half words, words,
// memcmp), several per length, differing from each other only in their first, middle or last byte.
std::vector<std::string> keys() {
  std::set<std::string> out{""};
  for (std::size_t n = 1; n <= 40; ++n) {
    for (const std::size_t at : {std::size_t{0}, n / 2, n - 1}) {
      for (const char c : {'a', 'b', 'c'}) {
        std::string k(n, 'k');
        k[at] = c;
        out.insert(k);
      }
    }
  }
  return {out.begin(), out.end()};
}

TEST(KeyIndex, FindsEveryKeyAndNothingElse) {
  KeyIndex<std::size_t> index;
  const std::vector<std::string> all = keys();
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_TRUE(index.insert(all[i], i)) << all[i];
  EXPECT_EQ(index.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::size_t* found = index.find(all[i]);
    ASSERT_NE(found, nullptr) << all[i];
    EXPECT_EQ(*found, i) << all[i];
    EXPECT_EQ(index.find(all[i] + "x"), nullptr) << all[i];
    if (!all[i].empty()) {
      EXPECT_EQ(index.find(std::string(all[i].size(), 'z')), nullptr) << all[i];
    }
  }
}

TEST(KeyIndex, RefusesAKeyTwice) {
  KeyIndex<int> index;
  EXPECT_TRUE(index.insert("given", 1));
  EXPECT_FALSE(index.insert("given", 2));
  EXPECT_EQ(*index.find("given"), 1);
  KeySet set;
  EXPECT_TRUE(set.insert("male"));
  EXPECT_FALSE(set.insert("male"));
  EXPECT_TRUE(set.contains("male"));
  EXPECT_FALSE(set.contains("female"));
  EXPECT_FALSE(KeySet().contains(""));
}

}  // namespace
}  // namespace helsebro
