#include "gateway/listen/inbox.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "gateway/core/ids.h"

namespace helsebro::listen {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kClaimMagic = "helsebro-inbox-claim 1";
constexpr std::size_t kMaxBaseBytes =
    200;  // leaves room for a counter and a reply suffix in NAME_MAX

std::error_code last_error() {
  return {errno, std::system_category()};
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::error_code fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return last_error();
  std::error_code ec;
  if (::fsync(fd) != 0) ec = last_error();
  ::close(fd);
  return ec;
}

std::error_code fsync_dir(const fs::path& dir) {
  return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

// Writes `bytes` to `target` so that readers see the old state or the whole new file: a
// temporary file beside it, fsync, rename, fsync of the folder.
std::error_code write_atomically(const fs::path& target, std::string_view bytes) {
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on a chain of operator+.
  const fs::path tmp = target.parent_path() / std::string(".").append(target.filename().string()).append(".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return last_error();
  std::error_code ec;
  for (std::size_t done = 0; done < bytes.size() && !ec;) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR) ec = last_error();
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (!ec && ::fsync(fd) != 0) ec = last_error();
  ::close(fd);
  if (!ec && ::rename(tmp.c_str(), target.c_str()) != 0) ec = last_error();
  if (ec) {
    ::unlink(tmp.c_str());
    return ec;
  }
  return fsync_dir(target.parent_path());
}

bool same_file(const struct stat& a, const fs::path& b) {
  struct stat st {};
  return ::lstat(b.c_str(), &st) == 0 && st.st_dev == a.st_dev && st.st_ino == a.st_ino;
}

bool path_exists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// NAME, or NAME with a counter before its extension ("lab.xml" → "lab-2.xml"), cut to a length
// that leaves room for the reply's suffix (at a UTF-8 character boundary).
std::string numbered(const std::string& name, int n) {
  std::string stem = name, extension;
  const std::size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0 && name.size() - dot <= 16) {
    stem = name.substr(0, dot);
    extension = name.substr(dot);
  }
  const std::string counter = n > 1 ? std::string("-").append(std::to_string(n)) : std::string();
  const std::size_t room =
      kMaxBaseBytes - std::min(kMaxBaseBytes, counter.size() + extension.size());
  if (stem.size() > room) {
    std::size_t cut = room;
    while (cut > 0 && (static_cast<unsigned char>(stem[cut]) & 0xC0) == 0x80) --cut;
    stem.resize(cut);
  }
  return stem + counter + extension;
}

// The name the file gets in `folder`: its own unless taken, or the one an earlier, interrupted
// finish() already linked it under.
std::string free_name(const std::string& name, const struct stat& file, const fs::path& folder,
                      std::string_view suffix) {
  for (int n = 1;; ++n) {
    const std::string candidate = numbered(name, n);
    const fs::path target = folder / candidate;
    if (same_file(file, target)) return candidate;
    if (!path_exists(target) &&
        (suffix.empty() || !path_exists(folder / (candidate + std::string(suffix)))))
      return candidate;
  }
}

// Why a read failed, as a status.
InboxRead::Status failed_read(const std::error_code& error, bool opening) {
  if (opening && error == std::errc::no_such_file_or_directory) return InboxRead::Status::kGone;
  return read_error_is_transient(error) ? InboxRead::Status::kDeferred : InboxRead::Status::kUnreadable;
}

InboxRead read_limited(const fs::path& path, std::size_t limit) {
  InboxRead out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    out.error = last_error();
    out.status = failed_read(out.error, true);
    return out;
  }
  struct stat opened {};
  if (::fstat(fd, &opened) == 0) {
    out.id = {static_cast<std::uint64_t>(opened.st_dev), static_cast<std::uint64_t>(opened.st_ino)};
  }
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = last_error();
      out.status = failed_read(out.error, false);
      break;
    }
    if (n == 0) break;
    if (out.bytes.size() + static_cast<std::size_t>(n) > limit) {
      out.status = InboxRead::Status::kTooBig;
      break;
    }
    out.bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (out.status != InboxRead::Status::kRead) out.bytes.clear();
  return out;
}

}  // namespace

bool read_error_is_transient(const std::error_code& error) {
  if (error.category() != std::system_category() && error.category() != std::generic_category()) return false;
  switch (error.value()) {
    case EMFILE:     // this process's file descriptors are used up
    case ENFILE:     // the system's
    case ENOMEM:
    case ENOBUFS:
    case EAGAIN:
    case EINTR:
    case EIO:        // the device (or a network file system) failed this time
    case ESTALE:     // a network file system's handle went stale
    case ETIMEDOUT:
    case EBUSY:
    case ETXTBSY:
      return true;
    default:
      return false;
  }
}

std::string_view to_string(InboxDestination destination) {
  return destination == InboxDestination::kProcessed ? "processed" : "error";
}

std::string encode_claim(const InboxClaim& claim) {
  std::string out(kClaimMagic);
  out.append("\nsha256 ").append(claim.sha256);
  out.append("\ndestination ").append(to_string(claim.destination));
  out.append("\nsuffix ").append(claim.reply_suffix);
  for (const auto& id : claim.ids) out.append("\nid ").append(id);
  out.append("\nreply ").append(std::to_string(claim.reply.size())).append("\n");
  out.append(claim.reply);
  return out;
}

std::optional<InboxClaim> decode_claim(std::string_view text) {
  InboxClaim claim;
  auto next_line = [&text]() -> std::optional<std::string_view> {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    return line;
  };
  auto value = [](std::string_view line, std::string_view key) -> std::optional<std::string_view> {
    if (line.substr(0, key.size()) != key || line.size() < key.size() + 1 ||
        line[key.size()] != ' ') {
      return std::nullopt;
    }
    return line.substr(key.size() + 1);
  };
  if (next_line() != kClaimMagic) return std::nullopt;
  auto sha = next_line();
  auto destination = sha ? next_line() : std::nullopt;
  auto suffix = destination ? next_line() : std::nullopt;
  if (!suffix) return std::nullopt;
  auto sha_value = value(*sha, "sha256");
  auto destination_value = value(*destination, "destination");
  if (!sha_value || !destination_value || (*suffix != "suffix" && !value(*suffix, "suffix")))
    return std::nullopt;
  claim.sha256 = std::string(*sha_value);
  if (*destination_value == "processed")
    claim.destination = InboxDestination::kProcessed;
  else if (*destination_value == "error")
    claim.destination = InboxDestination::kError;
  else
    return std::nullopt;
  if (auto s = value(*suffix, "suffix")) claim.reply_suffix = std::string(*s);
  for (;;) {
    auto line = next_line();
    if (!line) return std::nullopt;
    if (auto id = value(*line, "id")) {
      claim.ids.emplace_back(*id);
      continue;
    }
    auto size_text = value(*line, "reply");
    if (!size_text) return std::nullopt;
    std::size_t size = 0;
    auto [ptr, ec] =
        std::from_chars(size_text->data(), size_text->data() + size_text->size(), size);
    if (ec != std::errc{} || ptr != size_text->data() + size_text->size() || size != text.size())
      return std::nullopt;
    claim.reply = std::string(text);
    return claim;
  }
}

Inbox::Inbox(fs::path dir) : dir_(std::move(dir)) {}

void Inbox::open() {
  for (const char* folder : {"processed", "error", ".inflight"})
    fs::create_directories(dir_ / folder);
  sweep_claims();
}

void Inbox::sweep_claims() {
  std::error_code ec;
  std::vector<std::string> waiting;
  for (const auto& entry : fs::directory_iterator(dir_, ec))
    waiting.push_back(entry.path().filename().string());
  if (ec) return;
  std::vector<fs::path> live;
  for (const auto& name : waiting) live.push_back(claim_path(name));
  for (const auto& entry : fs::directory_iterator(dir_ / ".inflight", ec)) {
    if (std::find(live.begin(), live.end(), entry.path()) == live.end())
      fs::remove(entry.path(), ec);
  }
}

bool Inbox::takes_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return !ends_with(name, ".tmp") && !ends_with(name, ".part");
}

std::vector<InboxFile> Inbox::scan(std::error_code& error) {
  std::vector<InboxFile> listed;
  error.clear();
  for (const auto& entry : fs::directory_iterator(dir_, error)) {
    const std::string name = entry.path().filename().string();
    std::error_code ec;
    if (!takes_name(name) || !entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;
    InboxFile file{name, entry.file_size(ec), {}};
    if (ec) continue;  // gone since it was listed
    file.modified = entry.last_write_time(ec);
    if (!ec) listed.push_back(std::move(file));
  }
  if (error) return {};
  std::map<std::string, Seen> seen;
  std::vector<InboxFile> ready;
  for (auto& file : listed) {
    auto before = seen_.find(file.name);
    if (before != seen_.end() && before->second.size == file.size &&
        before->second.modified == file.modified) {
      ready.push_back(file);
    }
    seen.emplace(file.name, Seen{file.size, file.modified});
  }
  seen_ = std::move(seen);
  std::sort(ready.begin(), ready.end(), [](const InboxFile& a, const InboxFile& b) {
    return a.modified != b.modified ? a.modified < b.modified : a.name < b.name;
  });
  return ready;
}

InboxRead Inbox::read(const std::string& name, std::size_t limit) const {
  if (read_fault_) {
    if (const std::error_code error = read_fault_(name)) {
      InboxRead out;
      out.error = error;
      out.status = failed_read(error, true);
      return out;
    }
  }
  return read_limited(dir_ / name, limit);
}

fs::path Inbox::claim_path(const std::string& name) const {
  return dir_ / ".inflight" / sha256_hex(name);
}

std::error_code Inbox::write_claim(const std::string& name, const InboxClaim& claim) const {
  return write_atomically(claim_path(name), encode_claim(claim));
}

std::optional<InboxClaim> Inbox::read_claim(const std::string& name) const {
  InboxRead r = read_limited(claim_path(name), 256 << 20);
  if (r.status != InboxRead::Status::kRead) return std::nullopt;
  return decode_claim(r.bytes);
}

fs::path Inbox::finish(const std::string& name, InboxDestination destination,
                       std::string_view suffix, std::string_view reply, std::error_code& error,
                       InboxFileId read) {
  const fs::path source = dir_ / name;
  const fs::path folder = dir_ / std::string(to_string(destination));
  struct stat file {};
  if (::lstat(source.c_str(), &file) != 0) {
    error = last_error();
    return {};
  }
  if (read.known() && (static_cast<std::uint64_t>(file.st_dev) != read.device ||
                       static_cast<std::uint64_t>(file.st_ino) != read.inode)) {
    error = std::error_code(ESTALE, std::system_category());  // another file under the name now
    return {};
  }
  const std::string moved = free_name(name, file, folder, suffix);
  const fs::path target = folder / moved;
  auto write_reply = [&]() -> std::error_code {
    return suffix.empty() ? std::error_code{}
                          : write_atomically(folder / (moved + std::string(suffix)), reply);
  };
  // Link first, reply next, unlink last: every step can be repeated after a crash, and the file
  // leaves the inbox only once its reply is on disk. A sender may put another file under the
  // name at any point: the link is checked to be of the file looked at, and the name is unlinked
  // only while it still names that file (left: the microseconds between that look and unlink).
  const std::error_code replaced(ESTALE, std::system_category());
  if (!same_file(file, target) && ::link(source.c_str(), target.c_str()) != 0) {
    const int link_errno = errno;
    if (link_errno != EPERM && link_errno != ENOTSUP && link_errno != EXDEV &&
        link_errno != EMLINK) {
      error = {link_errno, std::system_category()};
      return {};
    }
    // A file system without hard links: reply first, then one rename.
    if ((error = write_reply())) return {};
    if (::rename(source.c_str(), target.c_str()) != 0) {
      error = last_error();
      return {};
    }
    if (!same_file(file, target)) {  // renamed in since the look: back it goes, unless taken again
      ::renameat2(AT_FDCWD, target.c_str(), AT_FDCWD, source.c_str(), RENAME_NOREPLACE);
      if (!suffix.empty()) ::unlink((folder / (moved + std::string(suffix))).c_str());
      error = replaced;
      return {};
    }
  } else {
    if (!same_file(file, target)) {  // another file was linked: it stays in the inbox
      ::unlink(target.c_str());
      error = replaced;
      return {};
    }
    if ((error = fsync_dir(folder)) || (error = write_reply())) return {};
    if (same_file(file, source) && ::unlink(source.c_str()) != 0) {
      error = last_error();
      return {};
    }
  }
  if ((error = fsync_dir(folder)) || (error = fsync_dir(dir_))) return {};
  std::error_code ignored;
  fs::remove(claim_path(name), ignored);  // a leftover claim is swept at the next open()
  error.clear();
  return target;
}

}  // namespace helsebro::listen
