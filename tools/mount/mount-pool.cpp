#include "mount-pool.h"

#include <cerrno>
#include <libnbd.h>

#include "error.h"
#include "mount-log.h"
#include "nbdkit-server.h"

namespace hexz {

HandlePool::HandlePool(const NbdkitServer &server, const std::string &exportname, unsigned n)
    : name_(exportname.empty() ? "disk" : exportname) {
  for (unsigned i = 0; i < n; i++) {
    all_.push_back(server.connect(exportname));
    struct nbd_handle *h = all_.back().get();
    idle_.push_back(h);
    if (i == 0) {
      int64_t size = nbd_get_size(h);
      if (size < 0) throw Error(name_ + ": cannot get the size: " + nbd_get_error(), EIO);
      size_ = uint64_t(size);
      writable_ = nbd_is_read_only(h) == 0;
      multi_conn_ = nbd_can_multi_conn(h) == 1;
      // Without multi-conn consistency, reads on one connection may miss
      // writes made on another: use a single connection for a writable
      // export then.
      if (writable_ && !multi_conn_) n = 1;
    }
  }
}

struct nbd_handle *HandlePool::acquire() {
  std::unique_lock<std::mutex> g(lock_);
  idle_cv_.wait(g, [this] { return !idle_.empty(); });
  struct nbd_handle *h = idle_.back();
  idle_.pop_back();
  return h;
}

void HandlePool::release(struct nbd_handle *h) {
  {
    std::lock_guard<std::mutex> g(lock_);
    idle_.push_back(h);
  }
  idle_cv_.notify_one();
}

int HandlePool::fail(const char *what, uint64_t off, size_t len) {
  int err = nbd_get_errno();
  if (err == 0) err = EIO;
  mount_log(name_ + ": " + what + " of " + std::to_string(len) + " bytes at offset " + std::to_string(off) +
            " failed: " + nbd_get_error());
  return -err;
}

int HandlePool::pread(void *buf, size_t len, uint64_t off) {
  struct nbd_handle *h = acquire();
  int r = nbd_pread(h, buf, len, off, 0) == 0 ? 0 : fail("read", off, len);
  release(h);
  return r;
}

int HandlePool::pwrite(const void *buf, size_t len, uint64_t off) {
  if (!writable_) return -EROFS;
  struct nbd_handle *h = acquire();
  int r = nbd_pwrite(h, buf, len, off, 0) == 0 ? 0 : fail("write", off, len);
  release(h);
  return r;
}

int HandlePool::zero(size_t len, uint64_t off) {
  if (!writable_) return -EROFS;
  struct nbd_handle *h = acquire();
  int r = nbd_zero(h, len, off, 0) == 0 ? 0 : fail("zero", off, len);
  release(h);
  return r;
}

int HandlePool::flush() {
  if (!writable_) return 0;
  // A writable pool has several connections only when the server promises
  // multi-conn consistency, so a flush on any one of them covers them all.
  struct nbd_handle *h = acquire();
  int r = nbd_flush(h, 0) == 0 ? 0 : fail("flush", 0, 0);
  release(h);
  return r;
}

int HandlePool::close() {
  int r = flush();
  std::lock_guard<std::mutex> g(lock_);
  for (auto &h : all_) {
    if (nbd_shutdown(h.get(), 0) != 0 && r == 0) {
      mount_log(name_ + ": disconnect failed: " + nbd_get_error());
      r = -EIO;
    }
  }
  return r;
}

}  // namespace hexz
