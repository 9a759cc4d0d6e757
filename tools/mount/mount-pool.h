// hexz-mount: a pool of libnbd connections to one export, so that the FUSE
// worker threads have several requests in flight.  A libnbd handle runs one
// synchronous request at a time, so each request borrows an idle handle.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "nbd-handle.h"

namespace hexz {

class NbdkitServer;

class HandlePool {
 public:
  // Opens N connections to EXPORTNAME; throws Error on failure.
  HandlePool(const NbdkitServer &server, const std::string &exportname, unsigned n);
  HandlePool(const HandlePool &) = delete;
  HandlePool &operator=(const HandlePool &) = delete;

  const std::string &name() const { return name_; }
  uint64_t size() const { return size_; }
  bool writable() const { return writable_; }

  // Each returns 0 or -errno (and logs libnbd's message); never throws.
  int pread(void *buf, size_t len, uint64_t off);
  int pwrite(const void *buf, size_t len, uint64_t off);
  // Makes the range read as zeroes (without NO_HOLE: the server may
  // deallocate it).
  int zero(size_t len, uint64_t off);
  // Makes every write completed so far durable (an NBD flush).
  int flush();
  // Flushes (when writable) and disconnects cleanly; returns 0 or -errno.
  int close();

 private:
  struct nbd_handle *acquire();
  void release(struct nbd_handle *h);
  int fail(const char *what, uint64_t off, size_t len);

  std::string name_;
  uint64_t size_ = 0;
  bool writable_ = false, multi_conn_ = false;
  std::vector<NbdHandle> all_;  // owned; idle_ borrows from them
  std::mutex lock_;
  std::condition_variable idle_cv_;
  std::vector<struct nbd_handle *> idle_;
};

}  // namespace hexz
