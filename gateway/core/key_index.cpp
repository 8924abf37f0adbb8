#include "gateway/core/key_index.h"

#include <algorithm>

namespace helsebro {

std::uint64_t KeyIndexBase::hash(std::string_view key) noexcept {
  // Fixed-size loads only (a variable-length memcpy is a library call): overlapping 8- or
  // 4-byte words from both ends, or three single bytes for the shortest keys.
  auto load = [](const char* p, auto word) {
    decltype(word) w;
    std::memcpy(&w, p, sizeof w);
    return static_cast<std::uint64_t>(w);
  };
  const char* p = key.data();
  const std::size_t n = key.size();
  std::uint64_t head = 0, tail = 0;
  if (n >= 8) {
    head = load(p, std::uint64_t{});
    tail = load(p + n - 8, std::uint64_t{});
  } else if (n >= 4) {
    head = load(p, std::uint32_t{});
    tail = load(p + n - 4, std::uint32_t{});
  } else if (n > 0) {
    head = static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[n / 2]) << 8 |
           static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
  }
  const std::uint64_t h = (head * 0x9E3779B97F4A7C15ull) ^ (tail * 0xC2B2AE3D27D4EB4Full) ^ n;
  return h ^ (h >> 29);
}

bool KeyIndexBase::add_key(std::string key) {
  if (position(key) >= 0) return false;
  keys_.push_back(std::move(key));
  if (keys_.size() * 2 <= buckets_.size()) {
    place(keys_.size() - 1);
    return true;
  }
  buckets_.assign(std::max<std::size_t>(16, buckets_.size() * 2), 0);
  mask_ = buckets_.size() - 1;
  for (std::size_t i = 0; i < keys_.size(); ++i) place(i);
  return true;
}

void KeyIndexBase::place(std::size_t i) {
  std::size_t b = hash(keys_[i]) & mask_;
  while (buckets_[b] != 0) b = (b + 1) & mask_;
  buckets_[b] = static_cast<std::uint32_t>(i + 1);
}

}  // namespace helsebro
