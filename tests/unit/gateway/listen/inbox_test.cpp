#include "gateway/listen/inbox.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <ios>
#include <sstream>

#include "unit/temp_dir.h"

namespace helsebro::listen {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> names(const std::vector<InboxFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.name);
  return out;
}

std::vector<std::string> ready_names(Inbox& inbox) {
  std::error_code ec;
  auto files = inbox.scan(ec);
  EXPECT_FALSE(ec) << ec.message();
  return names(files);
}

// Everything under a folder, relative, sorted: the on-disk result to compare with the model.
std::vector<std::string> tree(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const fs::file_time_type kNow = fs::file_time_type::clock::now();

void set_mtime(const fs::path& file, int seconds_ago) {
  fs::last_write_time(file, kNow - std::chrono::seconds(seconds_ago));
}

TEST(Inbox, TakesOnlyNamesThatAreNotHiddenOrBeingWritten) {
  EXPECT_TRUE(Inbox::takes_name("dialog.xml"));
  EXPECT_TRUE(Inbox::takes_name("adt.hl7"));
  EXPECT_TRUE(Inbox::takes_name("partner.tmpl"));
  EXPECT_FALSE(Inbox::takes_name(""));
  EXPECT_FALSE(Inbox::takes_name(".dialog.xml"));
  EXPECT_FALSE(Inbox::takes_name("dialog.xml.tmp"));
  EXPECT_FALSE(Inbox::takes_name("dialog.xml.part"));
}

TEST(Inbox, OpenMakesTheFoldersInside) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path() / "plo");
  inbox.open();
  EXPECT_TRUE(fs::is_directory(dir.path() / "plo" / "processed"));
  EXPECT_TRUE(fs::is_directory(dir.path() / "plo" / "error"));
  EXPECT_TRUE(fs::is_directory(dir.path() / "plo" / ".inflight"));
}

TEST(Inbox, AFileIsReadyOnlyOnceItsSizeAndTimeHeldOverOneScan) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  dir.write("a.xml", "<a/>");
  EXPECT_TRUE(ready_names(inbox).empty()) << "first seen: not yet";
  EXPECT_EQ(ready_names(inbox), std::vector<std::string>{"a.xml"});
  EXPECT_EQ(ready_names(inbox), std::vector<std::string>{"a.xml"})
      << "stays ready until it is moved";
}

TEST(Inbox, AFileStillGrowingIsNotReady) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  dir.write("a.xml", "<a");
  EXPECT_TRUE(ready_names(inbox).empty());
  dir.write("a.xml", "<a/>");
  EXPECT_TRUE(ready_names(inbox).empty()) << "the size changed since the last scan";
  EXPECT_EQ(ready_names(inbox), std::vector<std::string>{"a.xml"});
}

TEST(Inbox, AFileRewrittenWithTheSameSizeIsNotReady) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  const auto file = dir.write("a.xml", "<a/>");
  set_mtime(file, 60);
  EXPECT_TRUE(ready_names(inbox).empty());
  set_mtime(file, 0);
  EXPECT_TRUE(ready_names(inbox).empty()) << "the modification time changed";
  EXPECT_EQ(ready_names(inbox).size(), 1u);
}

TEST(Inbox, SkipsHiddenPartialFoldersAndSymbolicLinks) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  dir.write(".hidden.xml", "x");
  dir.write("upload.xml.part", "x");
  dir.write("upload.xml.tmp", "x");
  fs::create_directories(dir.path() / "folder.xml");
  const auto target = dir.write("../outside-" + dir.path().filename().string(), "secret");
  fs::create_symlink(target, dir.path() / "link.xml");
  EXPECT_TRUE(ready_names(inbox).empty());
  EXPECT_TRUE(ready_names(inbox).empty());
  fs::remove(target);
}

TEST(Inbox, ReadyFilesComeOldestFirstThenByName) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  set_mtime(dir.write("c.xml", "c"), 30);
  set_mtime(dir.write("b.xml", "b"), 10);
  set_mtime(dir.write("a.xml", "a"), 10);
  ready_names(inbox);
  EXPECT_EQ(ready_names(inbox), (std::vector<std::string>{"c.xml", "a.xml", "b.xml"}));
}

TEST(Inbox, ReadRefusesAFileOverTheLimit) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  dir.write("big.xml", std::string(2048, 'x'));
  dir.write("fits.xml", std::string(1024, 'x'));
  EXPECT_EQ(inbox.read("big.xml", 2047).status, InboxRead::Status::kTooBig);
  EXPECT_TRUE(inbox.read("big.xml", 2047).bytes.empty());
  const InboxRead fits = inbox.read("fits.xml", 1024);
  EXPECT_EQ(fits.status, InboxRead::Status::kRead);
  EXPECT_EQ(fits.bytes.size(), 1024u);
  const InboxRead gone = inbox.read("gone.xml", 1024);
  EXPECT_EQ(gone.status, InboxRead::Status::kGone);
  EXPECT_EQ(gone.error, std::errc::no_such_file_or_directory);
}

TEST(Inbox, ReadOfADirectoryIsUnreadableForGood) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  fs::create_directory(dir.path() / "folder.xml");
  const InboxRead read = inbox.read("folder.xml", 1024);
  EXPECT_EQ(read.status, InboxRead::Status::kUnreadable);
  EXPECT_EQ(read.error, std::errc::is_a_directory);
}

// Lowers this process's limit of open files to what is open now, so that the next open fails
// with EMFILE (root is bound by it too); restores the limit when it ends.
class NoFreeDescriptors {
 public:
  NoFreeDescriptors() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free number
    ::close(probe);
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(probe);
    ::setrlimit(RLIMIT_NOFILE, &lowered);
  }
  ~NoFreeDescriptors() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  NoFreeDescriptors(const NoFreeDescriptors&) = delete;
  NoFreeDescriptors& operator=(const NoFreeDescriptors&) = delete;

 private:
  rlimit saved_{};
};

TEST(Inbox, ReadWithoutAFreeDescriptorIsDeferredNotRefused) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  dir.write("adt.hl7", "MSH|");
  InboxRead read;
  {
    const NoFreeDescriptors none;
    read = inbox.read("adt.hl7", 1024);
  }
  EXPECT_EQ(read.status, InboxRead::Status::kDeferred);
  EXPECT_EQ(read.error, std::errc::too_many_files_open);
  EXPECT_EQ(inbox.read("adt.hl7", 1024).status, InboxRead::Status::kRead);
}

TEST(Inbox, ReadErrorsOfTheMachineAreTransientAndThoseOfTheFileAreNot) {
  for (int transient : {EMFILE, ENFILE, ENOMEM, EIO, ESTALE, EAGAIN}) {
    EXPECT_TRUE(read_error_is_transient({transient, std::system_category()})) << transient;
  }
  for (int lasting : {EACCES, EPERM, EISDIR, ELOOP, ENOENT}) {
    EXPECT_FALSE(read_error_is_transient({lasting, std::system_category()})) << lasting;
  }
  EXPECT_FALSE(read_error_is_transient(std::make_error_code(std::io_errc::stream)));
}

TEST(Inbox, AReadFaultFailsTheReadAsTheSystemWould) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  dir.write("a.hl7", "MSH|");
  dir.write("b.hl7", "MSH|");
  inbox.set_read_fault([](const std::string& name) {
    return name == "a.hl7" ? std::error_code(EIO, std::system_category()) : std::error_code();
  });
  EXPECT_EQ(inbox.read("a.hl7", 1024).status, InboxRead::Status::kDeferred);
  EXPECT_EQ(inbox.read("b.hl7", 1024).status, InboxRead::Status::kRead);
}

TEST(Inbox, ClaimsRoundTripWithAnyReplyBytes) {
  InboxClaim claim;
  claim.sha256 = std::string(64, 'a');
  claim.ids = {"018f0000-0000-7000-8000-000000000001", "018f0000-0000-7000-8000-000000000002"};
  claim.destination = InboxDestination::kError;
  claim.reply_suffix = ".ack.hl7";
  using namespace std::string_literals;
  claim.reply = "MSH|^~\\&|\rMSA|AR|X\r\nid fake\nreply 3\n\0\xe5"s;
  const auto back = decode_claim(encode_claim(claim));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sha256, claim.sha256);
  EXPECT_EQ(back->ids, claim.ids);
  EXPECT_EQ(back->destination, InboxDestination::kError);
  EXPECT_EQ(back->reply_suffix, ".ack.hl7");
  EXPECT_EQ(back->reply, claim.reply);

  InboxClaim none;
  none.sha256 = "b";
  const auto empty = decode_claim(encode_claim(none));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->reply_suffix, "");
  EXPECT_TRUE(empty->ids.empty());
}

TEST(Inbox, ATruncatedOrForeignClaimIsNotAClaim) {
  InboxClaim claim;
  claim.sha256 = "abc";
  claim.ids = {"id-1"};
  claim.reply = "<AppRec/>";
  const std::string text = encode_claim(claim);
  EXPECT_FALSE(decode_claim(text.substr(0, text.size() - 1)));
  EXPECT_FALSE(decode_claim(text.substr(0, 20)));
  EXPECT_FALSE(decode_claim("something else\n"));
  EXPECT_FALSE(decode_claim(""));
}

TEST(Inbox, WritesAndReadsTheClaimOfAFile) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  dir.write("a.xml", "<a/>");
  EXPECT_FALSE(inbox.read_claim("a.xml"));
  InboxClaim claim{"sha", {"id-1"}, InboxDestination::kProcessed, ".apprec.xml", "<AppRec/>"};
  ASSERT_FALSE(inbox.write_claim("a.xml", claim));
  const auto back = inbox.read_claim("a.xml");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ids, claim.ids);
  EXPECT_FALSE(inbox.read_claim("b.xml"));
  EXPECT_EQ(tree(dir.path() / ".inflight").size(), 1u) << "no temporary file left behind";
}

TEST(Inbox, FinishMovesTheFileWritesTheReplyBesideItAndDropsTheClaim) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  dir.write("dialog.xml", "<MsgHead/>");
  ASSERT_FALSE(inbox.write_claim(
      "dialog.xml", {"sha", {"id-1"}, InboxDestination::kProcessed, ".apprec.xml", "x"}));
  std::error_code ec;
  const fs::path moved =
      inbox.finish("dialog.xml", InboxDestination::kProcessed, ".apprec.xml", "<AppRec/>", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(moved, dir.path() / "processed" / "dialog.xml");
  EXPECT_EQ(tree(dir.path()),
            (std::vector<std::string>{"processed/dialog.xml", "processed/dialog.xml.apprec.xml"}));
  EXPECT_EQ(slurp(moved), "<MsgHead/>");
  EXPECT_EQ(slurp(dir.path() / "processed" / "dialog.xml.apprec.xml"), "<AppRec/>");
}

// A sender with fixed file names may put its next message under the name while the last one is
// being taken (read, stored, answered). Only the file read is moved with its answer; the new one
// stays in the inbox, to be taken as new, never moved away unread.
TEST(Inbox, MovesOnlyTheFileItReadNotAnotherPutUnderItsNameSince) {
  test::TempDir dir;
  Inbox inbox(dir.path());
  inbox.open();
  dir.write("lab.hl7", "first");
  const InboxRead first = inbox.read("lab.hl7", 1024);
  ASSERT_EQ(first.status, InboxRead::Status::kRead);
  ASSERT_TRUE(first.id.known());
  dir.write("lab.hl7.tmp", "second");
  fs::rename(dir.path() / "lab.hl7.tmp", dir.path() / "lab.hl7");  // as a sender renames it in

  std::error_code ec;
  inbox.finish("lab.hl7", InboxDestination::kProcessed, ".ack.hl7", "ack of first", ec, first.id);
  EXPECT_EQ(ec.value(), ESTALE) << ec.message();
  EXPECT_EQ(tree(dir.path()), (std::vector<std::string>{"lab.hl7"}));
  EXPECT_EQ(slurp(dir.path() / "lab.hl7"), "second");

  const InboxRead second = inbox.read("lab.hl7", 1024);
  ASSERT_EQ(second.bytes, "second");
  inbox.finish("lab.hl7", InboxDestination::kProcessed, ".ack.hl7", "ack of second", ec, second.id);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(slurp(dir.path() / "processed" / "lab.hl7"), "second");
  EXPECT_EQ(slurp(dir.path() / "processed" / "lab.hl7.ack.hl7"), "ack of second");
}

TEST(Inbox, FinishToErrorWithoutAReplyOnlyMovesTheFile) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  dir.write("receipt.xml", "<AppRec/>");
  std::error_code ec;
  inbox.finish("receipt.xml", InboxDestination::kError, "", "", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(tree(dir.path()), std::vector<std::string>{"error/receipt.xml"});
}

TEST(Inbox, ANameAlreadyUsedInTheDestinationGetsANumberNeverOverwrites) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  std::error_code ec;
  for (const char* body : {"first", "second", "third"}) {
    dir.write("lab.hl7", body);
    inbox.finish("lab.hl7", InboxDestination::kProcessed, ".ack.hl7", std::string("ack of ") + body,
                 ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  dir.write("noext", "n1");
  inbox.finish("noext", InboxDestination::kError, ".problem.json", "{}", ec);
  dir.write("noext", "n2");
  inbox.finish("noext", InboxDestination::kError, ".problem.json", "{}", ec);
  EXPECT_EQ(
      tree(dir.path()),
      (std::vector<std::string>{
          "error/noext", "error/noext-2", "error/noext-2.problem.json", "error/noext.problem.json",
          "processed/lab-2.hl7", "processed/lab-2.hl7.ack.hl7", "processed/lab-3.hl7",
          "processed/lab-3.hl7.ack.hl7", "processed/lab.hl7", "processed/lab.hl7.ack.hl7"}));
  EXPECT_EQ(slurp(dir.path() / "processed" / "lab-3.hl7"), "third");
  EXPECT_EQ(slurp(dir.path() / "processed" / "lab-3.hl7.ack.hl7"), "ack of third");
}

TEST(Inbox, FinishAgainAfterACrashAfterTheLinkCompletesWithoutASecondCopy) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  const auto file = dir.write("dialog.xml", "<MsgHead/>");
  // The state a crash right after the hard link leaves: in both folders, no reply yet.
  fs::create_hard_link(file, dir.path() / "processed" / "dialog.xml");
  std::error_code ec;
  const fs::path moved =
      inbox.finish("dialog.xml", InboxDestination::kProcessed, ".apprec.xml", "<AppRec/>", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(moved.filename(), "dialog.xml");
  EXPECT_EQ(tree(dir.path()),
            (std::vector<std::string>{"processed/dialog.xml", "processed/dialog.xml.apprec.xml"}));
}

TEST(Inbox, LongNamesAreShortenedSoTheReplyNameStillFits) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  const std::string name = std::string(240, 'a') + ".xml";
  dir.write(name, "<a/>");
  std::error_code ec;
  const fs::path moved =
      inbox.finish(name, InboxDestination::kProcessed, ".apprec.xml", "<AppRec/>", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(moved.filename().string(), std::string(196, 'a') + ".xml");
  EXPECT_TRUE(fs::exists(moved.string() + ".apprec.xml"));
}

TEST(Inbox, FinishOfAFileThatIsGoneFailsAndChangesNothing) {
  TempDir dir("helsebro-inbox");
  Inbox inbox(dir.path());
  inbox.open();
  std::error_code ec;
  inbox.finish("gone.xml", InboxDestination::kProcessed, ".apprec.xml", "<AppRec/>", ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
  EXPECT_TRUE(tree(dir.path()).empty());
}

TEST(Inbox, OpenSweepsClaimsOfFilesNoLongerWaiting) {
  TempDir dir("helsebro-inbox");
  {
    Inbox inbox(dir.path());
    inbox.open();
    dir.write("waiting.xml", "<a/>");
    ASSERT_FALSE(
        inbox.write_claim("waiting.xml", {"s", {"id-1"}, InboxDestination::kProcessed, "", ""}));
    ASSERT_FALSE(
        inbox.write_claim("moved.xml", {"s", {"id-2"}, InboxDestination::kProcessed, "", ""}));
  }
  Inbox inbox(dir.path());
  inbox.open();
  EXPECT_TRUE(inbox.read_claim("waiting.xml"));
  EXPECT_FALSE(inbox.read_claim("moved.xml"));
}

}  // namespace
}  // namespace helsebro::listen
