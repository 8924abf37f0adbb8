#include "gateway/listen/inbound_directory.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <set>

#include "gateway/core/backlog.h"
#include "gateway/core/ids.h"
#include "gateway/core/journal.h"
#include "gateway/intake/hl7v2_intake.h"
#include "gateway/listen/http_types.h"
#include "gateway/listen/inbound_exchange.h"
#include "gateway/listen/inbound_probes.h"
#include "gateway/listen/inbox.h"
#include "gateway/observe/log.h"
#include "gateway/observe/probes.h"

namespace helsebro::listen {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Stores the exchange and resumes the awaiting coroutine on its own executor with the answer.
template <class Token>
auto async_store(std::shared_ptr<InboundExchange> exchange, Token&& token) {
  return asio::async_initiate<Token, void(InboundAnswer)>(
      [exchange](auto completion) {
        auto executor = asio::get_associated_executor(completion);
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        exchange->store([shared, executor](InboundAnswer answer) {
          asio::post(executor, [shared, answer = std::move(answer)]() mutable {
            (*shared)(std::move(answer));
          });
        });
      },
      token);
}

// Settles the exchange (a KITH patient lookup) and resumes the awaiting coroutine on its own
// executor once its planned answer is final.
template <class Token>
auto async_settle(std::shared_ptr<InboundExchange> exchange, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [exchange](auto completion) {
        auto executor = asio::get_associated_executor(completion);
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        exchange->settle([shared, executor] { asio::post(executor, [shared] { (*shared)(); }); });
      },
      token);
}

// Where the reply goes beside the file: by what it is. A received AppRec (a receipt) gets none.
std::string reply_suffix(const InboundAnswer& answer) {
  if (answer.body.empty()) return {};
  if (answer.content_type.rfind("application/problem+json", 0) == 0) return ".problem.json";
  if (answer.content_type.rfind("application/xml", 0) == 0) return ".apprec.xml";
  if (answer.content_type.rfind("x-application/hl7-v2+er7", 0) == 0) return ".ack.hl7";
  return {};
}

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out.append(out.empty() ? "" : ",").append(id);
  return out;
}

}  // namespace

struct InboundDirectory::Impl : std::enable_shared_from_this<InboundDirectory::Impl> {
  config::InboundDirectoryConfig config;
  InboundDirectoryParts parts;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  Inbox inbox;
  std::atomic<bool> stopped{false};
  std::set<std::string> deferred_reads;  // files whose last read failed for a transient reason

  Impl(asio::io_context& io, config::InboundDirectoryConfig c, InboundDirectoryParts p)
      : config(std::move(c)),
        parts(std::move(p)),
        strand(asio::make_strand(io)),
        timer(strand),
        inbox(config.path) {
    if (parts.read_fault) inbox.set_read_fault(parts.read_fault);
  }

  const std::string& channel() const { return config.channel; }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!stopped) {
      co_await poll();
      timer.expires_after(std::chrono::milliseconds(config.poll_milliseconds));
      auto [ec] = co_await timer.async_wait(kTuple);
      if (ec) break;
    }
  }

  asio::awaitable<void> poll() {
    std::error_code error;
    const std::vector<InboxFile> ready = inbox.scan(error);
    if (error) {
      observe::log_error("inbox.list_failed", {{"channel", channel()}, {"error", error.message()}});
      co_return;
    }
    std::erase_if(deferred_reads, [&](const std::string& name) {
      return std::none_of(ready.begin(), ready.end(), [&](const InboxFile& f) { return f.name == name; });
    });
    for (const InboxFile& file : ready) {
      if (stopped) co_return;
      if (parts.backlog != nullptr && parts.backlog->over_limit()) {
        // Back-pressure: the files wait in the directory until the forwarder catches up.
        parts.pipeline->probes->listen.paused(channel());
        co_return;
      }
      try {
        co_await take(file.name);
      } catch (const std::exception& e) {
        // Unexpected (the expected failures are values): the file stays for the next poll.
        parts.probe->file_deferred(channel(), "internal_error");
        observe::log_error("inbox.take_failed",
                           {{"channel", channel()}, {"file", file.name}, {"error", e.what()}});
      }
    }
  }

  asio::awaitable<void> take(const std::string& name) {
    parts.probe->file_taken(channel());
    InboxRead read = inbox.read(name, config.max_file_bytes);
    if (read.status == InboxRead::Status::kGone) {
      deferred_reads.erase(name);
      observe::log_info("inbox.file_gone", {{"channel", channel()}, {"file", name}});
      co_return;
    }
    if (read.status == InboxRead::Status::kDeferred) {
      // The machine's fault, not the file's (out of file descriptors, an I/O error): the file
      // waits for the next poll, logged once until a read of it succeeds.
      parts.probe->file_deferred(channel(), "read_failed");
      if (deferred_reads.insert(name).second) {
        observe::log_warn("inbox.file_read_deferred",
                          {{"channel", channel()}, {"file", name}, {"error", read.error.message()}});
      }
      co_return;
    }
    deferred_reads.erase(name);
    if (read.status == InboxRead::Status::kTooBig) {
      observe::log_info("inbox.file_too_big", {{"channel", channel()}, {"file", name}});
      const HttpResponse reply =
          problem(413, "Content Too Large",
                  "the file is larger than " + std::to_string(config.max_file_bytes) + " bytes");
      move(name, InboxDestination::kError, ".problem.json", reply.body, "too_big", {}, read.id);
      co_return;
    }
    if (read.status == InboxRead::Status::kUnreadable) {
      observe::log_warn("inbox.file_unreadable",
                        {{"channel", channel()}, {"file", name}, {"error", read.error.message()}});
      const HttpResponse reply =
          problem(400, "Bad Request", "the file could not be read: " + read.error.message());
      move(name, InboxDestination::kError, ".problem.json", reply.body, "unreadable", {}, read.id);
      co_return;
    }
    const std::string sha256 = sha256_hex(read.bytes);
    const InboxFileId read_id = read.id;
    if (auto claim = inbox.read_claim(name); claim && claim->sha256 == sha256) {
      if (recover(name, *claim, read.id)) co_return;
    }

    std::shared_ptr<InboundExchange> exchange =
        parts.kith ? kith_exchange(parts.pipeline, parts.kith, read.bytes, "file:" + name)
                   : hl7v2_exchange(parts.pipeline, parts.hl7v2, read.bytes,
                                    intake::Peer{"file:" + name, {}});
    read.bytes.clear();
    co_await async_settle(exchange, asio::use_awaitable);
    const InboundAnswer planned = exchange->planned();
    const std::vector<std::string> ids = exchange->ids();
    InboxClaim claim{sha256, ids,
                     planned.accepted ? InboxDestination::kProcessed : InboxDestination::kError,
                     reply_suffix(planned), planned.body};
    if (auto ec = inbox.write_claim(name, claim)) {
      parts.probe->file_deferred(channel(), "claim_failed");
      observe::log_error("inbox.claim_failed",
                         {{"channel", channel()}, {"file", name}, {"error", ec.message()}});
      co_return;
    }
    const InboundAnswer answer = co_await async_store(exchange, asio::use_awaitable);
    if (answer.storage_failed) {
      // Nothing is answered for what the journal did not take: the file waits for the next poll.
      parts.probe->file_deferred(channel(), "journal_failed");
      observe::log_error("inbox.journal_failed",
                         {{"channel", channel()}, {"file", name}, {"ids", joined(ids)}});
      co_return;
    }
    if (parts.after_commit) parts.after_commit(name);
    const auto destination =
        answer.accepted ? InboxDestination::kProcessed : InboxDestination::kError;
    move(name, destination, reply_suffix(answer), answer.body, answer.accepted ? "" : "rejected",
         ids, read_id);
  }

  // A claim for these very bytes: the gateway stopped after storing them, before the move. When
  // the journal has every message, the move is finished with the answer they were stored with.
  bool recover(const std::string& name, const InboxClaim& claim, InboxFileId read_id) {
    std::size_t found = 0;
    for (const auto& id : claim.ids) {
      auto record = parts.pipeline->journal->get(id);
      if (!record) {
        parts.probe->file_deferred(channel(), "recovery_failed");
        observe::log_error(
            "inbox.recovery_failed",
            {{"channel", channel()}, {"file", name}, {"error", record.error().detail}});
        return true;  // not knowing, store nothing: try again at the next poll
      }
      if (*record) ++found;
    }
    if (claim.ids.empty() || found < claim.ids.size()) {
      // Not (all) stored: taken again as new; accepted messages are caught by the duplicate check.
      observe::log_info(
          "inbox.claim_not_stored",
          {{"channel", channel()}, {"file", name}, {"ids", joined(claim.ids)}, {"found", found}});
      return false;
    }
    observe::log_info("inbox.recovered",
                      {{"channel", channel()}, {"file", name}, {"ids", joined(claim.ids)}});
    if (move(name, claim.destination, claim.reply_suffix, claim.reply,
             claim.destination == InboxDestination::kError ? "rejected" : "", claim.ids, read_id)) {
      parts.probe->file_recovered(channel());
    }
    return true;
  }

  // Moves the file read as `read_id`; another file put under its name since waits for the next
  // poll, to be taken as new.
  bool move(const std::string& name, InboxDestination destination, const std::string& suffix,
            const std::string& reply, std::string_view error_reason,
            const std::vector<std::string>& ids, InboxFileId read_id) {
    std::error_code ec;
    const auto moved = inbox.finish(name, destination, suffix, reply, ec, read_id);
    if (ec) {
      parts.probe->file_deferred(channel(), "move_failed");
      observe::log_error("inbox.move_failed",
                         {{"channel", channel()}, {"file", name}, {"error", ec.message()}});
      return false;
    }
    if (destination == InboxDestination::kProcessed)
      parts.probe->file_processed(channel());
    else
      parts.probe->file_error(channel(), error_reason);
    observe::log_info("inbox.file_moved", {{"channel", channel()},
                                           {"file", name},
                                           {"to", std::string(to_string(destination)) + "/" +
                                                      moved.filename().string()},
                                           {"ids", joined(ids)}});
    return true;
  }
};

InboundDirectory::InboundDirectory(asio::io_context& io, config::InboundDirectoryConfig config,
                                   InboundDirectoryParts parts)
    : impl_(std::make_shared<Impl>(io, std::move(config), std::move(parts))) {}

InboundDirectory::~InboundDirectory() = default;

void InboundDirectory::start() {
  impl_->inbox.open();
  observe::log_info("inbox.watching", {{"channel", impl_->channel()},
                                       {"path", impl_->config.path},
                                       {"format", impl_->config.format}});
  asio::co_spawn(impl_->strand, impl_->run(), asio::detached);
}

void InboundDirectory::stop() {
  impl_->stopped = true;
  asio::post(impl_->strand, [impl = impl_] { impl->timer.cancel(); });
}

const std::string& InboundDirectory::channel() const {
  return impl_->channel();
}

}  // namespace helsebro::listen
