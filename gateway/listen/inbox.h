#pragma once
// An inbound directory on disk, without Asio: which files are ready to take, the claim written
// before a file's messages are journaled, and the move to processed/ or error/ with the reply
// beside it. Files are never deleted, only moved.
//
//   <dir>/NAME                        waiting (taken once its size and mtime held over one scan)
//   <dir>/processed/NAME              accepted, with NAME<suffix> (the AppRec or ACK) beside it
//   <dir>/error/NAME                  refused, unreadable or too big, with its reply beside it
//   <dir>/.inflight/<sha256 of NAME>  the claim, from before the journal write until the move
//
// The claim makes a crash between journal commit and move harmless: on the next take, a claim
// for the same bytes whose message ids the journal has means "finish the move, store nothing".
// Not thread-safe: one InboundDirectory drives it. File I/O is blocking and short.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace helsebro::listen {

struct InboxFile {
  std::string name;
  std::uintmax_t size = 0;
  std::filesystem::file_time_type modified;
};

enum class InboxDestination { kProcessed, kError };

/// What a file's take promised before its messages were journaled.
struct InboxClaim {
  std::string sha256;            // of the file's bytes
  std::vector<std::string> ids;  // the ids Intake gave its messages
  InboxDestination destination = InboxDestination::kProcessed;
  std::string reply_suffix;  // ".apprec.xml", ".ack.hl7", ".problem.json"; empty: no reply
  std::string reply;         // the answer, when every message was stored as new
};

/// Which file a name named when it was read (its device and inode): a sender may put another
/// file under the same name before the one read has been moved.
struct InboxFileId {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool known() const { return inode != 0; }
};

/// A file's bytes, or why they were not read.
struct InboxRead {
  /// kGone: the name named nothing any more (the sender took the file back after the scan).
  /// kDeferred: an error of this machine rather than of the file (out of file descriptors or
  /// memory, an I/O error, a stale network handle): the file stays for the next poll.
  /// kUnreadable: this file cannot be read (permissions, not a regular file).
  enum class Status { kRead, kTooBig, kGone, kDeferred, kUnreadable } status = Status::kRead;
  std::string bytes;
  std::error_code error;  // kGone, kDeferred, kUnreadable
  InboxFileId id;         // of the file opened (unknown when it could not be)
};

/// Whether a read failing with `error` may succeed on a later try without anyone changing the
/// file: what InboxRead::Status::kDeferred means.
bool read_error_is_transient(const std::error_code& error);

class Inbox {
 public:
  explicit Inbox(std::filesystem::path dir);

  /// Creates the directory and its processed/, error/ and .inflight/ folders, and removes claims
  /// whose file has left the inbox (moved before a crash could remove the claim). Throws
  /// std::filesystem::filesystem_error when a folder cannot be made.
  void open();

  /// Lists the inbox and returns the files whose size and modification time are what the
  /// previous scan saw, oldest first (then by name). Skips what takes_name() refuses, and
  /// anything that is not a regular file (directories, symbolic links). A file stays ready on
  /// later scans until it leaves the inbox. Sets `error` when the directory cannot be listed.
  std::vector<InboxFile> scan(std::error_code& error);

  /// Whether a file of this name is taken at all: not hidden ('.'), not being written (.tmp,
  /// .part).
  static bool takes_name(std::string_view name);

  /// Reads the whole file, unless it is larger than `limit` bytes.
  InboxRead read(const std::string& name, std::size_t limit) const;
  /// Test hook (fault injection): an error it returns for a name fails that file's read as if
  /// opening it had.
  void set_read_fault(std::function<std::error_code(const std::string& name)> fault) {
    read_fault_ = std::move(fault);
  }

  /// Writes the claim durably (temporary file, fsync, rename, fsync of the folder).
  std::error_code write_claim(const std::string& name, const InboxClaim& claim) const;
  /// The claim for `name`, if one was written and is readable.
  std::optional<InboxClaim> read_claim(const std::string& name) const;

  /// Moves `name` to its destination folder under a name not yet used there (NAME, NAME-2 …),
  /// writes `reply` atomically beside it as <that name><suffix> (nothing when `suffix` is
  /// empty), then removes the file from the inbox and its claim. Durable when it returns; safe to
  /// call again after a crash part-way (the move is a hard link, found again by its inode).
  /// With a known `read`, only that file is moved: when the name now names another (put there
  /// since it was read), nothing is moved and `error` says so, and the other file waits in the
  /// inbox to be taken as new. Returns the path the file now has.
  std::filesystem::path finish(const std::string& name, InboxDestination destination,
                               std::string_view suffix, std::string_view reply,
                               std::error_code& error, InboxFileId read = {});

  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Seen {
    std::uintmax_t size;
    std::filesystem::file_time_type modified;
  };

  std::filesystem::path claim_path(const std::string& name) const;
  void sweep_claims();

  std::filesystem::path dir_;
  std::map<std::string, Seen> seen_;
  std::function<std::error_code(const std::string& name)> read_fault_;
};

/// The folder name of a destination: "processed" or "error".
std::string_view to_string(InboxDestination destination);

/// Serialises a claim, and reads one back (nullopt when malformed). Exposed for tests.
std::string encode_claim(const InboxClaim& claim);
std::optional<InboxClaim> decode_claim(std::string_view text);

}  // namespace helsebro::listen
