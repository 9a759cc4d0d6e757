// The persistent cache of remote snapshot bytes (cache-dir=DIR): one file per
// range that the reader fetched (a stored block, an index page, a section),
// keyed by the snapshot's UUID and the range's offset and length.  Snapshots
// never change once written, so one cache directory can be shared by every
// process and VM on a host, and by any URL the same snapshot is served from.
//
// Sharing is safe without locks: an entry is written to a temporary file and
// renamed into place, so readers see either nothing or a whole file; every
// entry carries a checksum of its bytes and is checked on each read, so a
// torn or damaged file (power loss, a full disk, a stray write) is removed and
// reported as a miss: the caller fetches the bytes again, they are never
// served.  The size bound is kept by evicting the least recently used entries
// (hits refresh an entry's mtime); whichever process finds the directory over
// its bound evicts, one at a time (flock on DIR/lock).
//
// The layout of DIR is in docs/format.md ("Remote cache directory").
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "util.h"

namespace hexz {

class DiskCache {
 public:
  // Creates DIR (and its parents) if needed.  Throws Error naming DIR.
  DiskCache(const std::string &dir, uint64_t max_bytes);

  const std::string &dir() const { return dir_; }

  // Copies the cached bytes of (UUID, OFF, LEN) into BUF and returns true; false
  // on a miss or a damaged entry (which is removed).
  bool get(const Uuid &uuid, uint64_t off, uint32_t len, void *buf);
  // Stores the range (best effort: a full disk or a permission problem only
  // costs the caching, and is logged once).
  void put(const Uuid &uuid, uint64_t off, uint32_t len, const void *buf);

  uint64_t hits() const { return hits_; }
  uint64_t damaged() const { return damaged_; }

  // Entry files: 32-byte header + the bytes.
  static constexpr uint32_t ENTRY_HEADER = 32;

 private:
  std::string entry_path(const Uuid &uuid, uint64_t off, uint32_t len, bool make_dirs) const;
  void evict();
  uint64_t scan_usage() const;

  std::string dir_;
  uint64_t max_bytes_;
  std::mutex mu_;
  uint64_t usage_ = 0;       // bytes in DIR as of the last scan, plus our writes since
  uint64_t since_scan_ = 0;  // bytes we wrote since the last scan
  std::atomic<uint64_t> hits_{0}, damaged_{0};
  std::atomic<bool> warned_{false};
};

}  // namespace hexz
