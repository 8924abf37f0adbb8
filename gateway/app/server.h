#pragma once
// `helsebro serve`: wires the parts together and runs until SIGINT or SIGTERM.

#include "gateway/config/config.h"

namespace helsebro::app {

/// Returns the process exit code.
int serve(const config::Config& config);

}  // namespace helsebro::app
