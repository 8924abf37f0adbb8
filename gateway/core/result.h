#pragma once
// Result<T>: a value or an Error, for everything on the data path (parse, map, store, forward).

#include <boost/system/result.hpp>
#include <stdexcept>

#include "gateway/core/error.h"

namespace helsebro {

template <class T>
using Result = boost::system::result<T, Error>;

/// Thrown only when code calls value() on a failed Result — a programming error.
class ResultError : public std::runtime_error {
 public:
  explicit ResultError(const Error& e) : std::runtime_error(e.message()), error_(e) {}
  const Error& error() const { return error_; }

 private:
  Error error_;
};

[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw ResultError(e);
}

}  // namespace helsebro
