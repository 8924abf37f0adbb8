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
    if (ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) return cannot_list(ec);
    // Nothing there: no files. Something there that is no folder (a link to a share that is not
    // mounted, a file under the folder's name) is a folder that cannot be read.
    std::error_code status_ec;
    const fs::file_status there = fs::symlink_status(dir, status_ec);
    if (status_ec || there.type() == fs::file_type::not_found) return files;
    const bool dangling = there.type() == fs::file_type::symlink && !fs::exists(dir, status_ec);
    return Error{Errc::kInvalidValue,
                 dir.string() + ": cannot be listed: " + (dangling ? "a link to nothing" : "not a folder")};
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return cannot_list(ec);
    if (it->path().extension() != ".json") continue;
    const bool regular = it->is_regular_file(ec);
    // Gone since it was listed, or a link to nothing (an editor's lock file, `.#adt.json`):
    // not a mapping file.
    if (ec == std::errc::no_such_file_or_directory) {
      ec.clear();
      continue;
    }
    if (ec) return Error{Errc::kInvalidValue, it->path().string() + ": cannot be read: " + ec.message()};
    if (regular) files.push_back(it->path());
  }
  if (ec) return cannot_list(ec);
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace helsebro
