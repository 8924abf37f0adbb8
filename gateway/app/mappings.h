#pragma once
// Loading the mapping set with every format's path dialect, for the server and the CLI tools.

#include <memory>
#include <string>

#include "gateway/core/result.h"
#include "gateway/mapping/mapping.h"

namespace helsebro::app {

Result<std::shared_ptr<const mapping::MappingSet>> load_mappings(const std::string& dir);

}  // namespace helsebro::app
