// The one exception type of the core library.  The message always names the
// file and what is wrong with it; `err` is the errno a server should report
// (EIO for damage, EINVAL for bad arguments, or the errno of a failed call).
#pragma once
#include <cerrno>
#include <stdexcept>
#include <string>

namespace hexz {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string &msg, int err = EIO) : std::runtime_error(msg), err_(err) {}
  int err() const { return err_; }

 private:
  int err_;
};

// Throws Error("CONTEXT: strerror(errno)") keeping errno.
[[noreturn]] void throw_errno(const std::string &context);

}  // namespace hexz
