#include "gateway/app/mappings_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "gateway/observe/log.h"

namespace helsebro::app {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct MappingsWatch::Impl : std::enable_shared_from_this<MappingsWatch::Impl> {
  asio::io_context& io;
  std::string dir;
  std::function<void()> changed;
  asio::posix::stream_descriptor descriptor;
  asio::steady_timer settle;
  std::array<char, 8192> buffer{};
  int fd = -1;

  Impl(asio::io_context& i, std::string d, std::function<void()> c)
      : io(i), dir(std::move(d)), changed(std::move(c)), descriptor(i), settle(i) {}

  std::vector<int> tree_watches;  // the directory and every folder below it
  int parent_watch = -1;          // the folder holding it: a swapped or re-linked directory

  void watch(const fs::path& path) {
    constexpr std::uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                                      IN_MOVE_SELF | IN_DELETE_SELF;
    const int wd = inotify_add_watch(fd, path.c_str(), kEvents);
    if (wd < 0) {
      observe::log_warn("mappings.watch_failed", {{"path", path.string()}});
      return;
    }
    tree_watches.push_back(wd);
  }

  void watch_tree() {
    watch(dir);
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
      if (entry.is_directory()) watch(entry.path());
    }
  }

  // The directory's name now names another directory (a release moved into place, a symbolic
  // link switched): watch that one, and no longer the one moved away.
  void rewatch() {
    for (const int wd : tree_watches) inotify_rm_watch(fd, wd);
    tree_watches.clear();
    watch_tree();
    observe::log_info("mappings.watch_renewed", {{"dir", dir}});
  }

  // The directory's path without a trailing separator ("mappings/" → "mappings").
  fs::path normal_dir() const {
    fs::path normal = fs::path(dir).lexically_normal();
    if (!normal.has_filename()) normal = normal.parent_path();
    return normal;
  }

  void watch_parent() {
    fs::path parent = normal_dir().parent_path();
    if (parent.empty()) parent = ".";
    parent_watch = inotify_add_watch(fd, parent.c_str(), IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
    if (parent_watch < 0) observe::log_warn("mappings.watch_failed", {{"path", parent.string()}});
  }

  std::string base_name() const { return normal_dir().filename().string(); }

  void read() {
    descriptor.async_read_some(asio::buffer(buffer), [self = shared_from_this()](auto ec, std::size_t n) {
      if (ec) return;
      bool relevant = false;
      bool swapped = false;
      const std::string own_name = self->base_name();
      for (std::size_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(self->buffer.data() + at);
        const std::string name = event->len ? event->name : "";
        if (event->wd == self->parent_watch) {
          if (name == own_name) swapped = true;  // the directory's own name: moved, replaced, re-linked
        } else if (event->mask & (IN_MOVE_SELF | IN_DELETE_SELF)) {
          swapped = true;
        } else if (event->mask & IN_ISDIR) {
          if (event->mask & (IN_CREATE | IN_MOVED_TO)) self->watch_tree();
          relevant = true;
        } else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) {
          relevant = true;  // editors' temporary files do not count
        }
        at += sizeof(inotify_event) + event->len;
      }
      if (swapped) self->rewatch();
      if (relevant || swapped) self->schedule();
      self->read();
    });
  }

  void schedule() {
    settle.expires_after(std::chrono::milliseconds(150));
    settle.async_wait([self = shared_from_this()](auto ec) {
      if (!ec) self->changed();
    });
  }
};

MappingsWatch::MappingsWatch(asio::io_context& io, std::string dir, std::function<void()> changed)
    : impl_(std::make_shared<Impl>(io, std::move(dir), std::move(changed))) {}

MappingsWatch::~MappingsWatch() { stop(); }

bool MappingsWatch::start() {
  impl_->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (impl_->fd < 0) {
    observe::log_warn("mappings.watch_unavailable", {{"dir", impl_->dir}});
    return false;
  }
  impl_->descriptor.assign(impl_->fd);
  impl_->watch_tree();
  impl_->watch_parent();
  impl_->read();
  return true;
}

void MappingsWatch::stop() {
  boost::system::error_code ec;
  impl_->settle.cancel();
  impl_->descriptor.close(ec);
}

}  // namespace helsebro::app
