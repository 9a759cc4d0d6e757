// Internals of the filesystem layer: the per-filesystem mappers and the
// read cache they share.  Not for use outside common/fs.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "fsmap.h"

namespace hexz::fs {

// Filesystem libraries read metadata in small pieces (one directory block,
// one inode table block...).  Over NBD each of those would be a round trip
// and, for a compressed snapshot, a block decode; this cache turns them into
// 64 KiB reads (the snapshot's default block size) kept in LRU order.
class ChunkCache {
 public:
  static constexpr uint64_t CHUNK = 65536;
  ChunkCache(Source &disk, size_t max_chunks = 512) : disk_(disk), max_(max_chunks) {}
  // Reads [off, off + len) of the disk; bytes beyond its end read as zero.
  void read(uint64_t off, size_t len, void *buf);
  uint64_t size() const;
  // Read-ahead plan: disk byte ranges about to be read, roughly in this
  // order.  A miss on a planned chunk reads it together with the planned
  // chunks close after it in one request, so a walk over scattered
  // directory blocks costs a few large reads instead of one per block.
  void plan(std::vector<std::pair<uint64_t, uint64_t>> ranges);

 private:
  const unsigned char *chunk(uint64_t index);
  unsigned char *insert(uint64_t index);
  Source &disk_;
  size_t max_;
  std::vector<uint64_t> plan_;  // sorted chunk indices
  std::list<uint64_t> lru_;  // most recent first
  // Buffers are recycled on eviction rather than freed: fresh memory costs
  // a page fault per 4 KiB, which dominated the mapping time.
  struct Entry {
    std::unique_ptr<unsigned char[]> data;
    std::list<uint64_t>::iterator pos;
  };
  std::unordered_map<uint64_t, Entry> map_;
};

// Fill FS (whose part/type are set) from the filesystem's own structures.
// They set status OK on success, or DAMAGED with a message.
void map_ext(Source &disk, FsMap &fs);
void map_tsk(Source &disk, FsMap &fs);

// Adds a node-owned or area-owned byte range, merging with the previous
// extent when contiguous and of the same owner.
inline void add_extent(std::vector<Extent> &v, uint64_t start, uint64_t length, uint32_t owner) {
  if (!length) return;
  if (!v.empty() && v.back().owner == owner && v.back().start + v.back().length == start)
    v.back().length += length;
  else
    v.push_back({start, length, owner});
}

}  // namespace hexz::fs
