#include "gateway/core/files.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace helsebro {

std::optional<std::string> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::vector<std::filesystem::path>> json_files(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  auto cannot_list = [&](const std::error_code& ec) {
    return Error{Errc::kInvalidValue, dir.string() + ": cannot be listed: " + ec.message()};
  };
  std::vector<fs::path> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return files;
    return cannot_list(ec);
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return cannot_list(ec);
    if (it->path().extension() != ".json") continue;
    const bool regular = it->is_regular_file(ec);
    if (ec) return Error{Errc::kInvalidValue, it->path().string() + ": cannot be read: " + ec.message()};
    if (regular) files.push_back(it->path());
  }
  if (ec) return cannot_list(ec);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace helsebro
