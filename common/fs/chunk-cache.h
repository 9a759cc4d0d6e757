// A Source that caches another in 64 KiB chunks, LRU.  Filesystem libraries
// read metadata in small pieces (one directory block, one inode table
// block...); over NBD each of those would be a round trip and, for a
// compressed snapshot, a block decode.  The cache turns them into 64 KiB
// reads (the snapshot's default block size).
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "source.h"

namespace hexz::fs {

class ChunkCache : public Source {
 public:
  static constexpr uint64_t CHUNK = 65536;
  // MAX_CHUNKS (at least 64) bounds the memory (64 KiB each).  Reads of 256 KiB or more
  // bypass the cache unless CACHE_LARGE.
  explicit ChunkCache(Source &disk, size_t max_chunks = 512, bool cache_large = false)
      : disk_(disk), max_(max_chunks < 64 ? 64 : max_chunks), cache_large_(cache_large) {}

  const std::string &name() const override { return disk_.name(); }
  uint64_t size() const override { return disk_.size(); }
  // Bytes beyond the end of the disk read as zero.
  void pread(void *buf, size_t len, uint64_t off) override;
  void extents(uint64_t off, uint64_t len, const std::function<void(uint64_t, uint64_t, bool)> &fn) override {
    disk_.extents(off, len, fn);
  }

  // Read-ahead plan: disk byte ranges about to be read, roughly in this
  // order.  A miss on a planned chunk reads it together with the planned
  // chunks right after it in one request.
  void plan(std::vector<std::pair<uint64_t, uint64_t>> ranges);

 private:
  // The chunk INDEX, reading it (with the missing chunks up to WANT_LAST or
  // planned after it) on a miss.
  const unsigned char *chunk(uint64_t index, uint64_t want_last);
  unsigned char *insert(uint64_t index);
  // Forgets chunk INDEX (its read failed).
  void drop(uint64_t index);
  Source &disk_;
  size_t max_;
  bool cache_large_;
  std::mutex lock_;
  std::vector<uint64_t> plan_;  // sorted chunk indices
  std::list<uint64_t> lru_;     // most recent first
  // Buffers are recycled on eviction rather than freed: fresh memory costs
  // a page fault per 4 KiB, which dominated the mapping time.
  struct Entry {
    std::unique_ptr<unsigned char[]> data;
    std::list<uint64_t>::iterator pos;
  };
  std::unordered_map<uint64_t, Entry> map_;
};

}  // namespace hexz::fs
