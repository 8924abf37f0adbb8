#pragma once
// Reading the files Helsebro is configured with (mappings, configuration, messages to inspect).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/result.h"

namespace helsebro {

/// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_file(const std::filesystem::path& file);

/// The *.json files directly in `dir`, sorted by name; none when there is no such directory. An
/// error when it is there and cannot be listed whole: a folder of mappings that cannot be read
/// must not load as an empty one.
Result<std::vector<std::filesystem::path>> json_files(const std::filesystem::path& dir);

}  // namespace helsebro
