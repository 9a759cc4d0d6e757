// Inputs that hexz reads whole disks from.  Every source can say which ranges
// are holes/zero without reading them (SEEK_DATA/SEEK_HOLE here, NBD block
// status in nbd-source.h), so packers, differs and the overlay's allocation
// scans skip them.  This part has no libnbd, so the filter can use it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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
}  // namespace hexz
