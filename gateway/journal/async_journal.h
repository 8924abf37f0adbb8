#pragma once
// Awaitable wrappers over the Journal's callback interface, for coroutines. The journal's
// completion runs on its writer thread; the wrapper resumes the coroutine on its own executor.
// Include only from the few translation units that use Asio.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>

#include "gateway/core/journal.h"

namespace helsebro::journal {

namespace detail {
template <class Signature, class Token, class Start>
auto async_journal_op(Token&& token, Start start) {
  return boost::asio::async_initiate<Token, Signature>(
      [start = std::move(start)](auto handler) mutable {
        auto executor = boost::asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        try {
          start([shared, executor](auto result) {
            boost::asio::post(executor, [shared, result = std::move(result)]() mutable {
              (*shared)(std::move(result));
            });
          });
        } catch (const std::exception& e) {
          // The journal could not even take the write (out of memory): the caller is told, as of
          // any write that failed. Thrown from here, it would end the process.
          boost::asio::post(executor, [shared, what = std::string(e.what())]() mutable {
            (*shared)(Error{Errc::kJournalWriteFailed, "the journal could not take the write: " + what});
          });
        }
      },
      token);
}
}  // namespace detail

template <class Token>
auto async_mark_delivered(Journal& journal, std::int64_t seq, std::int64_t revision, EpochMillis now,
                          Token&& token) {
  return detail::async_journal_op<void(Result<void>)>(
      std::forward<Token>(token),
      [&journal, seq, revision, now](auto done) { journal.mark_delivered(seq, revision, now, std::move(done)); });
}

template <class Token>
auto async_mark_failed(Journal& journal, std::int64_t seq, std::int64_t revision, std::string reason,
                       EpochMillis now, EpochMillis next_attempt_at, Token&& token) {
  return detail::async_journal_op<void(Result<void>)>(
      std::forward<Token>(token),
      [&journal, seq, revision, reason = std::move(reason), now, next_attempt_at](auto done) mutable {
        journal.mark_failed(seq, revision, std::move(reason), now, next_attempt_at, std::move(done));
      });
}

template <class Token>
auto async_mark_dead(Journal& journal, std::int64_t seq, std::int64_t revision, std::string reason,
                     EpochMillis now, Token&& token) {
  return detail::async_journal_op<void(Result<void>)>(
      std::forward<Token>(token), [&journal, seq, revision, reason = std::move(reason), now](auto done) mutable {
        journal.mark_dead(seq, revision, std::move(reason), now, std::move(done));
      });
}

}  // namespace helsebro::journal
