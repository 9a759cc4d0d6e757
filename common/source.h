// Inputs that hexz reads whole disks from: a raw file or block device, or an
// NBD server (by URI, or an nbdkit the caller started).  Every source can say
// which ranges are holes/zero without reading them (SEEK_DATA/SEEK_HOLE, or
// NBD block status), so packers and differs skip them.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct nbd_handle;

namespace hexz {

class Source {
 public:
  virtual ~Source() = default;
  virtual const std::string &name() const = 0;
  virtual uint64_t size() const = 0;
  // Reads exactly LEN bytes at OFF (OFF + LEN <= size()).  Thread-safe.
  virtual void pread(void *buf, size_t len, uint64_t off) = 0;
  // Calls FN(offset, length, zero) for consecutive runs covering
  // [off, off + len); zero = true means the run reads as zeroes.  The default
  // reports everything as data.
  virtual void extents(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn);
};

// A raw file or block device.
std::unique_ptr<Source> open_file_source(const std::string &path);
// An NBD URI (nbd://, nbd+unix://, ...), read-only.
std::unique_ptr<Source> open_nbd_uri_source(const std::string &uri);
// A libnbd handle connected to URI with base:allocation requested, for
// callers that also issue asynchronous commands on it (hexz-diff -b).
struct nbd_handle *connect_nbd_uri(const std::string &uri);
// An already connected libnbd handle; the Source takes ownership and closes it.
std::unique_ptr<Source> nbd_handle_source(struct nbd_handle *h, const std::string &name);

bool is_nbd_uri(const std::string &s);
// An NBD URI or a file path.
std::unique_ptr<Source> open_source(const std::string &path_or_uri);

}  // namespace hexz
