#pragma once
// The parts of an http(s) URL the forwarder needs.

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/core/result.h"

namespace helsebro::forward {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::uint16_t port = 0;
  std::string path;    // never empty; "/" at least; no trailing slash otherwise
};

Result<Url> parse_url(std::string_view text);

}  // namespace helsebro::forward
