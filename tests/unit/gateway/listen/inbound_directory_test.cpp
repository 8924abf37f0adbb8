#include "gateway/listen/inbound_directory.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "gateway/core/backlog.h"
#include "gateway/core/ids.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/listen/inbound_exchange.h"
#include "gateway/listen/inbound_probes.h"
#include "gateway/listen/inbox.h"
#include "gateway/observe/metrics.h"
#include "gateway/observe/probes.h"
#include "unit/gateway/listen/memory_journal.h"
#include "unit/temp_dir.h"

namespace helsebro::listen {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kAdt =
    "MSH|^~\\&|DIPS|STOLAV|HELSEBRO|HMN|20261123101500||ADT^A04|CTRL1|P|2.5\r"
    "PID|1||15038510190^^^^FNR||Nordmann^Kari||19850315|F\r"
    "PV1|1|I\r";

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A directory watcher over an in-memory journal, polled every 10 ms on the test's io_context.
class InboundDirectoryTest : public ::testing::Test {
 protected:
  void start(std::size_t max_file_bytes = 1 << 20) {
    config::InboundDirectoryConfig config;
    config.channel = "lab-files";
    config.path = dir_.str();
    config.format = "hl7v2";
    config.poll_milliseconds = 10;
    config.max_file_bytes = max_file_bytes;
    auto pipeline = std::make_shared<InboundPipeline>();
    pipeline->journal = &journal_;
    pipeline->probes = &probes_;
    InboundDirectoryParts parts;
    parts.pipeline = pipeline;
    // No mappings: accepted messages are held (AA), so these tests do not depend on mappings/.
    intake::ChannelRules rules;
    rules.channel = "lab-files";
    rules.hold_unmapped = true;
    parts.hl7v2 = std::make_shared<const intake::Hl7v2Intake>(
        rules, [] { return std::shared_ptr<const mapping::MappingSet>(); }, Clock{},
        &probes_.intake);
    parts.backlog = &backlog_;
    parts.probe = &inbox_probe_;
    parts.after_commit = after_commit_;
    parts.read_fault = read_fault_;
    directory_ = std::make_unique<InboundDirectory>(io_, config, std::move(parts));
    directory_->start();
  }

  void TearDown() override {
    if (directory_) directory_->stop();
    io_.run_for(30ms);
  }

  template <class Done>
  bool run_until(Done done, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) io_.run_for(10ms);
    return done();
  }

  bool exists(const std::string& relative) const { return fs::exists(dir_.path() / relative); }

  double metric(const std::string& sample) const {
    const std::string text = registry_.expose();
    const std::size_t at = text.find(sample + " ");
    return at == std::string::npos ? 0 : std::stod(text.substr(at + sample.size() + 1));
  }

  test::TempDir dir_{"helsebro-inbound"};
  boost::asio::io_context io_;
  test::MemoryJournal journal_;
  observe::Registry registry_;
  observe::Probes probes_{registry_};
  InboxProbe inbox_probe_{registry_};
  Backlog backlog_{10};
  std::function<void(const std::string&)> after_commit_;
  std::function<std::error_code(const std::string&)> read_fault_;
  std::unique_ptr<InboundDirectory> directory_;
};

TEST_F(InboundDirectoryTest, TakesAFileThroughTheHl7v2PipelineIntoProcessedWithItsAck) {
  dir_.write("adt.hl7", kAdt);
  start();
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7.ack.hl7"); }));
  EXPECT_FALSE(exists("adt.hl7"));
  EXPECT_EQ(slurp(dir_.path() / "processed" / "adt.hl7"), kAdt);
  EXPECT_NE(slurp(dir_.path() / "processed" / "adt.hl7.ack.hl7").find("MSA|AA|CTRL1"),
            std::string::npos);
  ASSERT_EQ(journal_.records().size(), 1u);
  EXPECT_EQ(journal_.records()[0].channel, "lab-files");
  EXPECT_EQ(journal_.records()[0].peer, "file:adt.hl7");
  EXPECT_EQ(journal_.records()[0].state, MessageState::kHeld);
  EXPECT_TRUE(fs::is_empty(dir_.path() / ".inflight"))
      << "the claim is removed once the file is moved";
  EXPECT_EQ(metric("helsebro_listen_files_taken_total{channel=\"lab-files\"}"), 1);
  EXPECT_EQ(metric("helsebro_listen_files_processed_total{channel=\"lab-files\"}"), 1);
}

TEST_F(InboundDirectoryTest, ARefusedMessageGoesToErrorWithItsNegativeAck) {
  dir_.write("junk.hl7", "PID|1||not a message\r");
  start();
  ASSERT_TRUE(run_until([&] { return exists("error/junk.hl7.ack.hl7"); }));
  EXPECT_TRUE(exists("error/junk.hl7"));
  EXPECT_NE(slurp(dir_.path() / "error" / "junk.hl7.ack.hl7").find("MSA|AR"), std::string::npos);
  ASSERT_EQ(journal_.records().size(), 1u);
  EXPECT_EQ(journal_.records()[0].state, MessageState::kRejected);
  EXPECT_EQ(metric("helsebro_listen_files_error_total{channel=\"lab-files\",reason=\"rejected\"}"),
            1);
}

TEST_F(InboundDirectoryTest, AFileOverTheLimitGoesToErrorWithAProblemAndIsNotStored) {
  dir_.write("huge.hl7", kAdt + std::string(2048, 'x'));
  start(1024);
  ASSERT_TRUE(run_until([&] { return exists("error/huge.hl7.problem.json"); }));
  EXPECT_TRUE(exists("error/huge.hl7"));
  EXPECT_NE(slurp(dir_.path() / "error" / "huge.hl7.problem.json").find("\"status\":413"),
            std::string::npos);
  EXPECT_TRUE(journal_.records().empty());
  EXPECT_EQ(metric("helsebro_listen_files_error_total{channel=\"lab-files\",reason=\"too_big\"}"),
            1);
}

TEST_F(InboundDirectoryTest, AJournaledButUnmovedFileIsMovedWithItsStoredAnswerAndNotStoredAgain) {
  // What a crash after the journal commit leaves: the file, its claim, the message in the journal.
  dir_.write("adt.hl7", kAdt);
  MessageRecord stored;
  stored.id = "018f0000-0000-7000-8000-00000000abcd";
  stored.state = MessageState::kHeld;
  journal_.append(stored, [](Result<std::int64_t>) {});
  Inbox inbox(dir_.path());
  inbox.open();
  ASSERT_FALSE(inbox.write_claim("adt.hl7", {sha256_hex(kAdt),
                                             {stored.id},
                                             InboxDestination::kProcessed,
                                             ".ack.hl7",
                                             "the ACK first sent"}));
  start();
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7.ack.hl7"); }));
  EXPECT_EQ(slurp(dir_.path() / "processed" / "adt.hl7.ack.hl7"), "the ACK first sent");
  EXPECT_EQ(journal_.records().size(), 1u) << "not stored a second time";
  EXPECT_EQ(metric("helsebro_listen_files_recovered_total{channel=\"lab-files\"}"), 1);
}

TEST_F(InboundDirectoryTest, AClaimWhoseMessagesTheJournalLacksIsTakenAsNew) {
  dir_.write("adt.hl7", kAdt);
  Inbox inbox(dir_.path());
  inbox.open();
  ASSERT_FALSE(inbox.write_claim("adt.hl7", {sha256_hex(kAdt),
                                             {"018f0000-0000-7000-8000-00000000dead"},
                                             InboxDestination::kProcessed,
                                             ".ack.hl7",
                                             "never sent"}));
  start();
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7.ack.hl7"); }));
  EXPECT_NE(slurp(dir_.path() / "processed" / "adt.hl7.ack.hl7").find("MSA|AA|CTRL1"),
            std::string::npos);
  EXPECT_EQ(journal_.records().size(), 1u);
  EXPECT_EQ(metric("helsebro_listen_files_recovered_total{channel=\"lab-files\"}"), 0);
}

TEST_F(InboundDirectoryTest, AClaimForOtherBytesIsIgnored) {
  dir_.write("adt.hl7", kAdt);
  journal_.append(
      [] {
        MessageRecord r;
        r.id = "018f0000-0000-7000-8000-00000000abcd";
        return r;
      }(),
      [](Result<std::int64_t>) {});
  Inbox inbox(dir_.path());
  inbox.open();
  ASSERT_FALSE(inbox.write_claim("adt.hl7", {sha256_hex("an earlier file of that name"),
                                             {"018f0000-0000-7000-8000-00000000abcd"},
                                             InboxDestination::kError,
                                             ".ack.hl7",
                                             "old"}));
  start();
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7.ack.hl7"); }));
  EXPECT_EQ(journal_.records().size(), 2u);
}

TEST_F(InboundDirectoryTest, AJournalFailureLeavesTheFileForTheNextPoll) {
  journal_.set_failing(true);
  dir_.write("adt.hl7", kAdt);
  start();
  ASSERT_TRUE(run_until([&] {
    return metric(
               "helsebro_listen_files_deferred_total{channel=\"lab-files\",reason=\"journal_"
               "failed\"}") >= 2;
  }));
  EXPECT_TRUE(exists("adt.hl7"));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "processed"));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "error"));
  journal_.set_failing(false);
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7.ack.hl7"); }));
  EXPECT_EQ(journal_.records().size(), 1u);
}

TEST_F(InboundDirectoryTest, AFileThatCannotBeReadForNowWaitsForTheNextPoll) {
  int failures = 3;  // out of file descriptors for three polls
  read_fault_ = [&](const std::string&) {
    return failures-- > 0 ? std::error_code(EMFILE, std::system_category()) : std::error_code();
  };
  dir_.write("adt.hl7", kAdt);
  start();
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7.ack.hl7"); }));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "error"));
  EXPECT_EQ(metric("helsebro_listen_files_deferred_total{channel=\"lab-files\",reason=\"read_failed\"}"), 3);
  ASSERT_EQ(journal_.records().size(), 1u);
}

TEST_F(InboundDirectoryTest, AFileThatCannotBeReadAtAllGoesToErrorWithAProblem) {
  read_fault_ = [](const std::string&) { return std::error_code(EACCES, std::system_category()); };
  dir_.write("adt.hl7", kAdt);
  start();
  ASSERT_TRUE(run_until([&] { return exists("error/adt.hl7.problem.json"); }));
  EXPECT_NE(slurp(dir_.path() / "error" / "adt.hl7.problem.json").find("could not be read"), std::string::npos);
  EXPECT_TRUE(journal_.records().empty());
}

TEST_F(InboundDirectoryTest, FilesWaitWhileTheBacklogIsOverItsLimit) {
  backlog_.set(10);
  dir_.write("adt.hl7", kAdt);
  start();
  ASSERT_TRUE(run_until([&] {
    return metric("helsebro_listen_backpressure_pauses_total{channel=\"lab-files\"}") >= 3;
  }));
  EXPECT_TRUE(exists("adt.hl7"));
  EXPECT_TRUE(journal_.records().empty());
  backlog_.set(9);
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7"); }));
}

TEST_F(InboundDirectoryTest, TheFileIsStillInTheInboxWhenItsMessagesBecomeDurable) {
  bool seen = false;
  after_commit_ = [&](const std::string& file) {
    seen = true;
    EXPECT_EQ(file, "adt.hl7");
    EXPECT_TRUE(exists("adt.hl7"));
    EXPECT_EQ(journal_.records().size(), 1u);
    EXPECT_TRUE(fs::is_empty(dir_.path() / "processed"));
    EXPECT_FALSE(fs::is_empty(dir_.path() / ".inflight"))
        << "the claim is on disk before the commit";
  };
  dir_.write("adt.hl7", kAdt);
  start();
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7"); }));
  EXPECT_TRUE(seen);
}

TEST_F(InboundDirectoryTest, PartialAndHiddenFilesAreLeftAlone) {
  dir_.write("adt.hl7.part", kAdt);
  dir_.write(".adt.hl7", kAdt);
  dir_.write("adt.hl7", kAdt);
  start();
  ASSERT_TRUE(run_until([&] { return exists("processed/adt.hl7"); }));
  io_.run_for(50ms);
  EXPECT_TRUE(exists("adt.hl7.part"));
  EXPECT_TRUE(exists(".adt.hl7"));
  EXPECT_EQ(journal_.records().size(), 1u);
}

}  // namespace
}  // namespace helsebro::listen
